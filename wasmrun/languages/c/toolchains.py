"""The C toolchains: clang with wasi-libc, zig cc, emcc; finding, probing and choosing them, and
the flags an optimization level means. Shared by the plain, Makefile and CMake routes."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from wasmrun import toolchain
from wasmrun.errors import MissingToolchainError, UsageError
from wasmrun.models import BuildConfig, Optimization, Target, ToolStatus

WASI_SYSROOTS = ("/usr/lib/wasm32-wasi", "/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot")
#: What clang, zig cc and emcc read from the environment (a ``*`` ends a prefix): the build cache
#: keys C builds by these, not by the whole environment.
ENVIRONMENT = ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "OBJC_INCLUDE_PATH", "LIBRARY_PATH",
               "WASI_SYSROOT", "WASI_SDK_PATH", "SOURCE_DATE_EPOCH", "CCC_OVERRIDE_OPTIONS", "CLANG_*", "ZIG_*",
               "EMCC_*", "EM_*", "EMSDK*", "EMSCRIPTEN*", "NODE_PATH", "NODE_OPTIONS", "TMPDIR"]
CLANG_NAMES = ("clang", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14")
CLANG_HINT = "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-dev-wasm32"
ZIG_HINT = "pip install 'wasmrun[c]' (zig cc, no system packages needed)"
EMCC_HINT = "apt-get install emscripten"


def find_clang() -> str | None:
    return next((p for p in (toolchain.find_tool(n) for n in CLANG_NAMES) if p), None)


def wasi_sysroot() -> Path | None:
    """wasi-libc's location: Debian's multiarch dirs, ``WASI_SYSROOT``, or a wasi-sdk."""
    env = os.environ.get("WASI_SYSROOT") or (
        os.environ.get("WASI_SDK_PATH") and os.path.join(os.environ["WASI_SDK_PATH"], "share", "wasi-sysroot"))
    for candidate in ([env] if env else []) + list(WASI_SYSROOTS):
        root = Path(candidate)
        if (root / "libc.a").is_file() or (root / "lib" / "wasm32-wasi" / "libc.a").is_file():
            return root
    return None


def zig_command() -> list[str] | None:
    """``zig`` on PATH, else PyPI's ``ziglang`` run with this Python."""
    found = toolchain.find_tool("zig")
    if found:
        return [found]
    if importlib.util.find_spec("ziglang") is not None:
        return [sys.executable, "-m", "ziglang"]
    return None


def clang_command(cxx: bool) -> list[str] | None:
    clang = find_clang()
    if clang is None:
        return None
    driver = clang.replace("clang", "clang++") if cxx and Path(clang.replace("clang", "clang++")).exists() else clang
    cmd = [driver, "--target=wasm32-wasi"]
    root = wasi_sysroot()
    if root is not None and root.name != "wasm32-wasi":
        cmd.append(f"--sysroot={root}")
    return cmd


