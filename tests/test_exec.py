"""``wasmrun exec``: WASI commands, --invoke, exit codes, limits, refusals and the compiled-module cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.wasm_samples import (
    ARGC_WAT,
    BINDGEN_WAT,
    CAT_WAT,
    COMPONENT_WAT,
    DOUBLING_WAT,
    EMSCRIPTEN_WAT,
    ENVC_WAT,
    EXIT_WAT,
    GO_WAT,
    GROW_WAT,
    HELLO_WAT,
    LIB_COMPONENT_WAT,
    LIBRARY_WAT,
    PREOPENS_WAT,
    REACTOR_WAT,
    SPIN_AFTER_LINE_WAT,
    SPIN_WAT,
    TABLES_WAT,
    TRAP_WAT,
    wat,
)
from wasmrun.errors import EXIT_MEMORY_LIMIT, EXIT_OUT_OF_FUEL, EXIT_TIMEOUT, EXIT_TRAP
from wasmrun.wasm import compile_cache
from wasmrun.wasm.runner import RunRequest, format_value, parse_size, parse_value, run_module

Cli = Callable[..., CliResult]


def write(tmp_path: Path, source: str, filename: str = "m.wasm") -> Path:
    path = tmp_path / filename
    path.write_bytes(wat(source))
    return path


def wasmrun(*args: object, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m wasmrun ARGS`` as a user runs it (the module writes to the real stdout)."""
    return subprocess.run([sys.executable, "-m", "wasmrun", *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


# -- WASI commands ---------------------------------------------------------------------------------

def test_hello(tmp_path: Path) -> None:
    run = wasmrun("exec", write(tmp_path, HELLO_WAT))
    assert (run.returncode, run.stdout, run.stderr) == (0, "hello from WebAssembly text\n", "")


def test_a_project_directory_is_built_first(example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    run = wasmrun("exec", project)
    assert run.returncode == 0, run.stderr
    assert run.stdout.endswith("hello from WebAssembly text\n")
    assert (project / "wasmrun-out" / "main.wasm").is_file()


def test_proc_exit_code_passes_through(tmp_path: Path) -> None:
    for code in (0, 3, 125):
        assert wasmrun("exec", write(tmp_path, EXIT_WAT.format(code=code))).returncode == code


def test_args_after_file_go_to_the_module(tmp_path: Path) -> None:
    path = write(tmp_path, ARGC_WAT)
    assert wasmrun("exec", path).returncode == 1  # argv[0] only
    # everything after FILE is the module's, including what looks like wasmrun's options
    assert wasmrun("exec", path, "one", "--fuel", "-x", "--", "five").returncode == 6


def test_environment_only_what_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, ENVC_WAT)
    assert wasmrun("exec", path, env={"SECRET": "host"}).returncode == 0
    assert wasmrun("exec", "--env", "A=1", "--env", "B=x=y", path).returncode == 2


def test_preopens_only_what_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, PREOPENS_WAT)
    (tmp_path / "data").mkdir()
    assert wasmrun("exec", path).returncode == 0
    assert wasmrun("exec", "--dir", tmp_path / "data", "--dir", f"{tmp_path}::/work", path).returncode == 2
    bad = wasmrun("exec", "--dir", tmp_path / "nope", path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --dir ")


def test_stdin_passes_through(tmp_path: Path) -> None:
    run = wasmrun("exec", write(tmp_path, CAT_WAT), stdin="ping\npong\n")
    assert (run.returncode, run.stdout) == (0, "ping\npong\n")


# -- --invoke --------------------------------------------------------------------------------------

def test_invoke_with_typed_arguments(cli: Cli, tmp_path: Path) -> None:
    lib = write(tmp_path, LIBRARY_WAT)
    assert cli("exec", "--invoke", "add", lib, "2", "3").stdout == "5\n"
    assert cli("exec", "--invoke", "add", lib, "-7", "3").stdout == "-4\n"
    assert cli("exec", "--call", "add", lib, "0x10", "1").stdout == "17\n"
    assert cli("exec", "--invoke", "add", lib, "4294967295", "0").stdout == "-1\n"  # unsigned input wraps
    assert cli("exec", "--invoke", "add64", lib, "-9000000000", "1").stdout == "-8999999999\n"
    assert cli("exec", "--invoke", "mulf", lib, "0.1", "-3").stdout == "-0.3\n"
    assert cli("exec", "--invoke", "divd", lib, "1", "3").stdout == "0.3333333333333333\n"
    assert cli("exec", "--invoke", "divd", lib, "-1", "0").stdout == "-inf\n"
    assert cli("exec", "--invoke", "neg", lib, "-2147483648").stdout == "-2147483648\n"


def test_invoke_multi_value_results(cli: Cli, tmp_path: Path) -> None:
    result = cli("exec", "--invoke", "pair", write(tmp_path, TABLES_WAT), "-5")
    assert (result.exit_code, result.stdout) == (0, "-5\n-1\n")


def test_invoke_a_reactor_runs_initialize_first(cli: Cli, tmp_path: Path) -> None:
    assert cli("exec", "--invoke", "answer", write(tmp_path, REACTOR_WAT)).stdout == "42\n"


@pytest.mark.parametrize(("args", "message"), [
    (["add", "1"], "error: add (i32, i32) -> (i32) takes 2 argument(s), got 1"),
    (["add", "x", "1"], "error: argument 1 of add 'x' is not an i32 (an integer)"),
    (["add", "1", "4294967296"], "error: argument 2 of add '4294967296' is out of range for i32"),
    (["mulf", "1", "one"], "error: argument 2 of mulf 'one' is not an f32 (a number)"),
    (["nope"], "error: no exported function 'nope' (exported functions: add, add64, mulf, divd, neg, boom, spin)"),
])
def test_invoke_usage_errors(cli: Cli, tmp_path: Path, args: list[str], message: str) -> None:
    lib = write(tmp_path, LIBRARY_WAT)
    result = cli("exec", "--invoke", args[0], lib, *args[1:])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message]


def test_no_start_points_at_invoke(cli: Cli, tmp_path: Path) -> None:
    result = cli("exec", write(tmp_path, LIBRARY_WAT))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: module has no _start; call an export with --invoke NAME")


def test_values() -> None:
    assert parse_value("-1", "i64") == -1 and parse_value("18446744073709551615", "i64") == -1
    assert parse_value("0x1p-2", "f64") == 0.25 and parse_value("nan", "f32") != parse_value("nan", "f32")
    assert format_value(0.10000000149011612, "f32") == "0.1" and format_value(3.0, "f64") == "3.0"
    assert format_value(float("nan"), "f64") == "nan"
    assert parse_size("64KiB") == 65536 and parse_size("2M") == 2_000_000 and parse_size("123") == 123


# -- traps and limits ------------------------------------------------------------------------------

def test_trap_prints_trap_and_backtrace(tmp_path: Path) -> None:
    path = write(tmp_path, TRAP_WAT, "trap.wasm")
    run = wasmrun("exec", path)
    assert run.returncode == EXIT_TRAP == 134
    lines = run.stderr.splitlines()
    assert lines[0] == "error: trap.wasm trapped: wasm `unreachable` instruction executed"
    assert lines[1] == "wasm backtrace:"
    assert [line.split(" - ")[1] for line in lines[2:]] == ["inner", "outer", "<wasm function 2>"]
    assert "Traceback" not in run.stderr


def test_invoke_trap(cli: Cli, tmp_path: Path) -> None:
    result = cli("exec", "--invoke", "boom", write(tmp_path, LIBRARY_WAT, "lib.wasm"), "1")
    assert result.exit_code == EXIT_TRAP
    assert result.stderr.splitlines()[0] == "error: lib.wasm trapped: wasm `unreachable` instruction executed"
    assert "- deeper" in result.stderr


def test_fuel_stops_a_runaway_module(cli: Cli, tmp_path: Path) -> None:
    result = cli("exec", "--fuel", "100000", write(tmp_path, SPIN_WAT, "spin.wasm"))
    assert result.exit_code == EXIT_OUT_OF_FUEL == 152
    assert result.stderr.splitlines()[0] == "error: spin.wasm ran out of fuel: all 100,000 units of --fuel consumed"
    ok = cli("exec", "--fuel", "100000", "--invoke", "add", write(tmp_path, LIBRARY_WAT), "1", "2")
    assert (ok.exit_code, ok.stdout) == (0, "3\n")


def test_timeout_stops_a_runaway_module(cli: Cli, tmp_path: Path) -> None:
    started = time.monotonic()
    result = cli("exec", "--timeout", "0.3", write(tmp_path, SPIN_WAT, "spin.wasm"))
    assert time.monotonic() - started < 10
    assert result.exit_code == EXIT_TIMEOUT == 142
    assert result.stderr.splitlines()[0] == "error: spin.wasm timed out: still running after --timeout 0.3 s"


def test_max_memory(cli: Cli, tmp_path: Path) -> None:
    result = cli("exec", "--max-memory", "192KiB", write(tmp_path, GROW_WAT, "grow.wasm"))
    assert result.exit_code == EXIT_MEMORY_LIMIT == 137
    assert result.stderr.splitlines()[0] == (
        "error: grow.wasm hit the memory limit: its memory is 196,608 bytes and --max-memory is 196,608, "
        "so growing it failed (then: wasm `unreachable` instruction executed)")
    # a module whose initial memory is already too large
    big = write(tmp_path, '(module (memory 4) (func (export "_start")))', "big.wasm")
    result = cli("exec", "--max-memory", "65536", big)
    assert result.exit_code == EXIT_MEMORY_LIMIT
    assert result.stderr.startswith("error: big.wasm needs more memory than --max-memory 65,536 bytes allows")
    assert cli("exec", "--max-memory", "lots", big).exit_code == 2


# -- refusals and components -----------------------------------------------------------------------

@pytest.mark.parametrize(("source", "glue"), [(EMSCRIPTEN_WAT, "emscripten"), (BINDGEN_WAT, "wasm-bindgen"),
                                              (GO_WAT, "go")])
def test_js_glue_is_refused_with_a_pointer_to_run(cli: Cli, tmp_path: Path, source: str, glue: str) -> None:
    result = cli("exec", write(tmp_path, source, "web.wasm"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: web.wasm needs its JS glue ({glue}) and cannot run natively",
        "hint: serve its project in a browser with `wasmrun run PROJECT`"]


def test_wasi_command_component_runs(cli: Cli, tmp_path: Path) -> None:
    assert cli("exec", write(tmp_path, COMPONENT_WAT.format(tag=0), "ok.wasm")).exit_code == 0
    assert cli("exec", write(tmp_path, COMPONENT_WAT.format(tag=1), "err.wasm")).exit_code == 1


def test_other_components_are_refused(cli: Cli, tmp_path: Path) -> None:
    result = cli("exec", write(tmp_path, LIB_COMPONENT_WAT, "lib.wasm"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: lib.wasm: component exporting answer: not a WASI 0.2 command")


def test_invalid_modules(cli: Cli, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.wasm"
    garbage.write_bytes(b"not wasm at all")
    result = cli("exec", garbage)
    assert result.exit_code == 1 and "bad magic number" in result.stderr
    invalid = write(tmp_path, '(module (func (export "_start") (drop (i64.add (i32.const 1) (i32.const 2)))))')
    result = cli("exec", invalid)
    assert result.stderr == (f"error: {invalid} is not a valid module: type mismatch: expected i64, found i32 "
                             "(at byte offset 39)\n")
    assert result.exit_code == 1
    assert cli("exec", tmp_path / "missing.wasm").exit_code == 2


# -- the compiled-module cache ---------------------------------------------------------------------

def test_second_run_comes_from_the_cache(tmp_path: Path, isolated_home: Path) -> None:
    path = write(tmp_path, LIBRARY_WAT)
    cache = compile_cache.default_cache_dir()
    assert cache == isolated_home / "cache" / "compiled"
    request = RunRequest(path, ["2", "3"], invoke="add", cache_dir=cache)
    first = run_module(request)
    second = run_module(request)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert first.results == second.results == [5]
    assert len(list(cache.glob("*.cwasm"))) == 1
    # other engine settings (fuel metering changes the code) never reuse the entry
    fueled = run_module(RunRequest(path, ["2", "3"], invoke="add", cache_dir=cache, fuel=1000))
    assert not fueled.from_cache and len(list(cache.glob("*.cwasm"))) == 2


def test_cache_key_changes_with_wasmtime_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    binary = wat(LIBRARY_WAT)
    key = compile_cache.cache_key(binary, {"consume_fuel": False})
    assert key != compile_cache.cache_key(binary, {"consume_fuel": True})
    assert key != compile_cache.cache_key(binary + b"\x00", {"consume_fuel": False})
    monkeypatch.setattr(compile_cache, "wasmtime_version", lambda: "0.0.1")
    assert key != compile_cache.cache_key(binary, {"consume_fuel": False})


def test_a_damaged_cache_entry_is_compiled_again(tmp_path: Path) -> None:
    path = write(tmp_path, LIBRARY_WAT)
    cache = tmp_path / "cache"
    request = RunRequest(path, ["1", "1"], invoke="add", cache_dir=cache)
    run_module(request)
    [entry] = cache.glob("*.cwasm")
    entry.write_bytes(b"not a compiled module")
    again = run_module(request)
    assert (again.from_cache, again.results) == (False, [2])
    assert run_module(request).from_cache


def test_a_changed_artifact_is_never_run(tmp_path: Path, isolated_home: Path) -> None:
    """wasmtime runs a .cwasm as trusted native code: bytes changed on disk once ran as they were."""
    one = write(tmp_path, '(module (func (export "f") (result i32) (i32.const 1)))', "one.wasm")
    two = write(tmp_path, '(module (func (export "f") (result i32) (i32.const 2)))', "two.wasm")
    assert wasmrun("exec", "--invoke", "f", one).stdout == "1\n"
    assert wasmrun("exec", "--invoke", "f", two).stdout == "2\n"
    cache = isolated_home / "cache" / "compiled"
    artifacts = {path.read_bytes(): path for path in cache.glob("*.cwasm")}
    assert len(artifacts) == 2
    digests = sorted(p.name for p in (cache / "index").iterdir())
    assert digests == sorted(p.stem + ".sha256" for p in artifacts.values())  # kept apart, in the index
    [entry_one] = [p for p in artifacts.values() if p.stem == compile_cache.cache_key(
        one.read_bytes(), {"consume_fuel": False, "epoch_interruption": True, "component": False})]
    [entry_two] = [p for p in artifacts.values() if p != entry_one]
    entry_one.write_bytes(entry_two.read_bytes())  # one's entry now holds two's machine code
    assert wasmrun("exec", "--invoke", "f", one).stdout == "1\n"  # discarded and compiled again, not run
    assert entry_one.read_bytes() != entry_two.read_bytes()
    # a digest that is missing is no better than a wrong one
    entry_one.write_bytes(entry_two.read_bytes())
    compile_cache.digest_path(entry_one).unlink()
    assert wasmrun("exec", "--invoke", "f", one).stdout == "1\n"
    assert compile_cache.digest_path(entry_one).is_file()
    # and an intact entry is still a hit
    request = RunRequest(one, invoke="f", cache_dir=cache)
    assert run_module(request).from_cache and run_module(request).results == [1]


def test_no_cache_reads_and_writes_nothing(cli: Cli, tmp_path: Path, isolated_home: Path) -> None:
    path = write(tmp_path, LIBRARY_WAT)
    assert cli("exec", "--no-cache", "--invoke", "add", path, "1", "2").stdout == "3\n"
    assert not (isolated_home / "cache").exists()
    assert cli("exec", "--invoke", "add", path, "1", "2").stdout == "3\n"
    assert len(list((isolated_home / "cache" / "compiled").glob("*.cwasm"))) == 1


# -- limits checked before anything runs, and Ctrl-C ---------------------------------------------

@pytest.mark.parametrize(("option", "value", "message"), [
    ("--timeout", "1e10", "--timeout must be a number of seconds above 0 and at most 31,536,000 (a year), not 1e+10"),
    ("--timeout", "nan", "--timeout must be a number of seconds above 0 and at most 31,536,000 (a year), not nan"),
    ("--timeout", "inf", "--timeout must be a number of seconds above 0 and at most 31,536,000 (a year), not inf"),
    ("--timeout", "0", "--timeout must be a number of seconds above 0 and at most 31,536,000 (a year), not 0"),
    ("--fuel", str(2**64), f"--fuel must be between 0 and {2**64 - 1} (2**64 - 1), not {2**64}"),
    ("--max-memory", "9" * 30, f"--max-memory must be at most {2**63 - 1:,} bytes (2**63 - 1), not {'9' * 30}"),
    ("--max-memory", "10000000000G", f"--max-memory must be at most {2**63 - 1:,} bytes (2**63 - 1), not 10000000000G"),
])
def test_a_limit_out_of_range_is_one_line_and_exit_2_before_anything_runs(
        tmp_path: Path, make_project: Callable[..., Path], option: str, value: str, message: str) -> None:
    spin = write(tmp_path, SPIN_WAT, "spin.wasm")
    started = time.monotonic()
    run = wasmrun("exec", f"{option}={value}", spin)
    assert (run.returncode, run.stderr) == (2, f"error: {message}\n")
    assert time.monotonic() - started < 10  # once: --timeout 1e10 ran without limit after a timer traceback
    # checked before a project is built: its broken source is never compiled
    project = make_project({"main.wat": "(module (func (result i32) i32.const))"})
    built = wasmrun("exec", option, value, project)
    assert (built.returncode, built.stderr) == (2, f"error: {message}\n")
    assert not (project / "wasmrun-out").exists()


@pytest.mark.parametrize("route", ["fast", "typer"])
@pytest.mark.parametrize("timeout", [None, "60"])
def test_ctrl_c_stops_a_module_in_an_endless_loop_with_130(tmp_path: Path, route: str, timeout: str | None) -> None:
    import signal

    spin = write(tmp_path, SPIN_AFTER_LINE_WAT, "spin.wasm")
    args = ["exec", *(["--timeout", timeout] if timeout else []), str(spin)]
    if route == "fast":
        argv = [sys.executable, "-m", "wasmrun", *args]
    else:  # the typer app itself, not main(): no fast route
        argv = [sys.executable, "-c", f"from wasmrun.cli.app import app; app(args={args!r}, prog_name='wasmrun')"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "spinning\n"  # the module runs, and will loop for ever
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    try:
        _, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert stderr.strip() == "interrupted" and "Traceback" not in stderr
    assert time.monotonic() - signalled < 5


def test_exec_refuses_a_fifo_and_a_device_before_reading(tmp_path: Path) -> None:
    """/dev/zero once read until memory ran out, and a FIFO hung: verify and inspect refuse both."""
    from tests.bounded import PEAK_RSS_LIMIT, run_measured

    fifo = tmp_path / "pipe.wasm"
    os.mkfifo(fifo)
    for path, what in ((fifo, "a FIFO"), (Path("/dev/zero"), "a character device")):
        run = run_measured([sys.executable, "-m", "wasmrun", "exec", str(path)], timeout=20)
        assert (run.returncode, run.stderr) == (1, f"error: {path} is not a file ({what})\n")
        assert run.seconds < 10 and run.peak_rss < PEAK_RSS_LIMIT


def test_a_memory_limit_that_stops_a_doubling_allocator_is_137(tmp_path: Path) -> None:
    """The growth refused (1 MiB more) is far more than the page the old check allowed for: it said 134."""
    result = wasmrun("exec", "--max-memory", "1536KiB", write(tmp_path, DOUBLING_WAT, "double.wasm"))
    assert result.returncode == EXIT_MEMORY_LIMIT == 137
    assert result.stderr.splitlines()[0].startswith(
        "error: double.wasm hit the memory limit: its memory is 1,048,576 bytes and --max-memory is 1,572,864")


def test_a_long_list_in_an_error_line_is_summarised(tmp_path: Path) -> None:
    """20,000 exports once made a 150 KB error line."""
    exports = " ".join(f'(export "e{i}" (func 0))' for i in range(20_000))
    path = write(tmp_path, f"(module (func) {exports})", "many.wasm")
    run = wasmrun("exec", path)
    assert run.returncode == 2
    assert run.stderr == ("error: module has no _start; call an export with --invoke NAME (exported functions: "
                          + ", ".join(f"e{i}" for i in range(10)) + " ... and 19,990 more)\n")
    missing = wasmrun("exec", "--invoke", "nope", path)
    assert missing.stderr.endswith(" ... and 19,990 more)\n") and len(missing.stderr) < 300


def test_ctrl_c_during_a_long_compilation_ends_at_once(tmp_path: Path) -> None:
    """Compilation is a foreign call too: Ctrl-C used to wait for it to finish."""
    import signal

    from tests.wasm_samples import PREAMBLE, section, uleb

    step = b"\x20\x00\x20\x00\x41\x03\x6c\x6a\x21\x00"  # x = x + x * 3, 10 bytes
    body = b"\x00" + step * 600_000 + b"\x20\x00\x0b"
    types = section(1, b"\x02\x60\x01\x7f\x01\x7f\x60\x00\x00")
    functions = section(3, b"\x02\x00\x01")
    exports = section(7, b"\x01\x06_start\x00\x01")
    code = section(10, b"\x02" + uleb(len(body)) + body + b"\x02\x00\x0b")
    path = tmp_path / "slow.wasm"
    path.write_bytes(PREAMBLE + types + functions + exports + code)
    proc = subprocess.Popen([sys.executable, "-m", "wasmrun", "exec", "--no-cache", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)  # reading done, compiling (this function alone takes wasmtime well over 10 s)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    try:
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and stderr.strip() == "interrupted"
    assert time.monotonic() - signalled < 3
