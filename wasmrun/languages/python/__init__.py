"""Python, by one of three routes (one rule, :func:`choose_route`; ``detect`` and ``compile -v``
say which a project takes and why):

- **whole Python** (componentize-py, the default): the program as it is written, CPython 3.14 for
  WASI inside a component: a ``wasi:cli/command`` for a program, or a component exporting the
  world of ``wit/`` for a library; see :mod:`.components`.
- **typed** (wasmrun's own compiler, formerly ``embedded``): :mod:`.compiler` reads the module with
  ``ast`` and writes a tiny core module; annotated top-level functions become exports. Chosen
  automatically for a library of typed functions with no ``wit/`` and nothing that runs at import.
- **py2wasm**: full CPython through Nuitka where a wasi-sdk is installed; see :mod:`.py2wasm`.

A project is Python when it has ``main.py``, ``__main__.py``, a ``pyproject.toml`` with a script
entry point (or, when no other plugin claims it, ``.py`` files at its root or in ``src/``) and no
other language's manifest.
"""

from __future__ import annotations

from pathlib import Path

from wasmrun import __version__, hookimpl
from wasmrun.errors import UsageError
from wasmrun.models import (
    BuildConfig,
    BuildInputs,
    BuildResult,
    Capability,
    Claim,
    GlueKind,
    PluginInfo,
    Target,
    ToolStatus,
)
from wasmrun.paths import output_stem

PLUGIN_NAME = "python"
WHOLE = "componentize-py"
TYPED = "typed"
PY2WASM = "py2wasm"
#: Toolchain names and what they mean; ``embedded`` is the typed compiler's earlier name.
ALIASES = {WHOLE: WHOLE, "whole": WHOLE, TYPED: TYPED, "embedded": TYPED, PY2WASM: PY2WASM}
EMBEDDED = TYPED
BACKENDS = tuple(ALIASES)
ENTRY_NAMES = ("main.py", "__main__.py")
_SOURCE_DIRS = (".", "src")

#: Manifests of other languages: a directory holding one is never claimed, whatever .py it has.
FOREIGN_MANIFESTS = ("Cargo.toml", "go.mod", "package.json", "build.zig", "build.zig.zon", "asconfig.json",
                     "CMakeLists.txt", "pom.xml", "build.gradle", "Gemfile", "composer.json", "dune-project")


def _py_files(project_dir: Path) -> list[Path]:
    files: list[Path] = []
    for sub in _SOURCE_DIRS:
        files += sorted(p for p in (project_dir / sub).glob("*.py") if p.is_file())
    return files


def _entry(files: list[Path]) -> Path | None:
    for name in ENTRY_NAMES:
        for path in files:
            if path.name == name:
                return path
    return files[0] if len(files) == 1 else None


def script_entry(project_dir: Path) -> tuple[str, str] | None:
    """The first ``[project.scripts]`` entry point of ``pyproject.toml``: (module, function)."""
    path = project_dir / "pyproject.toml"
    if not path.is_file():
        return None
    from wasmrun.config import parse_toml

    try:
        scripts = parse_toml(path.read_bytes(), str(path)).get("project", {}).get("scripts", {})
    except (OSError, AttributeError):
        return None
    for value in scripts.values() if isinstance(scripts, dict) else []:
        if isinstance(value, str) and ":" in value:
            module, _, function = value.partition(":")
            return module.strip(), function.strip().split("[")[0].strip()
    return None


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name=PLUGIN_NAME,
        aliases=["py"],
        version=__version__,
        description="Whole Python as components (componentize-py), typed Python compiled by wasmrun, or py2wasm",
        author="wasmrun",
        extensions=[".py"],
        entry_files=["main.py", "__main__.py", "pyproject.toml"],
        builtin=True,
        source="builtin",
        tools=["componentize-py (managed)", "wasmtime (Python package)", "py2wasm", "wasi-sdk"],
        capabilities=[Capability.WASM, Capability.WASI, Capability.LIBRARY, Capability.COMPONENT],
    )


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    if any((project_dir / name).exists() for name in FOREIGN_MANIFESTS):
        return None
    files = _py_files(project_dir)
    script = script_entry(project_dir)
    if not files and script is None:  # a script entry's package may be all in subdirectories
        return None
    evidence = [p.relative_to(project_dir).as_posix() for p in files[:5]]
    if (project_dir / "pyproject.toml").is_file():
        evidence.append("pyproject.toml")
    has_main = any(p.name in ENTRY_NAMES for p in files) or script is not None
    if not has_main:
        return Claim(evidence=evidence, fallback=True,
                     note="no main.py: claimed only when no other plugin claims the project")
    try:
        route, why = choose_route(project_dir, None)
    except UsageError as exc:
        return Claim(evidence=evidence, note=exc.message)
    return Claim(evidence=evidence, note=f"route: {route} ({why})")


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    files = _py_files(project_dir)
    if not files and script_entry(project_dir) is None:
        return ["no .py files at the project root or in src/"]
    if _entry(files) is None and script_entry(project_dir) is None:
        names = ", ".join(p.name for p in files[:5])
        return [f"several .py files ({names}) and none is main.py: name the entry module main.py"]
    try:
        project_backend(project_dir)
    except UsageError as exc:
        return [exc.message]
    return []


