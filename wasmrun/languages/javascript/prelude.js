// wasmrun's prelude for a JavaScript command built by componentize-qjs (QuickJS). The engine has
// no console and no process: both are defined here on top of the wasi:cli interfaces. Nothing at
// the top level touches WASI: the module's top level runs at build time (it is snapshotted), so
// streams, arguments and the environment are asked for only once run() is called.
import wasiStdout from "wasi:cli/stdout@0.2.12";
import wasiStderr from "wasi:cli/stderr@0.2.12";
import wasiEnvironment from "wasi:cli/environment@0.2.12";
import wasiExit from "wasi:cli/exit@0.2.12";

const __wasmrun = (() => {
  const streams = {};
  const CHUNK = 4096; // blocking-write-and-flush takes at most 4096 bytes a call

  function utf8(text) {
    const bytes = [];
    for (const ch of text) {
      const c = ch.codePointAt(0);
      if (c < 0x80) bytes.push(c);
      else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(bytes);
  }

  function write(fd, text) {
    if (!streams[fd]) streams[fd] = fd === 1 ? wasiStdout.getStdout() : wasiStderr.getStderr();
    const bytes = typeof text === "string" ? utf8(text) : new Uint8Array(text);
    for (let i = 0; i < bytes.length; i += CHUNK) streams[fd].blockingWriteAndFlush(bytes.subarray(i, i + CHUNK));
  }

  const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

  function quote(text) {
    return "'" + text.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n") + "'";
  }

  function errorText(error) {
    const head = `${error.name || "Error"}: ${error.message}`;
    const stack = typeof error.stack === "string" ? error.stack.replace(/\s+$/, "") : "";
    if (!stack) return head;
    return stack.startsWith(head) ? stack : `${head}\n${stack}`;
  }

  // A one-line approximation of Node's util.inspect: what console.log shows for a value.
  function inspect(value, depth = 0, seen = []) {
    switch (typeof value) {
      case "string": return depth === 0 ? value : quote(value);
      case "number": return Object.is(value, -0) ? "-0" : String(value);
      case "bigint": return `${value}n`;
      case "symbol": return value.toString();
      case "undefined": return "undefined";
      case "boolean": return String(value);
      case "function": {
        const source = Function.prototype.toString.call(value);
        if (source.startsWith("class")) return `[class ${value.name || "(anonymous)"}]`;
        return value.name ? `[Function: ${value.name}]` : "[Function (anonymous)]";
      }
    }
    if (value === null) return "null";
    if (value instanceof Error) return depth === 0 ? errorText(value) : `[${errorText(value).split("\n")[0]}]`;
    if (seen.includes(value)) return "[Circular]";
    if (value instanceof Date) return value.toISOString();
    if (value instanceof RegExp) return String(value);
    const nested = seen.concat([value]);
    const item = (v) => inspect(v, depth + 1, nested);
    if (Array.isArray(value)) {
      if (depth > 2) return "[Array]";
      return value.length ? `[ ${value.map(item).join(", ")} ]` : "[]";
    }
    if (value instanceof Map) {
      if (depth > 2) return "[Map]";
      const entries = [...value].map(([k, v]) => `${item(k)} => ${item(v)}`);
      return `Map(${value.size}) ${entries.length ? `{ ${entries.join(", ")} }` : "{}"}`;
    }
    if (value instanceof Set) {
      if (depth > 2) return "[Set]";
      return `Set(${value.size}) ${value.size ? `{ ${[...value].map(item).join(", ")} }` : "{}"}`;
    }
    if (ArrayBuffer.isView(value)) {
      return `${value.constructor.name}(${value.length}) [ ${Array.from(value).join(", ")} ]`;
    }
    const proto = Object.getPrototypeOf(value);
    const name = proto === null ? "[Object: null prototype]"
      : proto.constructor && proto.constructor !== Object ? proto.constructor.name : "";
    if (depth > 2) return name ? `[${name}]` : "[Object]";
    const fields = Object.keys(value).map((k) => `${IDENTIFIER.test(k) ? k : quote(k)}: ${item(value[k])}`);
    const body = fields.length ? `{ ${fields.join(", ")} }` : "{}";
    return name ? `${name} ${body}` : body;
  }

  // console.log's arguments: printf-style directives in a leading string, then the rest inspected.
  function format(args) {
    const out = [];
    let rest = args;
    if (typeof args[0] === "string" && args[0].includes("%")) {
      let index = 1;
      out.push(args[0].replace(/%([sdifjoOc%])/g, (match, directive) => {
        if (directive === "%") return "%";
        if (index >= args.length) return match;
        const arg = args[index++];
        switch (directive) {
          case "s": return typeof arg === "string" ? arg : inspect(arg, 1);
          case "d": case "i": return typeof arg === "bigint" ? `${arg}n`
            : String(directive === "i" ? Math.trunc(Number(arg)) : Number(arg));
          case "f": return String(parseFloat(arg));
          case "j": try { return JSON.stringify(arg); } catch (e) { return "[Circular]"; }
          case "c": return "";
          default: return inspect(arg, 1);
        }
      }));
      rest = args.slice(index);
    }
    for (const arg of rest) out.push(inspect(arg));
    return out.join(" ");
  }

  class Exit {
    constructor(code) { this.code = code; }
  }

  function exitNow(code) {
    const status = Number(code) & 0xff;
    if (status === 0) wasiExit.exit({ tag: "ok" });
    else wasiExit.exitWithCode(status);
    throw new Exit(status); // not reached under a host that implements wasi:cli/exit
  }

  const counts = new Map();
  const console = {
    log: (...args) => write(1, format(args) + "\n"),
    info: (...args) => write(1, format(args) + "\n"),
    debug: (...args) => write(1, format(args) + "\n"),
    error: (...args) => write(2, format(args) + "\n"),
    warn: (...args) => write(2, format(args) + "\n"),
    trace: (...args) => write(2, "Trace: " + format(args) + "\n"),
    dir: (value) => write(1, inspect(value, 1) + "\n"),
    assert: (ok, ...args) => { if (!ok) write(2, "Assertion failed" + (args.length ? ": " + format(args) : "") + "\n"); },
    count: (label = "default") => {
      counts.set(label, (counts.get(label) || 0) + 1);
      write(1, `${label}: ${counts.get(label)}\n`);
    },
  };

  const process = {
    argv: [],
    env: {},
    exitCode: undefined,
    platform: "wasi",
    exit: (code) => exitNow(code === undefined ? (process.exitCode || 0) : code),
    stdout: { write: (chunk) => { write(1, chunk); return true; } },
    stderr: { write: (chunk) => { write(2, chunk); return true; } },
  };

  globalThis.console = console;
  globalThis.process = process;

  // wasi:cli/run: set process up, run the program, and turn its end into an exit status.
  function main(program, entry) {
    const args = wasiEnvironment.getArguments();
    process.argv = [args[0] || "wasmrun", entry, ...args.slice(1)];
    process.argv0 = args[0] || "wasmrun";
    process.env = Object.fromEntries(wasiEnvironment.getEnvironment());
    try {
      program();
    } catch (error) {
      if (error instanceof Exit) return exitNow(error.code);
      write(2, (error instanceof Error ? errorText(error) : `Uncaught ${inspect(error, 1)}`) + "\n");
      return exitNow(1);
    }
    if (process.exitCode) exitNow(process.exitCode);
  }

  return { main, inspect, format };
})();
