"""Whole Python as components, through componentize-py (CPython 3.14 for WASI inside).

* A **program** (``main.py``, ``__main__.py``, or a ``pyproject.toml`` script) becomes a
  ``wasi:cli/command`` component: wasmrun writes a small app whose ``Run.run`` executes the
  program as ``__main__``, against a world that includes ``wasi:cli/command@0.2.12`` (the WASI
  WIT packages come from :func:`wasmrun.component_tools.wasi_wit_packages`). At build time the app
  compiles the program's own modules (they run at run time, not at build time) and imports every
  other module they import by name (:mod:`.imports`), so that componentize-py bundles them.
  ``sys.exit(n)`` reaches the host as exit status ``n`` through ``wasi:cli/exit``'s
  ``exit-with-code``; an uncaught exception prints its traceback and exits 1.
* A **library** with a ``wit/`` directory becomes a component exporting that world: the entry
  module is the app, written as componentize-py expects (a class per exported interface, or
  ``WitWorld`` for the world's own functions).

Dependencies are installed by :mod:`.dependencies` and passed with ``-p``.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from wasmrun import component_tools, toolchain
from wasmrun.errors import BuildError
from wasmrun.languages.python import dependencies, guest_exit
from wasmrun.languages.python.imports import ProgramModules, find_modules
from wasmrun.models import BuildConfig, BuildInputs, BuildResult, GlueKind

WORLD = "wasmrun-python-program"
APP = "wasmrun_app"
WASI_VERSION = "0.2.12"
TIMEOUT_S = 900.0
#: Never imported at build time, even when named: they act on import (print, open a browser) or
#: need what WASI has not (a display).
NOT_PRELOADED = frozenset({"this", "antigravity", "__hello__", "__phello__", "idlelib", "tkinter", "turtle",
                           "turtledemo", "test", "wasmrun_app", "wasmrun_manifest"})
#: Always there: what the runner itself and a traceback need.
BASELINE = ("traceback", "linecache", "atexit")
#: Imported for the runner itself, without following what they import inside their functions
#: (``os`` would bring ``subprocess`` and much more: a bigger component, slower to load).
RUNNER_MODULES = ("types", "importlib", "importlib.util", "importlib.abc", "encodings", "codecs", "io", "os", "sys")

WORLD_WIT = f"""package wasmrun:python-program;

world {WORLD} {{
  include wasi:cli/command@{WASI_VERSION};
}}
"""

#: The app componentize-py builds: at build time it compiles the program and imports what it
#: needs; at run time ``Run.run`` executes the program as ``__main__``.
RUNNER = '''"""wasmrun's runner for a whole-Python program (generated; see wasmrun.languages.python.components)."""
import ast
import atexit
import builtins
import importlib
import importlib.abc
import importlib.util
import os
import sys
import traceback
import types

from wit_world import exports
from wit_world.imports import environment as _environment, exit as _exit

import wasmrun_manifest as _manifest
from wasmrun_guest_exit import exit_status, without_runner

_HERE = os.path.dirname(os.path.abspath(__file__))


def _compile(relative):
    with open(os.path.join(_HERE, "program", relative), encoding="utf-8") as source:
        return compile(source.read(), relative, "exec", dont_inherit=True)


_MAIN = _compile(_manifest.ENTRY)
_LOCAL = {name: (relative, is_package, _compile(relative))
          for name, (relative, is_package) in _manifest.LOCAL.items()}


class _ProgramModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """The program's own modules, compiled at build time and run when first imported."""

    def find_spec(self, name, path=None, target=None):
        if name not in _LOCAL:
            return None
        relative, is_package, _ = _LOCAL[name]
        spec = importlib.util.spec_from_loader(name, self, origin=relative, is_package=is_package)
        spec.has_location = True
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        relative, is_package, code = _LOCAL[module.__name__]
        module.__file__ = relative
        if is_package:
            module.__path__ = [os.path.dirname(relative)]
        exec(code, module.__dict__)


