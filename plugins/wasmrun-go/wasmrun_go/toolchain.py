"""Finding Go and TinyGo.

Debian's ``golang-go`` puts an old ``go`` (1.19 in Debian 12, no ``GOOS=wasip1``) on PATH, while
newer ones live in ``/usr/lib/go-1.NN/bin``. Every ``go`` on PATH and in the usual places is a
candidate; its version is read from ``$GOROOT/VERSION`` (no subprocess) or ``go version``. The
first on PATH that is new enough wins, else the newest other one that is.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wasmrun import toolchain as tools

#: GOOS=wasip1 arrived in Go 1.21; //go:wasmexport in Go 1.24; GOOS=js in Go 1.11.
WASI_MIN: tuple[int, ...] = (1, 21)
WASMEXPORT_MIN: tuple[int, ...] = (1, 24)
JS_MIN: tuple[int, ...] = (1, 11)

GO_HINT = ("apt-get install -t bookworm-backports golang-1.23-go (Debian 12; add the bookworm-backports suite), "
           "or download Go from https://go.dev/dl/")
TINYGO_HINT = "https://tinygo.org/getting-started/install/ (optional: Go 1.21+ builds WASI too)"

Version = tuple[int, ...]


def parse_version(text: str | None) -> Version | None:
    """``go1.23.5``, ``1.23rc1`` or ``go version go1.21.0 linux/amd64`` to (1, 23, 5)."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not match:
        return None
    return tuple(int(part) for part in match.groups(default="0"))


def show(version: Version) -> str:
    return ".".join(map(str, version[:3] if version[2:3] != (0,) else version[:2]))


@dataclass(frozen=True)
class GoToolchain:
    """One installed ``go`` and its GOROOT."""

    go: str
    version: Version
    goroot: Path

    def describe(self) -> str:
        return f"Go {show(self.version)} at {self.go}"

    def wasm_exec_js(self) -> Path | None:
        """Go's own JS glue: ``lib/wasm`` from Go 1.24, ``misc/wasm`` before."""
        for rel in ("lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"):
            if (self.goroot / rel).is_file():
                return self.goroot / rel
        return None


def _candidates() -> Iterator[tuple[str, bool]]:
    """(path, on PATH) for every ``go`` worth asking, PATH first."""
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory:
            yield os.path.join(directory, "go"), True
    if os.environ.get("GOROOT"):
        yield os.path.join(os.environ["GOROOT"], "bin", "go"), False
    yield from ((str(p), False) for p in Path("/usr/lib").glob("go-*/bin/go"))
    yield from (("/usr/lib/go/bin/go", False), ("/usr/local/go/bin/go", False))
    yield from ((str(p), False) for p in (Path.home() / "sdk").glob("go*/bin/go"))


def _goroot_version(go: str) -> tuple[Path, Version] | None:
    root = Path(go).resolve().parent.parent
    try:
        first = (root / "VERSION").read_text(encoding="utf-8", errors="replace").splitlines()[0]
    except (OSError, IndexError):
        first = ""
    version = parse_version(first) if first.startswith("go") else None
    if version is not None:
        return root, version
    try:  # a wrapper script or an unusual layout: ask the go command itself
        proc = subprocess.run([go, "env", "GOVERSION", "GOROOT"], capture_output=True, text=True, timeout=60,
                              check=False, env={**os.environ, "GOTOOLCHAIN": "local"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.split("\n")
    version = parse_version(lines[0]) if proc.returncode == 0 else None
    if version is None or len(lines) < 2:
        return None
    return Path(lines[1].strip()), version


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[tuple[GoToolchain, bool], ...]:
    found: dict[Path, tuple[GoToolchain, bool]] = {}
    for path, on_path in _candidates():
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            continue
        info = _goroot_version(path)
        if info is None or info[0].resolve() in found:
            continue
        root, version = info
        found[root.resolve()] = (GoToolchain(go=path, version=version, goroot=root), on_path)
    return tuple(found.values())


def installed() -> list[GoToolchain]:
    """Every Go found: those on PATH in PATH order, then the others newest first."""
    on_path = [go for go, first in _installed() if first]
    others = sorted((go for go, first in _installed() if not first), key=lambda g: g.version, reverse=True)
    return on_path + others


def forget() -> None:
    """Drop the cached discovery (for tests that change PATH)."""
    _installed.cache_clear()


def find(minimum: Version) -> GoToolchain | None:
    """The first Go (PATH first, then newest) at least ``minimum``."""
    return next((go for go in installed() if go.version >= minimum), None)


def too_old_explanation(minimum: Version, purpose: str) -> str:
    """Which Go was found, which version ``purpose`` needs, and how to get it."""
    found = installed()
    if not found:
        return f"no Go found; {purpose} needs Go {show(minimum)} or newer: {GO_HINT}"
    newest = max(found, key=lambda g: g.version)
    return (f"{newest.describe()} is too old: {purpose} needs Go {show(minimum)} or newer; "
            f"get it with: {GO_HINT}")


# -- TinyGo ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TinyGo:
    path: str
    version: Version

    @property
    def wasi_target(self) -> str:
        """``wasip1`` from TinyGo 0.30, ``wasi`` before."""
        return "wasip1" if self.version >= (0, 30) else "wasi"

    def wasm_exec_js(self) -> Path | None:
        try:
            proc = subprocess.run([self.path, "env", "TINYGOROOT"], capture_output=True, text=True, timeout=60,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        js = Path(proc.stdout.strip()) / "targets" / "wasm_exec.js"
        return js if proc.returncode == 0 and js.is_file() else None


def find_tinygo() -> TinyGo | None:
    path = tools.find_tool("tinygo", ["/usr/local/tinygo/bin"])
    if path is None:
        return None
    return TinyGo(path=path, version=parse_version(tools.tool_version(path, "version")) or (0, 0, 0))
