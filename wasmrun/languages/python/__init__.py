"""Python: a typed subset compiled to WebAssembly by wasmrun itself (nothing but pip), or full
CPython through py2wasm where its wasi-sdk is installed.

A project is Python when it has ``main.py`` (or, when no other plugin claims it, ``.py`` files at
its root or in ``src/``) and no other language's manifest. The entry module is ``main.py``, else the
only ``.py`` file.

- **embedded** (default): :mod:`.compiler` reads the module with ``ast`` and writes WebAssembly
  text that wasmtime's ``wat2wasm`` assembles. Annotated top-level functions become exports;
  ``main()`` or an ``if __name__ == "__main__":`` block becomes the WASI ``_start``. See
  docs/languages/python.md for the subset and its semantics.
- **py2wasm**: ``--toolchain py2wasm``, or ``[tool.wasmrun] backend = "py2wasm"`` in a
  ``pyproject.toml`` beside ``main.py``; see :mod:`.py2wasm`.
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
EMBEDDED = "embedded"
BACKENDS = (EMBEDDED, "py2wasm")
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
    for path in files:
        if path.name == "main.py":
            return path
    return files[0] if len(files) == 1 else None


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name=PLUGIN_NAME,
        aliases=["py"],
        version=__version__,
        description="Typed Python compiled by wasmrun itself (embedded), or CPython via py2wasm",
        author="wasmrun",
        extensions=[".py"],
        entry_files=["main.py", "pyproject.toml"],
        builtin=True,
        source="builtin",
        tools=["wasmtime (Python package)", "py2wasm", "wasi-sdk"],
        capabilities=[Capability.WASM, Capability.WASI, Capability.LIBRARY],
    )


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    if any((project_dir / name).exists() for name in FOREIGN_MANIFESTS):
        return None
    files = _py_files(project_dir)
    if not files:
        return None
    evidence = [p.relative_to(project_dir).as_posix() for p in files[:5]]
    if (project_dir / "pyproject.toml").is_file():
        evidence.append("pyproject.toml")
    has_main = any(p.name == "main.py" for p in files)
    note = "" if has_main else "no main.py: claimed only when no other plugin claims the project"
    return Claim(evidence=evidence, fallback=not has_main, note=note)


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    files = _py_files(project_dir)
    if not files:
        return ["no .py files at the project root or in src/"]
    if _entry(files) is None:
        names = ", ".join(p.name for p in files[:5])
        return [f"several .py files ({names}) and none is main.py: name the entry module main.py"]
    try:
        project_backend(project_dir)
    except UsageError as exc:
        return [exc.message]
    return []


def project_backend(project_dir: Path) -> str | None:
    """``[tool.wasmrun] backend`` from the project's ``pyproject.toml``, if set."""
    path = project_dir / "pyproject.toml"
    if not path.is_file():
        return None
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    value = data.get("tool", {}).get("wasmrun", {}).get("backend")
    if value is None:
        return None
    if value not in BACKENDS:
        raise UsageError(f"{path}: [tool.wasmrun] backend = {value!r} is not one of {', '.join(BACKENDS)}")
    return str(value)


def choose_backend(config: BuildConfig) -> str:
    """``--toolchain`` first, then the project's config, else the embedded compiler."""
    wanted = config.toolchain or project_backend(config.project_dir) or EMBEDDED
    if wanted not in BACKENDS:
        raise UsageError(f"unknown python toolchain '{wanted}' (choose {' or '.join(BACKENDS)})")
    if config.target is Target.WEB:
        raise UsageError("python builds --target wasm only (a WASI module or a module of exports)")
    return wanted


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    from wasmrun.languages.python import py2wasm

    try:
        import wasmtime
    except ImportError:  # pragma: no cover - wasmtime is a dependency of wasmrun
        embedded = ToolStatus(name="wasmtime", found=False, optional=True, required_for="python (embedded)",
                              install_hint="pip install wasmtime")
    else:
        embedded = ToolStatus(name="wasmtime", found=True, path=wasmtime.__file__, version=_wasmtime_version(),
                              optional=True, required_for="python (embedded)",
                              probe_ok=_probe() if probe else None)
    return [embedded, *py2wasm.statuses()]


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
        return {"main.py": 'def main() -> None:\n    print("hello from Python")\n\n\n'
                           'if __name__ == "__main__":\n    main()\n'}
    if flavour == "library":
        return {"main.py": '"""Annotated top-level functions are exported."""\n\n\n'
                           "def add(a: int, b: int) -> int:\n    return a + b\n"}
    return None


@hookimpl
def build(config: BuildConfig) -> BuildResult:
    backend = choose_backend(config)
    entry = _entry(_py_files(config.project_dir))
    if entry is None:
        raise UsageError(f"no entry module in {config.project_dir}: add main.py")
    out = config.output_dir / f"{output_stem(config.project_dir)}.wasm"
    if backend == "py2wasm":
        from wasmrun.languages.python import py2wasm

        return py2wasm.build(config, entry, out)
    return _build_embedded(config, entry, out)


def _build_embedded(config: BuildConfig, entry: Path, out: Path) -> BuildResult:
    from wasmrun import toolchain
    from wasmrun.languages.python.compiler import compile_source

    if config.extra_args:
        raise UsageError("the embedded python compiler takes no extra arguments")
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
                       toolchain=f"wasmrun-python {__version__} (embedded)",
                       # A trap names the Python error by the function that raised it; wasm-opt's
                       # inlining would erase that name from the backtrace.
                       post_process=False)
