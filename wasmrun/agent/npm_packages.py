"""Installing the npm ``packages`` a JavaScript or TypeScript exec asks for: hostile input,
handled on the host, under the rules of :mod:`wasmrun.agent.packages` (Python's).

A spec is accepted only as ``name``, ``@scope/name``, either with ``@VERSION`` where VERSION is
an exact version (``1.2.3``, ``1.2.3-beta.1``) or a bare major or major.minor (``5``, ``5.1``,
npm's ``5.x``/``5.1.x``): lower case only, no tags, ranges, git/URL/path/tarball specs (nor a
name npm would take for a tarball file, ``x.tgz``), ``npm:`` aliases or options. Anything else
is a :class:`~wasmrun.agent.errors.BadRequest` naming it, and npm never runs. npm then runs:

* ``install --ignore-scripts --omit=dev --no-save`` (no install script of the package or of a
  dependency runs), with an environment of PATH, HOME, TMPDIR and the server's proxy and CA
  variables only, HOME and the user config an empty scratch directory (never the server user's
  ``.npmrc``; the registry is npm's own global configuration), in that scratch directory,
  outside any session;
* with the time and size caps of Python's installs (its process group is killed past them).

A package with a native addon (a ``.node`` file or a ``binding.gyp`` anywhere in what was
installed) is refused: QuickJS cannot load one. QuickJS has no ``node_modules`` resolution and
many packages are ES modules only, so the package and its dependencies are bundled by the pinned
esbuild into ONE CommonJS file (async functions lowered onto the runtime's ``Promise``, as cells
are); Node's built-in modules are left to the runtime's ``require`` (``fs`` and ``path`` are the
sandbox's own, the others a clear "not available" error when called). A package esbuild cannot
bundle is refused with its first error.

**Subpaths** (``require('lodash/chunk')``, ``nanoid/non-secure``) are bundled at install time,
all of them, into a second file, ``subpaths.cjs``: one CommonJS bundle whose ``module.exports``
maps each subpath (``./chunk.js``, ``./non-secure``) to a function that requires it. esbuild wraps
every module lazily, so a subpath's code runs only when it is required, and a module shared by
many subpaths is in the file once. The subpaths are the package's ``exports`` keys (patterns
expanded over its files), or, without ``exports``, its ``.js``/``.cjs``/``.mjs``/``.json`` files and
its folders holding a ``package.json``. Why at install time: it costs one esbuild run (0.4 s
for lodash's 1,049 files, 0.5 s for date-fns's 741 exports, measured here) and needs no host
step when a cell runs, so a subpath required from a session's own file or by a computed name
works too; the price is parsing the whole file on a session's first subpath require of that
package (about 0.2 s a MB in QuickJS; whitespace-minified, lodash's is 0.7 MB, date-fns's 1.6 MB).
A subpath that
esbuild cannot bundle is left out; if none can be, the package installs without subpaths and
a subpath require says why.

The result lands in ``CACHE/.npm/NAME/VERSION/`` (``index.cjs``, ``subpaths.cjs`` and a
``package.json`` naming them), read-only, renamed into place whole under a lock per package name.
The sandbox sees the cache read-only at ``/.packages``; :func:`install` returns the guest
directories, whose ``package.json`` the runtime reads to map a name to its files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path

from wasmrun.agent import packages as common
from wasmrun.agent.errors import BadRequest, Unavailable
from wasmrun.errors import WasmrunError

#: Where npm packages live inside the package cache (no PyPI name starts with a dot).
SUBDIRECTORY = ".npm"
_NAME = r"(?:@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*"
_VERSION = r"\d{1,9}(?:\.\d{1,9}(?:\.\d{1,9}(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?"
SPEC = re.compile(rf"(?P<name>{_NAME})(?:@(?P<version>{_VERSION}))?")
MAX_NAME_CHARS = 214  # npm's own limit
#: A name npm would read as a tarball file (npm-package-arg), not a registry package.
TARBALL_SUFFIXES = (".tgz", ".tar", ".tar.gz")
BUNDLE = "index.cjs"
SUBPATHS = "subpaths.cjs"
#: The files a package's subpaths are made of when it has no ``exports`` map.
SUBPATH_SUFFIXES = (".js", ".cjs", ".mjs", ".json")
#: More subpaths than this and the package gets none (a bundle that size is no use to a cell).
MAX_SUBPATHS = 5000
#: How many times a subpath esbuild cannot bundle is dropped and the rest bundled again.
SUBPATH_RETRIES = 10
#: A manifest without this key was written before subpaths were bundled: installed again.
LAYOUT_KEY = "subpaths"
BUNDLE_TIMEOUT_S = 60.0
NATIVE_MARKERS = (".node",)


def parse(spec: object) -> tuple[str, str | None]:
    """(name, version or None) of a spec, or :class:`BadRequest` naming it."""
    if not isinstance(spec, str) or len(spec) > common.MAX_SPEC_CHARS + MAX_NAME_CHARS:
        raise BadRequest(f"package {str(spec)[:common.MAX_SPEC_CHARS]!r} is refused: give name or name@version")
    match = SPEC.fullmatch(spec)
    if match is None or len(match["name"]) > MAX_NAME_CHARS or match["name"].endswith(TARBALL_SUFFIXES):
        raise BadRequest(f"package {spec!r} is refused: give name, @scope/name, optionally @VERSION "
                         "(an exact version or a major: no tags, ranges, URLs, paths, git, aliases or options)")
    return match["name"], match["version"]


def install(specs: list[str], cache_root: Path, *, timeout_s: float = common.TIMEOUT_S,
            max_bytes: int = common.MAX_BYTES) -> list[str]:
    """Install every spec (all are checked before npm runs) into ``cache_root/.npm``; the guest
    directories (``/.packages/.npm/NAME/VERSION``) in the order asked."""
    if len(specs) > common.MAX_PACKAGES:
        raise BadRequest(f"{len(specs)} packages asked; at most {common.MAX_PACKAGES} per exec")
    parsed = [parse(spec) for spec in specs]
    deadline = time.monotonic() + timeout_s
    cache = cache_root / SUBDIRECTORY
    paths = []
    for (name, version), spec in zip(parsed, specs, strict=True):
        directory = _install_one(spec, name, version, cache, deadline, max_bytes)
        paths.append(f"{common.GUEST_ROOT}/{directory.relative_to(cache_root).as_posix()}")
    return list(dict.fromkeys(paths))


def _version_key(version: str) -> tuple[int, ...]:
    core = version.split("-", 1)[0]
    return tuple(int(part) for part in core.split(".") if part.isdigit())


def installed(cache: Path, name: str, version: str | None) -> Path | None:
    """The package's directory in the cache: the exact version; for a major (or major.minor) the
    highest release installed under it; for no version the one installed last."""
    home = cache / name
    found = [p for p in home.iterdir() if p.is_dir() and not p.name.startswith(".")] if home.is_dir() else []
    if version is None:
        return max(found, key=lambda p: p.stat().st_mtime) if found else None
    if version.count(".") >= 2:  # exact (a prerelease may have more dots)
        exact = home / version
        return exact if exact.is_dir() else None
    matching = [p for p in found if "-" not in p.name and p.name.startswith(f"{version}.")]
    return max(matching, key=lambda p: _version_key(p.name)) if matching else None


def current(directory: Path | None) -> Path | None:
    """``directory`` if its manifest is of this layout (it names its subpaths), else None."""
    try:
        return directory if directory is not None and LAYOUT_KEY in json.loads(
            (directory / "package.json").read_text(encoding="utf-8")) else None
    except (OSError, ValueError):
        return None


def _install_one(spec: str, name: str, version: str | None, cache: Path, deadline: float, max_bytes: int) -> Path:
    return common.install_once(cache, name, lambda: current(installed(cache, name, version)),
                               lambda scratch: _install_and_bundle(spec, name, version, cache, scratch, deadline,
                                                                   max_bytes))


def _install_and_bundle(spec: str, name: str, version: str | None, cache: Path, scratch: Path, deadline: float,
                        max_bytes: int) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm packages cannot be installed: npm is not installed on the server")
    home, project, out = scratch / "home", scratch / "project", scratch / "out"
    for directory in (home, project, out):
        directory.mkdir()
    userconfig = home / ".npmrc"
    userconfig.write_text("", encoding="utf-8")
    env = {**_network_environment(), "HOME": str(home), "TMPDIR": str(scratch / "tmp"),
           "NPM_CONFIG_USERCONFIG": str(userconfig), "NPM_CONFIG_GLOBALCONFIG": global_config(npm),
           "NPM_CONFIG_CACHE": str(scratch / "npm-cache"), "NPM_CONFIG_UPDATE_NOTIFIER": "false"}
    argv = [npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev", "--no-save",
            "--no-package-lock", "--loglevel=error", "--prefix", str(project), f"{name}@{version}" if version else name]
    returncode, output = common.run_capped(argv, spec, "npm", scratch, deadline, max_bytes, env=env)
    if returncode != 0:
        raise BadRequest(_npm_reason(spec, output))
    modules = project / "node_modules"
    manifest = modules / name / "package.json"
    try:
        resolved = str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError, TypeError):
        raise BadRequest(f"package {spec!r}: npm installed no package.json of it") from None
    if not re.fullmatch(_VERSION, resolved):
        raise BadRequest(f"package {spec!r}: its version {resolved!r} is not a plain version")
    native = native_files(modules)
    if native:
        raise BadRequest(f"package {spec!r} is refused: it has a native addon ({native[0]}), which the "
                         "sandbox's JavaScript cannot load")
    _bundle(spec, name, project, out / BUNDLE, deadline)
    manifest_fields: dict[str, object] = {"name": name, "version": resolved, "main": BUNDLE}
    manifest_fields.update(_bundle_subpaths(name, project, out / SUBPATHS, deadline))
    (out / "package.json").write_text(json.dumps(manifest_fields), encoding="utf-8")
    target = cache / name / resolved
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # of an older layout (see current): replaced whole
        stale = scratch / "stale"
        os.replace(target, stale)
    os.replace(out, target)
    common.make_read_only(target)
    return target


#: The server's own network settings npm needs (a proxy, its certificate authority): set by the
#: operator, never by a client.
NETWORK_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
                     "NODE_EXTRA_CA_CERTS")


def _network_environment() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({name: os.environ[name] for name in NETWORK_VARIABLES if name in os.environ})
    return env


@cache
def global_config(npm: str) -> str:
    """npm's own global configuration file (its registry, its certificate authority), asked
    before ``--prefix`` would move it into the scratch directory; never the user's."""
    with tempfile.TemporaryDirectory(prefix="wasmrun-npm-") as empty:
        proc = subprocess.run([npm, "config", "get", "globalconfig"], cwd=empty, capture_output=True, text=True,
                              timeout=30, check=False, stdin=subprocess.DEVNULL,
                              env={**_network_environment(), "HOME": empty,
                                   "NPM_CONFIG_USERCONFIG": os.devnull})
    found = proc.stdout.strip().splitlines()
    return found[-1] if proc.returncode == 0 and found else os.devnull