def _preload(names):
    """Import what the program names (and, transitively, what those modules import inside their
    functions) so that componentize-py bundles it."""
    done = set()
    pending = sorted(names)
    while pending:
        name = pending.pop()
        if name in done or name.split(".")[0] in _manifest.NOT_PRELOADED:
            continue
        done.add(name)
        try:
            module = importlib.import_module(name)
        except BaseException:  # absent here too: the program gets the same ImportError at run time
            continue
        origin = getattr(module, "__file__", None)
        if not origin or not origin.endswith(".py"):
            continue
        try:
            with open(origin, encoding="utf-8") as source:
                tree = ast.parse(source.read())
        except BaseException:
            continue
        package = name if origin.endswith("__init__.py") else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                pending += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    if node.level - 1 > len(parts):
                        continue
                    base = ".".join(parts[:len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                if base:
                    pending.append(base)
                    pending += [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]


for _name in _manifest.RUNNER_MODULES:
    importlib.import_module(_name)
_preload([*_manifest.BASELINE, *_manifest.EXTERNAL])
sys.meta_path.insert(0, _ProgramModules())


def _run_program():
    os.environ.clear()
    os.environ.update(dict(_environment.get_environment()))
    sys.argv = [_manifest.ENTRY, *_environment.get_arguments()[1:]]
    main = types.ModuleType("__main__")
    main.__file__ = _manifest.ENTRY
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    try:
        exec(_MAIN, main.__dict__)
        status = 0
    except SystemExit as exc:
        status = exit_status(exc.code)
    except BaseException as exc:
        traceback.print_exception(type(exc), exc, without_runner(exc.__traceback__, __file__))
        status = 1
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    return status


class Run(exports.Run):
    def run(self) -> None:
        status = _run_program() & 0xFF
        if status:
            _exit.exit_with_code(status)
'''


@dataclass
class App:
    """A prepared componentize-py invocation: the directories it reads and its arguments."""

    argv: list[str]
    inputs: list[Path]
    probed: list[Path]


def componentize_py() -> Path:
    """The managed componentize-py's directory (installed on first use)."""
    return component_tools.ensure(component_tools.COMPONENTIZE_PY)


def command_argv(tool_dir: Path, wit_dir: Path, world: str | None, app: str, paths: list[Path],
                 out: Path) -> list[str]:
    """How wasmrun runs componentize-py: this Python, with the managed package on its path."""
    script = ("import sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'componentize-py'; "
              "from componentize_py import script; sys.exit(script())")
    argv = [sys.executable, "-c", script, str(tool_dir), "-d", str(wit_dir)]
    if world:
        argv += ["-w", world]
    argv += ["componentize", app]
    for path in paths:
        argv += ["-p", str(path)]
    return [*argv, "-o", str(out)]


def prepare_program(root: Path, entry: Path, build_dir: Path, extra_modules: list[str],
                    site: Path | None, out: Path) -> App:
    """Write the app, the program's modules (found from ``entry`` under ``root``) and the world
    into ``build_dir``."""
    modules = find_modules(root, entry, extra_modules)
    wit_dir = build_dir / "wit"
    wasi_wit = component_tools.wasi_wit_packages(WASI_VERSION)
    shutil.copytree(wasi_wit, wit_dir / "deps")
    (wit_dir / "world.wit").write_text(WORLD_WIT, encoding="utf-8")
    app_dir = build_dir / "app"
    program = app_dir / "program"
    program.mkdir(parents=True)
    for path in [entry, *modules.local.values()]:
        target = program / (path.relative_to(root) if path.is_relative_to(root) else path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    external = set(modules.external)
    if site is not None:
        external.update(dependencies.top_level_modules(site))
    (app_dir / "wasmrun_manifest.py").write_text(_manifest(root, entry, modules, external), encoding="utf-8")
    (app_dir / f"{APP}.py").write_text(RUNNER, encoding="utf-8")
    (app_dir / f"{guest_exit.MODULE}.py").write_text(guest_exit.source(), encoding="utf-8")
    tool_dir = componentize_py()
    argv = command_argv(tool_dir, wit_dir, WORLD, APP, [app_dir, *([site] if site else [])], out)
    files = [*([entry] if entry.is_relative_to(root) else []), *modules.local.values(), *dependencies.files(site),
             tool_dir / component_tools.COMPONENTIZE_PY.marker, *sorted(wasi_wit.rglob("*.wit"))]
    return App(argv=argv, inputs=files, probed=[])


def _manifest(root: Path, entry: Path, modules: ProgramModules, external: set[str]) -> str:
    local = {name: (path.relative_to(root).as_posix(), path.name == "__init__.py")
             for name, path in sorted(modules.local.items())}
    shown = entry.relative_to(root).as_posix() if entry.is_relative_to(root) else entry.name
    return (f"ENTRY = {shown!r}\n"
            f"LOCAL = {local!r}\n"
            f"EXTERNAL = {sorted(external)!r}\n"
            f"BASELINE = {list(BASELINE)!r}\n"
            f"RUNNER_MODULES = {list(RUNNER_MODULES)!r}\n"
            f"NOT_PRELOADED = {sorted(NOT_PRELOADED)!r}\n")


def prepare_library(project_dir: Path, entry: Path, world: str | None, site: Path | None, out: Path) -> App:
    """componentize-py on the project itself: the entry module implements the world of ``wit/``."""
    wit_dir = project_dir / "wit"
    modules = find_modules(entry.parent, entry)
    wit_files = sorted(p for p in wit_dir.rglob("*.wit") if p.is_file())
    tool_dir = componentize_py()
    argv = command_argv(tool_dir, wit_dir, world, entry.stem, [entry.parent, *([site] if site else [])], out)
    files = [entry, *modules.local.values(), *wit_files, *dependencies.files(site),
             tool_dir / component_tools.COMPONENTIZE_PY.marker]
    return App(argv=argv, inputs=files, probed=[wit_dir])


def build_script(config: BuildConfig, script: tuple[str, str], out: Path, *, extra_modules: list[str]) -> BuildResult:
    """A ``pyproject.toml`` script entry point (``module:function``) as the program: a generated
    entry module imports the function and exits with what it returns, as pip's launcher does."""
    module, function = script
    src = config.project_dir / "src"
    root = src if (src / module.split(".")[0]).exists() or (src / f"{module.split('.')[0]}.py").exists() \
        else config.project_dir
    import tempfile

    with tempfile.TemporaryDirectory(prefix="wasmrun-script-") as scratch:
        stub = Path(scratch) / "__main__.py"
        stub.write_text(f"import sys\nfrom {module} import {function}\n\nif __name__ == '__main__':\n"
                        f"    sys.exit({function}())\n", encoding="utf-8")
        return build(config, stub, out, library=False, extra_modules=extra_modules, world=None, root=root)


def build(config: BuildConfig, entry: Path, out: Path, *, library: bool, extra_modules: list[str],
          world: str | None, root: Path | None = None) -> BuildResult:
    """Build the component into ``out``; ``root`` is where the program's own modules live
    (default: the entry module's directory)."""
    import tempfile

    if config.extra_args:
        raise BuildError("whole-Python builds take no extra toolchain arguments")
    lines = dependencies.requirements(config.project_dir)
    site = dependencies.install(config.project_dir, lines)
    with tempfile.TemporaryDirectory(prefix="wasmrun-python-") as scratch:
        if library:
            app = prepare_library(config.project_dir, entry, world, site, out)
        else:
            app = prepare_program(root or entry.parent, entry, Path(scratch), extra_modules, site, out)
        toolchain.run(app.argv, cwd=Path(scratch), what="componentize-py", timeout=TIMEOUT_S)
    if not out.is_file():
        raise BuildError(f"componentize-py reported success but wrote no {out.name}")
    project_files = [config.project_dir / name for name in (dependencies.REQUIREMENTS, dependencies.PYPROJECT,
                                                              "wasmrun.toml")]
    return BuildResult(
        wasm_path=out, glue=GlueKind.COMPONENT,
        toolchain=f"componentize-py {component_tools.COMPONENTIZE_PY.version} "
                  f"({'library: the world of wit/' if library else 'wasi:cli/command'})",
        inputs=BuildInputs(files=sorted({*app.inputs, *(p for p in project_files if p.is_file())}),
                           probed=[*app.probed, *(p for p in project_files if not p.is_file())],
                           environment=["PIP_*", "VIRTUAL_ENV", "PYTHONPATH", "TMPDIR"]),
        post_process=False)  # wasm-opt works on modules, not components
