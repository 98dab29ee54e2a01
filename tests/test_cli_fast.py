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
    assert fast.plan(["compile", ".", "--optimization", "fast"]) is None  # typer says what is wrong
    assert fast.plan(["compile", "-o=out", "."]) is None  # click reads "=out" as the value: typer's
    assert fast.plan(["compile", "a", "b"]) is None
    assert fast.plan(["compile", "--output"]) is None


def test_fast_compile_knows_every_compile_option() -> None:
    known = {o for o in set(fast.COMPILE_VALUE_OPTIONS) | set(fast.COMPILE_FLAGS) if o.startswith("--")}
    assert known == _typer_options("compile")


def test_fast_run_knows_every_run_option_but_those_it_leaves_to_typer() -> None:
    known = {o for o in set(fast.RUN_VALUE_OPTIONS) | set(fast.RUN_FLAGS) if o.startswith("--")}
    assert known | {"--watch", "--open"} == _typer_options("run")  # both refused with --headless, by typer


def test_the_fast_compile_parses_as_click_does() -> None:
    def parsed(*argv: str) -> dict[str, object] | None:
        return fast._parse_compile(list(argv))

    assert parsed("p", "-v", "--no-cache") == {**parsed("p"), "verbose": True, "no_cache": True}  # type: ignore[dict-item]
    assert parsed("p", "--", "-DX", "-O1")["extra_args"] == ["-DX", "-O1"]  # type: ignore[index]
    assert parsed("--json", "--", "p", "-DX") == {**parsed("p", "--json"), "extra_args": ["-DX"]}  # type: ignore[dict-item]
    assert parsed("--", "-DX")["path"] == "-DX"  # type: ignore[index]  # as click fills PATH; compile_main moves it back
    assert parsed("-o", "out", "p")["output"] == "out"  # type: ignore[index]


def test_run_takes_the_fast_route_only_headless_and_well_formed() -> None:
    assert fast.plan(["run", "."]) is None  # the dev server: typer's
    assert fast.plan(["run", ".", "--", "--headless"]) is None  # the program's argument, not wasmrun's
    assert fast.plan(["run", "--headless", ".", "--watch"]) is None  # refused by typer, with its line
    assert fast.plan(["run", "--headless", ".", "--open"]) is None
    assert fast.plan(["run", "--headless", ".", "--help"]) is None
    assert fast.plan(["run", "--headless", "a", "b"]) is None
    assert fast.plan(["run", "--headless", "--", "x"]) is None  # click would take x for PATH
    for option, value in (("--port", "70000"), ("--port", "x"), ("--timeout", "0"), ("--timeout", "nan"),
                          ("--timeout", "1e10"), ("--env", "NOEQUALS"), ("--env", "=v"), ("--target", "nope"),
                          ("--optimization", "fast"), ("--browser", "--headless")):
        assert fast.plan(["run", "--headless", ".", option, value]) is None, (option, value)
    values = fast._parse_run(["--headless", "p", "-p", "0", "--env=A=1", "--env", "B=2=3", "--timeout", "2.5",
                              "--browser=chromium", "-l", "wat", "-o", "out", "--no-opt", "--", "x", "--y"])
    assert values is not None
    assert (values["path"], values["port"], values["env"], values["timeout"], values["browser"]) == \
        ("p", 0, {"A": "1", "B": "2=3"}, 2.5, "chromium")
    assert (values["language"], values["output"], values["no_opt"], values["args"]) == \
        ("wat", "out", True, ["x", "--y"])
    for name in ("run", "serve", "dev"):
        assert fast.plan([name, "--headless", "."]) is not None


WAT_HELLO = r"""(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\n")
  (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def _timeless(text: str) -> str:
    import re

    return re.sub(r"\.staging-\d+-[0-9a-f]+", ".staging", re.sub(r"in \d+\.\d\d s", "in T s", text))


@pytest.mark.parametrize(("argv", "expected_code"), [
    (["compile", "{project}", "--no-cache"], 0),
    (["compile", "{project}", "--no-cache", "--json"], 0),
    (["compile", "{project}", "-v", "--no-cache"], 0),
    (["compile", "{project}", "--no-cache", "--optimization", "debug", "--no-opt"], 0),
    (["compile", "--no-cache", "--", "{project}", "--debug-info"], 0),  # after --: the assembler's argument
    (["compile", "{project}.missing", "--no-cache"], 2),
    (["compile", "{project}", "--language", "nope", "--no-cache"], 2),
])
def test_a_compile_that_builds_agrees_on_both_routes(argv: list[str], expected_code: int, tmp_path: Path) -> None:
    """A build (not only a cache hit) runs without typer; what it prints and its exit code are
    the same as typer's ``compile``, but for the time the build took."""
    import json

    project = tmp_path / "hello"
    project.mkdir()
    (project / "main.wat").write_text(WAT_HELLO)
    args = [a.replace("{project}", str(project)) for a in argv]
    assert fast.plan(args) is not None
    code = ("import sys; from wasmrun.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print(sorted(m for m in ('typer', 'click') if m in sys.modules), code, file=sys.stderr)")
    fast_run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    *errors, last = fast_run.stderr.splitlines()
    modules, exit_code = last.split("] ")
    assert modules == "[", fast_run.stderr  # neither typer nor click was imported
    from typer.testing import CliRunner

    from wasmrun.cli.app import app

    slow = CliRunner().invoke(app, args)
    assert int(exit_code) == expected_code, fast_run.stderr
    if "--json" in args:
        fast_json, slow_json = json.loads(fast_run.stdout), json.loads(slow.stdout)
        assert fast_json["cached"] is False
        varying = {"duration_s": 0, "commands": len(fast_json["commands"])}  # their staging directories differ
        assert {**fast_json, **varying} == {**slow_json, **varying}
    else:
        assert _timeless(fast_run.stdout) == _timeless(slow.stdout)
    assert (int(exit_code), _timeless("\n".join(errors))) == (slow.exit_code, _timeless(slow.stderr.rstrip("\n")))
    if slow.exit_code == 0:
        ran = subprocess.run([sys.executable, "-m", "wasmrun", "exec", str(project / "wasmrun-out" / "main.wasm")],
                             capture_output=True, text=True, check=False)
        assert (ran.returncode, ran.stdout) == (0, "hi\n")


def test_exec_file_imports_neither_typer_nor_pydantic(adder: Path) -> None:
    code = ("import sys; from wasmrun.cli import main\n"
            "try:\n    main(['exec', '--invoke', 'add', sys.argv[1], '1', '2'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('typer', 'pydantic', 'pluggy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(adder)], capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines() == ["3", "[]"]
