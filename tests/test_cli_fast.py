"""The typer-free route for ``exec`` and ``verify`` accepts exactly what the typer commands do,
and both routes give the same results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from wasmrun.cli import fast


def _typer_options(command_name: str) -> set[str]:
    import typer.main

    from wasmrun.cli.app import app

    group = typer.main.get_command(app)
    command = group.commands[command_name]  # type: ignore[attr-defined]
    return {opt for param in command.params for opt in param.opts if opt.startswith("--") and opt != "--help"}


def test_fast_exec_knows_every_exec_option() -> None:
    assert set(fast.EXEC_VALUE_OPTIONS) | set(fast.EXEC_FLAGS) == _typer_options("exec")


def test_fast_verify_knows_every_verify_option() -> None:
    assert set(fast.VERIFY_FLAGS) == _typer_options("verify")


def test_fast_inspect_knows_every_inspect_option() -> None:
    assert set(fast.INSPECT_FLAGS) == _typer_options("inspect")


@pytest.fixture
def adder(tmp_path: Path) -> Path:
    path = tmp_path / "add.wasm"
    path.write_bytes(wasmtime.wat2wasm('(module (func (export "add") (param i64 i64) (result i64)'
                                       ' local.get 0 local.get 1 i64.add))'))
    return path


@pytest.mark.parametrize("argv", [
    ["exec", "--invoke", "add", "{wasm}", "-7", "3"],
    ["exec", "--call=add", "--fuel", "1000", "{wasm}", "40", "2"],
    ["exec", "--no-cache", "--invoke", "nope", "{wasm}"],
    ["exec", "{wasm}"],
    ["verify", "{wasm}"],
    ["verify", "--json", "--detailed", "{wasm}"],
    ["verify", "{wasm}.missing"],
    ["inspect", "{wasm}"],
    ["inspect", "--json", "{wasm}"],
    ["inspect", "{wasm}.missing"],
    # limits out of range: one line and exit 2 on both routes
    ["exec", "--timeout", "nan", "{wasm}"],
    ["exec", "--timeout=1e10", "{wasm}"],
    ["exec", "--timeout=-3", "{wasm}"],
    ["exec", "--fuel=-1", "{wasm}"],
    ["exec", "--fuel", "18446744073709551616", "{wasm}"],
    ["exec", "--max-memory", "99999999999999999999", "{wasm}"],
    ["exec", "--invoke", "add", "--timeout", "5", "--fuel", "18446744073709551615", "{wasm}", "1", "2"],
])
def test_fast_and_typer_routes_agree(argv: list[str], adder: Path) -> None:
    args = [a.replace("{wasm}", str(adder)) for a in argv]
    assert fast.plan(args) is not None  # `python -m wasmrun` takes the fast route for these
    fast_run = subprocess.run([sys.executable, "-m", "wasmrun", *args], capture_output=True, text=True, check=False)
    # The same command through typer (the app itself, not main(), so no fast route).
    from typer.testing import CliRunner

    from wasmrun.cli.app import app

    slow = CliRunner().invoke(app, args)
    assert (fast_run.returncode, fast_run.stdout, fast_run.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_exec_of_a_project_shows_the_compilers_own_output(tmp_path: Path) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    (project / "main.wat").write_text("(module (func (result i32) i32.const))")
    proc = subprocess.run([sys.executable, "-m", "wasmrun", "exec", str(project)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[-1] == "error: wat2wasm failed on main.wat"
    assert len(lines) > 1 and "Traceback" not in proc.stderr  # the assembler's message comes first


def test_help_and_projects_go_to_typer(tmp_path: Path) -> None:
    assert fast.plan(["exec", "--help"]) is None
    assert fast.plan(["exec", "--bogus", "x.wasm"]) is None
    assert fast.plan(["exec", "--fuel", "many", "x.wasm"]) is None
    assert fast.plan(["verify", "a.wasm", "b.wasm"]) is None
    assert fast.plan(["compile", "--help"]) is None
    assert fast.plan(["compile", ".", "-v"]) is None
    assert fast.plan(["compile", ".", "--no-cache"]) is None
    assert fast.plan(["compile", ".", "--", "-DX"]) is None
    assert fast.plan(["compile", ".", "--optimization", "fast"]) is None  # typer says what is wrong
    assert fast.plan(["compile", "a", "b"]) is None
    assert fast.plan(["compile", "--output"]) is None


def test_fast_compile_knows_every_compile_option_but_those_it_leaves_to_typer() -> None:
    known = {o for o in fast.COMPILE_VALUE_OPTIONS if o.startswith("--")} | set(fast.COMPILE_FLAGS)
    assert known | {"--verbose", "--no-cache"} == _typer_options("compile")


def test_a_compile_direct_mode_cannot_answer_goes_to_typer(tmp_path: Path) -> None:
    run = fast.plan(["compile", str(tmp_path), "--optimization", "size"])
    assert run is not None and run() is None  # no record: the full compile decides


def test_exec_file_imports_neither_typer_nor_pydantic(adder: Path) -> None:
    code = ("import sys; from wasmrun.cli import main\n"
            "try:\n    main(['exec', '--invoke', 'add', sys.argv[1], '1', '2'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('typer', 'pydantic', 'pluggy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(adder)], capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines() == ["3", "[]"]
