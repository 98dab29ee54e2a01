// wasmrun's page, second part: an ES module that boot.js imports once a plain module has run
// (or at once for the rest). It lists the exports with a form to call each and shows the module
// information, after the module's output has been painted; it runs the modules that come with
// their own JS glue (Go, emscripten, ESM bindings). It uses the globals of boot.js and the shim
// (classic scripts inlined in the page): `wasmrun` (window.wasmrun), `write`, `setStatus`,
// `exited`, `trapped`, `failed` and `WasiExit`.

const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

// -- calling exports ------------------------------------------------------------------------

const NUMERIC = new Set(["i32", "i64", "f32", "f64"]);

function parseArg(text, type) {
  const value = text.trim();
  if (value === "") throw new Error(`a ${type} value is needed`);
  switch (type) {
    case "i32": {
      if (!/^[+-]?(0x[0-9a-f]+|\d+)$/i.test(value)) throw new Error(`'${value}' is not an i32`);
      return Number(value) | 0;
    }
    case "i64":
      try { return BigInt(value); } catch { throw new Error(`'${value}' is not an i64`); }
    case "f32":
    case "f64": {
      const number = Number(value);
      if (Number.isNaN(number) && !/^[+-]?nan$/i.test(value)) throw new Error(`'${value}' is not an ${type}`);
      return number;
    }
    default:
      throw new Error(`cannot pass a ${type} from the page`);
  }
}

function formatResult(value) {
  if (value === undefined) return "(no result)";
  if (Array.isArray(value)) return value.map(formatResult).join(", ");
  return String(value);
}

function exportForm(entry, call) {
  const inputs = (entry.params || []).map((type, i) =>
    el("input", { name: `p${i}`, placeholder: type, "data-type": type, autocomplete: "off", ariaLabel: `${entry.name} argument ${i + 1} (${type})` }));
  const output = el("output", { name: "result" });
  const button = el("button", { type: "submit" }, "call");
  const results = (entry.results || []).join(", ") || "()";
  const callable = (entry.params || []).every((t) => NUMERIC.has(t));
  if (!callable) { button.disabled = true; output.textContent = "takes types the page cannot pass"; }
  const form = el("form", { class: "export", "data-export": entry.name },
    el("code", {}, entry.name), "(", ...inputs.flatMap((input, i) => (i ? [", ", input] : [input])), `) → ${results}`, button, output);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    output.className = "";
    try {
      const args = inputs.map((input) => parseArg(input.value, input.dataset.type));
      const value = call(...args);
      Promise.resolve(value).then((v) => { output.textContent = formatResult(v); }, (error) => showCallError(output, error));
    } catch (error) {
      showCallError(output, error);
    }
  });
  return form;
}

function showCallError(output, error) {
  wasmrun.wasi?.flush();
  output.className = "error";
  output.textContent = error instanceof WasiExit ? `exited with code ${error.code}` : `${error.name}: ${error.message}`;
}

function renderExports(entries, exportsObject) {
  const box = $("#exports");
  box.replaceChildren();
  const funcs = entries.filter((e) => e.kind === "func");
  for (const entry of funcs) {
    const fn = exportsObject[entry.name];
    if (typeof fn === "function") box.append(exportForm(entry, (...args) => fn(...args)));
  }
  const others = entries.filter((e) => e.kind !== "func");
  if (others.length) {
    box.append(el("p", { class: "muted" }, `also exported: ${others.map((e) => `${e.kind} ${e.name}`).join(", ")}`));
  }
  if (!box.children.length) box.append(el("p", { class: "muted" }, "no exports"));
}

// -- running --------------------------------------------------------------------------------

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = el("script", { src });
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

/** console.log (and info) of the program to the console as stdout, still logged too: Go's
 *  fallback and ESM bindings (AssemblyScript's `console.log`) print through it. */
function captureConsoleLog() {
  for (const name of ["log", "info"]) {
    const original = console[name];
    console[name] = (...parts) => { write(`${parts.join(" ")}\n`); original(...parts); };
  }
}

/** Go's wasm_exec.js writes fd 1 and 2 alike to console.log, and reads no stdin: route the two
 *  streams to the console as they are, and give fd 0 what the driver gave (nothing on the page). */
