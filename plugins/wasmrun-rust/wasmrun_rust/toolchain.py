"""Finding a Rust toolchain that can build for WebAssembly, and the web tools around it.

Several Rust toolchains often live on one machine: rustup's proxies in ``~/.cargo/bin`` (first on
PATH, frequently without any wasm std, and unable to download one offline), Debian's ``/usr/bin``
(``libstd-rust-dev-wasm32`` puts the wasm std in its sysroot) and other rustup toolchains. Every
candidate is asked for its sysroot (``rustc --print sysroot``); the first, in PATH order, whose
``lib/rustlib/<target>`` holds the std for the wanted target wins. Its ``rustc`` and ``cargo`` are
then called by their sysroot paths, so a rustup proxy can never switch toolchains under us.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wasmrun import toolchain as tools

#: WASI preview 1 target names, newest first: rustc 1.78 renamed wasm32-wasi, 1.84 removed it.
WASI_TARGETS = ("wasm32-wasip1", "wasm32-wasi")
#: The target for modules of plain exports, with no imports.
BARE_TARGET = "wasm32-unknown-unknown"

RUST_HINT = ("apt-get install rustc cargo libstd-rust-dev-wasm32 lld (Debian/Ubuntu), "
             "or with rustup: rustup target add wasm32-wasip1 wasm32-unknown-unknown")
WASM_BINDGEN_HINT = "cargo install wasm-bindgen-cli (its version must match the crate's wasm-bindgen)"
WASM_PACK_HINT = "cargo install wasm-pack, or npm install -g wasm-pack"
TRUNK_HINT = "cargo install trunk"
WEB_TOOLS = ("wasm-bindgen", "wasm-pack", "trunk")
WEB_HINTS = {"wasm-bindgen": WASM_BINDGEN_HINT, "wasm-pack": WASM_PACK_HINT, "trunk": TRUNK_HINT}


@dataclass(frozen=True)
class RustToolchain:
    """One installed Rust: its sysroot, compilers, and the wasm targets it has a std for."""

    sysroot: Path
    rustc: str
    cargo: str | None
    wasm_targets: tuple[str, ...] = field(default=())

    @property
    def version(self) -> str | None:
        """``rustc --version``'s number, asked only when shown (and then cached)."""
        return tools.tool_version(self.rustc, "--version")

    @property
    def wasi_target(self) -> str | None:
        """The WASI target this rustc has a std for (``wasm32-wasip1`` or ``wasm32-wasi``)."""
        return next((t for t in WASI_TARGETS if t in self.wasm_targets), None)

    def has(self, target: str) -> bool:
        return target in self.wasm_targets

    def describe(self) -> str:
        return f"rustc {self.version or '(unknown version)'} at {self.rustc}"

    def env(self, *, path_first: bool = False) -> dict[str, str]:
        """Variables that make cargo use this toolchain's rustc whatever comes first on PATH.

        :param path_first: also put its ``bin`` first on PATH, for tools (wasm-pack, trunk) that
            run ``cargo`` from PATH.
        """
        env = {"RUSTC": self.rustc, "RUSTUP_AUTO_INSTALL": "0"}
        rustdoc = Path(self.rustc).with_name("rustdoc")
        if rustdoc.is_file():
            env["RUSTDOC"] = str(rustdoc)
        if path_first:
            env["PATH"] = os.pathsep.join([str(Path(self.rustc).parent), os.environ.get("PATH", "")])
        return env


def _candidate_rustcs() -> Iterator[str]:
    """rustc programs worth asking, the user's own choice first: ``$RUSTC``, every rustc on PATH
    in order, then the usual places and every rustup toolchain."""
    if os.environ.get("RUSTC"):
        yield os.environ["RUSTC"]
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory:
            yield os.path.join(directory, "rustc")
    home = Path.home()
    yield str(home / ".cargo" / "bin" / "rustc")
    yield from ("/usr/local/bin/rustc", "/usr/bin/rustc")
    yield from sorted(str(p) for p in Path("/usr/lib").glob("rust-*/bin/rustc"))
    rustup_home = Path(os.environ.get("RUSTUP_HOME") or home / ".rustup")
    yield from sorted(str(p) for p in rustup_home.glob("toolchains/*/bin/rustc"))


