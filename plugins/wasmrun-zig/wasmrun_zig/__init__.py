"""wasmrun-zig: build Zig programs to WebAssembly with ``zig`` on PATH or PyPI's ``ziglang``.

A project is Zig when it has a ``build.zig``, or ``.zig`` sources at its root or in ``src/`` (and
no Rust or Go manifest beside them).

- With a ``build.zig``: ``zig build install --prefix OUT -Dtarget=wasm32-wasi -Doptimize=MODE``
  (each ``-D`` only when build.zig declares the standard option), taking every ``.wasm`` the
  install step writes. ``--toolchain direct`` ignores build.zig.
- Otherwise the entry file (``main.zig`` or ``src/main.zig``; for a library ``lib.zig``,
  ``src/lib.zig``, ``root.zig`` or ``src/root.zig``; else the only ``.zig`` file) is built with
  ``zig build-exe``: a file with ``pub fn main`` as a WASI command (``-target wasm32-wasi``), any
  other as a freestanding library exporting its ``export fn`` functions
  (``-target wasm32-freestanding -fno-entry -rdynamic``), which needs no imports at all.
- Levels: debug is ``Debug``, release ``ReleaseFast``, size ``ReleaseSmall``; release and size
  strip debug information unless ``--debug-info``.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from wasmrun import hookimpl, toolchain
from wasmrun.errors import BuildError, MissingToolchainError, UsageError
from wasmrun.models import (
    BuildConfig,
    BuildResult,
    Capability,
    Claim,
    GlueKind,
    Optimization,
    PluginInfo,
    Target,
    ToolStatus,
)

from wasmrun_zig import inputs

__version__ = "0.1.0"

PLUGIN_NAME = "zig"

ZIG_HINT = "pip install ziglang (or wasmrun-zig, which depends on it), or a zig from https://ziglang.org"
FOREIGN_MANIFESTS = ("Cargo.toml", "go.mod")
COMMAND_ENTRIES = ("main.zig", "src/main.zig")
LIBRARY_ENTRIES = ("lib.zig", "src/lib.zig", "root.zig", "src/root.zig")
MODES = {Optimization.DEBUG: "Debug", Optimization.RELEASE: "ReleaseFast", Optimization.SIZE: "ReleaseSmall"}

_MAIN = re.compile(r"\bpub\s+fn\s+main\s*\(")


# -- the project ----------------------------------------------------------------------------------

def _zig_files(project_dir: Path) -> list[Path]:
    return sorted([*project_dir.glob("*.zig"), *(project_dir / "src").glob("*.zig")])


def _entry(project_dir: Path) -> Path | None:
    for rel in (*COMMAND_ENTRIES, *LIBRARY_ENTRIES):
        if (project_dir / rel).is_file():
            return project_dir / rel
    sources = [p for p in _zig_files(project_dir) if p.name != "build.zig"]
    return sources[0] if len(sources) == 1 else None


def _is_command(entry: Path) -> bool:
    try:
        return bool(_MAIN.search(entry.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name=PLUGIN_NAME,
        version=__version__,
        description="Zig: zig build-exe or zig build, for WASI commands and freestanding libraries",
        author="wasmrun",
        extensions=[".zig", ".zon"],
        entry_files=["build.zig", "build.zig.zon"],
        tools=["zig"],
        capabilities=[Capability.WASM, Capability.WASI, Capability.LIBRARY, Capability.OPTIMIZATION_LEVELS,
                      Capability.DEBUG_INFO],
    )


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    evidence: list[str] = []
    if (project_dir / "build.zig").is_file():
        evidence.append("build.zig")
    elif any((project_dir / name).exists() for name in FOREIGN_MANIFESTS):
        return None
    sources = [p for p in _zig_files(project_dir) if p.name != "build.zig"]
    evidence += [p.relative_to(project_dir).as_posix() for p in sources[:5]]
    return Claim(evidence=evidence) if evidence else None


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    if (project_dir / "build.zig").is_file() or _entry(project_dir) is not None:
        return []
    names = ", ".join(p.name for p in _zig_files(project_dir)) or "none"
    return [f"no entry file among the .zig sources ({names}): name it main.zig (a program) "
            "or root.zig (a library), at the root or in src/"]


# -- the toolchain --------------------------------------------------------------------------------

def zig_command() -> list[str] | None:
    """``zig`` on PATH, else PyPI's ``ziglang`` run with this Python."""
    found = toolchain.find_tool("zig")
    if found:
        return [found]
    if importlib.util.find_spec("ziglang") is not None:
        return [sys.executable, "-m", "ziglang"]
    return None


