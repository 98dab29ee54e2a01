// wasmrun's page, first part: a classic script inlined right after the console (with wasi.js
// before it), so that a plain module runs as soon as its bytes arrive: one instantiateStreaming
// of the response the page preloads, then `_start` at once, its output into the console.
// Everything else (export forms, module information, JS glue) is page.js, imported after that.
//
// `window.wasmrun` holds what happened (stdout, stderr, exitCode, status, instance, wasi), for
// tests and the console; `window.wasmrun.ran` settles once the module has run (or failed to).
//
// `window.wasmrunHost`, when a driver set it before the page loaded (`wasmrun run --headless`,
// wasmrun/headless/host.js), hears every write and the end (`report(kind, data)`) and gives the
// program its standard input (`stdin`, bytes). A person's browser has none: the page is the same.

const wasmrun = (window.wasmrun = {
  status: "loading", stdout: "", stderr: "", exitCode: null, instance: null, wasi: null, info: null, ran: null,
});

// (names unlikely to clash: JS glue loaded later as classic scripts shares these globals)
const driverHost = window.wasmrunHost ?? null;
const PAGE_ENDINGS = new Set(["exited", "trapped", "failed", "ready"]);

/** Tell the driver, when there is one: "stdout", "stderr" and "note" text, "start" when the
 *  program starts, then "end" once. */
function reportToHost(kind, data) {
  if (driverHost) driverHost.report(kind, data);
}

/** The standard input the driver gives the program (empty without one). */
function hostStdin() {
  return driverHost?.stdin ?? new Uint8Array(0);
}

function setStatus(kind, text) {
  wasmrun.status = kind;
  document.body.dataset.status = kind;
  document.getElementById("status").textContent = text;
  if (kind === "running") reportToHost("start", null);
  if (PAGE_ENDINGS.has(kind)) reportToHost("end", { status: kind, code: wasmrun.exitCode, text });
}

let scrolling = false;

function write(text, stream = "stdout") {
  if (stream === "stdout" || stream === "stderr") wasmrun[stream] += text;
  reportToHost(stream, text);
  const box = document.getElementById("console");
  const last = box.lastElementChild;
  if (last && last.className === stream) last.textContent += text;
  else {
    const span = document.createElement("span");
    span.className = stream;
    span.textContent = text;
    box.append(span);
  }
  if (!scrolling) {  // keep the end in view, at the next frame: reading scrollHeight now would lay the page out
    scrolling = true;
    requestAnimationFrame(() => { scrolling = false; box.scrollTop = box.scrollHeight; });
  }
}

function exited(code) {
  wasmrun.exitCode = code;
  setStatus("exited", `exited with code ${code}`);
}

function trapped(error) {
  write(`${error.name}: ${error.message}\n`, "stderr");
  setStatus("trapped", `trapped: ${error.message}`);
}

function failed(error) {
  write(`${error.name}: ${error.message}\n`, "stderr");
  setStatus("failed", `failed: ${error.message}`);
}

/** The import object for `imports` ({module, name, kind} each): WASI from the shim, stand-ins
 *  that throw for any other function, and a note in the console naming what the page lacks. */
function importObject(imports, wasi) {
  const object = {};
  const missing = [];
  for (const imp of imports) {
    const space = (object[imp.module] ??= {});
    if (imp.kind === "memory" && imp.limits && !imp.limits.index64) {  // e.g. clang's --import-memory
      const { min, max, shared } = imp.limits;
      space[imp.name] = wasi.memory = new WebAssembly.Memory({ initial: min, maximum: max ?? undefined, shared: !!shared });
      continue;
    }
    if (imp.kind !== "func" && imp.kind !== "function") { missing.push(`${imp.kind} ${imp.module}.${imp.name}`); continue; }
    if (imp.module === "wasi_snapshot_preview1" || imp.module === "wasi_unstable") {
      space[imp.name] = wasi.imports[imp.name] ?? wasi.unsupported(imp.name);
    } else {
      missing.push(`${imp.module}.${imp.name}`);
      space[imp.name] = () => { throw new Error(`${imp.module}.${imp.name} is an import wasmrun's page does not provide`); };
    }
  }
  if (missing.length) write(`note: the page does not provide ${missing.join(", ")}\n`, "note");
  return object;
}

