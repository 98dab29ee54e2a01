"""``exec``'s plan: read from the outline of a WASI command (without decoding every import and
export) it is exactly the plan the full reader makes, and anything else takes the full reader."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.strategies as st
import pytest

from tests.test_wasm_reader import _mutations, fuzz_corpus
from tests.wasm_samples import PREAMBLE, TYPE_VOID, name, section, uleb, wat
from wasmrun.errors import WasmrunError
from wasmrun.wasm.reader import WasmModule
from wasmrun.wasm.runner import RunRequest, _plan


def planned(data: bytes, *, full: bool, invoke: str | None = None) -> tuple[Any, ...]:
    """What ``_plan`` decides: the plan's fields, or the error it raises."""
    saved = WasmModule.wasi_command_outline
    if full:
        WasmModule.wasi_command_outline = lambda self: None  # type: ignore[assignment,method-assign]
    try:
        return ("plan", vars(_plan(data, RunRequest(Path("m.wasm"), invoke=invoke))))
    except WasmrunError as exc:
        return ("error", type(exc).__name__, exc.message)
    finally:
        WasmModule.wasi_command_outline = saved  # type: ignore[method-assign]


def module_of(imports: list[tuple[str, str, int]], exports: list[tuple[str, int, int]], functions: int = 1) -> bytes:
    """Function imports (module, name, type index), exports (name, kind, index), ``functions``
    defined functions of type 0, one memory and one global: enough for every export kind."""
    types = section(1, b"\x02\x60\x00\x00\x60\x01\x7f\x01\x7f")  # () -> () and (i32) -> (i32)
    entries = b"".join(name(m) + name(n) + b"\x00" + uleb(t) for m, n, t in imports)
    memory = section(5, b"\x01\x00\x01")
    global_ = section(6, b"\x01\x7f\x00\x41\x00\x0b")
    export_entries = b"".join(name(n) + bytes([kind]) + uleb(index) for n, kind, index in exports)
    code = section(10, uleb(functions) + b"\x02\x00\x0b" * functions)
    functions_section = section(3, uleb(functions) + b"\x00" * functions)
    return (PREAMBLE + types + section(2, uleb(len(imports)) + entries) + functions_section + memory + global_
            + section(7, uleb(len(exports)) + export_entries) + code)


def test_a_wasi_command_takes_the_outline_and_plans_as_the_full_reader() -> None:
    data = module_of([("wasi_snapshot_preview1", f"f{i}", 1) for i in range(20_000)],
                     [("memory", 2, 0), *((f"e{i}", 0, i) for i in range(20_000)), ("_start", 0, 20_000)])
    assert WasmModule(data).wasi_command_outline() is not None
    assert planned(data, full=False) == planned(data, full=True)
    assert planned(data, full=False)[1]["memories"] == ["memory"]


@pytest.mark.parametrize(("imports", "exports"), [
    ([("env", "f", 1)], [("_start", 0, 1)]),  # a foreign import: the full reader classifies it
    ([("wasi_unstable", "f", 0)], [("_start", 0, 0)]),  # _start is an import
    ([], [("_start", 0, 0), ("_start", 0, 0)]),  # a name twice
    ([], [("_start", 0, 5)]),  # an index out of range
    ([], [("_st\u00e4rt", 0, 0)]),  # not ASCII
    ([("wasi_snapshot_preview1", "f" * 200, 0)], [("_start", 0, 1)]),  # a long name
    ([], [("main", 0, 0)]),  # no _start
])
def test_anything_else_takes_the_full_reader(imports: list[tuple[str, str, int]],
                                             exports: list[tuple[str, int, int]]) -> None:
    data = module_of(imports, exports)
    assert WasmModule(data).wasi_command_outline() is None
    assert planned(data, full=False) == planned(data, full=True)


_IMPORT = st.tuples(st.sampled_from(["wasi_snapshot_preview1", "wasi_unstable", "env", "wasi_snapshot_preview"]),
                    st.text(max_size=3) | st.sampled_from(["x" * 130]), st.integers(0, 2))
_EXPORT = st.tuples(st.sampled_from(["_start", "_initialize", "memory", "m", "\u00e9", "e" * 130])
                    | st.text(max_size=2), st.integers(0, 5), st.integers(0, 300))


@hypothesis.settings(max_examples=300, derandomize=True, database=None, deadline=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(imports=st.lists(_IMPORT, max_size=8), exports=st.lists(_EXPORT, max_size=8),
                  functions=st.integers(1, 200), invoke=st.none() | st.just("_start"))
def test_the_outline_and_the_full_reader_always_plan_alike(imports: list[tuple[str, str, int]],
                                                           exports: list[tuple[str, int, int]], functions: int,
                                                           invoke: str | None) -> None:
    data = module_of(imports, exports, functions)
    assert planned(data, full=False, invoke=invoke) == planned(data, full=True, invoke=invoke)


def test_on_hostile_bytes_the_outline_and_the_full_reader_plan_alike() -> None:
    commands = [wat('(module (import "wasi_unstable" "f" (func)) (func (export "_start")))'),
                module_of([("wasi_snapshot_preview1", f"f{i}", 1) for i in range(40)],
                          [("memory", 2, 0), *((f"e{i}", 0, i) for i in range(40)), ("_start", 0, 40)])]
    corpus = fuzz_corpus(count=200) + commands + _mutations(commands, random.Random(14), 300)
    outlined = 0
    for data in corpus:
        with contextlib.suppress(WasmrunError):
            outlined += WasmModule(data).wasi_command_outline() is not None
        assert planned(data, full=False) == planned(data, full=True), data.hex()
    assert outlined > len(commands)  # the outline's road was taken by mutants too, not only the full reader's


def test_plain_bytes_after_a_preamble() -> None:
    data = PREAMBLE + TYPE_VOID + section(7, b"\x01" + name("_start") + b"\x00\x00")
    assert planned(data, full=False) == planned(data, full=True)
