"""Long builds show progress on a terminal: after a second, what is running and the time so far
on stderr, cleared at the end; nothing of it when stderr is not a terminal, with --json, or for a
quick build (which then never imports rich).

The terminal is a real pseudo-terminal (os.openpty) given to ``wasmrun`` as its stderr; the slow
build is a real one: a Makefile whose wasm target sleeps two seconds before clang compiles.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmrun.progress import describe
from wasmrun.testing import require_tool, run_wasm

SLOW_PROJECT = {
    "main.c": '#include <stdio.h>\nint main(void) { puts("slow but sure"); return 0; }\n',
    "Makefile": "wasm:\n\tsleep 2\n\t$(CC) $(CFLAGS) main.c -o $(OUT_DIR)/slow.wasm\n",
}
QUICK_PROJECT = {"main.wat": '(module (func (export "answer") (result i32) (i32.const 42)))\n'}


def _needs_make_and_a_c_compiler() -> None:
    import shutil

    require_tool("make", found=shutil.which("make") is not None)
    require_tool("clang", found=shutil.which("clang") is not None)


def _wasmrun(args: list[str], *, tty: bool, code: str | None = None) -> tuple[int, str, bytes]:
    """Run ``wasmrun ARGS`` (or python ``code``) with stderr on a pseudo-terminal (``tty``) or a
    pipe; returns the exit code, stdout, and every byte written to stderr."""
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "wasmrun", *args]
    if not tty:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=120, check=False)
        return proc.returncode, proc.stdout.decode(), proc.stderr
    master, slave = os.openpty()
    try:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env)
    finally:
        os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal (Linux: EIO)
                    break
                if not data:
                    break
                seen += data
            elif child.poll() is not None:
                break
        assert child.stdout is not None
        stdout = child.stdout.read().decode()
        return child.wait(timeout=30), stdout, seen
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)


def test_a_long_build_on_a_terminal_shows_what_runs_and_the_time(make_project: Callable[..., Path]) -> None:
    _needs_make_and_a_c_compiler()
    project = make_project(SLOW_PROJECT, name="slow")
    code, stdout, terminal = _wasmrun(["compile", str(project), "--no-cache"], tty=True)
    assert code == 0, terminal
    shown = terminal.decode(errors="replace")
    assert "building slow: make -C" in shown  # the command running
    assert "(1 s)" in shown or "(2 s)" in shown  # the time so far
    assert "\x1b[?25h" in shown and shown.endswith("\x1b[2K")  # the cursor back, the line erased at the end
    assert stdout.startswith(f"built {project / 'wasmrun-out' / 'slow.wasm'}")
    run = run_wasm(project / "wasmrun-out" / "slow.wasm")
    assert (run.exit_code, run.stdout) == (0, "slow but sure\n")


def test_exec_of_a_project_shows_its_build_too(make_project: Callable[..., Path]) -> None:
    _needs_make_and_a_c_compiler()
    project = make_project(SLOW_PROJECT, name="slow")
    code, stdout, terminal = _wasmrun(["exec", str(project)], tty=True)
    assert code == 0, terminal
    assert "building slow: make -C" in terminal.decode(errors="replace")
    assert stdout == "slow but sure\n"


@pytest.mark.parametrize("json_output", [False, True])
def test_nothing_of_it_without_a_terminal_or_with_json(json_output: bool, make_project: Callable[..., Path]) -> None:
    _needs_make_and_a_c_compiler()
    project = make_project(SLOW_PROJECT, name="slow")
    args = ["compile", str(project), "--no-cache", *(["--json"] if json_output else [])]
    code, stdout, stderr = _wasmrun(args, tty=json_output)  # --json: on a terminal, and still nothing
    assert code == 0, stderr
    assert stderr == b""
    if json_output:
        assert json.loads(stdout)["plugin"] == "c"
    else:
        assert stdout.startswith("built ")


def test_a_quick_build_shows_nothing_and_never_imports_rich(make_project: Callable[..., Path]) -> None:
    project = make_project(QUICK_PROJECT, name="quick")
    code = ("import sys\nfrom wasmrun.cli import main\n"
            "try:\n    main(['compile', sys.argv[1], '--no-cache'])\nexcept SystemExit:\n    pass\n"
            "print('rich imported' if 'rich' in sys.modules else 'rich not imported')")
    status, stdout, terminal = _wasmrun([str(project)], tty=True, code=code)
    assert status == 0, terminal
    assert terminal == b""
    assert stdout.splitlines()[-1] == "rich not imported"


@pytest.mark.parametrize(("running", "width", "expected"), [
    (None, 80, "building x (3 s)"),
    (["/usr/bin/cargo", "build", "--release"], 80, "building x: cargo build --release (3 s)"),
    (["/usr/bin/cargo", "build", "--release"], 30, "building x: cargo bui... (3 s)"),
    (["/usr/bin/cargo", "build"], 5, "building x:... (3 s)"),  # the label stays whole
])
def test_the_line_fits_the_terminal(running: list[str] | None, width: int, expected: str) -> None:
    line = describe("building x", 3.2, running, width)
    assert line == expected
    assert len(line) <= max(width, len("building x:... (3 s)"))


def test_ctrl_c_while_the_line_shows_ends_cleanly(make_project: Callable[..., Path]) -> None:
    """SIGINT in the middle of a long build: exit code 130, the line erased and the cursor shown
    again, one `interrupted` line, and nothing left in the output directory."""
    import signal

    _needs_make_and_a_c_compiler()
    project = make_project(SLOW_PROJECT, name="slow")
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "PYTHONPATH": os.pathsep.join(sys.path)}
    master, slave = os.openpty()
    try:
        child = subprocess.Popen([sys.executable, "-m", "wasmrun", "compile", str(project), "--no-cache"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env)
    finally:
        os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while b"building slow" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 65536)
        assert b"building slow" in seen
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) == 130
        while select.select([master], [], [], 0.5)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            seen += data
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
    shown = seen.decode(errors="replace")
    tail = shown[shown.rindex("building slow"):]
    assert "\x1b[?25h" in tail  # the cursor is back
    assert tail.count("interrupted") == 1 and tail.rstrip().endswith("interrupted")
    assert not list((project / "wasmrun-out").glob("*.wasm"))
