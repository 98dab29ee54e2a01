"""SIGTERM ends ``wasmrun compile`` as Ctrl-C does: a one-line message and its exit code, the
build's staging directory gone, and the compiler killed with every process it started.

The "compiler" is a Makefile whose ``wasm`` target starts a slow process (the C plugin runs
``make wasm``), so the test sees a grandchild of wasmrun, as with cargo's rustc or emcc's clang.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmrun.testing import require_tool

MAKEFILE = "wasm:\n\techo $$$$ > {pidfile}; exec sleep 120\n"


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for init to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_compile_discards_the_staging_and_kills_the_compiler(
        make_project: Callable[..., Path], tmp_path: Path, signum: int, code: int) -> None:
    require_tool("make")
    require_tool("clang")
    pidfile = tmp_path / "compiler.pid"
    project = make_project({"Makefile": MAKEFILE.format(pidfile=pidfile)})
    out = project / "wasmrun-out"
    wasmrun = subprocess.Popen([sys.executable, "-m", "wasmrun", "compile", str(project), "--no-cache"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    compiler = 0
    try:
        started = _wait_for(lambda: pidfile.is_file() and pidfile.read_text().strip().isdigit(), 60)
        assert started, f"the build never started: {wasmrun.poll()} {wasmrun.stderr.read() if wasmrun.poll() else ''}"
        compiler = int(pidfile.read_text())
        assert list(out.glob(".staging-*")), "the build is staged in the output directory"
        os.kill(wasmrun.pid, signum)  # wasmrun only, not its process group: as `kill PID` does
        _, stderr = wasmrun.communicate(timeout=30)
        compiler_ended = _wait_for(lambda: _gone(compiler), 5)
    finally:
        if wasmrun.poll() is None:
            wasmrun.kill()
        if compiler and not _gone(compiler):
            os.kill(compiler, signal.SIGKILL)
    assert wasmrun.returncode == code
    assert stderr.strip().splitlines() == ["interrupted"]
    assert not out.exists(), "the staging directory (and the output directory this build made) is gone"
    assert compiler_ended, "the compiler's child is still running"
