"""Every route of the CLI ends an error the same way: one line and an exit code, never a
traceback; a reader that goes away (``| head -1``) ends wasmrun quietly."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MAIN = ("import sys\nfrom wasmrun.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    sys.exit(exc.code)\n")


def closed_stdout(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``wasmrun ARGV`` with its stdout a pipe whose reader has already gone."""
    proc = subprocess.Popen([sys.executable, "-c", MAIN, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.wait(timeout=120)
    return subprocess.CompletedProcess(argv, proc.returncode, "", stderr)


@pytest.mark.parametrize("argv", [["plugin", "list", "--json"], ["--version"], ["doctor", "--no-probe"]])
def test_a_closed_stdout_ends_quietly(argv: list[str]) -> None:
    result = closed_stdout(*argv)
    assert result.returncode == 1
    assert result.stderr == ""


def test_a_closed_stdout_on_the_typer_free_route(example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    subprocess.run([sys.executable, "-c", MAIN, "compile", str(project)], check=True, capture_output=True)
    result = closed_stdout("compile", str(project))  # a cache hit: answered without typer
    assert (result.returncode, result.stderr) == (1, "")
    wasm = project / "wasmrun-out" / "main.wasm"
    result = closed_stdout("verify", "--json", str(wasm))
    assert (result.returncode, result.stderr) == (1, "")


@pytest.mark.parametrize("route", ["typer-free", "typer"])
def test_an_unexpected_error_is_one_line_on_every_route(route: str, example: Callable[[str], Path]) -> None:
    """A bug wasmrun did not foresee (here: reading a module raises a RuntimeError) is one line."""
    wasm = example("wat-hello") / "main.wat"
    argv = ["verify", str(wasm)] if route == "typer-free" else ["inspect", str(wasm)]
    code = ("import wasmrun.wasm.reader as r\n"
            "def boom(*a, **k):\n    raise RuntimeError('something broke\\nsecond line')\n"
            "r.WasmModule.from_file = boom\nr.WasmModule.__init__ = boom\n" + MAIN)
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == ("error: internal error: RuntimeError: something broke "
                                   "(set WASMRUN_DEBUG=1 for details)")