/** Instantiate the module with the WASI shim and run it: `_start`, else `_initialize`. */
async function runWasi(info) {
  const response = fetch(info.wasm);  // the <link rel="preload"> in the head already asked for it
  const wasi = new WASI({ args: info.args, env: info.env, stdin: hostStdin(),
                         stdout: (t) => write(t, "stdout"), stderr: (t) => write(t, "stderr") });
  wasmrun.wasi = wasi;
  let instance;
  if (info.info_error) {  // wasmrun could not read the module: ask the browser for its imports
    const module = await WebAssembly.compileStreaming(response);
    const kinds = WebAssembly.Module.imports(module);
    instance = await WebAssembly.instantiate(module, importObject(kinds, wasi));
  } else {
    ({ instance } = await WebAssembly.instantiateStreaming(response, importObject(info.imports, wasi)));
  }
  wasmrun.instance = instance;
  wasi.setInstance(instance);
  const { _start, _initialize } = instance.exports;
  if (typeof _start === "function") {
    setStatus("running", "running…");
    try {
      _start();
      wasi.flush();
      exited(0);
    } catch (error) {
      wasi.flush();
      if (error instanceof WasiExit) exited(error.code);
      else trapped(error);
    }
  } else {
    if (typeof _initialize === "function") _initialize();
    setStatus("ready", "ready: call an export below");
  }
}

// A component runs as jco transpiled it, bundled with the WASI 0.2 preview2 shim into one ES
// module: held inline by the page when it fetches nothing itself (info.component.inline), else
// info.component.js, preloaded from the head. The bundle hands the shim's cli module to
// `window.wasmrunShim` before it instantiates the component, and the page wires the program's
// output to the console, its standard input, argv and environment there.

/** The shim's output stream handler, writing into the page's console. */
function shimStream(stream) {
  const decoder = new TextDecoder();
  return {
    write(bytes) { write(decoder.decode(bytes, { stream: true }), stream); },
    blockingFlush() {},
    flush() {},
  };
}

/** The shim's input stream handler: the driver's stdin (empty without one), then end of file. */
function shimStdin() {
  let rest = hostStdin();
  return {
    blockingRead(length) {
      if (!rest.length) throw { tag: "closed" };
      const chunk = rest.subarray(0, Number(length));
      rest = rest.subarray(chunk.length);
      return chunk;
    },
  };
}

/** The exports of the bundle the page holds inline (a module script after this one, which hands
 *  them to `window.wasmrunComponent` once instantiated); rejected with what its evaluation threw. */
function inlineComponent() {
  return new Promise((resolve, reject) => {
    const failedToLoad = (event) => {
      event.preventDefault();  // the page reports it (failed): not an uncaught error besides
      reject(event.error ?? event.reason ?? new Error(event.message));
    };
    window.addEventListener("error", failedToLoad, { once: true });
    window.addEventListener("unhandledrejection", failedToLoad, { once: true });
    window.wasmrunComponent = (mod) => {
      window.removeEventListener("error", failedToLoad);
      window.removeEventListener("unhandledrejection", failedToLoad);
      resolve(mod);
    };
  });
}

async function runComponent(info) {
  const component = info.component;
  setStatus("running", "loading…");
  window.wasmrunShim = (cli) => {
    cli._setStdout(shimStream("stdout"));
    cli._setStderr(shimStream("stderr"));
    cli._setStdin(shimStdin());
    cli._setArgs(info.args);
    cli._setEnv(info.env);
  };
  const mod = await (component.inline ? inlineComponent() : import(new URL(component.js, location.href).href));
  wasmrun.component = mod;
  if (component.command) {
    const entry = Object.entries(mod).find(([name]) => name === "run" || name.startsWith("wasi:cli/run@"));
    setStatus("running", "running…");
    try {
      entry[1].run();
      exited(0);
    } catch (error) {
      if (error?.exitError) exited(error.code);
      else trapped(error);
    }
  } else {
    setStatus("ready", "ready: call an export below");
  }
}

{
  const info = (wasmrun.info = JSON.parse(document.getElementById("wasmrun-info").textContent));
  document.title = `${info.name} · wasmrun`;
  document.getElementById("name").textContent = info.name;
  if (info.wasm && info.mode === "module") wasmrun.ran = runWasi(info).catch(failed);
  else if (info.mode === "component" && info.component && !info.component.error) wasmrun.ran = runComponent(info).catch(failed);
  // The rest of the page only once the module has run: nothing competes with it for the thread.
  Promise.resolve(wasmrun.ran).then(() => import("/__wasmrun/static/page.js")).catch(failed);
}
