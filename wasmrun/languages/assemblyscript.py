"""AssemblyScript: ``asc`` from the project's own ``node_modules``, or the project's build script.

A project is AssemblyScript when it has an ``asconfig.json``, or a ``package.json`` that depends
on ``assemblyscript`` (and no Rust, Go or Zig manifest beside it: there the ``package.json`` is
tooling). Any other ``package.json`` project is left alone.

- The project's own build script wins: ``asbuild:debug``/``asbuild:release``/``asbuild:size`` for
  the matching optimization level, else ``asbuild``, else a ``build`` script that runs ``asc``.
  wasmrun runs it with ``npm run`` and takes the ``.wasm`` (and its bindings) from where the
  project's ``asconfig.json`` target or the script's ``--outFile`` puts it, copying them into its
  output directory; the project's ``build/`` files stay where they are.
- Otherwise ``asc`` runs directly with the ``asconfig.json`` target named after the level
  (``debug``, ``release``; ``size`` uses a ``size`` target, else ``release`` with
  ``--optimizeLevel 3 --shrinkLevel 2``), writing straight into wasmrun's output directory.
- ``--toolchain asc`` forces the direct route, ``--toolchain npm`` the script.
- A project using ``@assemblyscript/wasi-shim`` builds as a WASI command; any other is a library
  with ESM bindings (``NAME.js`` and ``NAME.d.ts`` beside ``NAME.wasm``).
- ``node_modules`` missing: a one-line error saying to run ``npm install``; with
  ``WASMRUN_NPM_INSTALL=1`` wasmrun runs ``npm ci`` (with a lock file) or ``npm install`` itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from wasmrun import __version__, hookimpl, toolchain
from wasmrun.errors import BuildError, MissingToolchainError, UsageError
from wasmrun.models import (
    BuildConfig,
    BuildInputs,
    BuildResult,
    Capability,
    Claim,
    GlueKind,
    Optimization,
    PluginInfo,
    Target,
    ToolStatus,
)

PLUGIN_NAME = "assemblyscript"

#: Set to 1 to let wasmrun run ``npm install`` when a project's ``node_modules`` is missing.
INSTALL_ENV = "WASMRUN_NPM_INSTALL"

#: Manifests of other languages: with one of these, a ``package.json`` alone is tooling, not AS.
FOREIGN_MANIFESTS = ("Cargo.toml", "go.mod", "build.zig")

WASI_SHIM = "@assemblyscript/wasi-shim"
DEFAULT_ENTRY = "assembly/index.ts"
NODE_HINT = "apt-get install nodejs npm (Node 20 or newer), or https://nodejs.org"
MIN_NODE_MAJOR = 20
_DEPENDENCY_KEYS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
_SKIPPED = frozenset({"node_modules", "wasmrun-out", ".git"})
_OUT_FILE = re.compile(r"(?:--outFile|-o)[=\s]+(\S+\.wasm)")
_TARGET = re.compile(r"--target[=\s]+(\w+)")


# -- the project ----------------------------------------------------------------------------------

def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; ``None`` when absent. Tolerates comments and trailing commas
    (asconfig.json files carry them); raises :class:`UsageError` when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        relaxed = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.S)
        relaxed = re.sub(r",(\s*[}\]])", r"\1", relaxed)
        try:
            data = json.loads(relaxed)
        except ValueError as exc:
            raise UsageError(f"{path.name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path.name} must hold a JSON object")
    return data


def _package_json(project_dir: Path) -> dict[str, Any]:
    return _read_json(project_dir / "package.json") or {}


def _asconfig(project_dir: Path) -> dict[str, Any]:
    return _read_json(project_dir / "asconfig.json") or {}


def _dependencies(package: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for key in _DEPENDENCY_KEYS:
        section = package.get(key)
        if isinstance(section, dict):
            names.update(str(name) for name in section)
    return names


def _depends_on_assemblyscript(project_dir: Path) -> bool:
    try:
        return "assemblyscript" in _dependencies(_package_json(project_dir))
    except UsageError:
        return False


def _uses_wasi_shim(package: dict[str, Any], asconfig: dict[str, Any]) -> bool:
    return WASI_SHIM in _dependencies(package) or "wasi-shim" in str(asconfig.get("extends", ""))


def _scripts(package: dict[str, Any]) -> dict[str, str]:
    scripts = package.get("scripts")
    return {str(k): str(v) for k, v in scripts.items()} if isinstance(scripts, dict) else {}


def _build_script(package: dict[str, Any], optimization: Optimization) -> str | None:
    """The project's build script for this level: ``asbuild:LEVEL``, ``asbuild``, or a ``build``
    that runs asc (a ``build`` script doing something else is not ours to run)."""
    scripts = _scripts(package)
    level = optimization.value
    for name in (f"asbuild:{level}", "asbuild", f"build:{level}"):
        if name in scripts:
            return name
    if optimization is not Optimization.SIZE and "build" in scripts and re.search(r"\b(asc|asbuild)\b",
                                                                                    scripts["build"]):
        return "build"
    return None


def _entries(project_dir: Path, asconfig: dict[str, Any]) -> list[str]:
    listed = asconfig.get("entries")
    if isinstance(listed, list) and listed:
        return [str(e) for e in listed]
    return [DEFAULT_ENTRY] if (project_dir / DEFAULT_ENTRY).is_file() else []


def _asc_installed(project_dir: Path) -> bool:
    return (project_dir / "node_modules" / "assemblyscript" / "package.json").is_file()


def _install_requested() -> bool:
    return os.environ.get(INSTALL_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _missing_node_modules(project_dir: Path) -> str:
    what = "node_modules is missing" if not (project_dir / "node_modules").exists() else \
        "assemblyscript is not installed in node_modules"
    return (f"{what}: run `npm install` in {project_dir} "
            f"(or set {INSTALL_ENV}=1 to let wasmrun run it)")


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name=PLUGIN_NAME,
        aliases=["asc", "as"],
        version=__version__,
        description="AssemblyScript: asc from the project's node_modules, or its asbuild script",
        author="wasmrun",
        extensions=[".ts"],
        entry_files=["asconfig.json", "package.json"],
        builtin=True,
        source="builtin",
        tools=["node", "npm", "asc (node_modules)"],
        capabilities=[Capability.WASM, Capability.WASI, Capability.LIBRARY, Capability.OPTIMIZATION_LEVELS,
                      Capability.DEBUG_INFO],
    )


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    evidence: list[str] = []
    if (project_dir / "asconfig.json").is_file():
        evidence.append("asconfig.json")
    elif _depends_on_assemblyscript(project_dir):
        if any((project_dir / name).exists() for name in FOREIGN_MANIFESTS):
            return None
        evidence.append("package.json (depends on assemblyscript)")
    else:
        return None
    if (project_dir / DEFAULT_ENTRY).is_file():
        evidence.append(DEFAULT_ENTRY)
    return Claim(evidence=evidence)


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    package, asconfig = _package_json(project_dir), _asconfig(project_dir)
    problems: list[str] = []
    if not _entries(project_dir, asconfig) and not any(
            _build_script(package, level) for level in Optimization):
        problems.append(f"no entry file: add {DEFAULT_ENTRY} or list \"entries\" in asconfig.json")
    node_found = toolchain.find_tool("node") is not None
    if node_found and not _asc_installed(project_dir) and not _install_requested():
        problems.append(_missing_node_modules(project_dir))
    return problems


@hookimpl
def source_files(project_dir: Path) -> list[Path]:
    """The sources and configs, and the installed compiler's and shim's package.json: a different
    assemblyscript in node_modules is a different build."""
    from wasmrun.building import walk_sources

    found = walk_sources(project_dir, [".ts"], ["asconfig.json", "package.json", "package-lock.json"])
    try:  # outputs are not sources: skip the directories the asconfig targets write into
        outs = {(project_dir / str(t["outFile"])).parent for t in _targets(_asconfig(project_dir)).values()
                if isinstance(t.get("outFile"), str)}
    except UsageError:
        outs = set()
    outs.discard(project_dir)
    found = [p for p in found if not any(p.is_relative_to(d) for d in outs)]
    for package in ("assemblyscript", "@assemblyscript/wasi-shim"):
        manifest = project_dir / "node_modules" / package / "package.json"
        if manifest.is_file():
            found.append(manifest)
    return found


# -- the toolchain --------------------------------------------------------------------------------

def _node_major(version: str | None) -> int | None:
    match = re.match(r"v?(\d+)", version or "")
    return int(match.group(1)) if match else None


def _tool_statuses(probe: bool) -> list[ToolStatus]:
    node = toolchain.find_tool("node")
    node_version = toolchain.tool_version(node) if node else None
    node_status = ToolStatus(name="node", found=node is not None, path=node, version=node_version,
                             required_for="wasm", install_hint=NODE_HINT)
    major = _node_major(node_version)
    if node and major is not None and major < MIN_NODE_MAJOR:
        node_status.probe_ok = False
        node_status.probe_error = f"Node {node_version} is too old: AssemblyScript 0.28 needs {MIN_NODE_MAJOR}+"
    elif node and probe:
        node_status.probe_ok = node_version is not None
        node_status.probe_error = None if node_version else "node --version printed no version"
    npm = toolchain.find_tool("npm")
    npm_status = ToolStatus(name="npm", found=npm is not None, path=npm,
                            version=toolchain.tool_version(npm) if npm else None,
                            required_for="build scripts and installing node_modules", install_hint=NODE_HINT)
    return [node_status, npm_status]


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    return _tool_statuses(probe)


@hookimpl
def toolchain_versions(target: Target) -> dict[str, str]:
    return {s.name: s.version or "unknown" for s in _tool_statuses(probe=False) if s.found}


def _asc_version(project_dir: Path) -> str:
    data = _read_json(project_dir / "node_modules" / "assemblyscript" / "package.json") or {}
    return str(data.get("version", "")).strip()


def _ensure_node_modules(project_dir: Path) -> None:
    """Install the project's packages when asked to (``WASMRUN_NPM_INSTALL=1``), else say how."""
    if _asc_installed(project_dir):
        return
    if not _install_requested():
        raise MissingToolchainError(_missing_node_modules(project_dir))
    npm = toolchain.find_tool("npm")
    if npm is None:
        raise MissingToolchainError(f"npm is needed to install {project_dir.name}'s node_modules", hint=NODE_HINT)
    # `npm ci` follows the lock file exactly and never rewrites it, but it empties node_modules
    # first: use it only when there is no node_modules to empty.
    fresh = (project_dir / "package-lock.json").is_file() and not (project_dir / "node_modules").exists()
    toolchain.run([npm, "ci" if fresh else "install", "--no-audit", "--no-fund", "--prefer-offline"],
                  cwd=project_dir, what="npm install")
    if not _asc_installed(project_dir):
        raise BuildError("npm install finished but assemblyscript is not in node_modules",
                         hint="add it: npm install --save-dev assemblyscript")