def _npm_reason(spec: str, output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("npm ERR! ").removeprefix("npm error ") for line in lines
              if line.startswith(("npm ERR!", "npm error"))]
    if any(" 404" in line or "E404" in line or "is not in this registry" in line for line in errors):
        return f"package {spec!r}: no such package (or version) on the npm registry"
    if any("ETARGET" in line or "No matching version" in line for line in errors):
        return f"package {spec!r}: no such version on the npm registry"
    reason = next((line for line in errors if line and not line.startswith(("code ", "A complete log"))), "")
    return f"package {spec!r}: npm failed: {reason or (lines[-1] if lines else 'no reason given')}"


def native_files(root: Path) -> list[str]:
    """Native addons under ``root`` (relative, sorted): ``.node`` files and ``binding.gyp``."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and (p.name.endswith(NATIVE_MARKERS) or p.name == "binding.gyp"))


@cache
def node_builtins() -> tuple[str, ...]:
    """Node's built-in module names (left external: the runtime's ``require`` answers them)."""
    from wasmrun.languages.javascript.build import node

    try:
        proc = subprocess.run([node(), "-p", "JSON.stringify(require('module').builtinModules)"],
                              capture_output=True, text=True, timeout=30, check=True,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        return tuple(str(name) for name in json.loads(proc.stdout))
    except (OSError, ValueError, subprocess.SubprocessError, WasmrunError) as exc:
        raise Unavailable(f"npm packages cannot be bundled: node cannot list its built-in modules ({exc})") from None


def _bundle_options(out: Path) -> list[str]:
    """esbuild's options for a package's bundle: one CommonJS file, Node's built-ins left to the
    runtime's ``require``."""
    from wasmrun.agent.runtimes.js_cells import ESBUILD_OPTIONS

    externals = [f"--external:{module}" for module in node_builtins() if not module.startswith("_")]
    return ["--bundle", "--format=cjs", "--platform=neutral", "--main-fields=main,module",
            "--define:global=globalThis", f"--outfile={out}", "--external:node:*", *externals, *ESBUILD_OPTIONS,
            "--charset=ascii"]  # non-ASCII escaped: the runtime reads an ASCII file fastest


