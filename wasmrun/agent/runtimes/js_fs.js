// The agent's JavaScript runtime: a small synchronous `fs` and `path`, Node-like, over
// wasi:filesystem. The sandbox preopens the session's directory at "/" and nothing else, so
// every path resolves inside it: ".." stops at the root, and WASI refuses what would leave it
// (a symlink pointing out included). The working directory is "/".
import wasiPreopens from "wasi:filesystem/preopens@0.2.12";

const __wasmrunFs = (() => {
  const CHUNK = 65536;
  const CODES = {
    "no-entry": ["ENOENT", "no such file or directory"], "exist": ["EEXIST", "file already exists"],
    "not-directory": ["ENOTDIR", "not a directory"], "is-directory": ["EISDIR", "illegal operation on a directory"],
    "access": ["EACCES", "permission denied"], "not-permitted": ["EPERM", "operation not permitted"],
    "not-empty": ["ENOTEMPTY", "directory not empty"], "read-only": ["EROFS", "read-only file system"],
    "insufficient-space": ["ENOSPC", "no space left on device"], "quota": ["EDQUOT", "disk quota exceeded"],
    "loop": ["ELOOP", "too many symbolic links encountered"], "name-too-long": ["ENAMETOOLONG", "name too long"],
    "invalid": ["EINVAL", "invalid argument"], "file-too-large": ["EFBIG", "file too large"],
  };

  function fsError(error, syscall, file) {
    const wasi = error && typeof error.payload === "string" ? error.payload : String(error && error.message);
    const [code, text] = CODES[wasi] || ["EIO", `i/o error (${wasi})`];
    const made = new Error(`${code}: ${text}, ${syscall} '${file}'`);
    made.code = code;
    made.syscall = syscall;
    made.path = file;
    return made;
  }

  // "/a/./b/../c" -> ["a", "c"]; relative paths start at the working directory "/".
  function parts(file) {
    if (typeof file !== "string") {
      if (typeof URL !== "undefined" && file instanceof URL) file = file.pathname;
      else throw new TypeError(`The "path" argument must be of type string. Received ${typeof file}`);
    }
    const out = [];
    for (const part of file.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") out.pop();
      else out.push(part);
    }
    return out;
  }

  // The preopened directory holding the path (the longest match), and the path inside it.
  function locate(file) {
    const wanted = parts(file);
    let best = null;
    for (const [descriptor, mount] of wasiPreopens.getDirectories()) {
      const prefix = parts(mount);
      if (prefix.length <= wanted.length && prefix.every((p, i) => p === wanted[i])
          && (best === null || prefix.length > best.prefix.length)) best = { descriptor, prefix };
    }
    if (best === null) throw fsError({ payload: "no-entry" }, "open", file);
    return [best.descriptor, wanted.slice(best.prefix.length).join("/") || "."];
  }

  function call(syscall, file, action) {
    const [dir, rel] = locate(file);
    try { return action(dir, rel); } catch (error) { throw fsError(error, syscall, file); }
  }

  function close(resource) {
    if (resource && typeof resource[Symbol.dispose] === "function") resource[Symbol.dispose]();
  }

  function encodingOf(options) {
    return typeof options === "string" ? options : options && options.encoding;
  }

  function toBytes(data, options) {
    if (typeof data === "string") return new TextEncoder().encode(data);
    if (data instanceof Uint8Array) return data;
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    return new TextEncoder().encode(String(data));
  }

  function readAll(handle) {
    const chunks = [];
    let total = 0;
    for (;;) {
      const [bytes, end] = handle.read(CHUNK, total);
      chunks.push(bytes);
      total += bytes.length;
      if (end || bytes.length === 0) break;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) { out.set(chunk, at); at += chunk.length; }
    return out;
  }

  function writeAll(handle, bytes, offset) {
    for (let done = 0; done < bytes.length;) {
      done += Number(handle.write(bytes.subarray(done, done + CHUNK), offset + done));
    }
  }

  function statOf(stat) {
    const ms = (t) => (t ? Number(t.seconds) * 1000 + Math.floor(Number(t.nanoseconds) / 1e6) : 0);
    const type = stat.type;
    return {
      size: Number(stat.size), mtimeMs: ms(stat.dataModificationTimestamp), atimeMs: ms(stat.dataAccessTimestamp),
      mtime: new Date(ms(stat.dataModificationTimestamp)),
      isFile: () => type === "regular-file", isDirectory: () => type === "directory",
      isSymbolicLink: () => type === "symbolic-link",
    };
  }

  const fs = {
    readFileSync(file, options) {
      const bytes = call("open", file, (dir, rel) => {
        const handle = dir.openAt({ symlinkFollow: true }, rel, {}, { read: true });
        try { return readAll(handle); } finally { close(handle); }
      });
      const encoding = encodingOf(options);
      return encoding ? new TextDecoder().decode(bytes) : bytes;
    },
    writeFileSync(file, data, options) {
      const bytes = toBytes(data, options);
      call("open", file, (dir, rel) => {
        const handle = dir.openAt({ symlinkFollow: true }, rel, { create: true, truncate: true }, { write: true });
        try { writeAll(handle, bytes, 0); } finally { close(handle); }
      });
    },
    appendFileSync(file, data, options) {
      const bytes = toBytes(data, options);
      call("open", file, (dir, rel) => {
        const handle = dir.openAt({ symlinkFollow: true }, rel, { create: true }, { write: true });
        try { writeAll(handle, bytes, Number(handle.stat().size)); } finally { close(handle); }
      });
    },
    existsSync(file) {
      try { fs.statSync(file); return true; } catch (error) { return false; }
    },
    statSync(file) {
      return statOf(call("stat", file, (dir, rel) => dir.statAt({ symlinkFollow: true }, rel)));
    },
    lstatSync(file) {
      return statOf(call("lstat", file, (dir, rel) => dir.statAt({}, rel)));
    },
    readdirSync(file = ".", options) {
      const entries = call("scandir", file, (dir, rel) => {
        const handle = rel === "." ? dir : dir.openAt({ symlinkFollow: true }, rel, { directory: true }, { read: true });
        try {
          const stream = handle.readDirectory();
          const found = [];
          for (let entry = stream.readDirectoryEntry(); entry; entry = stream.readDirectoryEntry()) found.push(entry);
          close(stream);
          return found;
        } finally { if (handle !== dir) close(handle); }
      }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (!(options && options.withFileTypes)) return entries.map((entry) => entry.name);
      return entries.map((entry) => ({
        name: entry.name, isFile: () => entry.type === "regular-file", isDirectory: () => entry.type === "directory",
        isSymbolicLink: () => entry.type === "symbolic-link",
      }));
    },
    mkdirSync(file, options) {
      const recursive = options && options.recursive;
      if (!recursive) return void call("mkdir", file, (dir, rel) => dir.createDirectoryAt(rel));
      const names = parts(file);
      for (let i = 1; i <= names.length; i++) {
        const partial = "/" + names.slice(0, i).join("/");
        if (!fs.existsSync(partial)) call("mkdir", partial, (dir, rel) => dir.createDirectoryAt(rel));
        else if (!fs.statSync(partial).isDirectory()) throw fsError({ payload: "not-directory" }, "mkdir", file);
      }
      return undefined;
    },
    unlinkSync(file) { call("unlink", file, (dir, rel) => dir.unlinkFileAt(rel)); },
    rmdirSync(file) { call("rmdir", file, (dir, rel) => dir.removeDirectoryAt(rel)); },
    rmSync(file, options) {
      let stat;
      try { stat = fs.lstatSync(file); } catch (error) { if (options && options.force) return; throw error; }
      if (!stat.isDirectory()) return fs.unlinkSync(file);
      if (!(options && options.recursive)) throw fsError({ payload: "is-directory" }, "rm", file);
      for (const name of fs.readdirSync(file)) fs.rmSync(`${file}/${name}`, options);
      fs.rmdirSync(file);
    },
    renameSync(from, to) {
      const [target, targetRel] = locate(to);
      call("rename", from, (dir, rel) => dir.renameAt(rel, target, targetRel));
    },
  };
  const promised = (fn) => (...args) => new Promise((resolve) => resolve(fn(...args)));
  fs.promises = {
    readFile: promised(fs.readFileSync), writeFile: promised(fs.writeFileSync), appendFile: promised(fs.appendFileSync),
    stat: promised(fs.statSync), lstat: promised(fs.lstatSync), readdir: promised(fs.readdirSync),
    mkdir: promised(fs.mkdirSync), unlink: promised(fs.unlinkSync), rmdir: promised(fs.rmdirSync),
    rm: promised(fs.rmSync), rename: promised(fs.renameSync),
  };

  const path = {
    sep: "/",
    delimiter: ":",
    normalize: (p) => (p.startsWith("/") ? "/" : "") + parts(p).join("/") || ".",
    join: (...items) => path.normalize(items.filter((p) => p !== "").join("/")),
    resolve: (...items) => {
      let joined = "/";
      for (const item of items) joined = item.startsWith("/") ? item : `${joined}/${item}`;
      return "/" + parts(joined).join("/");
    },
    isAbsolute: (p) => p.startsWith("/"),
    basename: (p, ext) => {
      const base = parts(p).pop() || "";
      return ext && base.endsWith(ext) && base !== ext ? base.slice(0, -ext.length) : base;
    },
    dirname: (p) => {
      const names = parts(p);
      names.pop();
      return (p.startsWith("/") ? "/" : "") + names.join("/") || (p.startsWith("/") ? "/" : ".");
    },
    extname: (p) => {
      const base = path.basename(p);
      const dot = base.lastIndexOf(".");
      return dot > 0 ? base.slice(dot) : "";
    },
  };
  path.posix = path;

  return { fs, path };
})();