function wireGoStdio() {
  const fs = globalThis.fs;
  const decoders = { 1: new TextDecoder(), 2: new TextDecoder() };
  const writeSync = fs.writeSync.bind(fs);
  fs.writeSync = (fd, buf) => {
    if (fd !== 1 && fd !== 2) return writeSync(fd, buf);
    write(decoders[fd].decode(buf, { stream: true }), fd === 1 ? "stdout" : "stderr");
    return buf.length;
  };
  const input = hostStdin();
  let at = 0;
  const read = fs.read.bind(fs);
  fs.read = (fd, buffer, offset, length, position, callback) => {
    if (fd !== 0) return read(fd, buffer, offset, length, position, callback);
    const count = Math.min(length, input.length - at);
    buffer.set(input.subarray(at, at + count), offset);
    at += count;
    callback(null, count);
  };
}

async function runGo(info) {
  await loadScript(info.js);
  const go = new globalThis.Go();
  go.argv = info.args;
  go.env = info.env;
  captureConsoleLog();
  wireGoStdio();
  go.exit = (code) => exited(code);
  const { instance } = await WebAssembly.instantiateStreaming(fetch(info.wasm, { cache: "no-store" }), go.importObject);
  wasmrun.instance = instance;
  setStatus("running", "running…");
  await go.run(instance);
  if (wasmrun.exitCode === null) exited(0);
}

async function runEmscripten(info) {
  const base = new URL(info.js, location.href);
  const input = hostStdin();
  let at = 0;
  globalThis.Module = {
    // without a driver, emscripten's own default (a prompt) stays; with one, what it was given
    ...(driverHost ? { stdin: () => (at < input.length ? input[at++] : null) } : {}),
    arguments: info.args.slice(1),
    print: (text) => write(`${text}\n`, "stdout"),
    printErr: (text) => write(`${text}\n`, "stderr"),
    locateFile: (path) => new URL(path, base).href,
    preRun: [(mod) => { for (const [k, v] of Object.entries(info.env)) mod.ENV && (mod.ENV[k] = v); }],
    onRuntimeInitialized() { setStatus("running", "running…"); },
    onExit: (code) => exited(code),
    onAbort: (what) => trapped(new Error(String(what))),
  };
  setStatus("running", "loading glue…");
  await loadScript(info.js);
}

async function runEsm(info) {
  captureConsoleLog();
  const mod = await import(new URL(info.js, location.href).href);
  if (typeof mod.default === "function") await mod.default();
  const entries = Object.entries(mod)
    .filter(([name, value]) => name !== "default" && typeof value === "function")
    .map(([name, value]) => ({ name, kind: "func", params: Array(value.length).fill("f64"), results: ["any"] }));
  renderExports(entries, mod);
  setStatus("ready", "ready: call an export below");
}

// -- components -----------------------------------------------------------------------------
// boot.js runs a component (runComponent); here each exported function, top-level or in an
// exported interface, gets a form whose inputs take WAVE values (wave.js: the syntax of
// `wasmrun exec --invoke`, parsed by the parameters' types into the values jco's glue takes) and
// whose output shows the result in WAVE, as exec prints it.

/** The JavaScript function jco's glue exports for `fn`: `mod.safeDiv` for `safe-div`, and for a
 *  function of an interface a member of the object jco exports under the interface's name. */