def _bundle(spec: str, name: str, project: Path, out: Path, deadline: float) -> None:
    """esbuild: the package and its dependencies as one CommonJS file whose ``module.exports`` is
    what ``require(name)`` gives in Node (an ES module's namespace, ``default`` included)."""
    from wasmrun.agent.runtimes.js_cells import esbuild_binary, first_error

    try:
        esbuild = esbuild_binary()
    except (OSError, WasmrunError) as exc:  # the pinned esbuild is missing and cannot be installed
        raise Unavailable(f"npm packages cannot be bundled: {exc}") from None
    entry = project / "wasmrun-entry.cjs"
    entry.write_text(f"module.exports = require({json.dumps(name)});\n", encoding="utf-8")
    try:
        proc = _esbuild([*esbuild, str(entry), *_bundle_options(out)], project, deadline)
    except subprocess.TimeoutExpired:
        raise BadRequest(f"package {spec!r}: bundling it did not finish within the install time cap") from None
    if proc.returncode != 0 or not out.is_file():
        reason = first_error(proc.stderr.decode("utf-8", "replace")).removeprefix("SyntaxError: ")
        raise BadRequest(f"package {spec!r} is refused: it cannot be bundled for the sandbox: {reason}")


def _esbuild(argv: list[str], project: Path, deadline: float) -> subprocess.CompletedProcess[bytes]:
    """esbuild run in ``project`` with PATH only, within what is left of the install's time cap
    (at most :data:`BUNDLE_TIMEOUT_S`); ``subprocess.TimeoutExpired`` past it."""
    left = max(1.0, min(BUNDLE_TIMEOUT_S, deadline - time.monotonic()))
    return subprocess.run(argv, cwd=project, capture_output=True, timeout=left, check=False,
                          stdin=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


# --- subpaths ------------------------------------------------------------------------------------

def subpaths(package: Path) -> list[str]:
    """The subpaths ``require('NAME/...')`` may name, each as ``./REST`` (sorted, ``.`` excluded):
    the ``exports`` map's keys, a ``*`` pattern expanded over the files its target matches; with
    no ``exports``, every ``.js``/``.cjs``/``.mjs``/``.json`` file and every folder holding a
    ``package.json`` (node_modules excluded)."""
    try:
        manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    files = _files(package)
    exports = manifest.get("exports") if isinstance(manifest, dict) else None
    if exports is None:
        found = {f"./{rel}" for rel in files if rel.endswith(SUBPATH_SUFFIXES)}
        found |= {f"./{rel.rsplit('/', 1)[0]}" for rel in files if rel.endswith("/package.json")}
        return sorted(key for key in found if _plain(key))
    if not isinstance(exports, dict) or not any(str(key).startswith(".") for key in exports):
        return []  # one entry point (a string, an array or conditions)
    found = set()
    for key, value in exports.items():
        target = _target(value)
        if not key.startswith("./") or target is None:
            continue
        if key.endswith("/") and target.endswith("/"):  # Node's old folder mapping
            key, target = f"{key}*", f"{target}*"
        if "*" not in key:
            found.add(key)
            continue
        prefix, _, suffix = target.partition("*")
        for rel in files:
            path = f"./{rel}"
            if path.startswith(prefix) and path.endswith(suffix) and len(path) >= len(prefix) + len(suffix):
                star = path[len(prefix):len(path) - len(suffix)]
                if star and "node_modules" not in star.split("/"):
                    found.add(key.replace("*", star, 1))
    return sorted(key for key in found if _plain(key))


def _plain(subpath: str) -> bool:
    """A subpath a cell can ask for: ``./`` and segments none of which is empty, ``.``, ``..`` or
    holds a backslash (the runtime refuses those names anyway)."""
    parts = subpath.split("/")
    return parts[0] == "." and len(parts) > 1 and all(p not in ("", ".", "..") and "\\" not in p for p in parts[1:])


def _files(package: Path) -> list[str]:
    """Every file under ``package`` (relative, POSIX), node_modules excluded."""
    out: list[str] = []
    for directory, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "node_modules")
        base = Path(directory).relative_to(package).as_posix()
        out.extend(name if base == "." else f"{base}/{name}" for name in names)
    return out


