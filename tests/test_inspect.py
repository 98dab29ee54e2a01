"""``wasmrun inspect``: the report, its findings and conclusion, the JSON shape and its docs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import pytest

from tests.conftest import CliResult
from tests.wasm_samples import (
    BINDGEN_WAT,
    COMPONENT_WAT,
    EMSCRIPTEN_WAT,
    GO_WAT,
    HELLO_WAT,
    LIB_COMPONENT_WAT,
    LIBRARY_WAT,
    MALFORMED,
    PREAMBLE,
    REACTOR_WAT,
    RICH_WAT,
    custom,
    name,
    section,
    uleb,
    wat,
)
from wasmrun.wasm.inspect import SCHEMA_VERSION, inspect_module
from wasmrun.wasm.reader import WasmModule

Cli = Callable[..., CliResult]
DOC = Path(__file__).resolve().parents[1] / "docs" / "reference" / "inspect-json.md"


def write(tmp_path: Path, source: str | bytes, filename: str = "m.wasm") -> Path:
    path = tmp_path / filename
    path.write_bytes(wat(source) if isinstance(source, str) else source)
    return path


def report_of(source: str | bytes) -> dict[str, object]:
    return inspect_module(WasmModule(wat(source) if isinstance(source, str) else source), "m.wasm")


def codes(report: dict[str, object]) -> list[str]:
    return [f["code"] for f in report["findings"]]  # type: ignore[attr-defined]


def test_inspect_hello_in_text(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, HELLO_WAT, "hello.wasm")
    result = cli("inspect", path)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"{path}: WebAssembly module, version 1, 202 bytes" in out
    assert "func    wasi_snapshot_preview1.fd_write  (i32, i32, i32, i32) -> (i32)" in out
    assert "func    add  (i32, i32) -> (i32)" in out
    assert "Functions: 3 (1 imported, 2 defined, 2 named)" in out
    assert "0: min 1 pages, no max (64 KiB)" in out
    assert f"Conclusion: WASI command: run it with `wasmrun exec {path} [ARGS...]`" in out


def test_inspect_json_of_a_rich_module(cli: Cli, tmp_path: Path) -> None:
    result = cli("inspect", "--json", write(tmp_path, RICH_WAT))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "wasmrun.inspect" and report["schema_version"] == SCHEMA_VERSION
    assert [s["name"] for s in report["sections"]][:3] == ["type", "import", "function"]
    assert [i["name"] for i in report["imports"]["func"]] == ["log"]
    assert report["imports"]["table"][0]["element_type"] == "funcref"
    assert {kind: [e["name"] for e in items] for kind, items in report["exports"].items() if items} == {
        "func": ["add"], "table": ["table"], "memory": ["memory"], "global": ["counter"]}
    assert report["exports"]["func"][0]["type"] == "(i32, i32) -> (i32)"
    assert report["functions"]["imported"] == 1 and report["functions"]["defined"] == 3
    assert report["functions"]["largest"][0]["name"] == "init"
    assert report["memories"] == [{"index": 0, "imported": False, "min": 1, "max": 2, "min_bytes": 65536,
                                   "max_bytes": 131072}]
    assert [(t["index"], t["imported"], t["min"], t["max"]) for t in report["tables"]] == [
        (0, True, 1, None), (1, False, 4, 8)]
    assert report["globals"][1] == {"index": 1, "imported": False, "name": "counter", "type": "i32",
                                    "mutable": True, "init": "i32.const 7"}
    assert [(d["mode"], d["offset"], d["size"]) for d in report["data"]] == [("active", 16, 2), ("passive", None, 7)]
    assert [(e["mode"], e["table"], e["count"]) for e in report["elements"]] == [
        ("active", 1, 2), ("passive", None, 1), ("declarative", None, 1)]
    assert report["start"] == {"index": 3, "name": "init"}
    assert report["data_count"] == 2
    assert report["module_name"] == "rich"
    assert report["conclusion"]["kind"] == "library"
    assert "imports from env" in report["conclusion"]["summary"]


def test_producers_decoded_and_names_used(tmp_path: Path) -> None:
    producers = (uleb(2) + name("language") + uleb(1) + name("Rust") + name("")
                 + name("processed-by") + uleb(1) + name("rustc") + name("1.63.0"))
    report = report_of(wat(LIBRARY_WAT) + custom("producers", producers)
                       + custom("target_features", uleb(1) + b"+" + name("sign-ext")))
    assert report["producers"] == {"language": [{"name": "Rust", "version": ""}],
                                   "processed-by": [{"name": "rustc", "version": "1.63.0"}]}
    assert report["target_features"] == [{"prefix": "+", "name": "sign-ext"}]
    from wasmrun.wasm.inspect import render_text

    text = render_text(report)
    assert "language: Rust" in text and "processed-by: rustc 1.63.0" in text
    assert "Target features: +sign-ext" in text


@pytest.mark.parametrize(("source", "kind", "glue"), [
    (HELLO_WAT, "wasi-command", None),
    (REACTOR_WAT, "wasi-reactor", None),
    (LIBRARY_WAT, "library", None),
    (EMSCRIPTEN_WAT, "js-glue", "emscripten"),
    (BINDGEN_WAT, "js-glue", "wasm-bindgen"),
    (GO_WAT, "js-glue", "go"),
    (COMPONENT_WAT.format(tag=0), "component", None),
    (LIB_COMPONENT_WAT, "component", None),
])
def test_conclusion_says_how_to_run_it(source: str, kind: str, glue: str | None) -> None:
    conclusion = report_of(source)["conclusion"]
    assert conclusion["kind"] == kind  # type: ignore[index]
    assert conclusion["glue"] == glue  # type: ignore[index]


def test_conclusion_texts() -> None:
    assert report_of(REACTOR_WAT)["conclusion"]["summary"] == (  # type: ignore[index]
        "WASI reactor: call an export with `wasmrun exec --invoke answer m.wasm [ARGS...]`")
    assert report_of(BINDGEN_WAT)["conclusion"]["summary"] == (  # type: ignore[index]
        "needs its JS glue (wasm-bindgen): serve it with `wasmrun run` on its project")
    assert "WASI 0.2 command (wasi:cli/run@0.2.0)" in report_of(COMPONENT_WAT.format(tag=0))["conclusion"]["summary"]  # type: ignore[index]
    assert report_of(LIB_COMPONENT_WAT)["conclusion"]["summary"] == (  # type: ignore[index]
        "a library exporting `answer`: call it with `wasmrun exec --invoke 'answer()' m.wasm`")


def test_findings() -> None:
    assert codes(report_of(HELLO_WAT)) == []
    assert "no-exports" in codes(report_of("(module (func))"))
    assert "only-wasm-bindgen-exports" in codes(report_of(BINDGEN_WAT))
    big = "(module (func (export \"big\") " + "(drop (i32.const 1))" * 35_000 + "))"
    report = report_of(big)
    assert "large-functions" in codes(report)
    assert "big (105,0" in report["findings"][0]["message"]  # type: ignore[index]
    # memory maximum below its minimum: the validator rejects it, inspect still explains it
    bad_memory = PREAMBLE + section(5, b"\x01\x01\x02\x01")
    assert "memory-max-below-min" in codes(report_of(bad_memory))
    # an active data segment and no memory
    no_memory = PREAMBLE + section(11, b"\x01\x00\x41\x00\x0b\x02hi")
    assert "data-without-memory" in codes(report_of(no_memory))
    bad_custom = wat(LIBRARY_WAT) + custom("producers", b"\x05\xff\xff")
    assert "malformed-custom-section" in codes(report_of(bad_custom))
    wrong_start = '(module (func (export "_start") (param i32)))'
    assert "bad-entry-signature" in codes(report_of(wrong_start))


def test_component_report(cli: Cli, tmp_path: Path) -> None:
    result = cli("inspect", "--json", write(tmp_path, COMPONENT_WAT.format(tag=0)))
    report = json.loads(result.stdout)
    assert report["kind"] == "component"
    component = report["component"]
    assert {k: component[k] for k in ("core_modules", "imports", "exports")} == {
        "core_modules": 1, "imports": [], "exports": [{"name": "wasi:cli/run@0.2.0", "kind": "instance"}]}
    assert component["world"]["exports"][0]["name"] == "wasi:cli/run@0.2.0"
    assert "  export wasi:cli/run@0.2.0;\n" in component["wit"]
    text = cli("inspect", write(tmp_path, COMPONENT_WAT.format(tag=0))).stdout
    assert "WebAssembly component" in text and "    export wasi:cli/run@0.2.0;" in text


@pytest.mark.parametrize("case", ["empty", "bad-magic", "section-past-end", "leb-too-wide", "type-index-out-of-range"])
def test_bad_input_is_one_line_and_exit_1(cli: Cli, tmp_path: Path, case: str) -> None:
    data, message, offset = MALFORMED[case]
    result = cli("inspect", write(tmp_path, data))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert f"(at byte offset {offset})" in result.stderr


def test_a_module_the_validator_refuses_is_reported_invalid_and_exits_1(tmp_path: Path) -> None:
    """Its structure reads, its code does not validate: once "library that exports no functions", exit 0."""
    path = write(tmp_path, "(module (func (result i32) (i64.const 1)))", "bad.wasm")
    reason = "type mismatch: expected i32, found i64 (at byte offset 26)"
    verify = wasmrun("verify", path)
    assert verify.returncode == 1 and reason in verify.stderr
    text = wasmrun("inspect", path)
    assert text.returncode == 1
    assert text.stderr == f"error: {path}: invalid (validation): {reason}\n"
    assert f"error: invalid: {reason}; no engine will instantiate it" in text.stdout
    assert "Conclusion: invalid module: " + reason in text.stdout
    assert "nothing to run" not in text.stdout and "library" not in text.stdout
    as_json = wasmrun("inspect", "--json", path)
    assert as_json.returncode == 1 and as_json.stderr == text.stderr
    report = json.loads(as_json.stdout)
    assert report["validation"] == {"valid": False, "error": "type mismatch: expected i32, found i64", "offset": 26,
                                    "validator": verify_json(path)["validator"]}
    assert report["findings"][0]["code"] == "invalid" and report["conclusion"]["kind"] == "invalid"
    assert report["conclusion"]["command"] is None
    valid = json.loads(wasmrun("inspect", "--json", write(tmp_path, HELLO_WAT)).stdout)
    assert valid["validation"]["valid"] is True and "invalid" not in codes(valid)


def test_refused_paths_are_one_line(tmp_path: Path) -> None:
    """A FIFO would wait for a writer and /dev/zero never ends: both are refused before reading."""
    fifo = tmp_path / "pipe.wasm"
    os.mkfifo(fifo)
    for command in ("inspect", "verify"):
        for path, what in ((fifo, "a FIFO"), (Path("/dev/zero"), "a character device")):
            run = wasmrun(command, path)
            assert (run.returncode, run.stderr) == (1, f"error: {path} is not a file ({what})\n")


def verify_json(path: Path) -> dict[str, object]:
    return json.loads(wasmrun("verify", "--json", path).stdout)  # type: ignore[no-any-return]


def wasmrun(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasmrun", *map(str, args)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_usage_errors(cli: Cli, tmp_path: Path) -> None:
    missing = cli("inspect", tmp_path / "nope.wasm")
    assert missing.exit_code == 2 and missing.stderr.startswith("error: no such file")
    directory = cli("inspect", tmp_path)
    assert directory.exit_code == 1 and "is not a file" in directory.stderr


def test_json_shape_is_documented() -> None:
    """Every key ``inspect --json`` and ``verify --json --detailed`` emit appears in the docs."""
    from wasmrun.wasm.verify import verify_bytes

    text = DOC.read_text()
    documented = set(re.findall(r"`([a-z_0-9]+)`", text))
    report = report_of(RICH_WAT)
    keys = set(report)
    for value in report.values():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            keys |= set(value[0])
    for group in ("imports", "exports"):
        for items in report[group].values():  # type: ignore[attr-defined]
            for item in items:
                keys |= set(item)
    keys |= set(report["functions"]) | set(report["conclusion"])  # type: ignore[arg-type]
    component = report_of(COMPONENT_WAT.format(tag=0))["component"]
    keys |= set(component)  # type: ignore[arg-type]
    keys |= set(verify_bytes(wat(HELLO_WAT)).as_dict(detailed=True))
    missing = sorted(keys - documented)
    assert not missing, f"undocumented JSON keys: {missing}"
    assert f"schema_version` is {SCHEMA_VERSION}" in text


_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_JSON = st.recursive(_JSON_SCALARS, lambda children: st.lists(children) | st.dictionaries(st.text(), children),
                     max_leaves=30)


@hypothesis.settings(max_examples=300, derandomize=True, database=None)
@hypothesis.given(report=st.dictionaries(st.text(), _JSON))
def test_report_json_always_reads_back_as_the_report(report: dict[str, object]) -> None:
    """inspect --json's own layout (an entry a line, the C encoder for each) is still exactly the JSON of the report."""
    from wasmrun.wasm.report_json import report_json

    assert json.loads(report_json(report)) == report
