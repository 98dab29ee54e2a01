// wasmrun's prelude for a JavaScript command built by componentize-qjs (QuickJS). The engine has
// no console and no process: both are defined here on top of the wasi:cli interfaces. Nothing at
// the top level touches WASI: the module's top level runs at build time (it is snapshotted), so
// streams, arguments and the environment are asked for only once run() is called.
import wasiStdout from "wasi:cli/stdout@0.2.12";
import wasiStderr from "wasi:cli/stderr@0.2.12";
import wasiEnvironment from "wasi:cli/environment@0.2.12";
import wasiExit from "wasi:cli/exit@0.2.12";
import wasiClock from "wasi:clocks/monotonic-clock@0.2.12";

const __wasmrun = (() => {
  const streams = {};
  const CHUNK = 4096; // blocking-write-and-flush takes at most 4096 bytes a call

  // UTF-8 by QuickJS's own (native) encodeURIComponent, a byte per char of the binary string it
  // gives back: a per-character loop in JavaScript cost 25 us a line of console.log. Text with a
  // lone surrogate (which encodeURIComponent refuses) takes the loop.
  const ASCII = /^[\x00-\x7f]*$/;

  function utf8(text) {
    let binary = text;
    if (!ASCII.test(text)) {
      try {
        binary = unescape(encodeURIComponent(text));
      } catch (error) {
        return utf8Loop(text);
      }
    }
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function utf8Loop(text) {
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
    const custom = value[Symbol.for("nodejs.util.inspect.custom")]; // Node's hook (Buffer, URL)
    if (typeof custom === "function") return String(custom.call(value, 2 - depth, {}));
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

  // The event loop. QuickJS runs no job queue once run() has returned, so wasmrun brings its own:
  // Promise is replaced by one whose reactions go to `jobs` (esbuild lowers async functions onto
  // it), and timers wait on wasi:clocks. drain() runs jobs, then the earliest timer, until none
  // is left.
  const jobs = [];
  const unhandled = new Set();
  const PENDING = 0, FULFILLED = 1, REJECTED = 2;

  function settle(promise, state, value) {
    if (promise._state !== PENDING) return;
    promise._state = state;
    promise._value = value;
    const reactions = promise._reactions;
    promise._reactions = [];
    for (const reaction of reactions) jobs.push(reaction);
    if (state === REJECTED && !promise._handled) unhandled.add(promise);
  }

  function resolveWith(promise, value) {
    if (value === promise) return settle(promise, REJECTED, new TypeError("Chaining cycle detected for promise"));
    if (value !== null && (typeof value === "object" || typeof value === "function")) {
      let then;
      try { then = value.then; } catch (error) { return settle(promise, REJECTED, error); }
      if (typeof then === "function") {
        jobs.push(() => {
          let called = false;
          try {
            then.call(value, (v) => { if (!called) { called = true; resolveWith(promise, v); } },
              (e) => { if (!called) { called = true; settle(promise, REJECTED, e); } });
          } catch (error) {
            if (!called) { called = true; settle(promise, REJECTED, error); }
          }
        });
        return;
      }
    }
    settle(promise, FULFILLED, value);
  }

  class Promise {
    constructor(executor) {
      if (typeof executor !== "function") throw new TypeError("Promise resolver is not a function");
      this._state = PENDING;
      this._value = undefined;
      this._reactions = [];
      this._handled = false;
      let done = false;
      const resolve = (value) => { if (!done) { done = true; resolveWith(this, value); } };
      const reject = (reason) => { if (!done) { done = true; settle(this, REJECTED, reason); } };
      try { executor(resolve, reject); } catch (error) { reject(error); }
    }
    then(onFulfilled, onRejected) {
      let resolve, reject;
      const next = new Promise((a, b) => { resolve = a; reject = b; });
      this._handled = true;
      unhandled.delete(this);
      const reaction = () => {
        const fulfilled = this._state === FULFILLED;
        const handler = fulfilled ? onFulfilled : onRejected;
        if (typeof handler !== "function") return (fulfilled ? resolve : reject)(this._value);
        try { resolve(handler(this._value)); } catch (error) { reject(error); }
      };
      if (this._state === PENDING) this._reactions.push(reaction);
      else jobs.push(reaction);
      return next;
    }
    catch(onRejected) { return this.then(undefined, onRejected); }
    finally(onFinally) {
      if (typeof onFinally !== "function") return this.then(onFinally, onFinally);
      return this.then((v) => Promise.resolve(onFinally()).then(() => v),
        (e) => Promise.resolve(onFinally()).then(() => { throw e; }));
    }
    static resolve(value) {
      return value instanceof Promise ? value : new Promise((resolve) => resolve(value));
    }
    static reject(reason) { return new Promise((_, reject) => reject(reason)); }
    static withResolvers() {
      let resolve, reject;
      const promise = new Promise((a, b) => { resolve = a; reject = b; });
      return { promise, resolve, reject };
    }
    static all(items) {
      return new Promise((resolve, reject) => {
        const values = [];
        let left = 0;
        for (const item of items) {
          const index = values.length;
          values.push(undefined);
          left++;
          Promise.resolve(item).then((v) => { values[index] = v; if (--left === 0) resolve(values); }, reject);
        }
        if (left === 0) resolve(values);
      });
    }
    static allSettled(items) {
      return Promise.all([...items].map((item) => Promise.resolve(item).then(
        (value) => ({ status: "fulfilled", value }), (reason) => ({ status: "rejected", reason }))));
    }
    static race(items) {
      return new Promise((resolve, reject) => { for (const item of items) Promise.resolve(item).then(resolve, reject); });
    }
    static any(items) {
      return new Promise((resolve, reject) => {
        const errors = [];
        let left = 0;
        for (const item of items) {
          const index = errors.length;
          errors.push(undefined);
          left++;
          Promise.resolve(item).then(resolve, (e) => {
            errors[index] = e;
            if (--left === 0) reject(new AggregateError(errors, "All promises were rejected"));
          });
        }
        if (left === 0) reject(new AggregateError([], "All promises were rejected"));
      });
    }
  }
  Object.defineProperty(Promise.prototype, Symbol.toStringTag, { value: "Promise" });

  const timers = [];
  let nextTimer = 1;
  let sequence = 0;

  function addTimer(callback, delay, args, repeat) {
    if (typeof callback !== "function") throw new TypeError("The \"callback\" argument must be of type function");
    const ms = Math.max(0, Number(delay) || 0);
    const timer = { id: nextTimer++, due: nowMs() + ms, ms, callback, args, repeat, order: sequence++ };
    timers.push(timer);
    return timer.id;
  }

  function clearTimer(id) {
    const index = timers.findIndex((t) => t.id === id || t === id);
    if (index >= 0) timers.splice(index, 1);
  }

  function nowMs() { return Number(wasiClock.now()) / 1e6; }

  function sleepMs(ms) {
    if (ms > 0) wasiClock.subscribeDuration(Math.ceil(ms * 1e6)).block();
  }

  function runJobs() {
    for (let i = 0; i < jobs.length; i++) {
      jobs[i]();
      if (i > 1024) { jobs.splice(0, i + 1); i = -1; }
    }
    jobs.length = 0;
  }

  function drain() {
    for (;;) {
      runJobs();
      if (!timers.length) return;
      let first = timers[0];
      for (const t of timers) if (t.due < first.due || (t.due === first.due && t.order < first.order)) first = t;
      sleepMs(first.due - nowMs());
      if (first.repeat) { first.due += Math.max(1, first.ms); first.order = sequence++; }
      else clearTimer(first.id);
      first.callback(...first.args);
    }
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
  globalThis.Promise = Promise;
  globalThis.queueMicrotask = (callback) => { jobs.push(() => callback()); };
  globalThis.setTimeout = (callback, delay, ...args) => addTimer(callback, delay, args, false);
  globalThis.setInterval = (callback, delay, ...args) => addTimer(callback, delay, args, true);
  globalThis.setImmediate = (callback, ...args) => addTimer(callback, 0, args, false);
  globalThis.clearTimeout = clearTimer;
  globalThis.clearInterval = clearTimer;
  globalThis.clearImmediate = clearTimer;

  // wasi:cli/run: set process up, run the program, and turn its end into an exit status.
  function main(program, entry) {
    const args = wasiEnvironment.getArguments();
    process.argv = [args[0] || "wasmrun", entry, ...args.slice(1)];
    process.argv0 = args[0] || "wasmrun";
    process.env = Object.fromEntries(wasiEnvironment.getEnvironment());
    try {
      let failed = false, failure;
      program().then(undefined, (error) => { failed = true; failure = error; });
      drain();
      if (failed) throw failure;
      const [rejected] = unhandled;
      if (rejected !== undefined) throw rejected._value;
    } catch (error) {
      if (error instanceof Exit) return exitNow(error.code);
      write(2, (error instanceof Error ? errorText(error) : `Uncaught ${inspect(error, 1)}`) + "\n");
      return exitNow(1);
    }
    if (process.exitCode) exitNow(process.exitCode);
  }

  // The agent's JavaScript runtime (wasmrun/agent/runtimes) runs many cells in one instance: it
  // needs the event loop and the exit sentinel, and a loop emptied between cells.
  function reset() {
    jobs.length = 0;
    timers.length = 0;
    unhandled.clear();
  }

  return { main, inspect, format, write, drain, reset, errorText, unhandled, Exit, utf8 };
})();
