// wasmrun's agent runtime for JavaScript and TypeScript, appended to the prelude of JavaScript
// commands (wasmrun/languages/javascript/prelude.js: console, process, Promise, timers, the event
// loop), to js_fs.js (fs and path over the session's files) and to js_node.js (Node's other
// built-ins that the sandbox provides). One QuickJS instance serves one session; each exec is a
// "cell" that run() evaluates by
// indirect eval in the one global scope, so `var`s, functions and globalThis properties live on
// into the next cell. The host has already prepared the cell (wasmrun/agent/runtimes/js_cells.py):
// TypeScript stripped, async functions lowered onto the prelude's Promise (QuickJS runs no job of
// its own once run() returns), top-level let/const/class turned into var, and a cell with
// top-level await wrapped in an async function whose promise is left in globalThis.__wasmrunCell.

const __wasmrunAgent = (() => {
  const { Exit, write, drain, reset, errorText, inspect, unhandled, utf8 } = __wasmrun;

  // UTF-8 to text; a malformed sequence becomes U+FFFD, as TextDecoder does. Native functions do
  // the work where they can (a loop per byte in JavaScript took a second a megabyte): ASCII (every
  // package bundle: esbuild escapes the rest) is the bytes as they are, well-formed UTF-8 goes
  // through decodeURIComponent; only malformed input takes the loop.
  const ASCII = /^[\x00-\x7f]*$/;
  function decode(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
    if (ASCII.test(binary)) return binary;
    try { return decodeURIComponent(escape(binary)); } catch (malformed) { return decodeLoop(bytes); }
  }
  function decodeLoop(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i];
      let need = 0, c = b;
      if (b >= 0xf0 && b < 0xf8) { need = 3; c = b & 7; }
      else if (b >= 0xe0) { need = 2; c = b & 15; }
      else if (b >= 0xc0) { need = 1; c = b & 31; }
      else if (b >= 0x80) { out += "\ufffd"; i++; continue; }
      let j = 1;
      for (; j <= need && i + j < bytes.length && (bytes[i + j] & 0xc0) === 0x80; j++) c = (c << 6) | (bytes[i + j] & 63);
      if (j <= need) { out += "\ufffd"; i += j; continue; }
      out += String.fromCodePoint(c > 0x10ffff ? 0xfffd : c);
      i += need + 1;
    }
    return out;
  }

  if (typeof globalThis.TextEncoder === "undefined") {
    globalThis.TextEncoder = class TextEncoder {
      get encoding() { return "utf-8"; }
      encode(text = "") { return utf8(String(text)); }
    };
  }
  if (typeof globalThis.TextDecoder === "undefined") {
    globalThis.TextDecoder = class TextDecoder {
      get encoding() { return "utf-8"; }
      decode(bytes = new Uint8Array(0)) {
        return decode(ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
          : new Uint8Array(bytes));
      }
    };
  }

  // Standard input of the current exec: process.stdin's "data" then "end" events, its text(), and
  // require("fs").readFileSync(0) as Node programs read it.
  let stdinBytes = new Uint8Array(0);
  const stdin = {
    fd: 0,
    isTTY: false,
    listeners: { data: [], end: [] },
    scheduled: false,
    encoding: null,
    setEncoding(encoding) { stdin.encoding = encoding; return stdin; },
    text() { return decode(stdinBytes); },
    on(event, callback) {
      if (stdin.listeners[event]) stdin.listeners[event].push(callback);
      if (!stdin.scheduled) {
        stdin.scheduled = true;
        setTimeout(() => {
          if (stdinBytes.length) for (const cb of stdin.listeners.data) cb(stdin.encoding ? decode(stdinBytes) : stdinBytes);
          for (const cb of stdin.listeners.end) cb();
        }, 0);
      }
      return stdin;
    },
    resume() { return stdin; },
  };
  stdin.once = stdin.on;
  stdin.addListener = stdin.on;

  // Node's fs over the session's files (js_fs.js), reading standard input as fd 0.
  const fs = Object.assign({}, __wasmrunFs.fs, {
    readFileSync(file, options) {
      if (file !== 0 && file !== "/dev/stdin") return __wasmrunFs.fs.readFileSync(file, options);
      const encoding = typeof options === "string" ? options : options && options.encoding;
      return encoding ? decode(stdinBytes) : stdinBytes.slice();
    },
  });
  const path = __wasmrunFs.path;
  const modules = Object.assign({ fs, "fs/promises": fs.promises, path, "path/posix": path, process },
    __wasmrunNode.modules);
  const BUILTINS = Object.keys(modules).sort().map((name) => `'${name}'`).join(", ");

  // One line, whatever the name holds: control characters (a newline in a required name) escaped.
  function notFound(name, why) {
    const text = `Cannot find module '${name}': ${why}`.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g,
      (c) => (c === "\n" ? "\\n" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
    const error = new Error(text);
    error.code = "MODULE_NOT_FOUND";
    return error;
  }

  // A built-in by name ("crypto", "node:crypto"), or undefined when the name is none of Node's;
  // one of Node's the sandbox has not got is one clear error naming it.
  function builtin(name) {
    const key = name.startsWith("node:") ? name.slice(5) : name;
    if (Object.prototype.hasOwnProperty.call(modules, key)) return modules[key];
    if (__wasmrunNode.IMPOSSIBLE.includes(key)) {
      throw notFound(name, `Node's '${key}' module is not available in the sandbox, which has no processes, `
        + "network, threads or inspector");
    }
    if (__wasmrunNode.MISSING.includes(key)) {
      throw notFound(name, `Node's '${key}' module is not available in the sandbox, whose built-ins are ${BUILTINS}`);
    }
    if (name.startsWith("node:")) throw notFound(name, `'${key}' is not one of Node's built-in modules`);
    return undefined;
  }

  // CommonJS require of the session's own .js/.cjs/.json files (a path starting with ./, ../ or
  // /), resolved as Node does: X, X.js, X.cjs, X.json, X/index.js; each runs once per exec. Such a
  // file runs as it is, without the host's compilation, so one with async/await (whose promises
  // QuickJS would never settle) or import/export is refused with the reason.
  let required = new Map();
  // npm packages (wasmrun/agent/npm_packages.py): each a directory of the read-only package cache
  // holding a package.json ({name, main}) and ONE CommonJS bundle, named by an exec's `packages`.
  // They stay known to the instance, and each loads once: the cache never changes under it.
  // A package's subpaths (require('lodash/chunk')) are a second bundle, whose exports map each
  // subpath ("./chunk.js") to a function requiring it; loaded on the first subpath asked for.
  const packages = new Map(); // name -> { file, module, subpaths: { file, module } | null, subpathsError }
  function addPackages(dirs) {
    for (const dir of dirs || []) {
      const manifest = JSON.parse(__wasmrunFs.fs.readFileSync(`${dir}/package.json`, "utf8"));
      const known = packages.get(manifest.name);
      const file = `${dir}/${manifest.main}`;
      if (!known || known.file !== file) {
        packages.set(manifest.name, {
          file, module: undefined, subpathsError: manifest.subpaths_error,
          subpaths: manifest.subpaths ? { file: `${dir}/${manifest.subpaths}`, module: undefined } : null,
        });
      }
    }
  }
  function loadPackage(entry) {
    if (entry.module) return entry.module.exports;
    const module = { exports: {}, id: entry.file, filename: entry.file, loaded: false };
    runCommonJs(module, __wasmrunFs.fs.readFileSync(entry.file, "utf8"), "/");
    entry.module = module;
    return module.exports;
  }
  // A CommonJS module's code run as Node runs it, its require resolving from `requireDir`.
  function runCommonJs(module, source, requireDir) {
    const body = new Function("exports", "require", "module", "__filename", "__dirname", source);
    body.call(module.exports, module.exports, requireFrom(requireDir), module, module.filename,
      path.dirname(module.filename));
    module.loaded = true;
  }
  // Node's extensions and index files, tried in its order when the package has no exports map
  // (with one, its keys are exact and the first candidate is the only one that can match).
  const SUBPATH_CANDIDATES = ["", ".js", ".cjs", ".mjs", ".json", "/index.js", "/index.cjs", "/index.json"];
  function loadSubpath(name, packageName, rest) {
    if (rest.split("/").some((part) => part === "" || part === "." || part === ".." || part.includes("\\"))) {
      throw notFound(name, "a package subpath may not be empty or hold '.', '..' or '\\' segments");
    }
    const entry = packages.get(packageName);
    if (!entry.subpaths) {
      throw notFound(name, entry.subpathsError ? `the subpaths of package '${packageName}' are not available: `
        + entry.subpathsError : `package '${packageName}' has no subpaths`);
    }
    const map = loadPackage(entry.subpaths);
    const key = SUBPATH_CANDIDATES.map((suffix) => `./${rest}${suffix}`)
      .find((candidate) => Object.prototype.hasOwnProperty.call(map, candidate));
    if (key === undefined) throw notFound(name, `package '${packageName}' has no subpath './${rest}'`);
    return map[key]();
  }
  function requireFrom(dir) {
    return (name) => {
      name = String(name);
      const found = builtin(name);
      if (found !== undefined) return found;
      if (packages.has(name)) return loadPackage(packages.get(name));
      const isFile = /^(\.{1,2}(\/|$)|\/)/.test(name);
      const [first, second] = name.split("/");
      const packageName = first.startsWith("@") && second !== undefined ? `${first}/${second}` : first;
      if (!isFile && packageName !== name && packages.has(packageName)) {
        return loadSubpath(name, packageName, name.slice(packageName.length + 1));
      }
      if (!isFile) {
        throw notFound(name, "not available in the sandbox, whose JavaScript has the built-ins " + BUILTINS +
          ", the session's own files and the npm packages an exec names in its 'packages'");
      }
      const base = path.resolve(dir, name);
      const file = [base, `${base}.js`, `${base}.cjs`, `${base}.json`, `${base}/index.js`].find((candidate) => {
        try { return fs.statSync(candidate).isFile(); } catch (error) { return false; }
      });
      if (file === undefined) throw notFound(name, `no ${base}(.js|.cjs|.json|/index.js) in the session`);
      if (required.has(file)) return required.get(file).exports;
      const source = fs.readFileSync(file, "utf8").replace(/^#!.*/, "");
      const module = { exports: {}, id: file, filename: file, loaded: false };
      required.set(file, module);
      if (file.endsWith(".json")) {
        module.exports = JSON.parse(source);
      } else {
        if (/\b(async|await)\b|^\s*(import|export)\b/m.test(source)) {
          required.delete(file);
          throw new Error(`${file}: a required file runs without the host's compilation: async/await and ` +
            "import/export are not supported in it (put them in the exec's own code)");
        }
        runCommonJs(module, source, path.dirname(file));
      }
      module.loaded = true;
      return module.exports;
    };
  }
  globalThis.require = requireFrom("/");

  // performance.now(): milliseconds since the instance's first exec, from wasi:clocks' monotonic
  // clock (nanoseconds: sub-millisecond). The origin is taken at run time, not when
  // componentize-qjs snapshots this module at build time (QuickJS's own took that one).
  let origin;
  const monotonicMs = () => Number(wasiClock.now() - origin) / 1e6;
  Object.defineProperty(globalThis, "performance", {
    value: {
      now: () => monotonicMs(),
      get timeOrigin() { return Date.now() - monotonicMs(); },
      toJSON() { return { timeOrigin: this.timeOrigin }; },
    },
    writable: true, configurable: true, enumerable: false,
  });

  // What run() returns when the interpreter ran out of memory (the store's memory limit): the
  // worker reports error "memory" and discards the instance, whose heap may be too full to go on.
  const OUT_OF_MEMORY = -2;
  // QuickJS's own error, or, when the heap ran out at a point where QuickJS could not make that
  // error whole (a Map growing: the error seen is then another, and the interpreter is broken), a
  // heap that cannot give 256 KiB more.
  function outOfMemory(error) {
    if (error !== null && typeof error === "object" && error.name === "InternalError"
      && String(error.message) === "out of memory") return true;
    try { return new ArrayBuffer(256 * 1024).byteLength !== 256 * 1024; } catch (failed) { return true; }
  }

  process.stdin = stdin;
  // process.exit(n): the exec ends with n even when the code catches what it throws (Node's
  // cannot be caught); promises and timers still pending are dropped.
  let exiting;
  process.exit = (code) => {
    const value = code === undefined ? process.exitCode : code;
    exiting = Number(value || 0) & 0xff;
    reset();
    throw new Exit(exiting);
  };

  function begin(request) {
    if (origin === undefined) origin = wasiClock.now();
    reset();
    stdinBytes = request.stdin instanceof Uint8Array ? request.stdin : new Uint8Array(request.stdin || []);
    stdin.listeners = { data: [], end: [] };
    stdin.scheduled = false;
    stdin.encoding = null;
    process.argv = ["wasmrun", String(request.filename || "<exec>"), ...(request.args || [])];
    process.env = Object.fromEntries(request.env || []);
    process.exitCode = undefined;
    exiting = undefined;
    required = new Map();
    const filename = String(request.filename || "");
    globalThis.require = requireFrom(filename.startsWith("/") ? path.dirname(filename) : "/");
    delete globalThis.__wasmrunCell;
    addPackages(request.paths);
  }

  function evaluate(code) {
    (0, eval)(code);
    const cell = globalThis.__wasmrunCell;
    delete globalThis.__wasmrunCell;
    let failed = false, failure;
    if (cell && typeof cell.then === "function") cell.then(undefined, (error) => { failed = true; failure = error; });
    if (exiting !== undefined) return exiting; // process.exit() was called and its throw caught
    drain();
    if (failed) throw failure;
    const [rejected] = unhandled;
    if (rejected !== undefined) throw rejected._value;
    return Number(process.exitCode || 0) & 0xff;
  }

  // An error's text without the runtime's own frames (the eval that ran the cell, the loop).
  function cellStack(text) {
    return text.split("\n").filter((line) => !/^\s*at (eval \(native\)|.*\(\/app\.js:)/.test(line)).join("\n");
  }

  // The exported cell.run: never throws (an exception leaving an export traps the instance, and
  // the session would lose its state), so every failure becomes an exit code.
  function run(request) {
    let status;
    try {
      begin(request);
      status = evaluate(String(request.code));
    } catch (error) {
      try {
        if (error instanceof Exit) status = error.code;
        else if (outOfMemory(error)) status = OUT_OF_MEMORY;
        else {
          status = 1;
          try {
            write(2, (error instanceof Error ? cellStack(errorText(error)) : `Uncaught ${inspect(error, 1)}`) + "\n");
          } catch (failed) { if (outOfMemory(failed)) status = OUT_OF_MEMORY; /* else the stream is gone */ }
        }
      } catch (failed) { status = OUT_OF_MEMORY; } // even looking at the error needed memory
    }
    try { reset(); } catch (ignored) { /* nothing left to run */ }
    return status === OUT_OF_MEMORY || exiting === undefined ? status : exiting;
  }

  return { run };
})();

export const cell = { run: (request) => __wasmrunAgent.run(request) };
