"""The pure-Python reader: every section decoded, nothing trusted, and wabt agrees on the layout."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import pytest

from tests.bounded import PEAK_RSS_LIMIT, SECONDS_PER_MODULE, BoundedReader, assert_bounded, run_measured
from tests.wasm_samples import (
    BINDGEN_WAT,
    COMPONENT_WAT,
    FUNC_ONE,
    HELLO_WAT,
    LIB_COMPONENT_WAT,
    LIBRARY_WAT,
    MALFORMED,
    PREAMBLE,
    REACTOR_WAT,
    RICH_WAT,
    TABLES_WAT,
    TYPE_VOID,
    custom,
    name,
    section,
    uleb,
    wat,
)
from wasmrun.errors import WasmFormatError
from wasmrun.testing import require_tool
from wasmrun.wasm.reader import FuncType, Limits, WasmModule, read_module
from wasmrun.wasm.sections import read_uleb128

#: Every module the objdump comparison and the fuzz test start from.
SEED_SOURCES = {"hello": HELLO_WAT, "rich": RICH_WAT, "tables": TABLES_WAT, "library": LIBRARY_WAT,
                "reactor": REACTOR_WAT, "bindgen": BINDGEN_WAT}


def test_hello_example_reads_completely() -> None:
    module = WasmModule(wat(HELLO_WAT))
    module.parse_all()
    assert module.kind == "module" and module.version == 1
    assert [str(t) for t in module.types] == ["(i32, i32, i32, i32) -> (i32)", "() -> ()", "(i32, i32) -> (i32)"]
    assert [(i.module, i.name, i.kind, i.type) for i in module.imports] == [
        ("wasi_snapshot_preview1", "fd_write", "func", 0)]
    assert module.functions == [1, 2]
    assert module.memories == [Limits(1)]
    assert [(e.name, e.kind, e.index) for e in module.exports] == [
        ("memory", "memory", 0), ("_start", "func", 1), ("add", "func", 2)]
    assert [(d.mode, d.memory, d.offset_expr.value if d.offset_expr else None, d.size)
            for d in module.data_segments] == [("active", 0, 0, 8), ("active", 0, 16, 28)]
    assert module.function_name(1) == "main"  # from the name section
    assert module.function_name(2) == "add"  # no name: its export name
    assert module.function_name(0) == "fd_write"


def test_every_standard_section_is_decoded() -> None:
    module = WasmModule(wat(RICH_WAT))
    module.parse_all()
    assert [module.section_name(s) for s in module.sections] == [
        "type", "import", "function", "table", "memory", "global", "export", "start", "element", "datacount",
        "code", "data", "custom"]
    assert module.types[0] == FuncType(("i32", "i32"), ("i32",))
    assert [(i.module, i.name, i.kind) for i in module.imports] == [
        ("env", "log", "func"), ("env", "base", "global"), ("env", "tbl", "table")]
    assert module.space_size("table") == 2 and module.space_size("global") == 5
    assert module.tables[0].type.element == "funcref" and module.tables[0].type.limits == Limits(4, 8)
    assert module.memories == [Limits(1, 2)]
    assert [(str(g.type), g.init.text) for g in module.globals] == [
        ("mut i32", "i32.const 7"), ("f64", "f64.const 0.5"), ("i64", "i64.const -42"), ("f32", "f32.const 0.25")]
    assert module.globals[2].init.value == -42
    assert module.start == 3 and module.function_name(3) == "init"
    assert [(e.mode, e.table, e.count, e.functions) for e in module.elements] == [
        ("active", 1, 2, (1, 2)), ("passive", None, 1, (1,)), ("declarative", None, 1, (2,))]
    assert module.data_count == 2
    assert [(d.mode, d.size) for d in module.data_segments] == [("active", 2), ("passive", 7)]
    assert module.data[module.data_segments[1].data_offset:][:7] == b"passive"
    assert len(module.code) == 3 and all(b.size > 0 for b in module.code)
    names = module.names
    assert names is not None and names.module == "rich"
    assert names.functions == {0: "log", 1: "add", 2: "sub", 3: "init"}
    assert names.globals[1] == "counter" and names.tables[1] == "t" and names.memories[0] == "m"


def test_reference_types_and_multi_value() -> None:
    module = WasmModule(wat(TABLES_WAT))
    module.parse_all()
    assert [t.type.element for t in module.tables] == ["funcref", "externref"]
    assert module.types[0] == FuncType(("i64",), ("i64", "i32"))
    assert module.globals[0].init.text == "ref.null extern"
    assert module.elements[0].element_type == "funcref" and module.elements[0].count == 2


def test_gc_types_and_tags_are_read() -> None:
    binary = wat("""(module
      (rec (type $pt (struct (field $x (mut i32)) (field i16))) (type $arr (array (mut f64))))
      (type $f (func (param (ref null $pt)) (result anyref)))
      (tag $oops (param i32))
      (export "oops" (tag $oops)))""")
    module = WasmModule(binary)
    module.parse_all()
    assert [t.kind for t in module.types] == ["struct", "array", "func", "func"]
    assert module.types[0].fields == ("mut i32", "i16")
    assert module.types[2].params == ("(ref null 0)",) and module.types[2].results == ("anyref",)
    assert module.tags == [3]
    assert module.exports[0].kind == "tag"


def test_custom_sections_people_look_at() -> None:
    producers = (uleb(2) + name("language") + uleb(1) + name("Rust") + name("")
                 + name("processed-by") + uleb(2) + name("rustc") + name("1.63.0") + name("walrus") + name("0.19"))
    features = uleb(2) + b"+" + name("mutable-globals") + b"-" + name("simd128")
    dylink = (section(1, uleb(1024) + uleb(4) + uleb(2) + uleb(0)) + section(2, uleb(1) + name("libc.so"))
              + section(3, uleb(1) + name("answer") + uleb(0)))
    binary = (wat(LIBRARY_WAT) + custom("producers", producers) + custom("target_features", features)
              + custom("sourceMappingURL", name("http://localhost/lib.wasm.map")) + custom("dylink.0", dylink))
    module = WasmModule(binary)
    assert module.producers == {"language": [("Rust", "")],
                                "processed-by": [("rustc", "1.63.0"), ("walrus", "0.19")]}
    assert module.target_features == [("+", "mutable-globals"), ("-", "simd128")]
    assert module.source_mapping_url == "http://localhost/lib.wasm.map"
    assert module.dylink is not None
    assert (module.dylink.memory_size, module.dylink.memory_align, module.dylink.table_size) == (1024, 4, 2)
    assert module.dylink.needed == ["libc.so"] and module.dylink.exports == [("answer", 0)]
    assert module.custom_section_problems() == []


def test_a_malformed_custom_section_is_a_problem_not_a_failure() -> None:
    binary = wat(LIBRARY_WAT) + custom("producers", uleb(3) + name("language"))
    module = WasmModule(binary)
    module.parse_all()  # custom sections are not part of the structure
    problems = module.custom_section_problems()
    assert len(problems) == 1 and "'producers' custom section" in problems[0] and "byte offset" in problems[0]


def test_components_are_recognised() -> None:
    module = WasmModule(wat(COMPONENT_WAT.format(tag=0)))
    module.parse_all()
    assert module.is_component and module.kind == "component" and module.layer == 1
    assert module.core_module_count == 1
    assert [(e.name, e.kind) for e in module.component_exports] == [("wasi:cli/run@0.2.0", "instance")]
    library = WasmModule(wat(LIB_COMPONENT_WAT))
    assert [(e.name, e.kind) for e in library.component_exports] == [("answer", "func")]
    with pytest.raises(WasmFormatError, match="component"):
        module.imports  # noqa: B018


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_input_fails_with_its_offset(case: str) -> None:
    data, message, offset = MALFORMED[case]
    with pytest.raises(WasmFormatError) as info:
        WasmModule(data).parse_all()
    assert message in info.value.message
    assert info.value.offset == offset
    assert info.value.message.endswith(f"(at byte offset {offset})")
    assert "\n" not in info.value.message


def test_a_tiny_file_claiming_four_billion_entries_fails_fast_without_allocating() -> None:
    data = PREAMBLE + b"\x03\x05\xff\xff\xff\xff\x0f"  # a function section claiming 4,294,967,295 entries
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(WasmFormatError, match="claims 4294967295 functions"):
        WasmModule(data).parse_all()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.05
    assert peak < 100_000


def test_every_count_is_checked_before_allocating() -> None:
    # counts of 4 billion at each level of nesting: types, params, imports, exports, data, names
    huge = b"\xff\xff\xff\xff\x0f"
    cases = [
        section(1, huge), section(1, b"\x01\x60" + huge), section(2, huge), section(7, huge),
        TYPE_VOID + FUNC_ONE + section(10, huge), section(11, huge), section(9, huge),
        section(4, huge), section(5, huge), section(6, huge), section(12, huge) + section(11, huge),
    ]
    for payload in cases:
        with pytest.raises(WasmFormatError):
            WasmModule(PREAMBLE + payload).parse_all()
    names = custom("name", section(1, huge))
    assert "claims 4294967295 names" in WasmModule(PREAMBLE + names).custom_section_problems()[0]


def test_read_uleb128_widths() -> None:
    assert read_uleb128(b"\xe5\x8e\x26", 0) == (624485, 3)
    assert read_uleb128(b"\xff\xff\xff\xff\x0f", 0) == (2**32 - 1, 5)
    with pytest.raises(WasmFormatError, match="longer than 5 bytes"):
        read_uleb128(b"\x80\x80\x80\x80\x80\x00", 0)
    with pytest.raises(WasmFormatError, match="out of range for u32"):
        read_uleb128(b"\xff\xff\xff\xff\x1f", 0)
    with pytest.raises(WasmFormatError, match="unexpected end"):
        read_uleb128(b"\x80", 0)


def test_read_module_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "hello.wasm"
    path.write_bytes(wat(HELLO_WAT))
    module = read_module(path)
    assert module.path == path and len(module.exports) == 3


# ---------------------------------------------------------------------------------------------
# wabt agrees on the section table

_OBJDUMP_LINE = re.compile(
    r"^\s*(\w+) start=0x([0-9a-f]+) end=0x([0-9a-f]+) \(size=0x([0-9a-f]+)\)(?: count: (\d+)| start: (\d+))?"
    r'(?: "(.*)")?\s*$')
_WABT_NAMES = {"type": "Type", "import": "Import", "function": "Function", "table": "Table", "memory": "Memory",
               "global": "Global", "export": "Export", "start": "Start", "element": "Elem", "code": "Code",
               "data": "Data", "datacount": "DataCount", "tag": "Tag", "custom": "Custom"}


def objdump_sections(path: Path) -> list[tuple[str, int, int, int, int | None, str | None]]:
    out = subprocess.run(["wasm-objdump", "-h", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        match = _OBJDUMP_LINE.match(line)
        if match:
            kind, start, end, size, count, start_index, custom_name = match.groups()
            number = count if count is not None else start_index
            rows.append((kind, int(start, 16), int(end, 16), int(size, 16),
                         None if number is None else int(number), custom_name))
    return rows


@pytest.mark.parametrize("sample", sorted(SEED_SOURCES))
def test_section_table_agrees_with_wasm_objdump(sample: str, tmp_path: Path) -> None:
    require_tool("wasm-objdump")
    binary = wat(SEED_SOURCES[sample])
    if sample == "rich":  # and the custom sections the reader decodes
        binary += custom("producers", uleb(1) + name("language") + uleb(1) + name("WAT") + name("1"))
        binary += custom("sourceMappingURL", name("x.map"))
    path = tmp_path / f"{sample}.wasm"
    path.write_bytes(binary)
    module = read_module(path)
    ours = [(_WABT_NAMES[module.section_name(s)], s.payload_offset, s.end, s.size, module.section_count(s), s.name)
            for s in module.sections]
    theirs = objdump_sections(path)
    assert theirs, "wasm-objdump printed no sections"
    assert ours == theirs


def test_section_table_of_a_large_module_agrees_with_wasm_objdump(tmp_path: Path) -> None:
    """Many functions, so counts and sizes take multi-byte LEB128s."""
    require_tool("wasm-objdump")
    funcs = "\n".join(f'(func (export "f{i}") (result i32) (i32.const {i}))' for i in range(300))
    data = '(memory 1) (data (i32.const 0) "' + "x" * 20000 + '")'
    path = tmp_path / "large.wasm"
    path.write_bytes(wat(f"(module {funcs} {data})"))
    module = read_module(path)
    ours = [(_WABT_NAMES[module.section_name(s)], s.payload_offset, s.end, s.size, module.section_count(s), s.name)
            for s in module.sections]
    assert ours == objdump_sections(path)


# ---------------------------------------------------------------------------------------------
# fuzz: random and mutated modules never raise anything but WasmFormatError


def _mutations(seeds: list[bytes], rng: random.Random, count: int) -> list[bytes]:
    out: list[bytes] = []
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            how = rng.randrange(6)
            if how == 0 and data:  # flip a byte
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif how == 1 and data:  # truncate
                del data[rng.randrange(len(data)):]
            elif how == 2:  # insert random bytes
                at = rng.randrange(len(data) + 1)
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif how == 3 and len(data) > 9:  # a huge LEB128 somewhere after the preamble
                at = rng.randrange(8, len(data))
                data[at:at + 1] = b"\xff\xff\xff\xff\x0f"
            elif how == 4 and len(data) > 9:  # delete a span
                at = rng.randrange(8, len(data))
                del data[at:at + rng.randint(1, 16)]
            elif how == 5:  # random tail
                data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
        out.append(bytes(data))
    for _ in range(count // 10):  # and pure noise behind a valid preamble
        out.append(PREAMBLE + bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))))
    return out


def fuzz_corpus(count: int = 600, seed: int = 20261125) -> list[bytes]:
    seeds = [wat(src) for src in SEED_SOURCES.values()]
    seeds += [wat(COMPONENT_WAT.format(tag=0)), wat(LIB_COMPONENT_WAT)]
    seeds += [data for data, _, _ in MALFORMED.values() if len(data) >= 8]
    return seeds + _mutations(seeds, random.Random(seed), count)


@pytest.fixture(scope="module")
def bounded() -> Iterator[BoundedReader]:
    reader = BoundedReader()
    yield reader
    reader.close()


def test_fuzz_reader_and_inspect_raise_only_format_errors_in_bounded_time_and_memory(bounded: BoundedReader) -> None:
    outcomes = {"ok": 0, "format-error": 0}
    slowest = peak = 0.0
    for data in fuzz_corpus():
        reading = bounded.read(data)
        assert_bounded(reading, data)
        outcomes[reading.outcome] += 1
        slowest, peak = max(slowest, reading.seconds), max(peak, reading.peak_rss)
    assert outcomes["ok"] > 20 and outcomes["format-error"] > 300  # both paths were exercised
    assert slowest < SECONDS_PER_MODULE and peak < PEAK_RSS_LIMIT


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_every_kept_malformed_file_is_read_in_bounded_time_and_memory(bounded: BoundedReader, case: str) -> None:
    data, message, _ = MALFORMED[case]
    reading = bounded.read(data)
    assert_bounded(reading, data)
    assert reading.outcome == "format-error" and message in reading.detail


@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_a_huge_page_size_exponent_is_refused_at_once(tmp_path: Path, command: str) -> None:
    """18 bytes once made verify take 587 MB and inspect 1.15 GB, then "internal error: OverflowError"."""
    path = tmp_path / "page.wasm"
    path.write_bytes(PREAMBLE + section(5, b"\x01\x08\x00\xff\xff\xff\xff\x0f"))
    assert len(path.read_bytes()) == 18
    run = run_measured([sys.executable, "-m", "wasmrun", command, str(path)], timeout=20)
    assert run.returncode == 1, run.stderr
    assert run.stderr.count("\n") == 1 and "page size 2**4294967295 is not allowed" in run.stderr
    assert "internal error" not in run.stderr
    assert run.peak_rss < PEAK_RSS_LIMIT and run.seconds < 5


# The same property with hypothesis: it shrinks a failure to a minimal module. A fixed number of
# examples and a derandomised search keep the run reproducible.
def _seed_modules() -> list[bytes]:
    return fuzz_corpus(count=0)


@hypothesis.settings(max_examples=400, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(data=st.data())
def test_hypothesis_mutations_raise_only_format_errors_in_bounded_time_and_memory(
        bounded: BoundedReader, data: st.DataObject) -> None:
    module = bytearray(data.draw(st.sampled_from(_SEEDS)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(module)))
        kind = data.draw(st.sampled_from(["replace", "insert", "truncate", "delete", "huge-leb"]))
        if kind == "replace" and at < len(module):
            module[at] = data.draw(st.integers(0, 255))
        elif kind == "insert":
            module[at:at] = data.draw(st.binary(min_size=1, max_size=12))
        elif kind == "truncate":
            del module[at:]
        elif kind == "huge-leb":
            module[at:at + 1] = b"\xff\xff\xff\xff\x0f"
        else:
            del module[at:at + data.draw(st.integers(1, 16))]
    assert_bounded(bounded.read(bytes(module)), bytes(module))


_SEEDS = _seed_modules()


def test_the_features_scan_stays_inside_each_body(bounded: BoundedReader) -> None:
    """A br_table claiming 4 billion targets once sent the scan through every later body to the end
    of the file, for each body: quadratic in the number of functions."""
    n = 20_000
    body = b"\x00" + b"\x0e\xff\xff\xff\xff\x0f" + b"\x0b"  # no locals; br_table with 4 billion targets
    functions = section(3, uleb(n) + b"\x00" * n)
    code = section(10, uleb(n) + (uleb(len(body)) + body) * n)
    data = PREAMBLE + TYPE_VOID + functions + code
    reading = bounded.read(data, deadline=30)
    assert_bounded(reading, data, seconds=5)  # 20,000 bodies read, validated and scanned (once: over 30 s)
    from wasmrun.wasm.features import used_features

    assert not used_features(WasmModule(data)).complete


@hypothesis.settings(max_examples=200, derandomize=True, database=None, deadline=None)
@hypothesis.given(names=st.lists(st.text(max_size=140), min_size=1, max_size=40),
                  indices=st.lists(st.integers(0, 20_000), min_size=40, max_size=40),
                  functions=st.integers(1, 20_000))
def test_exports_read_the_same_on_the_inline_road_and_the_general_one(
        names: list[str], indices: list[int], functions: int) -> None:
    """Short names and one- or two-byte indices take an inline road; long names, wide indices, a
    duplicate name or an index out of range the general one: both say the same."""
    imports = section(2, uleb(functions) + (name("m") + name("f") + b"\x00\x00") * functions)
    entries = [name(n) + b"\x00" + uleb(i) for n, i in zip(names, indices, strict=False)]
    data = PREAMBLE + TYPE_VOID + imports + section(7, uleb(len(entries)) + b"".join(entries))
    pairs = list(zip(names, indices, strict=False))
    first_bad = next((k for k, (n, i) in enumerate(pairs) if n in {m for m, _ in pairs[:k]} or i >= functions),
                     None)
    module = WasmModule(data)
    if first_bad is None:
        assert [(e.name, e.kind, e.index) for e in module.exports] == [(n, "func", i) for n, i in pairs]
        return
    with pytest.raises(WasmFormatError) as info:
        module.exports  # noqa: B018
    n, i = pairs[first_bad]
    seen_before = n in {m for m, _ in pairs[:first_bad]}
    expected = f"duplicate export name '{n}'" if seen_before else f"func index {i} out of range"
    assert expected in info.value.message