def _target(value: object) -> str | None:
    """The file an ``exports`` value points to for ``require`` (conditions tried as Node's require
    would, then ``import``: esbuild resolves the real one), or None (blocked, ``null``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return next((t for t in map(_target, value) if t is not None), None)
    if isinstance(value, dict):
        for condition in ("require", "node", "default", "import", *value):
            if condition in value and not str(condition).startswith("."):
                found = _target(value[condition])
                if found is not None:
                    return found
    return None


_LOCATION = re.compile(r"^\s*(\S+?):(\d+):\d+:$", re.MULTILINE)


def _bundle_subpaths(name: str, project: Path, out: Path, deadline: float) -> dict[str, object]:
    """Every subpath of the package in ``out`` (see the module's docstring): the manifest fields
    saying so (``subpaths``: the file, or None when the package has no subpaths or they could
    not be bundled, with ``subpaths_error`` saying why)."""
    from wasmrun.agent.runtimes.js_cells import esbuild_binary, first_error

    package = project / "node_modules" / name
    keys = subpaths(package)
    if not keys:
        return {"subpaths": None}
    if len(keys) > MAX_SUBPATHS:
        return {"subpaths": None, "subpaths_error": f"it has {len(keys)} subpaths, more than the "
                                                    f"{MAX_SUBPATHS} the sandbox bundles"}
    entry = project / "wasmrun-subpaths.cjs"
    reason = ""
    for _ in range(SUBPATH_RETRIES):
        lines = [f"  {json.dumps(key)}: () => require({json.dumps(name + key[1:])})," for key in keys]
        entry.write_text("module.exports = {\n" + "\n".join(lines) + "\n};\n", encoding="utf-8")
        # whitespace and syntax minified: QuickJS parses the whole file on the first subpath
        # required, and a smaller file parses faster (date-fns: 2.3 -> 1.6 MB, 0.54 -> 0.42 s)
        argv = [*esbuild_binary(), str(entry), *_bundle_options(out), "--minify-whitespace", "--minify-syntax"]
        try:
            proc = _esbuild(argv, project, deadline)
        except subprocess.TimeoutExpired:
            return {"subpaths": None, "subpaths_error": "bundling them did not finish within the install time cap"}
        if proc.returncode == 0 and out.is_file():
            return {"subpaths": SUBPATHS}
        errors = proc.stderr.decode("utf-8", "replace")
        reason = first_error(errors).removeprefix("SyntaxError: ")
        culprit = _culprit(errors, keys, entry.name, name)
        if culprit is None:
            break
        keys.remove(culprit)
        if not keys:
            break
    return {"subpaths": None, "subpaths_error": f"they cannot be bundled for the sandbox: {reason}"}


def _culprit(errors: str, keys: list[str], entry: str, name: str) -> str | None:
    """The subpath esbuild's first error is about (its line of the entry, or its own file), if any."""
    match = _LOCATION.search(errors)
    if match is None:
        return None
    where, line = match[1], int(match[2])
    if where == entry:
        return keys[line - 2] if 2 <= line < len(keys) + 2 else None
    own = f"./{where.removeprefix(f'node_modules/{name}/')}"
    return own if where.startswith(f"node_modules/{name}/") and own in keys else None