def probe(command: list[str], cxx: bool) -> str | None:
    """Compile and link a tiny program; None when it works, else the first line of the error."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="wasmrun-probe-") as tmp:
        src = Path(tmp) / ("probe.cpp" if cxx else "probe.c")
        src.write_text("#include <stdio.h>\nint main(void) { puts(\"ok\"); return 0; }\n")
        try:
            proc = subprocess.run([*command, *(["-fno-exceptions"] if cxx else []), str(src), "-o",
                                   str(Path(tmp) / "probe.wasm")], capture_output=True, text=True, timeout=300,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        if proc.returncode == 0:
            return None
        lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()]
        return (errors or lines or ["probe compile failed"])[0].strip()


def tool_statuses(target: Target, probe_compile: bool) -> list[ToolStatus]:
    if target is Target.WEB:
        emcc = toolchain.find_tool("emcc")
        status = ToolStatus(name="emcc", found=emcc is not None, path=emcc, required_for="web",
                            install_hint=EMCC_HINT,
                            version=emcc_version(emcc) if emcc else None)
        if emcc and probe_compile:
            error = probe([emcc], cxx=False)
            status.probe_ok, status.probe_error = error is None, error
        return [status]
    statuses: list[ToolStatus] = []
    clang = find_clang()
    clang_status = ToolStatus(name="clang", found=clang is not None, path=clang, optional=True,
                              required_for="wasm (WASI)", install_hint=CLANG_HINT,
                              version=toolchain.tool_version(clang) if clang else None)
    if clang and wasi_sysroot() is None:
        clang_status.probe_ok = False
        clang_status.probe_error = "wasi-libc not found (apt-get install wasi-libc, or set WASI_SYSROOT)"
    elif clang and probe_compile:
        command = clang_command(cxx=False)
        assert command is not None
        error = probe(command, cxx=False)
        clang_status.probe_ok, clang_status.probe_error = error is None, error
    statuses.append(clang_status)
    zig = zig_command()
    zig_status = ToolStatus(name="zig", found=zig is not None, path=" ".join(zig) if zig else None, optional=True,
                            required_for="wasm (WASI)", install_hint=ZIG_HINT,
                            version=zig_version(zig) if zig else None)
    statuses.append(zig_status)
    return statuses


def zig_version(zig: list[str]) -> str | None:
    """PyPI's ziglang says its version in its metadata; a zig on PATH is asked."""
    if len(zig) > 1:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("ziglang")
        except PackageNotFoundError:
            return None
    return toolchain.tool_version(zig[0], "version")


def emcc_version(emcc: str) -> str | None:
    return toolchain.tool_version(emcc, "--version")


def choose_wasi_compiler(config: BuildConfig, cxx: bool) -> tuple[str, list[str]]:
    """(toolchain name, compiler command) for a WASI build."""
    wanted = config.toolchain
    if wanted not in (None, "clang", "zig"):
        raise UsageError(f"unknown C toolchain '{wanted}' for --target wasm (choose clang or zig)")
    if wanted in (None, "clang"):
        clang = clang_command(cxx)
        usable = clang is not None and wasi_sysroot() is not None
        if usable and clang is not None:
            return "clang", clang
        if wanted == "clang":
            raise MissingToolchainError(
                "clang with wasi-libc is needed for --toolchain clang" + ("" if clang else " (clang not found)"),
                hint=CLANG_HINT)
    zig = zig_command()
    if zig is None:
        raise MissingToolchainError(f"zig is needed for --toolchain zig (install: {ZIG_HINT})")
    return "zig", [*zig, "c++" if cxx else "cc", "-target", "wasm32-wasi"]


def opt_flags(config: BuildConfig, compiler: str) -> tuple[list[str], list[str]]:
    """(compile flags, link flags) for the optimization level."""
    compile_flags: list[str]
    link: list[str]
    if config.optimization is Optimization.DEBUG:
        compile_flags, link = ["-O0", "-g"], []
    elif config.optimization is Optimization.RELEASE:
        compile_flags, link = ["-O2"], ["-Wl,--strip-debug"]
    else:
        compile_flags, link = ["-Oz"], (["-s"] if compiler in ("zig", "emcc") else ["-Wl,--strip-all"])
    if config.debug_info and config.optimization is not Optimization.DEBUG:
        compile_flags.append("-g")
        link = []
    return compile_flags, link


def sysroot_probes() -> list[Path]:
    """Where wasi-libc was looked for (a sysroot installed later changes the choice), and the
    libraries of the one found (an upgraded wasi-libc changes the link)."""
    probed = [Path(p) / "libc.a" for p in WASI_SYSROOTS] + [Path(p) / "lib" / "wasm32-wasi" / "libc.a"
                                                           for p in WASI_SYSROOTS]
    root = wasi_sysroot()
    if root is not None:
        lib = root if (root / "libc.a").is_file() else root / "lib" / "wasm32-wasi"
        with contextlib.suppress(OSError):
            probed += sorted(p for p in lib.iterdir() if p.suffix in (".a", ".o"))
    return probed


def emscripten_env() -> dict[str, str]:
    """Debian's emcc needs its node modules on NODE_PATH (else: Cannot find module 'acorn')."""
    paths = [p for p in (os.environ.get("NODE_PATH", ""), "/usr/share/nodejs", "/usr/lib/nodejs") if p]
    return {"NODE_PATH": os.pathsep.join(paths)}