@functools.lru_cache(maxsize=32)
def _sysroot(rustc: str) -> Path | None:
    """``rustc --print sysroot``, run outside any project so a rust-toolchain file cannot make
    rustup try a download."""
    try:
        proc = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=60,
                              check=False, cwd=os.path.abspath(os.sep),
                              env={**os.environ, "RUSTUP_AUTO_INSTALL": "0"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return Path(proc.stdout.strip())


def _wasm_std_targets(sysroot: Path) -> tuple[str, ...]:
    rustlib = sysroot / "lib" / "rustlib"
    return tuple(t for t in (*WASI_TARGETS, BARE_TARGET) if (rustlib / t / "lib").is_dir())


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


class _Discovery:
    """Toolchains found so far; candidates are asked one at a time, only as far as needed (a
    ``--print sysroot`` costs some 30 ms, and the first fitting one usually ends the search)."""

    def __init__(self) -> None:
        self.found: list[RustToolchain] = []
        self._seen: set[Path] = set()
        self._pending = _candidate_rustcs()

    def __iter__(self) -> Iterator[RustToolchain]:
        index = 0
        while True:
            if index < len(self.found):
                yield self.found[index]
                index += 1
                continue
            rust = self._next()
            if rust is None:
                return
            self.found.append(rust)

    def _next(self) -> RustToolchain | None:
        for candidate in self._pending:
            if not _executable(Path(candidate)):
                continue
            sysroot = _sysroot(candidate)
            if sysroot is None or sysroot.resolve() in self._seen:
                continue
            self._seen.add(sysroot.resolve())
            # Call the toolchain's own binaries, not a rustup proxy that may pick another toolchain.
            own = sysroot / "bin" / "rustc"
            rustc = str(own) if _executable(own) else candidate
            cargo_path = sysroot / "bin" / "cargo"
            cargo = str(cargo_path) if _executable(cargo_path) else tools.find_tool("cargo")
            return RustToolchain(sysroot=sysroot, rustc=rustc, cargo=cargo, wasm_targets=_wasm_std_targets(sysroot))
        return None


_discovery: _Discovery | None = None


def _toolchains() -> _Discovery:
    global _discovery
    if _discovery is None:
        _discovery = _Discovery()
    return _discovery


def installed() -> list[RustToolchain]:
    """Every Rust toolchain found, in preference order (the user's PATH first)."""
    return list(_toolchains())


def forget() -> None:
    """Drop the cached discovery (tests that change PATH or HOME call this)."""
    global _discovery
    _discovery = None
    _sysroot.cache_clear()


def find(target: str | None = None) -> RustToolchain | None:
    """The first toolchain with cargo and a std for ``target`` (``None``: for the WASI target)."""
    for rust in _toolchains():
        if rust.cargo is None:
            continue
        if (rust.wasi_target is not None) if target is None else rust.has(target):
            return rust
    return None


def probes(chosen: RustToolchain, triple: str) -> list[Path]:
    """Where the choice of ``chosen`` looked, for the build cache: every candidate ``rustc`` up to
    it (by content, absent ones too) and the wasm target directories of each toolchain it passed
    over and of its own (a toolchain earlier on PATH that gains its wasm target is chosen instead),
    the std of ``triple`` it builds with, and rustup's settings and toolchain list."""
    paths: list[Path] = []
    seen: set[Path] = set()
    for candidate in _candidate_rustcs():
        paths.append(Path(candidate))
        if not _executable(Path(candidate)):
            continue
        sysroot = _sysroot(candidate)
        if sysroot is None or sysroot.resolve() in seen:
            continue
        seen.add(sysroot.resolve())
        rustlib = sysroot / "lib" / "rustlib"
        paths += [rustlib / target for target in (*WASI_TARGETS, BARE_TARGET)]
        if sysroot.resolve() == chosen.sysroot.resolve():
            paths.append(rustlib / triple / "lib")
            break
    rustup_home = Path(os.environ.get("RUSTUP_HOME") or Path.home() / ".rustup")
    paths += [rustup_home / "settings.toml", rustup_home / "toolchains"]
    return list(dict.fromkeys(paths))


def missing_explanation(target: str | None = None) -> str:
    """Why no toolchain fits, naming each one found, and how to get one that does."""
    wanted = " or ".join(WASI_TARGETS) if target is None else target
    found = installed()
    if not found:
        return f"no Rust toolchain is installed; install one with a {wanted} std: {RUST_HINT}"
    seen = "; ".join(
        f"{rust.describe()} has {'no wasm std' if not rust.wasm_targets else 'only ' + ', '.join(rust.wasm_targets)}"
        + ("" if rust.cargo else " and no cargo") for rust in found)
    return f"no installed Rust can build for {wanted} ({seen}); get one: {RUST_HINT}"


def web_tool(name: str) -> str | None:
    """wasm-bindgen, wasm-pack or trunk, on PATH or in ``~/.cargo/bin``."""
    return tools.find_tool(name, [Path.home() / ".cargo" / "bin"])
