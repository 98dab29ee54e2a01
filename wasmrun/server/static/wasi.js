// A browser WASI (preview1) shim for wasmrun's page: stdout and stderr to callbacks, argv,
// environment, clocks, random and proc_exit. There is no file system: stdin reads what it is
// given (nothing on the page; what was piped to `wasmrun run --headless`), there are no
// preopened directories, and every other call answers ENOSYS.

export const ERRNO = { SUCCESS: 0, BADF: 8, INVAL: 28, NOSYS: 52, SPIPE: 70, NOTCAPABLE: 76 };

/** Thrown by proc_exit: the module asked to stop with `code`. */
export class WasiExit extends Error {
  constructor(code) {
    super(`exited with code ${code}`);
    this.name = "WasiExit";
    this.code = code;
  }
}

const encoder = new TextEncoder();

export class WASI {
  /**
   * @param {{args?: string[], env?: Record<string,string>, stdin?: string | Uint8Array,
   *          stdout?: (text: string) => void, stderr?: (text: string) => void}} options
   */
  constructor({ args = [], env = {}, stdin = "", stdout = () => {}, stderr = () => {} } = {}) {
    this.args = args.map((a) => encoder.encode(`${a}\0`));
    this.env = Object.entries(env).map(([k, v]) => encoder.encode(`${k}=${v}\0`));
    this.stdin = typeof stdin === "string" ? encoder.encode(stdin) : stdin;
    this.stdinPos = 0;
    this.sinks = { 1: stdout, 2: stderr };
    this.decoders = { 1: new TextDecoder(), 2: new TextDecoder() };
    this.memory = null;
    this.calls = {};
    this.imports = this.#imports();
  }

  /** Call once the instance exists: the shim reads and writes its exported memory (or keeps the
   *  memory the page gave it as an import, when it exports none). */
  setInstance(instance) {
    this.memory = instance.exports.memory ?? this.memory;
  }

