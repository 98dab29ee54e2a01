"""``inspect --json``'s writer: the column store of the long lists writes exactly what the
report as plain dicts would, for any values, and ``inspect --json`` prints the report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import pytest

from tests.wasm_samples import (
    BINDGEN_WAT,
    EMSCRIPTEN_WAT,
    HELLO_WAT,
    LIBRARY_WAT,
    PREAMBLE,
    REACTOR_WAT,
    RICH_WAT,
    TYPE_VOID,
    name,
    section,
    uleb,
    wat,
)
from wasmrun.wasm.inspect import inspect_module
from wasmrun.wasm.reader import WasmModule
from wasmrun.wasm.report_json import EntryTable, _entry_encoder, plain, report_json

_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
            | st.sampled_from(["", "%s", "%%", '"', "\\", "\u00e9", "\ud800", "\x00", "\U0001f600"]))


@st.composite
def tables(draw: st.DrawFn) -> EntryTable:
    keys = draw(st.lists(st.text() | st.sampled_from(["%s", "%", "a%sb", '"']), min_size=1, max_size=5,
                         unique=True))
    rows = draw(st.integers(0, 30))
    # each column of one kind (as inspect's are), of mixed kinds, or one value repeated
    column = st.one_of(
        st.lists(st.integers(), min_size=rows, max_size=rows),
        st.lists(st.text(), min_size=rows, max_size=rows),
        st.lists(st.none() | st.text(), min_size=rows, max_size=rows),
        st.lists(_SCALARS, min_size=rows, max_size=rows),
        _SCALARS.map(lambda value: [value] * rows),
    )
    return EntryTable(keys, [draw(column) for _ in keys])


@hypothesis.settings(max_examples=400, derandomize=True, database=None, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow])
@hypothesis.given(table=tables())
def test_a_table_is_written_exactly_as_its_rows_as_dicts(table: EntryTable) -> None:
    encode, _ = _entry_encoder()
    rows = list(table)
    assert list(table.json_entries(encode)) == [encode(row) for row in rows]
    assert report_json({"list": table, "n": 1}) == report_json({"list": rows, "n": 1})
    assert plain({"a": {"b": table}}) == {"a": {"b": rows}}
    if not any(isinstance(v, float) and math.isnan(v) for row in rows for v in row.values()):
        assert table == rows and len(table) == len(rows)


def test_a_table_reads_as_a_list_of_dicts() -> None:
    table = EntryTable(("index", "name"), (range(3), ["a", "b", "c"]))
    assert table[1] == {"index": 1, "name": "b"} and table[-1] == {"index": 2, "name": "c"}
    assert table[1:] == [{"index": 1, "name": "b"}, {"index": 2, "name": "c"}]
    assert list(table) == [table[0], table[1], table[2]]
    with pytest.raises(IndexError):
        table[3]
    with pytest.raises(ValueError, match="one column per key"):
        EntryTable(("a", "b"), ([1], [1, 2]))
    assert report_json({"empty": EntryTable(("a",), ([],))}) == '{\n  "empty": []\n}'


def _many(count: int) -> bytes:
    """``count`` function imports (two modules, names that need escaping), each exported, and a
    start function: the shape the benchmark times, with the awkward cases mixed in."""
    entries = b"".join(name("wasi_snapshot_preview1" if i % 3 else "env") + name(f"f\u00e9\"{i}") + b"\x00\x00"
                       for i in range(count))
    imports = section(2, uleb(count) + entries)
    exports = section(7, uleb(count) + b"".join(name(f"e%s{i}") + b"\x00" + uleb(i) for i in range(count)))
    return PREAMBLE + TYPE_VOID + imports + exports


@pytest.mark.parametrize("source", [HELLO_WAT, RICH_WAT, LIBRARY_WAT, REACTOR_WAT, BINDGEN_WAT, EMSCRIPTEN_WAT,
                                    _many(300), _many(20_000)],
                         ids=["hello", "rich", "library", "reactor", "bindgen", "emscripten", "300", "20000"])
def test_the_columnar_report_is_the_plain_report(source: str | bytes) -> None:
    data = wat(source) if isinstance(source, str) else source
    columnar = inspect_module(WasmModule(data), "m.wasm", validate=False, columnar=True)
    report = inspect_module(WasmModule(data), "m.wasm", validate=False)
    assert report_json(columnar) == report_json(report)
    assert json.loads(report_json(columnar)) == report
    assert all(isinstance(entries, list) for group in ("imports", "exports") for entries in report[group].values())
    assert plain(columnar) == report


def test_inspect_json_prints_the_report_of_20000_imports_and_exports(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "many.wasm"
    path.write_bytes(_many(20_000))
    run = subprocess.run([sys.executable, "-m", "wasmrun", "inspect", "--json", str(path)], capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0 and run.stderr == ""
    printed = json.loads(run.stdout)
    assert printed["imports"]["func"][19_999] == {"index": 19_999, "module": "wasi_snapshot_preview1",
                                                  "name": "f\u00e9\"19999", "type": "() -> ()"}
    assert printed["exports"]["func"][0] == {"name": "e%s0", "index": 0, "type": "() -> ()",
                                             "function_name": None}
    assert len(printed["imports"]["func"]) == len(printed["exports"]["func"]) == 20_000
    assert printed == inspect_module(WasmModule(path.read_bytes()), str(path))
