"""WebAssembly text (``.wat``): assembled with wasmtime's ``wat2wasm``, so it needs nothing but pip.

A project is one or more ``.wat`` files at its root or in ``src/``. The entry module is
``main.wat``, else the only one; every other ``.wat`` file is assembled beside it.
"""

from __future__ import annotations

from pathlib import Path

from wasmrun import __version__, hookimpl
from wasmrun.errors import BuildError
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

PLUGIN_NAME = "wat"
_SOURCE_DIRS = (".", "src")


def _wat_files(project_dir: Path) -> list[Path]:
    files: list[Path] = []
    for sub in _SOURCE_DIRS:
        # regular files only: a FIFO or device named like a source would hang the read
        files += sorted(p for p in (project_dir / sub).glob("*.wat") if p.is_file())
    return files


def _entry(files: list[Path]) -> Path | None:
    for path in files:
        if path.name == "main.wat":
            return path
    return files[0] if len(files) == 1 else None


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name=PLUGIN_NAME,
        version=__version__,
        description="WebAssembly text format, assembled by wasmtime's wat2wasm",
        author="wasmrun",
        extensions=[".wat"],
        entry_files=["main.wat"],
        builtin=True,
        source="builtin",
        tools=["wasmtime (Python package)"],
        capabilities=[Capability.WASM, Capability.WASI, Capability.LIBRARY, Capability.DEBUG_INFO],
    )


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    files = _wat_files(project_dir)
    if not files:
        return None
    return Claim(evidence=[p.relative_to(project_dir).as_posix() for p in files])


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    files = _wat_files(project_dir)
    if files and _entry(files) is None:
        names = ", ".join(p.name for p in files)
        return [f"several .wat files ({names}) and none is main.wat: name the entry module main.wat"]
    return []


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    try:
        import wasmtime
    except ImportError:
        return [ToolStatus(name="wasmtime", found=False, install_hint="pip install wasmtime")]
    return [ToolStatus(name="wasmtime", found=True, path=wasmtime.__file__, version=_wasmtime_version(),
                       probe_ok=True if probe else None)]


def _wasmtime_version() -> str:
    from importlib.metadata import version

    return version("wasmtime")


@hookimpl
def toolchain_versions(target: Target) -> dict[str, str]:
    return {"wasmtime": _wasmtime_version()}


@hookimpl
def build(config: BuildConfig) -> BuildResult:
    import wasmtime

    from wasmrun import toolchain

    files = _wat_files(config.project_dir)
    entry = _entry(files)
    assert entry is not None  # validate_project ran first
    outputs: list[Path] = []
    for source in files:
        out = config.output_dir / (source.stem + ".wasm")
        toolchain.log.info("$ wat2wasm %s -o %s  (wasmtime, in-process)", source, out)
        try:
            binary = bytes(wasmtime.wat2wasm(source.read_text(encoding="utf-8")))
        except (wasmtime.WasmtimeError, UnicodeDecodeError) as exc:
            raise BuildError(f"wat2wasm failed on {source.relative_to(config.project_dir)}",
                             output=str(exc).strip()) from None
        if not config.debug_info and config.optimization is not Optimization.DEBUG:
            binary = _strip_names(binary)
        out.write_bytes(binary)
        outputs.append(out)
    wasm = config.output_dir / (entry.stem + ".wasm")
    return BuildResult(
        wasm_path=wasm,
        additional_files=[p for p in outputs if p != wasm],
        glue=_glue_for(wasm.read_bytes()),
        toolchain=f"wasmtime wat2wasm {_wasmtime_version()}",
        # wat2wasm runs in-process: it reads the .wat files and nothing from the environment
        inputs=BuildInputs(files=files, environment=[]),
    )


def _glue_for(binary: bytes) -> GlueKind:
    """A module importing from ``wasi_snapshot_preview1`` is a WASI module, else plain exports."""
    return GlueKind.WASI if b"wasi_snapshot_preview1" in binary else GlueKind.NONE


def _strip_names(binary: bytes) -> bytes:
    """Drop the ``name`` custom section (release and size builds carry no debug names)."""
    from wasmrun.wasm.sections import strip_custom_sections

    return strip_custom_sections(binary, {"name"})


@hookimpl
def project_template(flavour: str) -> dict[str, str] | None:
    if flavour == "command":
        return {"main.wat": _COMMAND_TEMPLATE}
    if flavour == "library":
        return {"main.wat": _LIBRARY_TEMPLATE}
    return None


_COMMAND_TEMPLATE = """\
;; A WASI command: prints "hello from WebAssembly text" through fd_write, then exits 0.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; an iovec at 0: { buf = 16, len = 28 }; fd_write stores the bytes written at 8
  (data (i32.const 0) "\\10\\00\\00\\00\\1c\\00\\00\\00")
  (data (i32.const 16) "hello from WebAssembly text\\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""

_LIBRARY_TEMPLATE = """\
;; A library: exports only, no imports. Call it with `wasmrun exec --invoke add FILE 2 3`.
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
"""