def _zig_version(zig: list[str]) -> str | None:
    return toolchain.tool_version(*zig, "version")


def _probe(zig: list[str]) -> str | None:
    """Build a one-function library; None when it works, else the first line of the error."""
    with tempfile.TemporaryDirectory(prefix="wasmrun-zig-probe-") as tmp:
        src = Path(tmp) / "probe.zig"
        src.write_text("export fn probe() i32 {\n    return 1;\n}\n")
        try:
            proc = subprocess.run([*zig, "build-exe", str(src), "-target", "wasm32-freestanding", "-fno-entry",
                                   "-rdynamic", f"-femit-bin={Path(tmp) / 'probe.wasm'}"],
                                  capture_output=True, text=True, timeout=300, check=False, cwd=tmp)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        if proc.returncode == 0:
            return None
        lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        return (lines or ["probe compile failed"])[0]


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    zig = zig_command()
    status = ToolStatus(name="zig", found=zig is not None, path=" ".join(zig) if zig else None,
                        version=_zig_version(zig) if zig else None, required_for="wasm", install_hint=ZIG_HINT)
    if zig and probe:
        error = _probe(zig)
        status.probe_ok, status.probe_error = error is None, error
    return [status]


@hookimpl
def toolchain_versions(target: Target) -> dict[str, str]:
    zig = zig_command()
    return {"zig": (_zig_version(zig) or "unknown")} if zig else {}


# -- building -------------------------------------------------------------------------------------

def _require_zig() -> list[str]:
    zig = zig_command()
    if zig is None:
        raise MissingToolchainError("zig is needed to build Zig", hint=ZIG_HINT)
    return zig


@hookimpl
def build(config: BuildConfig) -> BuildResult:
    if config.target is Target.WEB:
        raise UsageError("Zig builds --target wasm only (a WASI command or a library of exports)")
    if config.toolchain not in (None, "zig", "direct"):
        raise UsageError(f"unknown Zig toolchain '{config.toolchain}' (choose zig, or direct to ignore build.zig)")
    zig = _require_zig()
    if (config.project_dir / "build.zig").is_file() and config.toolchain != "direct":
        return _build_with_build_zig(config, zig)
    entry = _entry(config.project_dir)
    if entry is None:
        raise UsageError(validate_project(config.project_dir)[0])
    return _build_exe(config, zig, entry)


def _strip_flags(config: BuildConfig) -> list[str]:
    if config.debug_info:
        return ["-fno-strip"]
    return [] if config.optimization is Optimization.DEBUG else ["-fstrip"]


def _output_name(config: BuildConfig, entry: Path) -> str:
    if entry.stem not in ("main", "root", "lib"):
        return entry.stem
    return re.sub(r"[^A-Za-z0-9_.-]", "_", config.project_dir.name) or "main"


