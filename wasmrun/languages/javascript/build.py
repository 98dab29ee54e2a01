"""Building a JavaScript or TypeScript project into a component, in three steps:

1. TypeScript only: ``tsc`` (the project's ``node_modules/typescript``, else the pinned one wasmrun
   manages) compiles the sources into a scratch directory; a type error fails the build.
2. ``esbuild`` bundles the program with every npm package it imports into one script (its
   metafile says which files went in: they are the build's inputs).
3. ``componentize-qjs`` (QuickJS) turns the bundle into a component: for a command, wasmrun's
   prelude (``console`` and ``process`` over ``wasi:cli``) and a ``wasi:cli/run`` export that runs
   the bundle; for a library, the bundle's exports against the project's ``wit/`` world.

QuickJS snapshots the module's top level at build time, so a command's bundle is wrapped in a
function that ``run`` calls: the program runs when it is executed, not when it is built. QuickJS
also runs no promise jobs once ``run`` has returned: the prelude brings its own ``Promise``, timers
and event loop, and esbuild lowers async functions onto them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from wasmrun import component_tools, toolchain
from wasmrun.errors import BuildError, MissingToolchainError
from wasmrun.languages.javascript.project import WIT_DIR, JsProject

PRELUDE = Path(__file__).with_name("prelude.js")
TYPES = Path(__file__).with_name("wasmrun-env.d.ts")
WASI_VERSION = "0.2.12"
COMMAND_WORLD = f"""package wasmrun:program;