def project_backend(project_dir: Path) -> str | None:
    """The toolchain the project's settings name (``wasmrun.toml`` or ``[tool.wasmrun]``), if any."""
    from wasmrun.errors import ConfigError
    from wasmrun.project_config import load_project_config

    try:
        settings = load_project_config(project_dir)
    except ConfigError as exc:
        raise UsageError(exc.message) from None
    value = settings.toolchain
    if value is None:
        return None
    if value not in ALIASES:
        raise UsageError(f"{settings.source}: backend = {value!r} is not one of {', '.join(BACKENDS)}")
    return value


def is_typed_library(entry: Path) -> bool:
    """A module of annotated functions and nothing that runs at import: imports, a docstring,
    constants and fully annotated ``def``s only, and no ``main``."""
    import ast

    try:
        tree = ast.parse(entry.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return False
    functions = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            if node.name == "main" or node.returns is None or any(a.annotation is None for a in arguments):
                return False
            functions += 1
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Constant):
            continue
        else:
            return False
    return functions > 0


def choose_route(project_dir: Path, toolchain: str | None) -> tuple[str, str]:
    """The one rule: (route, why). ``--toolchain`` first, then the project's settings; else whole
    Python for a ``wit/`` world; else typed for a library of typed functions; else whole Python."""
    if toolchain:
        if toolchain not in ALIASES:
            raise UsageError(f"unknown python toolchain '{toolchain}' (choose {', '.join(BACKENDS)})")
        return ALIASES[toolchain], f"--toolchain {toolchain}"
    configured = project_backend(project_dir)
    if configured:
        return ALIASES[configured], f"toolchain = {configured!r} in the project's settings"
    if (project_dir / "wit").is_dir():
        return WHOLE, "a library exporting the world of wit/"
    entry = _entry(_py_files(project_dir))
    if entry is not None and script_entry(project_dir) is None and is_typed_library(entry):
        return TYPED, f"{entry.name} is a library of typed functions with nothing that runs at import"
    return WHOLE, "a program (code runs at import, or main)"


def choose_backend(config: BuildConfig) -> str:
    """The route :func:`choose_route` picks, checked against the target."""
    route, why = choose_route(config.project_dir, config.toolchain)
    if config.target is Target.WEB:
        raise UsageError("python builds --target wasm or component (not web: `wasmrun run` serves components)")
    from wasmrun import toolchain

    toolchain.log.info("python route: %s (%s)", route, why)
    return route


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    from wasmrun.languages.python import py2wasm

    try:
        import wasmtime
    except ImportError:  # pragma: no cover - wasmtime is a dependency of wasmrun
        embedded = ToolStatus(name="wasmtime", found=False, optional=True, required_for="python --toolchain typed",
                              install_hint="pip install wasmtime")
    else:
        embedded = ToolStatus(name="wasmtime", found=True, path=wasmtime.__file__, version=_wasmtime_version(),
                              optional=True, required_for="python --toolchain typed",
                              probe_ok=_probe() if probe else None)
    return [_componentize_py_status(), embedded, *py2wasm.statuses()]


def _componentize_py_status() -> ToolStatus:
    """Whole Python's tool: wasmrun installs it on first use, so it is never what blocks a build."""
    from wasmrun import component_tools

    tool = component_tools.COMPONENTIZE_PY
    directory = component_tools.installed(tool)
    return ToolStatus(name=tool.name, found=directory is not None,
                      path=str(directory / tool.marker) if directory is not None else None,
                      version=tool.version if directory is not None else None, optional=True,
                      required_for="python (whole Python, the default route)",
                      install_hint=f"installed on first use from pypi ({tool.spec}) into {tool.directory()}")