function componentFunction(mod, fn, camel) {
  if (!fn.interface) return mod[camel(fn.function ?? fn.name)];
  const short = fn.interface.replace(/^[^:/]+:[^/]+\//, "").replace(/@.*$/, "");
  const holder = mod[fn.interface] ?? mod[camel(fn.interface)] ?? mod[camel(short)];
  return holder?.[camel(fn.function)];
}

function componentForm(fn, target, wave) {
  const inputs = fn.params.map((p) => {
    const hint = `${p.name}: ${p.type}`;
    const input = el("input", { name: p.name, placeholder: hint, title: hint, "data-type": p.type,
      autocomplete: "off", spellcheck: false, ariaLabel: `${fn.name} ${p.name} (${p.type})` });
    input.style.width = `${Math.min(48, Math.max(16, hint.length + 2))}ch`;  // a record's value is long
    return input;
  });
  const output = el("output", { name: "result" });
  const button = el("button", { type: "submit" }, "call");
  const form = el("form", { class: "export", "data-export": fn.name },
    el("code", {}, fn.name), "(", ...inputs.flatMap((input, i) => (i ? [", ", input] : [input])), `) → ${fn.result ?? "()"}`,
    button, output);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    output.className = "";
    try {
      const args = fn.params.map((p, i) => wave.parseValue(inputs[i].value, p.tree, `argument '${p.name}' of ${fn.name}`));
      const text = wave.printOutcome(() => target(...args), fn.result_tree ?? null);
      if (fn.result_tree) output.textContent = text;
      else { output.className = "muted"; output.textContent = "(no result)"; }
    } catch (error) {
      wasmrun.wasi?.flush();
      output.className = "error";
      output.textContent = error instanceof wave.WaveError ? error.message
        : error?.exitError ? `exited with code ${error.code}` : `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;
    }
  });
  return form;
}

async function renderComponentExports(functions, mod) {
  const box = $("#exports");
  box.replaceChildren();
  const wave = functions.length ? await import("./wave.js") : null;
  const missing = [];
  for (const fn of functions) {
    const target = componentFunction(mod, fn, wave.camel);
    if (typeof target === "function") box.append(componentForm(fn, target, wave));
    else missing.push(fn.name);
  }
  if (missing.length) box.append(el("p", { class: "muted" }, `not found in jco's glue: ${missing.join(", ")}`));
  if (!box.children.length) box.append(el("p", { class: "muted" }, "no exports"));
}

/** A component boot.js could not run: why (no node to transpile it, say). */
async function componentError(info) {
  throw new Error(info.component?.error ?? "the component was not transpiled");
}

// -- module information ---------------------------------------------------------------------

function row(label, value) {
  return el("tr", {}, el("th", {}, label), el("td", {}, value));
}

async function showInfo(info) {
  const box = $("#info");
  box.replaceChildren();
  if (info.info_error) { box.append(el("pre", { class: "stderr" }, info.info_error)); return; }
  if (!info.wasm) { box.append(el("p", { class: "muted" }, "no module built yet")); return; }
  const table = el("table", {},
    row("file", el("a", { href: info.wasm }, info.wasm)),
    row("size", `${(info.size ?? 0).toLocaleString()} bytes`),
    row("built by", info.plugin || "(a .wasm file)"),
    row("runs as", info.mode === "module" ? `${info.glue} module, with the page's WASI shim`
      : info.mode === "component" ? `component, transpiled by ${info.component?.generator || "jco"}, with the WASI 0.2 shim`
      : `${info.glue} (its own JS glue)`),
    row("imports", info.imports.map((i) => `${i.module}.${i.name}`).join(", ") || "none"),
    row("exports", info.exports.map((e) => e.name).join(", ") || "none"));
  box.append(table);
  try {
    const report = await (await fetch("/__wasmrun/inspect.json", { cache: "no-store" })).json();
    wasmrun.inspect = report;
    if (report.conclusion?.summary) table.append(row("conclusion", report.conclusion.summary));
    for (const finding of report.findings || []) table.append(row(finding.level, finding.message));
    $("#inspect").textContent = JSON.stringify(report, null, 2);
  } catch (error) {
    $("#inspect").textContent = `could not load: ${error.message}`;
  }
}

/** After the browser has painted what is on the page now (the module's output). */
function afterPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

async function main() {
  const info = wasmrun.info;
  if (!info.wasm) {
    showInfo(info);
    if (info.error) write(info.error, "stderr");
    setStatus("failed", info.error ? "build failed" : "nothing to run");
    return;
  }
  if (wasmrun.ran) {  // a plain module or a component: boot.js runs it, the rest waits for its output to show
    await wasmrun.ran;
    await afterPaint();
    if (wasmrun.component) await renderComponentExports(info.component.functions, wasmrun.component);
    else if (wasmrun.instance) renderExports(info.exports, wasmrun.instance.exports);
    showInfo(info);
    return;
  }
  const run = { go: runGo, emscripten: runEmscripten, esm: runEsm, component: componentError }[info.mode];
  try {
    await run(info);
  } finally {
    showInfo(info); // after the module ran: its output first
  }
}

main().catch(failed);