  #view() {
    if (!this.memory) throw new Error("the module has no memory the page can reach: WASI calls cannot work");
    return new DataView(this.memory.buffer);
  }

  #bytes() {
    return new Uint8Array(this.memory.buffer);
  }

  #strings(list, ptrs, buf) {
    const view = this.#view();
    const bytes = this.#bytes();
    for (const item of list) {
      view.setUint32(ptrs, buf, true);
      bytes.set(item, buf);
      ptrs += 4;
      buf += item.length;
    }
    return ERRNO.SUCCESS;
  }

  #sizes(list, countPtr, sizePtr) {
    const view = this.#view();
    view.setUint32(countPtr, list.length, true);
    view.setUint32(sizePtr, list.reduce((n, item) => n + item.length, 0), true);
    return ERRNO.SUCCESS;
  }

  /** Flush any partial UTF-8 sequence left in the output decoders. */
  flush() {
    for (const fd of [1, 2]) {
      const rest = this.decoders[fd].decode();
      if (rest) this.sinks[fd](rest);
    }
  }

  #now(id) {
    switch (id) {
      case 0: // realtime, in ns since the epoch
        return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e3)) * 1000n;
      case 1: // monotonic
      case 2: // process CPU time (approximated)
      case 3: // thread CPU time (approximated)
        return BigInt(Math.round(performance.now() * 1e6));
      default:
        return null;
    }
  }

  #imports() {
    const shim = this;
    const count = (name) => { shim.calls[name] = (shim.calls[name] || 0) + 1; };
    const fns = {
      args_sizes_get: (countPtr, sizePtr) => shim.#sizes(shim.args, countPtr, sizePtr),
      args_get: (ptrs, buf) => shim.#strings(shim.args, ptrs, buf),
      environ_sizes_get: (countPtr, sizePtr) => shim.#sizes(shim.env, countPtr, sizePtr),
      environ_get: (ptrs, buf) => shim.#strings(shim.env, ptrs, buf),
      clock_res_get(id, resPtr) {
        if (shim.#now(id) === null) return ERRNO.INVAL;
        shim.#view().setBigUint64(resPtr, id === 0 ? 1000n : 1000n, true);
        return ERRNO.SUCCESS;
      },
      clock_time_get(id, _precision, timePtr) {
        const now = shim.#now(id);
        if (now === null) return ERRNO.INVAL;
        shim.#view().setBigUint64(timePtr, now, true);
        return ERRNO.SUCCESS;
      },
      random_get(buf, len) {
        const bytes = shim.#bytes();
        for (let at = 0; at < len; at += 65536) {
          const chunk = new Uint8Array(Math.min(len - at, 65536));  // getRandomValues refuses shared memory
          crypto.getRandomValues(chunk);
          bytes.set(chunk, buf + at);
        }
        return ERRNO.SUCCESS;
      },
      proc_exit(code) {
        shim.flush();
        throw new WasiExit(code);
      },
      proc_raise: () => ERRNO.NOSYS,
      sched_yield: () => ERRNO.SUCCESS,
      fd_write(fd, iovs, iovsLen, nwrittenPtr) {
        const sink = shim.sinks[fd];
        if (!sink) return ERRNO.BADF;
        const view = shim.#view();
        const bytes = shim.#bytes();
        let written = 0;
        let text = "";
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view.getUint32(iovs + i * 8, true);
          const len = view.getUint32(iovs + i * 8 + 4, true);
          // slice: a copy, as TextDecoder refuses a view of shared memory (threads)
          text += shim.decoders[fd].decode(bytes.slice(ptr, ptr + len), { stream: true });
          written += len;
        }
        if (text) sink(text);
        view.setUint32(nwrittenPtr, written, true);
        return ERRNO.SUCCESS;
      },
      fd_read(fd, iovs, iovsLen, nreadPtr) {
        if (fd !== 0) return ERRNO.BADF;
        const view = shim.#view();
        const bytes = shim.#bytes();
        let read = 0;
        for (let i = 0; i < iovsLen && shim.stdinPos < shim.stdin.length; i++) {
          const ptr = view.getUint32(iovs + i * 8, true);
          const len = view.getUint32(iovs + i * 8 + 4, true);
          const chunk = shim.stdin.subarray(shim.stdinPos, shim.stdinPos + len);
          bytes.set(chunk, ptr);
          shim.stdinPos += chunk.length;
          read += chunk.length;
        }
        view.setUint32(nreadPtr, read, true);
        return ERRNO.SUCCESS;
      },
      fd_close: (fd) => (fd <= 2 ? ERRNO.SUCCESS : ERRNO.BADF),
      fd_sync: (fd) => (fd <= 2 ? ERRNO.SUCCESS : ERRNO.BADF),
      fd_seek: (fd) => (fd <= 2 ? ERRNO.SPIPE : ERRNO.BADF),
      fd_tell: (fd) => (fd <= 2 ? ERRNO.SPIPE : ERRNO.BADF),
      fd_fdstat_get(fd, ptr) {
        if (fd > 2) return ERRNO.BADF;
        const view = shim.#view();
        view.setUint8(ptr, 2); // character device
        view.setUint16(ptr + 2, fd === 0 ? 0 : 1, true); // stdout and stderr append
        view.setBigUint64(ptr + 8, 0xffffffffn, true);
        view.setBigUint64(ptr + 16, 0n, true);
        return ERRNO.SUCCESS;
      },
      fd_fdstat_set_flags: (fd) => (fd <= 2 ? ERRNO.SUCCESS : ERRNO.BADF),
      fd_filestat_get(fd, ptr) {
        if (fd > 2) return ERRNO.BADF;
        shim.#bytes().fill(0, ptr, ptr + 64);
        shim.#view().setUint8(ptr + 16, 2);
        return ERRNO.SUCCESS;
      },
      fd_prestat_get: () => ERRNO.BADF, // no preopened directories
      fd_prestat_dir_name: () => ERRNO.BADF,
      path_open: () => ERRNO.NOTCAPABLE,
    };
    const counted = {};
    for (const [name, fn] of Object.entries(fns)) {
      counted[name] = (...args) => { count(name); return fn(...args); };
    }
    return counted;
  }

  /** A stand-in for a WASI function the shim does not implement: it answers ENOSYS. */
  unsupported(name) {
    return () => { this.calls[name] = (this.calls[name] || 0) + 1; return ERRNO.NOSYS; };
  }
}