def _probe() -> bool:
    from wasmrun.languages.python.compiler import compile_to_wasm

    try:
        compile_to_wasm("def main() -> None:\n    print('ok')\n")
    except Exception:  # noqa: BLE001 - a probe reports any failure as "cannot build"
        return False
    return True


def _wasmtime_version() -> str:
    from importlib.metadata import version

    return version("wasmtime")


@hookimpl
def toolchain_versions(target: Target) -> dict[str, str]:
    from wasmrun.languages.python import py2wasm

    versions = {"wasmrun-python": __version__, "wasmtime": _wasmtime_version()}
    path = py2wasm.py2wasm_path()
    if path:
        from wasmrun import toolchain

        versions["py2wasm"] = toolchain.tool_version(path) or "unknown"
    return versions


@hookimpl
def project_template(flavour: str) -> dict[str, str] | None:
    if flavour == "command":
        return {"main.py": 'import sys\n\n\ndef main() -> None:\n'
                           '    name = sys.argv[1] if len(sys.argv) > 1 else "world"\n'
                           '    print(f"hello, {name}, from Python")\n\n\n'
                           'if __name__ == "__main__":\n    main()\n'}
    if flavour == "library":
        return {"main.py": '"""The world of wit/, implemented: each exported function is a method of WitWorld."""\n\n'
                           "import wit_world\n\n\n"
                           "class WitWorld(wit_world.WitWorld):\n"
                           "    def add(self, a: int, b: int) -> int:\n        return a + b\n\n"
                           "    def greet(self, name: str) -> str:\n        return f\"hello, {name}\"\n",
                "wit/world.wit": "package local:lib;\n\nworld lib {\n  export add: func(a: s32, b: s32) -> s32;\n"
                                 "  export greet: func(name: string) -> string;\n}\n"}
    return None


@hookimpl
def build(config: BuildConfig) -> BuildResult:
    backend = choose_backend(config)
    out = config.output_dir / f"{output_stem(config.project_dir)}.wasm"
    if backend == WHOLE:
        return _build_whole(config, out)
    entry = _entry(_py_files(config.project_dir))
    if entry is None:
        raise UsageError(f"no entry module in {config.project_dir}: add main.py")
    if backend == PY2WASM:
        from wasmrun.languages.python import py2wasm

        return py2wasm.build(config, entry, out)
    return _build_embedded(config, entry, out)


def _build_whole(config: BuildConfig, out: Path) -> BuildResult:
    from wasmrun.languages.python import components
    from wasmrun.project_config import load_project_config

    settings = load_project_config(config.project_dir)
    library = (config.project_dir / "wit").is_dir()
    script = None if library else script_entry(config.project_dir)
    entry = _entry(_py_files(config.project_dir))
    if script is not None and (entry is None or entry.name not in ENTRY_NAMES):
        return components.build_script(config, script, out, extra_modules=settings.python_modules)
    if entry is None:
        raise UsageError(f"no entry module in {config.project_dir}: add main.py")
    return components.build(config, entry, out, library=library, extra_modules=settings.python_modules,
                            world=settings.world)


def _build_embedded(config: BuildConfig, entry: Path, out: Path) -> BuildResult:
    from wasmrun import toolchain
    from wasmrun.languages.python.compiler import compile_source

    if config.extra_args:
        raise UsageError("the typed python compiler takes no extra arguments")
    try:
        source = entry.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {entry}: {exc}") from None
    shown = entry.relative_to(config.project_dir).as_posix()
    toolchain.log.info("$ wasmrun-python %s -o %s  (embedded compiler, in-process)", shown, out)
    compiled = compile_source(source, shown)
    out.write_bytes(compiled.wasm())
    extra: list[Path] = []
    if config.debug_info:
        wat = out.with_suffix(".wat")
        wat.write_text(compiled.wat, encoding="utf-8")
        extra.append(wat)
    return BuildResult(wasm_path=out, additional_files=extra,
                       # in-process: the entry module is all the compiler reads
                       inputs=BuildInputs(files=[entry], environment=[]),
                       glue=GlueKind.WASI if compiled.wasi else GlueKind.NONE,
                       toolchain=f"wasmrun-python {__version__} (typed)",
                       # A trap names the Python error by the function that raised it; wasm-opt's
                       # inlining would erase that name from the backtrace.
                       post_process=False)