world program {{
  include wasi:cli/command@{WASI_VERSION};
}}
"""
TIMEOUT_S = 600.0
NODE_HINT = "apt-get install nodejs npm (Node 20 or newer), or https://nodejs.org"


def node() -> str:
    found = toolchain.find_tool("node")
    if found is None:
        raise MissingToolchainError("node is needed to build JavaScript and TypeScript", hint=NODE_HINT)
    return found


def typescript_compiler(project: JsProject) -> tuple[Path, str]:
    """(tsc's script, its version): the project's own, else the pinned one."""
    own = project.root / "node_modules" / "typescript"
    if (own / "bin" / "tsc").is_file():
        return own / "bin" / "tsc", _package_version(own)
    managed = component_tools.ensure(component_tools.TYPESCRIPT)
    return managed / component_tools.TYPESCRIPT.marker, component_tools.TYPESCRIPT.version


def _package_version(package_dir: Path) -> str:
    try:
        return str(json.loads((package_dir / "package.json").read_text(encoding="utf-8")).get("version", "?"))
    except (OSError, ValueError):
        return "?"


def compile_typescript(project: JsProject, scratch: Path) -> tuple[Path, list[Path], str]:
    """tsc over the project into ``scratch/ts``: (the compiled entry, the tsconfig read, tsc's name).

    A project's ``tsconfig.json`` is extended (its options hold; wasmrun sets only where the output
    goes). Without one, the entry and what it imports are compiled with wasmrun's defaults, and
    ``wasmrun-env.d.ts`` declares ``console`` and ``process``."""
    tsc, version = typescript_compiler(project)
    out_dir = scratch / "ts"
    own_config = project.root / "tsconfig.json"
    options: dict[str, object] = {"outDir": str(out_dir), "rootDir": str(project.root.resolve()), "noEmit": False,
                                  "declaration": False, "sourceMap": False, "composite": False,
                                  "incremental": False}
    config: dict[str, object] = {}
    if own_config.is_file():  # its files, include and options hold
        config["extends"] = str(own_config.resolve())
    else:
        config["files"] = [str(project.entry.resolve()), str(TYPES)]
        options.update({"target": "es2022", "module": "es2022", "moduleResolution": "bundler", "strict": True,
                        "skipLibCheck": True, "lib": ["es2022"], "types": []})
    config["compilerOptions"] = options
    generated = scratch / "tsconfig.json"
    generated.write_text(json.dumps(config, indent=2), encoding="utf-8")
    try:
        toolchain.run([node(), tsc, "-p", generated, "--pretty", "false"], cwd=project.root, what="tsc",
                      timeout=TIMEOUT_S)
    except BuildError as exc:
        first = next((line for line in (exc.output or "").splitlines() if "error TS" in line), "")
        raise BuildError(f"tsc: {first.strip()}" if first else exc.message, output=exc.output) from None
    relative = project.entry.resolve().relative_to(project.root.resolve())
    compiled = (out_dir / relative).with_suffix(".mjs" if project.entry.suffix == ".mts" else ".js")
    if not compiled.is_file():
        raise BuildError(f"tsc wrote no {compiled.name} for {project.entry_name}")
    return compiled, [own_config] if own_config.is_file() else [], f"tsc {version}"


def bundle(project: JsProject, entry: Path, scratch: Path, *, library: bool) -> tuple[Path, list[Path]]:
    """esbuild: ``entry`` and every module it imports in one file; (the bundle, the project files
    that went into it), as an ES module."""
    out = scratch / "bundle.js"
    meta = scratch / "meta.json"
    _esbuild(project, [entry, "--bundle", "--format=esm", "--platform=neutral", "--main-fields=module,main",
                       "--charset=utf8", "--log-level=error", f"--metafile={meta}", f"--outfile={out}"])
    inputs = json.loads(meta.read_text(encoding="utf-8")).get("inputs", {})
    read = [(project.root / name).resolve() for name in inputs]
    return out, [p for p in read if not p.is_relative_to(scratch.resolve())]


def _esbuild_argv() -> list[str | Path]:
    """esbuild's own binary when npm installed one for this platform: its ``bin/esbuild`` is a Node
    wrapper (install scripts are off) that adds a Node stack trace to every failed build."""
    root = component_tools.ensure(component_tools.ESBUILD)
    native = sorted((root / "node_modules" / "@esbuild").glob("*/bin/esbuild"))
    if native and os.access(native[0], os.X_OK):
        return [native[0]]
    return [node(), root / component_tools.ESBUILD.marker]


def _esbuild(project: JsProject, args: list[str | Path]) -> None:
    # A compiled TypeScript entry lives in the scratch directory: the project's node_modules is
    # where its bare imports are found.
    env = {"NODE_PATH": str(project.root.resolve() / "node_modules")}
    try:
        toolchain.run([*_esbuild_argv(), *args], cwd=project.root, env=env, what="esbuild", timeout=TIMEOUT_S)
    except BuildError as exc:
        detail = [line.strip() for line in (exc.output or "").splitlines() if line.strip()]
        reason = next((line.removeprefix("✘ [ERROR] ") for line in detail if "[ERROR]" in line), "")
        where = next((line for line in detail if line.count(":") >= 2 and not line.startswith("✘")), "")
        raise BuildError(f"esbuild: {reason}" + (f" ({where})" if where else "") if reason else exc.message,
                         output=exc.output) from None


def command_source(project: JsProject, bundled: Path, scratch: Path) -> str:
    """The module componentize-qjs builds for a command: the prelude, the bundle as the body of an
    async function (top-level ``await`` included) that ``wasi:cli/run`` calls, and every async
    function lowered by esbuild onto generators and ``Promise``: the prelude's, whose jobs it runs
    (QuickJS runs none once run() returns)."""
    body = _EXPORTS.sub("", bundled.read_text(encoding="utf-8"))
    program = scratch / "program.js"
    program.write_text("async function __wasmrunProgram() {\n" + body + "\n}\n", encoding="utf-8")
    lowered = scratch / "program.lowered.js"
    _esbuild(project, [program, "--supported:async-await=false", "--supported:async-generator=false",
                       "--supported:for-await=false", "--charset=utf8", "--log-level=error", f"--outfile={lowered}"])
    run = f"__wasmrun.main(__wasmrunProgram, {json.dumps(project.entry_name)});"
    return (PRELUDE.read_text(encoding="utf-8") + "\n" + lowered.read_text(encoding="utf-8")
            + f"export const run = {{ run() {{ {run} }} }};\n")


#: The export statements esbuild ends an ES module bundle with (a command's are not used).
_EXPORTS = re.compile(r"^export\s*\{[^}]*\};?[ \t]*$", re.M)


def wit_directory(project: JsProject, scratch: Path) -> tuple[Path, list[Path]]:
    """The WIT componentize-qjs reads: for a command, wasmrun's world including
    ``wasi:cli/command``; for a library, the project's ``wit/`` (with the WASI packages as
    ``deps/`` when it names ``wasi:`` and has no ``deps/`` of its own). (the directory, the
    project's WIT files read)."""
    target = scratch / "wit"
    wasi = component_tools.wasi_wit_packages(WASI_VERSION)
    if not project.library:
        target.mkdir()
        (target / "world.wit").write_text(COMMAND_WORLD, encoding="utf-8")
        shutil.copytree(wasi, target / "deps")
        return target, []
    source = project.root / WIT_DIR
    shutil.copytree(source, target, symlinks=False)
    read = sorted(p for p in source.rglob("*") if p.is_file())
    mentions_wasi = any("wasi:" in p.read_text(encoding="utf-8", errors="replace") for p in read if p.suffix == ".wit")
    if mentions_wasi and not (target / "deps").exists():
        shutil.copytree(wasi, target / "deps")
    return target, read


def componentize(source: str, wit: Path, out: Path, scratch: Path, world: str | None) -> None:
    """componentize-qjs over ``source`` (written into ``scratch``) against ``wit``, into ``out``."""
    tool = component_tools.ensure(component_tools.COMPONENTIZE_QJS) / component_tools.COMPONENTIZE_QJS.marker
    app = scratch / "app.js"
    app.write_text(source, encoding="utf-8")
    argv: list[str | Path] = [node(), tool, "--wit", wit, "--js", app, "--sync", "-o", out]
    if world:
        argv += ["--world", world]
    try:
        toolchain.run(argv, cwd=scratch, what="componentize-qjs", timeout=TIMEOUT_S)
    except BuildError as exc:
        raise BuildError(f"componentize-qjs: {_qjs_reason(exc.output or '') or exc.message}",
                         output=exc.output) from None


def _qjs_reason(output: str) -> str:
    """componentize-qjs's error: the exception message it reports, else its last error line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if "message: Some(" in line:
            return line.split("message: Some(", 1)[1].split(")", 1)[0].strip('"')
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [""])[-1]


def scratch_directory() -> Path:
    """A private scratch directory (removed by the caller)."""
    return Path(tempfile.mkdtemp(prefix="wasmrun-js-"))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