# -- building -------------------------------------------------------------------------------------

@hookimpl
def build(config: BuildConfig) -> BuildResult:
    if config.target is Target.WEB:
        raise UsageError("AssemblyScript builds --target wasm (its ESM bindings come with library builds)")
    if config.toolchain not in (None, "asc", "npm"):
        raise UsageError(f"unknown AssemblyScript toolchain '{config.toolchain}' (choose asc or npm)")
    project = config.project_dir
    node = toolchain.find_tool("node")
    if node is None:
        raise MissingToolchainError("node is needed to build AssemblyScript", hint=NODE_HINT)
    _ensure_node_modules(project)
    package, asconfig = _package_json(project), _asconfig(project)
    script = None if config.toolchain == "asc" else _build_script(package, config.optimization)
    if config.toolchain == "npm" and script is None:
        raise UsageError("--toolchain npm: package.json has no asbuild or build script")
    if script is not None:
        return _build_with_script(config, script, package, asconfig)
    return _build_with_asc(config, node, package, asconfig)


def _targets(asconfig: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """asconfig.json's ``targets``, each a dict (malformed entries dropped)."""
    targets = asconfig.get("targets")
    if not isinstance(targets, dict):
        return {}
    return {str(k): v for k, v in targets.items() if isinstance(v, dict)}


def _options(asconfig: dict[str, Any]) -> dict[str, Any]:
    options = asconfig.get("options")
    return options if isinstance(options, dict) else {}


def _target_name(asconfig: dict[str, Any], optimization: Optimization) -> str | None:
    targets = _targets(asconfig)
    for name in ((optimization.value, "release") if optimization is Optimization.SIZE else (optimization.value,)):
        if name in targets:
            return name
    return None


def _level_flags(asconfig: dict[str, Any], config: BuildConfig) -> tuple[str | None, list[str]]:
    """(asconfig target, extra asc flags) for the optimization level."""
    target = _target_name(asconfig, config.optimization)
    flags: list[str] = []
    if config.optimization is Optimization.DEBUG:
        if target is None:
            flags.append("--debug")
    elif config.optimization is Optimization.RELEASE:
        if target is None:
            flags += ["--optimizeLevel", "3", "--shrinkLevel", "0"]
    elif target != "size":
        flags += ["--optimizeLevel", "3", "--shrinkLevel", "2"]
    if config.debug_info and config.optimization is not Optimization.DEBUG:
        flags.append("--debug")
    return target, flags


def _shim_flags(project: Path) -> list[str]:
    """The wasi-shim's own asconfig options as asc flags, for a project whose asconfig.json does
    not extend it (``--config`` would replace the project's config)."""
    shim_dir = project / "node_modules" / "@assemblyscript" / "wasi-shim"
    shim = _read_json(shim_dir / "asconfig.json")
    if shim is None:
        raise MissingToolchainError(f"{WASI_SHIM} is in package.json but not in node_modules: run `npm install`")
    options = _options(shim)
    flags: list[str] = []
    if "lib" in options:
        # relative to the project: asc mishandles an absolute --lib (its elements go missing)
        lib = (shim_dir / str(options["lib"])).relative_to(project)
        flags += ["--lib", f"./{lib.as_posix()}"]
    if options.get("use"):
        flags += ["--use", ",".join(str(u) for u in options["use"])]
    if options.get("exportStart"):
        flags += ["--exportStart", str(options["exportStart"])]
    return flags


def _output_stem(config: BuildConfig, asconfig: dict[str, Any], target: str | None) -> str:
    out_file = _targets(asconfig).get(target, {}).get("outFile") if target else None
    out_file = out_file or _options(asconfig).get("outFile")
    if isinstance(out_file, str) and out_file.endswith(".wasm"):
        return Path(out_file).stem
    return re.sub(r"[^A-Za-z0-9_.-]", "_", config.project_dir.name) or "module"


def _build_with_asc(config: BuildConfig, node: str, package: dict[str, Any],
                    asconfig: dict[str, Any]) -> BuildResult:
    project = config.project_dir
    asc = project / "node_modules" / "assemblyscript" / "bin" / "asc.js"
    if not asc.is_file():
        raise MissingToolchainError(f"asc not found in node_modules ({asc.relative_to(project)}): run `npm install`")
    entries = _entries(project, asconfig)
    if not entries:
        raise UsageError(f"no entry file: add {DEFAULT_ENTRY} or list \"entries\" in asconfig.json")
    target, flags = _level_flags(asconfig, config)
    wasi = _uses_wasi_shim(package, asconfig)
    cmd: list[str] = [node, str(asc)]
    if not isinstance(asconfig.get("entries"), list) or not asconfig.get("entries"):
        cmd += entries
    if target is not None:
        cmd += ["--target", target]
    cmd += flags
    if wasi and "wasi-shim" not in str(asconfig.get("extends", "")):
        cmd += _shim_flags(project)
    bindings_set = "bindings" in _options(asconfig) or (
        target is not None and "bindings" in _targets(asconfig).get(target, {}))
    if not wasi and not bindings_set:
        cmd += ["--bindings", "esm"]
    out = config.output_dir / f"{_output_stem(config, asconfig, target)}.wasm"
    cmd += ["--outFile", str(out), *config.extra_args]
    toolchain.run(cmd, cwd=project, what="asc")
    result = _result(out, [p for p in config.output_dir.iterdir() if p.is_file() and p != out],
                     f"asc {_asc_version(project)}".strip())
    # asc reads the project's sources and configs, and its own library from node_modules
    compiler = project / "node_modules" / "assemblyscript"
    result.inputs = BuildInputs(files=source_files(project), probed=[compiler, compiler / "std" / "assembly"],
                                environment=["NODE_*", "ASC_*"])
    return result


def _result(wasm: Path, others: list[Path], toolchain_name: str) -> BuildResult:
    js = wasm.with_suffix(".js")
    js_path = js if js.is_file() else None
    wasi = b"wasi_snapshot_preview1" in wasm.read_bytes()
    glue = GlueKind.WASI if wasi else (GlueKind.ASSEMBLYSCRIPT if js_path else GlueKind.NONE)
    return BuildResult(wasm_path=wasm, js_path=js_path,
                       additional_files=sorted(p for p in others if p != js_path),
                       glue=glue, toolchain=toolchain_name,
                       post_process=False)  # asc optimizes with binaryen itself, at the level asked for


def _fresh_wasm_files(project: Path, since: float, exclude: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(project):
        dirs[:] = [d for d in dirs if d not in _SKIPPED and not d.startswith(".")
                   and (Path(root) / d).resolve() != exclude]
        for name in files:
            path = Path(root) / name
            if name.endswith(".wasm") and path.stat().st_mtime >= since:
                found.append(path)
    return found


def _script_output(project: Path, script_text: str, asconfig: dict[str, Any], optimization: Optimization,
                   fresh: list[Path]) -> Path | None:
    """The module a build script wrote: its asconfig target's outFile, an ``--outFile`` in the
    script, or the only (or level-named) .wasm it wrote."""
    targets = _targets(asconfig)
    named = [m.group(1) for m in _TARGET.finditer(script_text)]
    wanted = _target_name(asconfig, optimization)
    candidates: list[str] = []
    for name in ([wanted] if wanted else []) + named + ["release"]:
        out_file = targets.get(name, {}).get("outFile")
        if isinstance(out_file, str):
            candidates.append(out_file)
    candidates += [m.group(1) for m in _OUT_FILE.finditer(script_text)]
    fresh_resolved = {p.resolve(): p for p in fresh}
    for rel in candidates:
        path = (project / rel).resolve()
        if path in fresh_resolved:
            return fresh_resolved[path]
    if len(fresh) == 1:
        return fresh[0]
    by_level = [p for p in fresh if p.stem == optimization.value]
    if by_level:
        return by_level[0]
    return max(fresh, key=lambda p: p.stat().st_mtime) if fresh else None


def _build_with_script(config: BuildConfig, script: str, package: dict[str, Any],
                       asconfig: dict[str, Any]) -> BuildResult:
    project = config.project_dir
    npm = toolchain.find_tool("npm")
    if npm is None:
        raise MissingToolchainError(f"npm is needed to run the project's {script} script", hint=NODE_HINT)
    started = time.time() - 1.0  # file systems with coarse timestamps
    cmd = [npm, "run", "--silent", script]
    if config.extra_args:
        cmd += ["--", *config.extra_args]
    toolchain.run(cmd, cwd=project, what=f"npm run {script}")
    script_text = _scripts(package).get(script, "")
    fresh = _fresh_wasm_files(project, started, config.output_dir.resolve())
    built = _script_output(project, script_text, asconfig, config.optimization, fresh)
    if built is None:
        raise BuildError(f"npm run {script} finished but wrote no .wasm file",
                         hint="give the asconfig.json target an outFile, or pass --outFile in the script")
    # Copy (never move) the module and its companions: the project's build/ stays as it was.
    copied: list[Path] = []
    for companion in sorted(built.parent.iterdir()):
        if companion.is_file() and companion.name.startswith(built.stem + ".") and \
                companion.stat().st_mtime >= started:
            target = config.output_dir / companion.name
            shutil.copy2(companion, target)
            copied.append(target)
    wasm = config.output_dir / built.name
    result = _result(wasm, [p for p in copied if p != wasm], f"npm run {script} (asc {_asc_version(project)})")
    # A script may read anything (every project file and the environment count), and what it
    # wrote into the project is output, not input.
    result.inputs = BuildInputs(written=[built.parent / p.name for p in copied])
    return result


# -- templates ------------------------------------------------------------------------------------

_COMMAND_PACKAGE = """\
{
  "name": "hello",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "scripts": {
    "asbuild:debug": "asc --target debug",
    "asbuild:release": "asc --target release",
    "asbuild": "npm run asbuild:debug && npm run asbuild:release"
  },
  "devDependencies": {
    "@assemblyscript/wasi-shim": "^0.1.0",
    "assemblyscript": "^0.28.20"
  }
}
"""

_COMMAND_ASCONFIG = """\
{
  "extends": "./node_modules/@assemblyscript/wasi-shim/asconfig.json",
  "entries": ["assembly/index.ts"],
  "targets": {
    "debug": {"outFile": "build/debug.wasm", "debug": true},
    "release": {"outFile": "build/release.wasm", "optimizeLevel": 3, "shrinkLevel": 0}
  }
}
"""

_COMMAND_SOURCE = """\
// A WASI command: @assemblyscript/wasi-shim turns console.log into WASI's fd_write.
console.log("hello from AssemblyScript");
const args = process.argv;
for (let i = 1; i < args.length; i++) {
  console.log(`arg ${i}: ${args[i]}`);
}
"""

_LIBRARY_PACKAGE = """\
{
  "name": "hello-lib",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "exports": {".": {"import": "./build/release.js", "types": "./build/release.d.ts"}},
  "devDependencies": {
    "assemblyscript": "^0.28.20"
  }
}
"""

_LIBRARY_ASCONFIG = """\
{
  "entries": ["assembly/index.ts"],
  "targets": {
    "debug": {"outFile": "build/debug.wasm", "debug": true},
    "release": {"outFile": "build/release.wasm", "optimizeLevel": 3, "shrinkLevel": 0}
  },
  "options": {"bindings": "esm"}
}
"""

_LIBRARY_SOURCE = """\
// A library: every exported function is exported from the module (and from its ESM bindings).
export function add(a: i32, b: i32): i32 {
  return a + b;
}
"""

_GITIGNORE = "node_modules/\nbuild/\nwasmrun-out/\n"


@hookimpl
def project_template(flavour: str) -> dict[str, str] | None:
    if flavour == "command":
        return {"package.json": _COMMAND_PACKAGE, "asconfig.json": _COMMAND_ASCONFIG,
                "assembly/index.ts": _COMMAND_SOURCE, ".gitignore": _GITIGNORE}
    if flavour == "library":
        return {"package.json": _LIBRARY_PACKAGE, "asconfig.json": _LIBRARY_ASCONFIG,
                "assembly/index.ts": _LIBRARY_SOURCE, ".gitignore": _GITIGNORE}
    return None
