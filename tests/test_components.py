"""Components (WASI 0.2) end to end: ``inspect`` prints the world they were written against,
``verify`` judges them, ``exec`` runs commands with every option modules have, and ``--invoke``
calls any exported function with typed WAVE values.

The components are written by hand in the component text format (tests/components/*.wat) and
assembled by wasmtime's own ``wat2wasm``: a command that prints what it was granted
(probe.wat), a one-line hello (hello.wat), and a library with every kind of type in its
signatures (shapes.wat, whose world is shapes.wit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CliResult
from tests.wasm_samples import LIBRARY_WAT, wat
from wasmrun.errors import EXIT_MEMORY_LIMIT, EXIT_OUT_OF_FUEL, EXIT_TIMEOUT, EXIT_TRAP, EXIT_USAGE

Cli = Callable[..., CliResult]
SOURCES = Path(__file__).parent / "components"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each tests/components/NAME.wat assembled to NAME.wasm."""
    root = tmp_path_factory.mktemp("components")
    out = {}
    for source in SOURCES.glob("*.wat"):
        path = root / f"{source.stem}.wasm"
        path.write_bytes(wat(source.read_text()))
        out[source.stem] = path
    return out


def wasmrun(*args: object) -> subprocess.CompletedProcess[str]:
    """``python -m wasmrun ARGS`` as a user runs it: a component writes to the real stdout."""
    return subprocess.run([sys.executable, "-m", "wasmrun", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


# -- exec: a command ----------------------------------------------------------------------------------

def test_a_command_gets_nothing_of_the_host_unless_granted(built: dict[str, Path], tmp_path: Path) -> None:
    run = wasmrun("exec", built["probe"])
    assert (run.returncode, run.stdout, run.stderr) == (0, "hello from a component\n", "")
    data = tmp_path / "data"
    data.mkdir()
    run = wasmrun("exec", "--env", "GREETING=hi there", "--env", "EMPTY=", "--dir", f"{data}::/data",
                  built["probe"], "one", "two words")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["hello from a component", "arg: one", "arg: two words",
                                       "env: GREETING=hi there", "env: EMPTY=", "dir: /data"]


def test_wasi_cli_exit_sets_the_exit_code(built: dict[str, Path]) -> None:
    run = wasmrun("exec", built["probe"], "fail")
    assert (run.returncode, run.stdout, run.stderr) == (1, "hello from a component\narg: fail\n", "")


def test_limits_apply_to_components(built: dict[str, Path]) -> None:
    fuel = wasmrun("exec", "--fuel", "100000", built["probe"], "spin")
    assert fuel.returncode == EXIT_OUT_OF_FUEL
    assert fuel.stderr.startswith("error: probe.wasm ran out of fuel: all 100,000 units of --fuel consumed")
    timeout = wasmrun("exec", "--timeout", "0.5", built["probe"], "spin")
    assert timeout.returncode == EXIT_TIMEOUT
    assert timeout.stderr.startswith("error: probe.wasm timed out: still running after --timeout 0.5 s")
    trap = wasmrun("exec", built["probe"], "trap")
    assert trap.returncode == EXIT_TRAP
    assert trap.stderr.startswith("error: probe.wasm trapped: wasm `unreachable` instruction executed")
    # memory.grow is refused under --max-memory (the component says so), granted without it
    assert wasmrun("exec", "--max-memory", "1MiB", built["probe"], "grow").stdout.endswith("grow refused\n")
    assert wasmrun("exec", built["probe"], "grow").stdout.endswith("grew\n")
    small = wasmrun("exec", "--max-memory", "64KiB", built["probe"])
    assert small.returncode == EXIT_MEMORY_LIMIT
    assert small.stderr.startswith("error: probe.wasm needs more memory than --max-memory 65,536 bytes allows")


def test_a_library_component_run_as_a_command_is_refused(cli: Cli, built: dict[str, Path]) -> None:
    result = cli("exec", built["shapes"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: shapes.wasm: component exporting ")
    assert lines[1].startswith("hint: exec runs components that export wasi:cli/run")
    assert "--invoke 'NAME(ARGS)'" in lines[1]


def test_a_truncated_component_is_one_line(cli: Cli, built: dict[str, Path], tmp_path: Path) -> None:
    truncated = tmp_path / "cut.wasm"
    truncated.write_bytes(built["shapes"].read_bytes()[:1500])
    for command in ("exec", "inspect", "verify"):
        result = cli(command, truncated)
        assert result.exit_code == 1, command
        assert len(result.stderr.splitlines()) == 1, (command, result.stderr)
        assert "claims 40 bytes but only 23 remain (at byte offset 1475)" in result.stderr


# -- exec --invoke: typed values ------------------------------------------------------------------

@pytest.mark.parametrize(("call", "printed"), [
    ("add(1, 2)", "3"),
    ("add(-2147483648, -1)", "2147483647"),  # s32 wraps as the core add does
    ('greet("ada")', '"hello, ada"'),
    ('greet("\\u{1F600} \\"q\\"")', '"hello, \U0001F600 \\"q\\""'),
    ('total([{name: "x", qty: 2}, {qty: 40, name: "y"}])', "42"),
    ("total([])", "0"),
    ("half(some(9))", "some(4)"),
    ("half(9)", "some(4)"),  # a bare option value
    ("half(none)", "none"),
    ("safe-div(7, 2)", "ok(3)"),
    ("safe-div(1, 0)", 'err("division by zero")'),
    ("next-color(blue)", "red"),
    ("invert({read})", "{write, exec}"),
    ("invert({})", "{read, write, exec}"),
    ("upper('q')", "'Q'"),
    ("scale(1.5, 2)", "3"),
    ("scale(nan, 1)", "nan"),
    ("scale(-inf, 0.5)", "-inf"),
    ("swap((5, true))", "(true, 5)"),
    ("counts(3)", "[0, 1, 2]"),
    ("geometry#area(rect((2, 3)))", "6"),
    ("area(circle(1))", "3"),  # unique inside its interface
    ("geometry#area(point)", "0"),
    ("example:shapes/geometry@0.1.0#add(2, 2)", "4"),
    ("example:shapes/geometry#add(2, 3)", "5"),
])
def test_invoke_each_type(cli: Cli, built: dict[str, Path], call: str, printed: str) -> None:
    result = cli("exec", "--invoke", call, built["shapes"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, printed + "\n", "")


def test_invoke_positional_words(cli: Cli, built: dict[str, Path]) -> None:
    assert cli("exec", "--invoke", "add", built["shapes"], "40", "2").stdout == "42\n"
    assert cli("exec", "--invoke", "greet", built["shapes"], '"bob"').stdout == '"hello, bob"\n'


@pytest.mark.parametrize(("call", "message"), [
    ('add("x", 2)', "error: argument 'a' of add: expected s32 (a number), found '\"x\", 2)'"),
    ("add(1)", "error: add(a: s32, b: s32) takes 2 argument(s), got 1"),
    ("add(1, 2, 3)", "error: --invoke add: add(a: s32, b: s32) takes 2 argument(s); more were given (at character 11"),
    ("half(some(-1))", "error: argument 'n' of half: -1 is out of range for u32 (0 to 4294967295)"),
    ('total([{name: "x"}])', "error: argument 'items' of total: record item needs field 'qty'"),
    ("next-color(purple)", "error: argument 'c' of next-color: expected color (one of red, green, blue), found "
                           "'purple'"),
    ("geometry#area(square)", "error: argument 's' of example:shapes/geometry@0.1.0#area: expected shape (one of "
                              "circle, rect, point)"),
    ("nope()", "error: no exported function 'nope' (exported functions: example:shapes/geometry@0.1.0#area, "),
    ("add(1, 2", "error: --invoke 'add(1, 2': expected NAME(ARGS...)"),
])
def test_a_value_that_does_not_fit_is_one_line(cli: Cli, built: dict[str, Path], call: str, message: str) -> None:
    result = cli("exec", "--invoke", call, built["shapes"])
    assert result.exit_code == EXIT_USAGE
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert result.stdout == ""


def test_core_modules_take_the_call_syntax(cli: Cli, tmp_path: Path) -> None:
    library = tmp_path / "lib.wasm"
    library.write_bytes(wat(LIBRARY_WAT))
    positional = cli("exec", "--invoke", "add", library, "40", "2")
    assert (positional.exit_code, positional.stdout) == (0, "42\n")
    call = cli("exec", "--invoke", "add(40, 2)", library)
    assert (call.exit_code, call.stdout) == (0, "42\n")
    both = cli("exec", "--invoke", "add(40, 2)", library, "1")
    assert both.exit_code == EXIT_USAGE and "not both" in both.stderr
    interface = cli("exec", "--invoke", "geometry#area(point)", library)
    assert interface.exit_code == EXIT_USAGE
    assert interface.stderr.startswith("error: lib.wasm is a core module: 'geometry#area' names a function in a "
                                       "component's interface")


# -- inspect and verify ---------------------------------------------------------------------------

def test_inspect_prints_the_world_the_component_was_written_against(cli: Cli, built: dict[str, Path]) -> None:
    expected = "".join(line + "\n" for line in (SOURCES / "shapes.wit").read_text().splitlines()
                       if not line.startswith("//"))
    report = json.loads(cli("inspect", "--json", built["shapes"]).stdout)
    assert report["component"]["wit"] == expected
    text = cli("inspect", built["shapes"]).stdout
    assert "\n".join("  " + line if line else "" for line in expected.splitlines()) in text


def test_inspect_json_world_is_structured(cli: Cli, built: dict[str, Path]) -> None:
    report = json.loads(cli("inspect", "--json", built["shapes"]).stdout)
    world = report["component"]["world"]
    exports = {e["name"]: e for e in world["exports"]}
    assert exports["total"] == {"kind": "func", "name": "total", "params": [{"name": "items", "type": "list<item>"}],
                                "result": "u64", "signature": "func(items: list<item>) -> u64"}
    geometry = exports["example:shapes/geometry@0.1.0"]
    assert geometry["kind"] == "interface"
    assert geometry["types"] == [{"name": "shape", "kind": "variant",
                                  "definition": "variant shape { circle(f64), rect(tuple<f64, f64>), point }"}]
    assert [f["name"] for f in geometry["functions"]] == ["area", "add"]
    assert world["types"][0] == {"name": "item", "kind": "record",
                                 "definition": "record item { name: string, qty: u32 }"}
    assert world["imports"] == []
    assert report["component"]["modules"] == [{"index": 0, "offset": 106, "size": 932, "imports": 0, "exports": 14,
                                               "adapter": None}]
    conclusion = report["conclusion"]
    assert conclusion["command"] == f"wasmrun exec --invoke 'add(1, 2)' {built['shapes']}"
    assert conclusion["summary"].startswith("a library exporting `add`, `greet`, `total`, `half`, `safe-div` and 8 "
                                            "more: call it with `wasmrun exec --invoke 'add(1, 2)' ")


def test_the_suggested_invocation_runs(built: dict[str, Path]) -> None:
    """The command inspect suggests is one that works."""
    report = json.loads(wasmrun("inspect", "--json", built["shapes"]).stdout)
    command = report["conclusion"]["command"]
    call = command.split("'")[1]
    run = wasmrun("exec", "--invoke", call, built["shapes"])
    assert (run.returncode, run.stdout) == (0, "3\n")


def test_inspect_a_command(cli: Cli, built: dict[str, Path]) -> None:
    result = cli("inspect", built["probe"])
    assert result.exit_code == 0
    conclusion = f"Conclusion: a WASI 0.2 command (wasi:cli/run@0.2.0): run it with `wasmrun exec {built['probe']}`"
    assert conclusion in result.stdout
    assert ("      use wasi:io/streams@0.2.0.{output-stream};\n"
            "      get-stdout: func() -> output-stream;") in result.stdout
    assert ("      resource output-stream {\n        blocking-write-and-flush: func(contents: list<u8>) -> "
            "result<_, stream-error>;\n      }") in result.stdout
    report = json.loads(cli("inspect", "--json", built["probe"]).stdout)
    imports = [i["name"] for i in report["component"]["world"]["imports"]]
    assert imports == ["wasi:io/error@0.2.0", "wasi:io/streams@0.2.0", "wasi:cli/stdout@0.2.0",
                       "wasi:cli/environment@0.2.0", "wasi:cli/exit@0.2.0", "wasi:filesystem/types@0.2.0",
                       "wasi:filesystem/preopens@0.2.0"]
    assert [m["imports"] for m in report["component"]["modules"]] == [0, 7]


def test_verify_components(cli: Cli, built: dict[str, Path], tmp_path: Path) -> None:
    assert cli("verify", built["shapes"]).stdout == f"{built['shapes']}: valid WebAssembly component\n"
    # a lift whose core function has the wrong type: the validator's reason and offset
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(wat('(component (core module $m (func (export "f") (result i64) i64.const 1))'
                           ' (core instance $i (instantiate $m))'
                           ' (func (export "f") (result u32) (canon lift (core func $i "f"))))'))
    result = cli("verify", broken)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {broken}: invalid (validation): ")
    assert "(at byte offset " in result.stderr and len(result.stderr.splitlines()) == 1


TWO_INTERFACES_WAT = r"""
(component
  (core module $m
    (func (export "one") (result i32) i32.const 1)
    (func (export "two") (result i32) i32.const 2))
  (core instance $i (instantiate $m))
  (func $one (result u32) (canon lift (core func $i "one")))
  (func $two (result u32) (canon lift (core func $i "two")))
  (instance $a (export "get" (func $one)))
  (instance $b (export "get" (func $two)))
  (export "test:pkg/a@1.0.0" (instance $a))
  (export "test:pkg/b@1.0.0" (instance $b)))
"""


def test_a_name_two_interfaces_share_is_refused_until_qualified(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "two.wasm"
    path.write_bytes(wat(TWO_INTERFACES_WAT))
    result = cli("exec", "--invoke", "get()", path)
    assert result.exit_code == EXIT_USAGE
    assert result.stderr == ("error: more than one export is named 'get': test:pkg/a@1.0.0#get, test:pkg/b@1.0.0#get; "
                             "name one as INTERFACE#FUNCTION\n")
    assert cli("exec", "--invoke", "a#get()", path).stdout == "1\n"
    assert cli("exec", "--invoke", "test:pkg/b#get()", path).stdout == "2\n"
    assert cli("exec", "--invoke", "b#get", path).stdout == "2\n"


FOREIGN_IMPORT_WAT = r"""
(component
  (import "test:pkg/host@1.0.0" (instance $h (export "ping" (func (result u32)))))
  (core func $ping (canon lower (func $h "ping")))
  (core module $m (import "h" "ping" (func $p (result i32))) (func (export "f") (result i32) (call $p)))
  (core instance $i (instantiate $m (with "h" (instance (export "ping" (func $ping))))))
  (func (export "f") (result u32) (canon lift (core func $i "f"))))
"""


def test_an_import_exec_does_not_provide(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "foreign.wasm"
    path.write_bytes(wat(FOREIGN_IMPORT_WAT))
    report = json.loads(cli("inspect", "--json", path).stdout)
    assert report["findings"][0] == {
        "level": "warning", "code": "foreign-imports",
        "message": "imports test:pkg/host@1.0.0, which only WASI 0.2 hosts that provide them can satisfy "
                   "(`wasmrun exec` provides WASI 0.2 only)"}
    assert "  import test:pkg/host@1.0.0;\n" in report["component"]["wit"]
    result = cli("exec", "--invoke", "f()", path)
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.splitlines() == [
        "error: cannot instantiate foreign.wasm: component imports instance `test:pkg/host@1.0.0`, but a matching "
        "implementation was not found in the linker",
        "hint: exec provides the WASI 0.2 interfaces (wasi:*) to components, nothing else"]


# -- the world's own type names, read from the binary ---------------------------------------------

def test_the_names_of_a_worlds_own_types_come_from_the_binary(built: dict[str, Path]) -> None:
    from wasmrun.wasm.declared_types import declared_types
    from wasmrun.wasm.wit import type_definition

    named = [(name, type_definition(t)) for name, t in declared_types(built["shapes"].read_bytes())]
    assert named == [("item", "record item { name: string, qty: u32 }"), ("color", "enum color { red, green, blue }"),
                     ("perms", "flags perms { read, write, exec }")]
    assert declared_types(built["hello"].read_bytes()) == []


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(min_value=0, max_value=4000), flip=st.integers(0, 255))
def test_reading_type_names_never_fails_on_damaged_or_arbitrary_bytes(data: bytes, cut: int, flip: int) -> None:
    """A truncated, corrupted or made-up component gives some names or none, never an error."""
    from wasmrun.wasm.declared_types import declared_types

    shapes = wat((SOURCES / "shapes.wat").read_text())
    damaged = bytearray(shapes[:cut])
    if damaged:
        damaged[cut % len(damaged)] ^= flip
    for candidate in (bytes(damaged), b"\0asm\x0d\x00\x01\x00" + data, shapes[:8] + data):
        names = declared_types(candidate)
        assert all(isinstance(name, str) and t.kind in ("record", "variant", "enum", "flags", "resource")
                   for name, t in names)