def _build_exe(config: BuildConfig, zig: list[str], entry: Path) -> BuildResult:
    command = _is_command(entry)
    kind = ["-target", "wasm32-wasi"] if command else \
        ["-target", "wasm32-freestanding", "-fno-entry", "-rdynamic"]
    out = config.output_dir / f"{_output_name(config, entry)}.wasm"
    cmd = [*zig, "build-exe", str(entry), *kind, "-O", MODES[config.optimization], *_strip_flags(config),
           *config.extra_args, f"-femit-bin={out}"]
    toolchain.run(cmd, cwd=config.project_dir, what="zig build-exe")
    for leftover in config.output_dir.glob(f"{out.stem}.wasm.o"):  # older zigs leave the object file
        leftover.unlink()
    roots = [entry, *inputs.argument_files(config.extra_args, config.project_dir)]
    return BuildResult(wasm_path=out, glue=_glue(out), toolchain=f"zig {_zig_version(zig) or ''}".strip(),
                       inputs=inputs.build_exe_inputs(config.project_dir, config.output_dir, roots))


def _cache_dir() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "zig"


def _build_with_build_zig(config: BuildConfig, zig: list[str]) -> BuildResult:
    """``zig build install`` into the output directory, with the standard options it declares."""
    text = (config.project_dir / "build.zig").read_text(encoding="utf-8", errors="replace")
    options: list[str] = []
    if "standardTargetOptions" in text:
        options.append("-Dtarget=wasm32-wasi")
    if "standardOptimizeOption" in text:
        options.append(f"-Doptimize={MODES[config.optimization]}")
    prefix = config.output_dir / "zig-out"
    cmd = [*zig, "build", "install", "--prefix", str(prefix), "--cache-dir", str(_cache_dir()), *options,
           *config.extra_args]
    toolchain.run(cmd, cwd=config.project_dir, what="zig build")
    built = sorted(prefix.rglob("*.wasm"))
    if not built:
        raise BuildError("zig build finished but installed no .wasm",
                         hint="install a wasm artifact (b.installArtifact) and use b.standardTargetOptions")
    # The module named after the project (or the first one) is the result; the rest ride along.
    wanted = re.sub(r"[^A-Za-z0-9_.-]", "_", config.project_dir.name)
    wasm = next((p for p in built if p.stem == wanted), built[0])
    others = [p for p in prefix.rglob("*") if p.is_file() and p != wasm]
    return BuildResult(wasm_path=wasm, additional_files=others, glue=_glue(wasm),
                       toolchain=f"zig build ({_zig_version(zig) or 'zig'})",
                       inputs=inputs.build_zig_inputs(config.project_dir, config.output_dir))


def _glue(wasm: Path) -> GlueKind:
    """A module importing ``wasi_snapshot_preview1`` runs with WASI; one without is plain exports."""
    return GlueKind.WASI if b"wasi_snapshot_preview1" in wasm.read_bytes() else GlueKind.NONE


# -- templates ------------------------------------------------------------------------------------

COMMAND_SOURCE = """\
//! A WASI command: prints a greeting, then its arguments.
const std = @import("std");

pub fn main(init: std.process.Init) !void {
    var buffer: [1024]u8 = undefined;
    var stdout = std.Io.File.stdout().writer(init.io, &buffer);
    const out = &stdout.interface;
    try out.print("hello from Zig\\n", .{});
    const args = try init.minimal.args.toSlice(init.arena.allocator());
    for (args[1..], 1..) |arg, i| {
        try out.print("arg {d}: {s}\\n", .{ i, arg });
    }
    try out.flush();
}
"""

LIBRARY_SOURCE = """\
//! A library: every `export fn` is exported from the module, which imports nothing.
export fn add(a: i32, b: i32) i32 {
    return a + b;
}
"""


@hookimpl
def project_template(flavour: str) -> dict[str, str] | None:
    if flavour == "command":
        return {"src/main.zig": COMMAND_SOURCE, ".gitignore": ".zig-cache/\nzig-out/\nwasmrun-out/\n"}
    if flavour == "library":
        return {"src/root.zig": LIBRARY_SOURCE, ".gitignore": ".zig-cache/\nzig-out/\nwasmrun-out/\n"}
    return None
