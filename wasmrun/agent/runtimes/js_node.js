// The agent's JavaScript runtime: Node's built-in modules that the sandbox can honestly provide,
// written for QuickJS (which has none of them): buffer, crypto, events, util, os, assert, url,
// process and timers. Randomness comes from wasi:random (the host's secure source). What needs
// processes, sockets or threads (child_process, net, http, worker_threads...) is refused by name
// in js_runtime.js's require. Nothing here runs WASI at the top level: the module is snapshotted
// at build time, so every host call happens inside a function.
import wasiRandom from "wasi:random/random@0.2.12";

const __wasmrunNode = (() => {
  const { inspect: show, format: formatArgs, utf8 } = __wasmrun;
  const CUSTOM_INSPECT = Symbol.for("nodejs.util.inspect.custom");

  function codeError(Type, code, message) {
    const error = new Type(message);
    error.code = code;
    return error;
  }

  // --- buffer ---------------------------------------------------------------------------------
  const ENCODINGS = ["utf8", "utf-8", "hex", "base64", "base64url", "latin1", "binary", "ascii", "ucs2", "ucs-2",
    "utf16le", "utf-16le"];

  function normalEncoding(encoding) {
    const name = String(encoding === undefined || encoding === null ? "utf8" : encoding).toLowerCase();
    if (!ENCODINGS.includes(name)) throw codeError(TypeError, "ERR_UNKNOWN_ENCODING", `Unknown encoding: ${encoding}`);
    return { "utf-8": "utf8", binary: "latin1", "ucs-2": "utf16le", ucs2: "utf16le", "utf-16le": "utf16le" }[name] || name;
  }

  function latin1String(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
    return out;
  }

  function utf8String(bytes) {
    return new TextDecoder().decode(bytes);
  }

  function base64Clean(text, url) {
    let clean = String(text).replace(/[-_]/g, (c) => (c === "-" ? "+" : "/")).replace(/[^A-Za-z0-9+/]/g, "");
    if (clean.length % 4 === 1) clean = clean.slice(0, -1);
    return clean + "===".slice(0, (4 - (clean.length % 4)) % 4);
  }

  function bytesOf(text, encoding) {
    switch (normalEncoding(encoding)) {
      case "utf8": return utf8(String(text));
      case "hex": {
        const pairs = String(text).match(/^(?:[0-9a-fA-F]{2})*/)[0];
        const out = new Uint8Array(pairs.length / 2);
        for (let i = 0; i < out.length; i++) out[i] = parseInt(pairs.substr(i * 2, 2), 16);
        return out;
      }
      case "base64": case "base64url": {
        const binary = atob(base64Clean(text));
        const out = new Uint8Array(binary.length);
        for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
        return out;
      }
      case "utf16le": {
        const out = new Uint8Array(String(text).length * 2);
        for (let i = 0; i < text.length; i++) { const c = text.charCodeAt(i); out[2 * i] = c & 255; out[2 * i + 1] = c >> 8; }
        return out;
      }
      default: { // latin1, ascii
        const out = new Uint8Array(String(text).length);
        for (let i = 0; i < out.length; i++) out[i] = text.charCodeAt(i) & 255;
        return out;
      }
    }
  }

  function textOf(bytes, encoding) {
    switch (normalEncoding(encoding)) {
      case "utf8": return utf8String(bytes);
      case "hex": return Array.from(bytes, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("");
      case "base64": return btoa(latin1String(bytes));
      case "base64url": return btoa(latin1String(bytes)).replace(/[+/=]/g, (c) => ({ "+": "-", "/": "_", "=": "" }[c]));
      case "ascii": return latin1String(bytes.map((b) => b & 127));
      case "utf16le": {
        let out = "";
        for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
        return out;
      }
      default: return latin1String(bytes);
    }
  }

  function view(value) {
    if (value instanceof Uint8Array) return value;
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    return null;
  }

  // Buffer: a Uint8Array with Node's encodings and helpers (the common part of Node's API).
  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === "string") return Buffer.fromBytes(bytesOf(value, encodingOrOffset));
      if (value instanceof ArrayBuffer) {
        const offset = Number(encodingOrOffset || 0);
        return new Buffer(value, offset, length === undefined ? value.byteLength - offset : length);
      }
      if (ArrayBuffer.isView(value) && !(value instanceof Uint8Array) && !(value instanceof DataView)) {
        return Buffer.fromBytes(Uint8Array.from(value, (v) => Number(v) & 255));
      }
      const bytes = view(value);
      if (bytes) return Buffer.fromBytes(bytes);
      if (value && value.type === "Buffer" && Array.isArray(value.data)) return Buffer.from(value.data);
      if (value !== null && typeof value === "object" && typeof value.length === "number") {
        return Buffer.fromBytes(Uint8Array.from(Array.prototype.slice.call(value), (v) => Number(v) & 255));
      }
      throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", "The first argument must be of type string or an instance of "
        + "Buffer, ArrayBuffer, or Array or an Array-like Object.");
    }
    static fromBytes(bytes) {
      const out = new Buffer(bytes.length);
      out.set(bytes);
      return out;
    }
    static alloc(size, fill, encoding) {
      const out = new Buffer(size);
      if (fill !== undefined && fill !== 0) out.fill(fill, 0, out.length, encoding);
      return out;
    }
    static allocUnsafe(size) { return new Buffer(size); }
    static allocUnsafeSlow(size) { return new Buffer(size); }
    static isBuffer(value) { return value instanceof Buffer; }
    static isEncoding(encoding) { return typeof encoding === "string" && ENCODINGS.includes(encoding.toLowerCase()); }
    static byteLength(value, encoding) {
      return typeof value === "string" ? bytesOf(value, encoding).length : (view(value) || []).length;
    }
    static concat(list, total) {
      const size = total === undefined ? list.reduce((n, b) => n + b.length, 0) : total;
      const out = Buffer.alloc(size);
      let at = 0;
      for (const item of list) {
        if (at >= size) break;
        const bytes = view(item);
        out.set(bytes.subarray(0, size - at), at);
        at += bytes.length;
      }
      return out;
    }
    static compare(a, b) { return Buffer.prototype.compare.call(a, b); }
    toString(encoding, start = 0, end = this.length) {
      return textOf(new Uint8Array(this.buffer, this.byteOffset, this.length).subarray(start, end), encoding);
    }
    toJSON() { return { type: "Buffer", data: Array.from(this) }; }
    equals(other) { return this.compare(other) === 0; }
    compare(other) {
      const b = view(other);
      for (let i = 0; i < Math.min(this.length, b.length); i++) if (this[i] !== b[i]) return this[i] < b[i] ? -1 : 1;
      return this.length === b.length ? 0 : this.length < b.length ? -1 : 1;
    }
    slice(start, end) { return this.subarray(start, end); }
    copy(target, targetStart = 0, start = 0, end = this.length) {
      const part = this.subarray(start, Math.min(end, start + (target.length - targetStart)));
      target.set(part, targetStart);
      return part.length;
    }
    write(text, offset, length, encoding) {
      if (typeof offset === "string") [offset, length, encoding] = [0, undefined, offset];
      else if (typeof length === "string") [length, encoding] = [undefined, length];
      const bytes = bytesOf(text, encoding);
      const start = Number(offset || 0);
      const count = Math.min(bytes.length, this.length - start, length === undefined ? Infinity : length);
      this.set(bytes.subarray(0, count), start);
      return count;
    }
    fill(value, offset = 0, end = this.length, encoding) {
      if (typeof offset === "string") [offset, end, encoding] = [0, this.length, offset];
      if (typeof value === "number") return Uint8Array.prototype.fill.call(this, value & 255, offset, end);
      const pattern = typeof value === "string" ? bytesOf(value, encoding) : view(value);
      if (!pattern || pattern.length === 0) return Uint8Array.prototype.fill.call(this, 0, offset, end);
      for (let i = offset, j = 0; i < end; i++, j = (j + 1) % pattern.length) this[i] = pattern[j];
      return this;
    }
    indexOf(value, start = 0, encoding) {
      if (typeof value === "number") return Uint8Array.prototype.indexOf.call(this, value & 255, start);
      const needle = typeof value === "string" ? bytesOf(value, encoding) : view(value);
      outer: for (let i = start < 0 ? Math.max(0, this.length + start) : start; i + needle.length <= this.length; i++) {
        for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer;
        return i;
      }
      return -1;
    }
    includes(value, start, encoding) { return this.indexOf(value, start, encoding) !== -1; }
    [CUSTOM_INSPECT]() {
      const shown = Array.from(this.subarray(0, 50), (b) => (b < 16 ? "0" : "") + b.toString(16)).join(" ");
      return `<Buffer${shown ? " " + shown : ""}${this.length > 50 ? ` ... ${this.length - 50} more bytes` : ""}>`;
    }
  }
  for (const [name, size, method] of [["UInt8", 1, "Uint8"], ["Int8", 1, "Int8"], ["UInt16", 2, "Uint16"],
    ["Int16", 2, "Int16"], ["UInt32", 4, "Uint32"], ["Int32", 4, "Int32"], ["Float", 4, "Float32"],
    ["Double", 8, "Float64"], ["BigUInt64", 8, "BigUint64"], ["BigInt64", 8, "BigInt64"]]) {
    for (const little of size === 1 ? [null] : [true, false]) {
      const suffix = little === null ? "" : little ? "LE" : "BE";
      const dataView = (buffer, offset) => {
        if (offset < 0 || offset + size > buffer.length) {
          throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "offset" is out of range. It must be >= 0 and <= ${buffer.length - size}. Received ${offset}`);
        }
        return new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
      };
      Buffer.prototype[`read${name}${suffix}`] = function (offset = 0) {
        return dataView(this, offset)[`get${method}`](offset, little === true);
      };
      Buffer.prototype[`write${name}${suffix}`] = function (value, offset = 0) {
        dataView(this, offset)[`set${method}`](offset, value, little === true);
        return offset + size;
      };
      if (name.startsWith("UInt")) {
        Buffer.prototype[`readUint${name.slice(4)}${suffix}`] = Buffer.prototype[`read${name}${suffix}`];
        Buffer.prototype[`writeUint${name.slice(4)}${suffix}`] = Buffer.prototype[`write${name}${suffix}`];
      }
    }
  }
  const buffer = { Buffer, constants: { MAX_LENGTH: 2 ** 31 - 1 }, kMaxLength: 2 ** 31 - 1, atob, btoa };

  // --- crypto ---------------------------------------------------------------------------------
  function randomFill(bytes) {
    for (let at = 0; at < bytes.length; at += 65536) {
      bytes.set(wasiRandom.getRandomBytes(Math.min(65536, bytes.length - at)), at);
    }
    return bytes;
  }

  function getRandomValues(array) {
    if (!ArrayBuffer.isView(array) || array instanceof Float32Array || array instanceof Float64Array
      || array instanceof DataView) {
      throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", "The data argument must be an integer-type TypedArray");
    }
    if (array.byteLength > 65536) {
      const error = new Error(`The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`);
      error.name = "QuotaExceededError";
      throw error;
    }
    randomFill(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    return array;
  }

  function randomBytes(size, callback) {
    const out = randomFill(Buffer.alloc(size));
    if (typeof callback !== "function") return out;
    queueMicrotask(() => callback(null, out));
    return undefined;
  }

  function randomUUID() {
    const b = randomFill(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = textOf(b, "hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function randomInt(min, max, callback) {
    if (max === undefined || typeof max === "function") [min, max, callback] = [0, min, max];
    const range = max - min;
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || range <= 0 || range > 2 ** 48) {
      throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "max" is out of range. It must be greater than the value of "min" (${min}) and at most ${min} + 2**48. Received ${max}`);
    }
    const limit = 2 ** 48 - (2 ** 48 % range);
    let value;
    do {
      const b = randomFill(new Uint8Array(6));
      value = b.reduce((n, byte) => n * 256 + byte, 0);
    } while (value >= limit);
    const result = min + (value % range);
    if (typeof callback === "function") { queueMicrotask(() => callback(null, result)); return undefined; }
    return result;
  }

  const ror = (x, n) => (x >>> n) | (x << (32 - n));
  const rol = (x, n) => (x << n) | (x >>> (32 - n));

  // Pads a message as MD5 and the SHA-1/SHA-2 family do; `little` puts the bit length little-endian (MD5).
  function padded(bytes, little) {
    const length = ((bytes.length + 9 + 63) >> 6) << 6;
    const out = new Uint8Array(length);
    out.set(bytes);
    out[bytes.length] = 0x80;
    const data = new DataView(out.buffer);
    const bits = bytes.length * 8;
    if (little) { data.setUint32(length - 8, bits >>> 0, true); data.setUint32(length - 4, Math.floor(bits / 2 ** 32), true); }
    else { data.setUint32(length - 4, bits >>> 0); data.setUint32(length - 8, Math.floor(bits / 2 ** 32)); }
    return data;
  }

  function words(state, little) {
    const out = new Uint8Array(state.length * 4);
    const data = new DataView(out.buffer);
    state.forEach((word, i) => data.setUint32(4 * i, word >>> 0, little));
    return out;
  }

  const PRIMES = [];
  for (let n = 2; PRIMES.length < 64; n++) if (PRIMES.every((p) => n % p)) PRIMES.push(n);
  const fraction = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  const SHA256_K = PRIMES.map((p) => fraction(Math.cbrt(p)));
  const SHA256_H = PRIMES.slice(0, 8).map((p) => fraction(Math.sqrt(p)));
  const SHA224_H = [0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4];

  function sha256(bytes, initial = SHA256_H, size = 32) {
    const data = padded(bytes, false);
    const h = initial.slice();
    const w = new Int32Array(64);
    for (let at = 0; at < data.byteLength; at += 64) {
      for (let i = 0; i < 16; i++) w[i] = data.getInt32(at + 4 * i);
      for (let i = 16; i < 64; i++) {
        const a = w[i - 15], b = w[i - 2];
        w[i] = (w[i - 16] + (ror(a, 7) ^ ror(a, 18) ^ (a >>> 3)) + w[i - 7] + (ror(b, 17) ^ ror(b, 19) ^ (b >>> 10))) | 0;
      }
      let [a, b, c, d, e, f, g, k] = h;
      for (let i = 0; i < 64; i++) {
        const t1 = (k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + SHA256_K[i] + w[i]) | 0;
        const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      [a, b, c, d, e, f, g, k].forEach((v, i) => { h[i] = (h[i] + v) | 0; });
    }
    return words(h, false).subarray(0, size);
  }

  function sha1(bytes) {
    const data = padded(bytes, false);
    const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    const w = new Int32Array(80);
    for (let at = 0; at < data.byteLength; at += 64) {
      for (let i = 0; i < 16; i++) w[i] = data.getInt32(at + 4 * i);
      for (let i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
      let [a, b, c, d, e] = h;
      for (let i = 0; i < 80; i++) {
        const [f, k] = i < 20 ? [(b & c) | (~b & d), 0x5a827999] : i < 40 ? [b ^ c ^ d, 0x6ed9eba1]
          : i < 60 ? [(b & c) | (b & d) | (c & d), 0x8f1bbcdc] : [b ^ c ^ d, 0xca62c1d6];
        const t = (rol(a, 5) + f + e + k + w[i]) | 0;
        e = d; d = c; c = rol(b, 30); b = a; a = t;
      }
      [a, b, c, d, e].forEach((v, i) => { h[i] = (h[i] + v) | 0; });
    }
    return words(h, false);
  }

  const MD5_K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
  const MD5_S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

  function md5(bytes) {
    const data = padded(bytes, true);
    const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    const m = new Int32Array(16);
    for (let at = 0; at < data.byteLength; at += 64) {
      for (let i = 0; i < 16; i++) m[i] = data.getInt32(at + 4 * i, true);
      let [a, b, c, d] = h;
      for (let i = 0; i < 64; i++) {
        const round = i >> 4;
        const [f, g] = round === 0 ? [(b & c) | (~b & d), i] : round === 1 ? [(d & b) | (~d & c), (5 * i + 1) % 16]
          : round === 2 ? [b ^ c ^ d, (3 * i + 5) % 16] : [c ^ (b | ~d), (7 * i) % 16];
        const t = d;
        d = c; c = b;
        b = (b + rol((a + f + MD5_K[i] + m[g]) | 0, MD5_S[round * 4 + (i % 4)])) | 0;
        a = t;
      }
      [a, b, c, d].forEach((v, i) => { h[i] = (h[i] + v) | 0; });
    }
    return words(h, true);
  }

  // The digests the sandbox computes, in JavaScript (no sha384/sha512: they need 64-bit words).
  const HASHES = { md5, sha1, sha224: (bytes) => sha256(bytes, SHA224_H, 28), sha256 };
  const HASH_ALIASES = { "sha-1": "sha1", "sha-224": "sha224", "sha-256": "sha256", rsa_md5: "md5" };

  function hashFunction(algorithm) {
    const name = String(algorithm).toLowerCase();
    const hash = HASHES[HASH_ALIASES[name] || name];
    if (!hash) {
      throw codeError(Error, "ERR_OSSL_EVP_UNSUPPORTED", `Digest method not supported: '${algorithm}' (the sandbox `
        + `computes ${Object.keys(HASHES).join(", ")})`);
    }
    return hash;
  }

  function inputBytes(data, encoding) {
    if (typeof data === "string") return bytesOf(data, encoding);
    const bytes = view(data);
    if (!bytes) throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"data\" argument must be of type string or an instance of Buffer, TypedArray, or DataView.");
    return bytes;
  }

  // Hash and Hmac gather what update() is given and compute at digest(), once.
  class Hash {
    constructor(algorithm, finish) {
      this._finish = finish || hashFunction(algorithm);
      this._chunks = [];
      this._done = false;
    }
    update(data, encoding) {
      if (this._done) throw codeError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
      this._chunks.push(Buffer.from(inputBytes(data, encoding)));
      return this;
    }
    digest(encoding) {
      if (this._done) throw codeError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
      this._done = true;
      const out = Buffer.from(this._finish(Buffer.concat(this._chunks)));
      return encoding === undefined || encoding === "buffer" ? out : out.toString(encoding);
    }
    copy() {
      const copy = new Hash(null, this._finish);
      copy._chunks = this._chunks.slice();
      return copy;
    }
  }

  function hmac(hash, key) {
    let secret = key.length > 64 ? hash(key) : key;
    const block = new Uint8Array(64);
    block.set(secret);
    const inner = block.map((b) => b ^ 0x36), outer = block.map((b) => b ^ 0x5c);
    return (message) => hash(Buffer.concat([outer, hash(Buffer.concat([inner, message]))]));
  }

  function timingSafeEqual(a, b) {
    const x = view(a), y = view(b);
    if (x.byteLength !== y.byteLength) throw codeError(RangeError, "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH", "Input buffers must have the same byte length");
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
    return diff === 0;
  }

  const webcrypto = { getRandomValues, randomUUID };
  const crypto = {
    webcrypto, getRandomValues, randomUUID, randomBytes, randomInt, timingSafeEqual,
    randomFillSync: (target) => { randomFill(new Uint8Array(target.buffer || target, target.byteOffset || 0, target.byteLength)); return target; },
    createHash: (algorithm) => new Hash(algorithm),
    createHmac: (algorithm, key) => new Hash(null, hmac(hashFunction(algorithm), inputBytes(key))),
    getHashes: () => Object.keys(HASHES),
    hash: (algorithm, data, encoding = "hex") => new Hash(algorithm).update(data).digest(encoding),
  };

  // --- events ---------------------------------------------------------------------------------
  // A function, not a class, as Node's is: older packages call EventEmitter.call(this) from their
  // own constructors (with util.inherits) as well as `class X extends EventEmitter`.
  function EventEmitter() {
    if (!this._events || this._events === Object.getPrototypeOf(this)._events) this._events = new Map();
    if (this._maxListeners === undefined) this._maxListeners = EventEmitter.defaultMaxListeners;
  }
  Object.assign(EventEmitter.prototype, {
    _list(name) {
      if (!this._events) this._events = new Map();
      if (!this._events.has(name)) this._events.set(name, []);
      return this._events.get(name);
    },
    on(name, listener, prepend) {
      if (typeof listener !== "function") throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"listener\" argument must be of type function");
      if (this._events && this._events.has("newListener")) this.emit("newListener", name, listener.listener || listener);
      const list = this._list(name);
      if (prepend) list.unshift(listener); else list.push(listener);
      return this;
    },
    addListener(name, listener) { return this.on(name, listener); },
    prependListener(name, listener) { return this.on(name, listener, true); },
    once(name, listener, prepend) {
      const wrapper = (...args) => { this.removeListener(name, wrapper); return listener.apply(this, args); };
      wrapper.listener = listener;
      return this.on(name, wrapper, prepend);
    },
    prependOnceListener(name, listener) { return this.once(name, listener, true); },
    removeListener(name, listener) {
      const list = this._events && this._events.get(name);
      if (!list) return this;
      const index = list.findIndex((l) => l === listener || l.listener === listener);
      if (index >= 0) {
        list.splice(index, 1);
        if (!list.length) this._events.delete(name);
        if (this._events.has("removeListener")) this.emit("removeListener", name, listener);
      }
      return this;
    },
    off(name, listener) { return this.removeListener(name, listener); },
    removeAllListeners(name) {
      if (!this._events) return this;
      if (name === undefined) this._events.clear(); else this._events.delete(name);
      return this;
    },
    emit(name, ...args) {
      const list = this._events && this._events.get(name);
      if (!list || !list.length) {
        if (name === "error") {
          const error = args[0];
          throw error instanceof Error ? error : new Error(`Unhandled error. (${show(error, 1)})`);
        }
        return false;
      }
      for (const listener of list.slice()) listener.apply(this, args);
      return true;
    },
    listeners(name) { return ((this._events && this._events.get(name)) || []).map((l) => l.listener || l); },
    rawListeners(name) { return ((this._events && this._events.get(name)) || []).slice(); },
    listenerCount(name) { return ((this._events && this._events.get(name)) || []).length; },
    eventNames() { return this._events ? [...this._events.keys()] : []; },
    setMaxListeners(n) { this._maxListeners = n; return this; },
    getMaxListeners() { return this._maxListeners; }
  });
  EventEmitter.defaultMaxListeners = 10;
  EventEmitter.EventEmitter = EventEmitter;
  EventEmitter.once = (emitter, name) => new Promise((resolve, reject) => {
    const onError = (error) => { emitter.removeListener(name, onEvent); reject(error); };
    const onEvent = (...args) => { if (name !== "error") emitter.removeListener("error", onError); resolve(args); };
    emitter.once(name, onEvent);
    if (name !== "error") emitter.once("error", onError);
  });
  EventEmitter.listenerCount = (emitter, name) => emitter.listenerCount(name);

  // --- util -----------------------------------------------------------------------------------
  function isDeepEqual(a, b, strict, seen = []) {
    if (strict ? Object.is(a, b) : a == b || (a !== a && b !== b)) return true; // eslint-disable-line eqeqeq
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    if (seen.some(([x, y]) => x === a && y === b)) return true;
    const pairs = seen.concat([[a, b]]);
    const tag = Object.prototype.toString;
    if (tag.call(a) !== tag.call(b)) return false;
    if (a instanceof Date) return a.getTime() === b.getTime();
    if (a instanceof RegExp) return String(a) === String(b);
    if (a instanceof Error && (a.message !== b.message || a.name !== b.name)) return false;
    if (ArrayBuffer.isView(a)) {
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
      return true;
    }
    if (a instanceof Map) {
      if (a.size !== b.size) return false;
      for (const [k, v] of a) if (!b.has(k) || !isDeepEqual(v, b.get(k), strict, pairs)) return false;
      return true;
    }
    if (a instanceof Set) {
      if (a.size !== b.size) return false;
      for (const v of a) if (!b.has(v) && ![...b].some((w) => isDeepEqual(v, w, strict, pairs))) return false;
      return true;
    }
    const keysA = Object.keys(a), keysB = Object.keys(b);
    if (keysA.length !== keysB.length) return false;
    return keysA.every((k) => Object.prototype.hasOwnProperty.call(b, k) && isDeepEqual(a[k], b[k], strict, pairs));
  }

  const inspect = (value, options) => {
    if (value !== null && typeof value === "object" && typeof value[CUSTOM_INSPECT] === "function") {
      return String(value[CUSTOM_INSPECT](2, options || {}, inspect));
    }
    return show(value, typeof value === "string" ? 1 : 0);
  };
  inspect.custom = CUSTOM_INSPECT;

  const PROMISIFY_CUSTOM = Symbol.for("nodejs.util.promisify.custom");
  function promisify(original) {
    if (typeof original !== "function") throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"original\" argument must be of type function");
    if (typeof original[PROMISIFY_CUSTOM] === "function") return original[PROMISIFY_CUSTOM];
    return function (...args) {
      return new Promise((resolve, reject) => {
        original.call(this, ...args, (error, value) => (error ? reject(error) : resolve(value)));
      });
    };
  }
  promisify.custom = PROMISIFY_CUSTOM;

  const types = {
    isPromise: (v) => v instanceof Promise || (v !== null && typeof v === "object" && typeof v.then === "function"),
    isDate: (v) => v instanceof Date, isRegExp: (v) => v instanceof RegExp, isMap: (v) => v instanceof Map,
    isSet: (v) => v instanceof Set, isTypedArray: (v) => ArrayBuffer.isView(v) && !(v instanceof DataView),
    isUint8Array: (v) => v instanceof Uint8Array, isArrayBuffer: (v) => v instanceof ArrayBuffer,
    isNativeError: (v) => v instanceof Error,
  };

  const util = {
    format: (...args) => formatArgs(args),
    inspect,
    promisify,
    callbackify: (original) => function (...args) {
      const callback = args.pop();
      original.apply(this, args).then((value) => callback(null, value), (error) => callback(error));
    },
    deprecate: (fn) => fn,
    inherits: (constructor, parent) => {
      Object.defineProperty(constructor, "super_", { value: parent, writable: true, configurable: true });
      Object.setPrototypeOf(constructor.prototype, parent.prototype);
    },
    isDeepStrictEqual: (a, b) => isDeepEqual(a, b, true),
    isArray: Array.isArray,
    types,
    get TextEncoder() { return globalThis.TextEncoder; },
    get TextDecoder() { return globalThis.TextDecoder; },
  };

  // --- assert ---------------------------------------------------------------------------------
  class AssertionError extends Error {
    constructor(options) {
      super(options.message);
      this.name = "AssertionError";
      this.code = "ERR_ASSERTION";
      this.actual = options.actual;
      this.expected = options.expected;
      this.operator = options.operator;
      this.generatedMessage = !options.userMessage;
    }
  }

  function check(ok, message, actual, expected, operator, generated) {
    if (ok) return;
    if (message instanceof Error) throw message;
    throw new AssertionError({ message: message === undefined ? generated() : message, actual, expected, operator,
      userMessage: message !== undefined });
  }

  const pair = (a, b, words) => `Expected values to ${words}:\n\n${inspect(a)}\n\nshould equal\n\n${inspect(b)}\n`;

  function assert(value, message) {
    check(value, message, value, true, "==", () => "The expression evaluated to a falsy value:\n\n  assert(" + inspect(value) + ")\n");
  }
  function matches(error, expected) {
    if (expected === undefined) return true;
    if (expected instanceof RegExp) return expected.test(String(error));
    if (typeof expected === "function") {
      if (expected.prototype !== undefined && error instanceof expected) return true;
      if (Error.isPrototypeOf(expected) || expected === Error) return false;
      return expected(error) === true;
    }
    return Object.keys(expected).every((k) => (expected[k] instanceof RegExp && typeof error[k] === "string"
      ? expected[k].test(error[k]) : isDeepEqual(error[k], expected[k], true)));
  }
  Object.assign(assert, {
    AssertionError,
    ok: assert,
    fail: (message = "Failed") => { throw message instanceof Error ? message : new AssertionError({ message, operator: "fail" }); },
    equal: (a, b, m) => check(a == b || (a !== a && b !== b), m, a, b, "==", () => `${inspect(a)} == ${inspect(b)}`), // eslint-disable-line eqeqeq
    notEqual: (a, b, m) => check(a != b, m, a, b, "!=", () => `${inspect(a)} != ${inspect(b)}`), // eslint-disable-line eqeqeq
    strictEqual: (a, b, m) => check(Object.is(a, b), m, a, b, "strictEqual",
      () => `Expected values to be strictly equal:\n\n${inspect(a)} !== ${inspect(b)}\n`),
    notStrictEqual: (a, b, m) => check(!Object.is(a, b), m, a, b, "notStrictEqual",
      () => `Expected "actual" to be strictly unequal to: ${inspect(b)}`),
    deepEqual: (a, b, m) => check(isDeepEqual(a, b, false), m, a, b, "deepEqual", () => pair(a, b, "be loosely deep-equal")),
    deepStrictEqual: (a, b, m) => check(isDeepEqual(a, b, true), m, a, b, "deepStrictEqual",
      () => pair(a, b, "be strictly deep-equal")),
    notDeepEqual: (a, b, m) => check(!isDeepEqual(a, b, false), m, a, b, "notDeepEqual", () => `${inspect(a)} deepEqual ${inspect(b)}`),
    notDeepStrictEqual: (a, b, m) => check(!isDeepEqual(a, b, true), m, a, b, "notDeepStrictEqual",
      () => `Expected "actual" not to be strictly deep-equal to: ${inspect(b)}`),
    match: (text, re, m) => check(re.test(text), m, text, re, "match",
      () => `The input did not match the regular expression ${re}. Input:\n\n${inspect(text)}\n`),
    throws: (fn, expected, m) => {
      if (typeof expected === "string") [expected, m] = [undefined, expected];
      try { fn(); } catch (error) {
        check(matches(error, expected), m, error, expected, "throws", () => `The error is not the one expected: ${inspect(error)}`);
        return;
      }
      check(false, m, undefined, expected, "throws", () => "Missing expected exception.");
    },
    doesNotThrow: (fn, m) => {
      try { fn(); } catch (error) { check(false, typeof m === "string" ? m : undefined, error, undefined, "doesNotThrow", () => `Got unwanted exception.\nActual message: "${error && error.message}"`); }
    },
    rejects: (promiseOrFn, expected, m) => Promise.resolve(typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn).then(
      () => check(false, m, undefined, expected, "rejects", () => "Missing expected rejection."),
      (error) => check(matches(error, expected), m, error, expected, "rejects", () => `The error is not the one expected: ${inspect(error)}`)),
    doesNotReject: (promiseOrFn, m) => Promise.resolve(typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn).then(
      () => undefined, (error) => check(false, m, error, undefined, "doesNotReject", () => `Got unwanted rejection.\nActual message: "${error && error.message}"`)),
  });
  assert.strict = Object.assign((value, message) => assert(value, message), assert, {
    equal: assert.strictEqual, notEqual: assert.notStrictEqual, deepEqual: assert.deepStrictEqual,
    notDeepEqual: assert.notDeepStrictEqual,
  });
  assert.strict.strict = assert.strict;

  // --- url ------------------------------------------------------------------------------------
  // A WHATWG-style URL for the common cases: special schemes (http, https, ws, wss, ftp, file)
  // and opaque ones (mailto:, data:), relative references against a base, dot segments, default
  // ports, percent-encoding of what may not appear raw. No IDNA (non-ASCII host names are kept as
  // given) and no IPv6 canonicalisation.
  const SPECIAL = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443", "ftp:": "21", "file:": "" };

  function invalidUrl(input) {
    return Object.assign(codeError(TypeError, "ERR_INVALID_URL", "Invalid URL"), { input: String(input) });
  }

  function percentEncode(text, extra) {
    return String(text).replace(extra, (c) => Array.from(utf8(c), (b) => `%${b < 16 ? "0" : ""}${b.toString(16).toUpperCase()}`).join(""));
  }
  const PATH_ENCODE = /[\x00-\x20"#<>?`{}\x7f]|[^\x00-\x7f]/gu;
  const QUERY_ENCODE = /[\x00-\x20"#<>\x7f]|[^\x00-\x7f]/gu;
  const FRAGMENT_ENCODE = /[\x00-\x20"<>`\x7f]|[^\x00-\x7f]/gu;
  const USER_ENCODE = /[\x00-\x20"#<>?`{}/:;=@[\\\]^|\x7f]|[^\x00-\x7f]/gu;

  function removeDots(path) {
    const out = [];
    const segments = path.split("/");
    segments.forEach((segment, i) => {
      const last = i === segments.length - 1;
      if (segment === "." || segment.toLowerCase() === "%2e") { if (last) out.push(""); }
      else if (segment === ".." || /^(\.|%2e){2}$/i.test(segment)) { if (out.length > 1) out.pop(); if (last) out.push(""); }
      else out.push(segment);
    });
    return out.join("/");
  }

  function splitTail(rest) {
    const hashAt = rest.indexOf("#");
    const hash = hashAt >= 0 ? rest.slice(hashAt) : "";
    if (hashAt >= 0) rest = rest.slice(0, hashAt);
    const queryAt = rest.indexOf("?");
    const search = queryAt >= 0 ? rest.slice(queryAt) : "";
    return [queryAt >= 0 ? rest.slice(0, queryAt) : rest, search, hash];
  }

  function parseAuthority(parts, authority, input) {
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      const [user, ...password] = authority.slice(0, at).split(":");
      parts.username = percentEncode(user, USER_ENCODE);
      parts.password = percentEncode(password.join(":"), USER_ENCODE);
      authority = authority.slice(at + 1);
    }
    const port = /:(\d*)$/.exec(authority.startsWith("[") ? authority.slice(authority.indexOf("]")) : authority);
    let host = port ? authority.slice(0, authority.length - port[0].length) : authority;
    if (port && port[1] !== "") {
      const number = Number(port[1]);
      if (number > 65535) throw invalidUrl(input);
      parts.port = SPECIAL[parts.protocol] === String(number) ? "" : String(number);
    }
    if (parts.protocol in SPECIAL) {
      host = host.toLowerCase();
      if ((host === "" && parts.protocol !== "file:") || /[\x00-\x20#%/:<>?@[\\\]^|]/.test(host.replace(/^\[.*\]$/, ""))) {
        throw invalidUrl(input);
      }
    }
    parts.hostname = host;
  }

  function parseAbsolute(protocol, rest, input) {
    const parts = { protocol, username: "", password: "", hostname: "", port: "", pathname: "", search: "", hash: "", opaque: false };
    const special = protocol in SPECIAL;
    if (special) rest = rest.replace(/\\/g, "/");
    let path, search, hash;
    if (special || rest.startsWith("//")) {
      if (protocol === "file:") rest = rest.startsWith("//") ? rest.slice(2) : `/${rest.replace(/^\/+/, "")}`;
      else rest = special ? rest.replace(/^\/*/, "") : rest.slice(2);
      const end = rest.search(/[/?#]/);
      parseAuthority(parts, end >= 0 ? rest.slice(0, end) : rest, input);
      [path, search, hash] = splitTail(end >= 0 ? rest.slice(end) : "");
      path = removeDots(percentEncode(path, PATH_ENCODE));
      if (special && path === "") path = "/";
    } else {
      [path, search, hash] = splitTail(rest);
      parts.opaque = !path.startsWith("/");
      path = parts.opaque ? percentEncode(path, /[\x00-\x1f\x7f]|[^\x00-\x7f]/gu) : removeDots(percentEncode(path, PATH_ENCODE));
    }
    parts.pathname = path;
    parts.search = search.length > 1 ? percentEncode(search, QUERY_ENCODE) : "";
    parts.hash = hash.length > 1 ? percentEncode(hash, FRAGMENT_ENCODE) : "";
    return parts;
  }

  function parseUrl(input, base) {
    const text = String(input).replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "").replace(/[\t\n\r]/g, "");
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(text);
    if (scheme && !(base && scheme[1].toLowerCase() + ":" === base.protocol && scheme[1].toLowerCase() + ":" in SPECIAL
      && !/^[/\\]/.test(scheme[2]))) {
      return parseAbsolute(scheme[1].toLowerCase() + ":", scheme[2], input);
    }
    if (!base || base.opaque) throw invalidUrl(input);
    const relative = (scheme ? scheme[2] : text).replace(base.protocol in SPECIAL ? /\\/g : /(?!)/, "/");
    if (relative.startsWith("//")) return parseAbsolute(base.protocol, relative, input);
    const parts = { ...base, search: "", hash: "" };
    const [path, search, hash] = splitTail(relative);
    if (path.startsWith("/")) parts.pathname = removeDots(percentEncode(path, PATH_ENCODE));
    else if (path !== "") parts.pathname = removeDots(base.pathname.replace(/[^/]*$/, "") + percentEncode(path, PATH_ENCODE));
    parts.search = search.length > 1 ? percentEncode(search, QUERY_ENCODE) : path === "" && !search ? base.search : "";
    parts.hash = hash.length > 1 ? percentEncode(hash, FRAGMENT_ENCODE) : "";
    return parts;
  }

  function formEncode(text) {
    return encodeURIComponent(text).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, "+");
  }
  function formDecode(text) {
    const spaced = text.replace(/\+/g, " ");
    try { return decodeURIComponent(spaced); } catch (error) { return spaced; }
  }

  class URLSearchParams {
    constructor(init = "") {
      this._list = [];
      this._url = null;
      if (typeof init === "string") this._parse(init);
      else if (init instanceof URLSearchParams) this._list = init._list.map(([k, v]) => [k, v]);
      else if (init && typeof init[Symbol.iterator] === "function") {
        for (const pairItem of init) {
          const items = [...pairItem];
          if (items.length !== 2) throw new TypeError("Each query pair must be an iterable [name, value] tuple");
          this._list.push([String(items[0]), String(items[1])]);
        }
      } else if (init && typeof init === "object") {
        for (const key of Object.keys(init)) this._list.push([key, String(init[key])]);
      }
    }
    _parse(text) {
      this._list = String(text).replace(/^\?/, "").split("&").filter(Boolean).map((item) => {
        const eq = item.indexOf("=");
        return eq >= 0 ? [formDecode(item.slice(0, eq)), formDecode(item.slice(eq + 1))] : [formDecode(item), ""];
      });
    }
    _update() { if (this._url) { const text = this.toString(); this._url._parts.search = text ? `?${text}` : ""; } }
    get size() { return this._list.length; }
    append(name, value) { this._list.push([String(name), String(value)]); this._update(); }
    delete(name, value) {
      this._list = this._list.filter(([k, v]) => k !== String(name) || (value !== undefined && v !== String(value)));
      this._update();
    }
    get(name) { const found = this._list.find(([k]) => k === String(name)); return found ? found[1] : null; }
    getAll(name) { return this._list.filter(([k]) => k === String(name)).map(([, v]) => v); }
    has(name, value) { return this._list.some(([k, v]) => k === String(name) && (value === undefined || v === String(value))); }
    set(name, value) {
      const index = this._list.findIndex(([k]) => k === String(name));
      if (index < 0) this._list.push([String(name), String(value)]);
      else {
        this._list[index] = [String(name), String(value)];
        this._list = this._list.filter(([k], i) => i <= index || k !== String(name));
      }
      this._update();
    }
    sort() { this._list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)); this._update(); }
    forEach(callback, thisArg) { for (const [k, v] of this._list) callback.call(thisArg, v, k, this); }
    keys() { return this._list.map(([k]) => k)[Symbol.iterator](); }
    values() { return this._list.map(([, v]) => v)[Symbol.iterator](); }
    entries() { return this._list.map(([k, v]) => [k, v])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join("&"); }
    [CUSTOM_INSPECT]() { return `URLSearchParams {${this._list.map(([k, v]) => ` ${inspect(k)} => ${inspect(v)}`).join(",")} }`; }
  }

  class URL {
    constructor(input, base) {
      const baseParts = base === undefined ? null : base instanceof URL ? base._parts : new URL(base)._parts;
      this._parts = parseUrl(input, baseParts);
      this._params = null;
    }
    static canParse(input, base) { try { new URL(input, base); return true; } catch (error) { return false; } }
    static parse(input, base) { try { return new URL(input, base); } catch (error) { return null; } }
    get protocol() { return this._parts.protocol; }
    set protocol(value) { this._parts.protocol = String(value).replace(/:?$/, ":").toLowerCase(); }
    get username() { return this._parts.username; }
    set username(value) { this._parts.username = percentEncode(value, USER_ENCODE); }
    get password() { return this._parts.password; }
    set password(value) { this._parts.password = percentEncode(value, USER_ENCODE); }
    get hostname() { return this._parts.hostname; }
    set hostname(value) { this._parts.hostname = String(value).toLowerCase(); }
    get port() { return this._parts.port; }
    set port(value) { this._parts.port = value === "" ? "" : String(Number.parseInt(value, 10) || ""); }
    get host() { return this._parts.hostname + (this._parts.port ? `:${this._parts.port}` : ""); }
    set host(value) { parseAuthority(this._parts, String(value), value); }
    get origin() {
      return this._parts.protocol in SPECIAL && this._parts.protocol !== "file:" ? `${this._parts.protocol}//${this.host}` : "null";
    }
    get pathname() { return this._parts.pathname; }
    set pathname(value) {
      if (this._parts.opaque) return;
      const path = percentEncode(String(value), PATH_ENCODE);
      this._parts.pathname = removeDots(path.startsWith("/") || !(this._parts.protocol in SPECIAL) ? path : `/${path}`);
    }
    get search() { return this._parts.search.length > 1 ? this._parts.search : ""; }
    set search(value) {
      const text = String(value).replace(/^\?/, "");
      this._parts.search = text ? `?${percentEncode(text, QUERY_ENCODE)}` : "";
      if (this._params) this._params._parse(this._parts.search);
    }
    get searchParams() {
      if (!this._params) { this._params = new URLSearchParams(this._parts.search); this._params._url = this; }
      return this._params;
    }
    get hash() { return this._parts.hash.length > 1 ? this._parts.hash : ""; }
    set hash(value) {
      const text = String(value).replace(/^#/, "");
      this._parts.hash = text ? `#${percentEncode(text, FRAGMENT_ENCODE)}` : "";
    }
    get href() {
      const p = this._parts;
      const auth = p.username || p.password ? `${p.username}${p.password ? `:${p.password}` : ""}@` : "";
      const authority = p.protocol in SPECIAL || p.hostname || auth ? `//${auth}${this.host}` : "";
      return `${p.protocol}${authority}${p.pathname}${this.search}${this.hash}`;
    }
    set href(value) { this._parts = parseUrl(value, null); if (this._params) this._params._parse(this._parts.search); }
    toString() { return this.href; }
    toJSON() { return this.href; }
    [CUSTOM_INSPECT]() { return `URL { href: ${inspect(this.href)} }`; }
  }

  function fileURLToPath(value) {
    const url = value instanceof URL ? value : new URL(value);
    if (url.protocol !== "file:") throw codeError(TypeError, "ERR_INVALID_URL_SCHEME", "The URL must be of scheme file");
    return decodeURIComponent(url.pathname);
  }
  function pathToFileURL(file) {
    const absolute = __wasmrunFs.path.resolve(String(file));
    return new URL(`file://${percentEncode(absolute, /[\x00-\x20"#%<>?`{}\x7f]|[^\x00-\x7f]/gu)}`);
  }
  // The legacy url.parse, over URL: enough for the packages that still call it.
  function legacyParse(text, parseQuery) {
    let url;
    try { url = new URL(text); } catch (error) { url = null; }
    const out = url ? {
      protocol: url.protocol, slashes: url.href.startsWith(`${url.protocol}//`), auth: url.username ? decodeURIComponent(`${url.username}${url.password ? `:${url.password}` : ""}`) : null,
      host: url.host, port: url.port || null, hostname: url.hostname, hash: url.hash || null, search: url.search || null,
      pathname: url.pathname, href: url.href,
    } : (() => {
      const [pathname, search, hash] = splitTail(String(text));
      return { protocol: null, slashes: null, auth: null, host: null, port: null, hostname: null, hash: hash || null,
        search: search || null, pathname: pathname || null, href: String(text) };
    })();
    out.path = `${out.pathname || ""}${out.search || ""}` || null;
    out.query = parseQuery ? Object.fromEntries(new URLSearchParams(out.search || "")) : out.search ? out.search.slice(1) : null;
    return out;
  }
  const url = { URL, URLSearchParams, fileURLToPath, pathToFileURL, parse: legacyParse,
    format: (value) => (value instanceof URL ? value.href : typeof value === "string" ? value
      : `${value.protocol || ""}${value.slashes || value.host ? "//" : ""}${value.host || value.hostname || ""}${value.pathname || ""}${value.search || ""}${value.hash || ""}`),
    resolve: (from, to) => new URL(to, new URL(from, "resolve://")).href.replace(/^resolve:\/\//, "") };

  // --- os ---------------------------------------------------------------------------------------
  const os = {
    EOL: "\n", devNull: "/dev/null", platform: () => "wasi", type: () => "WASI", arch: () => "wasm32",
    machine: () => "wasm32", release: () => "", version: () => "", endianness: () => "LE", hostname: () => "sandbox",
    homedir: () => "/", tmpdir: () => "/tmp", cpus: () => [], availableParallelism: () => 1, loadavg: () => [0, 0, 0],
    uptime: () => Number(wasiClock.now()) / 1e9, networkInterfaces: () => ({}), constants: { signals: {}, errno: {} },
    userInfo: () => ({ uid: -1, gid: -1, username: "sandbox", homedir: "/", shell: null }),
  };

  // --- the rest -------------------------------------------------------------------------------
  const timersPromises = {
    setTimeout: (ms, value) => new Promise((resolve) => setTimeout(() => resolve(value), ms)),
    setImmediate: (value) => new Promise((resolve) => setImmediate(() => resolve(value))),
  };
  const timers = { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate,
    promises: timersPromises };

  const modules = {
    assert, "assert/strict": assert.strict, buffer, crypto, events: EventEmitter, os, timers,
    "timers/promises": timersPromises, url, util, "util/types": types,
  };
  // Built-ins that need what the sandbox has not got (processes, sockets, threads, an inspector)
  // and the ones it has not written: a require of either is one clear line naming the module.
  const IMPOSSIBLE = ["child_process", "cluster", "dgram", "diagnostics_channel", "dns", "dns/promises", "http",
    "http2", "https", "inspector", "inspector/promises", "net", "tls", "trace_events", "v8", "vm", "worker_threads",
    "wasi"];
  const MISSING = ["async_hooks", "console", "constants", "domain", "module", "perf_hooks", "punycode", "querystring",
    "readline", "readline/promises", "repl", "sea", "sqlite", "stream", "stream/consumers", "stream/promises",
    "stream/web", "string_decoder", "sys", "test", "test/reporters", "tty", "zlib", "path/win32", "util/types"]
    .filter((name) => !(name in modules));

  return { modules, IMPOSSIBLE, MISSING, Buffer, webcrypto, URL, URLSearchParams };
})();

globalThis.Buffer = __wasmrunNode.Buffer;
if (typeof globalThis.crypto === "undefined") globalThis.crypto = __wasmrunNode.webcrypto;
if (typeof globalThis.URL === "undefined") globalThis.URL = __wasmrunNode.URL;
if (typeof globalThis.URLSearchParams === "undefined") globalThis.URLSearchParams = __wasmrunNode.URLSearchParams;
