"""``wasmrun verify``: valid or not, why, where, and exit codes a script can rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bounded import BoundedReader, assert_bounded
from tests.conftest import CliResult
from tests.test_wasm_reader import fuzz_corpus
from tests.wasm_samples import (
    COMPONENT_WAT,
    HELLO_WAT,
    LIBRARY_WAT,
    MALFORMED,
    PREAMBLE,
    RICH_WAT,
    TABLES_WAT,
    custom,
    section,
    wat,
)
from wasmrun.testing import require_tool
from wasmrun.wasm.verify import verify_bytes

Cli = Callable[..., CliResult]
INVALID_WAT = '(module (func (export "f") (result i32) (i64.const 1)))'


def write(tmp_path: Path, data: bytes, filename: str = "m.wasm") -> Path:
    path = tmp_path / filename
    path.write_bytes(data)
    return path


def test_valid_module(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, wat(HELLO_WAT))
    result = cli("verify", path)
    assert result.exit_code == 0
    assert result.stdout == f"{path}: valid WebAssembly module\n"
    assert result.stderr == ""


def test_invalid_module_gives_reason_and_offset(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, wat(INVALID_WAT))
    result = cli("verify", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (f"error: {path}: invalid (validation): type mismatch: expected i32, found i64 "
                             "(at byte offset 33)\n")
    assert wat(INVALID_WAT)[33] == 0x0B  # the `end` where the i64 is left for an i32 result


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_bad_input_one_line_with_offset_exit_1(cli: Cli, tmp_path: Path, case: str) -> None:
    data, message, offset = MALFORMED[case]
    result = cli("verify", write(tmp_path, data))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and message in lines[0]
    assert lines[0].endswith(f"(at byte offset {offset})")


def test_usage_errors(cli: Cli, tmp_path: Path) -> None:
    missing = cli("verify", tmp_path / "missing.wasm")
    assert missing.exit_code == 2
    assert missing.stderr == f"error: no such file: {tmp_path / 'missing.wasm'}\n"
    not_a_file = cli("verify", tmp_path)
    assert not_a_file.exit_code == 1
    assert not_a_file.stderr == f"error: {tmp_path} is not a file (a directory)\n"
    no_arg = cli("verify")
    assert no_arg.exit_code == 2


def test_detailed_adds_sections_and_summary(cli: Cli, tmp_path: Path) -> None:
    result = cli("verify", "--detailed", write(tmp_path, wat(RICH_WAT)))
    assert result.exit_code == 0
    assert "Sections:" in result.stdout and "datacount" in result.stdout
    assert "  start: 3" in result.stdout and "  functions: 4" in result.stdout


def test_json(cli: Cli, tmp_path: Path) -> None:
    good = json.loads(cli("verify", "--json", write(tmp_path, wat(HELLO_WAT))).stdout)
    assert good["valid"] is True and good["stage"] == "valid" and good["kind"] == "module"
    assert good["error"] is None and good["offset"] is None and good["validator"].startswith("wasmtime ")
    assert "sections" not in good
    bad = cli("verify", "--json", "--detailed", write(tmp_path, wat(INVALID_WAT), "bad.wasm"))
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert (report["valid"], report["stage"], report["offset"]) == (False, "validation", 33)
    assert report["error"] == "type mismatch: expected i32, found i64"
    assert [s["name"] for s in report["sections"]] == ["type", "function", "export", "code"]
    assert report["summary"]["functions"] == 1
    truncated = json.loads(cli("verify", "--json", write(tmp_path, MALFORMED["section-past-end"][0])).stdout)
    assert (truncated["stage"], truncated["offset"]) == ("structure", 8)
    preamble = json.loads(cli("verify", "--json", write(tmp_path, b"\x00asm\x02\x00\x00\x00")).stdout)
    assert (preamble["stage"], preamble["kind"], preamble["offset"]) == ("preamble", None, 4)


def test_structure_then_validation_stages() -> None:
    # the memory maximum below its minimum reads fine, and fails validation
    result = verify_bytes(PREAMBLE + section(5, b"\x01\x01\x02\x01"))
    assert (result.valid, result.stage) == (False, "validation")
    assert "size minimum must not be greater than maximum" in (result.error or "")
    # an active data segment for a memory that does not exist
    result = verify_bytes(PREAMBLE + section(11, b"\x01\x00\x41\x00\x0b\x02hi"))
    assert (result.valid, result.stage) == (False, "validation")
    assert result.offset is not None


def test_malformed_custom_section_is_a_warning(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, wat(LIBRARY_WAT) + custom("producers", b"\x05\xff"))
    result = cli("verify", path)
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: 'producers' custom section: ")


def test_components_are_validated(cli: Cli, tmp_path: Path) -> None:
    result = cli("verify", write(tmp_path, wat(COMPONENT_WAT.format(tag=0))))
    assert result.exit_code == 0 and "valid WebAssembly component" in result.stdout


def test_verify_from_a_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "WASMRUN_LOAD_PLUGINS": ""}
    good = write(tmp_path, wat(HELLO_WAT), "good.wasm")
    run = subprocess.run([sys.executable, "-m", "wasmrun", "verify", str(good)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert (run.returncode, run.stdout, run.stderr) == (0, f"{good}: valid WebAssembly module\n", "")
    bad = write(tmp_path, b"\x00asm\x01\x00\x00\x00\x01\x10\x01\x60", "bad.wasm")
    run = subprocess.run([sys.executable, "-m", "wasmrun", "verify", str(bad)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert run.returncode == 1
    assert run.stderr == (f"error: {bad}: invalid (structure): section 1 claims 16 bytes but only 2 remain "
                          "(at byte offset 8)\n")
    assert "Traceback" not in run.stderr
    missing = subprocess.run([sys.executable, "-m", "wasmrun", "verify", str(tmp_path / "nope.wasm")],
                             capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 2


@pytest.mark.parametrize("source", [HELLO_WAT, RICH_WAT, TABLES_WAT, LIBRARY_WAT, INVALID_WAT,
                                    '(module (func (result i32) (i32.add (i32.const 1))))',
                                    '(module (memory 1) (func (drop (i32.load (f32.const 0)))))'])
def test_agrees_with_wasm_validate(source: str, tmp_path: Path) -> None:
    require_tool("wasm-validate")
    path = write(tmp_path, wat(source))
    ours = verify_bytes(path.read_bytes()).valid
    theirs = subprocess.run(["wasm-validate", "--enable-all", str(path)], capture_output=True).returncode == 0
    assert ours == theirs


def test_agrees_with_wasm_validate_on_malformed_files(tmp_path: Path) -> None:
    require_tool("wasm-validate")
    for case, (data, _, _) in MALFORMED.items():
        path = write(tmp_path, data, f"{case}.wasm")
        theirs = subprocess.run(["wasm-validate", str(path)], capture_output=True).returncode
        assert theirs != 0, f"wasm-validate accepted {case}"
        assert not verify_bytes(data).valid


def test_fuzz_verify_never_raises_and_stays_bounded() -> None:
    reader = BoundedReader()  # verify_bytes in a child, under a memory and a time ceiling
    try:
        valid = 0
        for data in fuzz_corpus(count=300, seed=7):
            reading = reader.read(data)
            assert_bounded(reading, data)
            result = verify_bytes(data)
            assert result.valid or (result.error and "\n" not in result.error)
            valid += result.valid
        assert valid > 10
    finally:
        reader.close()


def test_the_direct_validator_agrees_with_wasmtime_py_on_hostile_modules() -> None:
    """``verify`` and ``inspect`` call wasmtime's C validator through ctypes (no wasmtime-py
    import); its verdict, reason and offset must be wasmtime-py's on every module of the fuzz
    corpus (mutated valid modules, truncations, malformed sections) and on arbitrary bytes."""
    import random

    import wasmtime

    from wasmrun.wasm.validate import _native, wasmtime_error_detail

    native = _native()
    assert native is not None, "wasmtime's C library was not found beside wasmtime-py"
    engine = wasmtime.Engine()
    rng = random.Random(20261201)
    samples = fuzz_corpus(count=300)  # components too: both ask wasmtime_module_validate
    samples += [b"\0asm\1\0\0\0" + rng.randbytes(rng.randrange(40)) for _ in range(100)] + [b"", b"\0asm"]
    for data in samples:
        try:
            wasmtime.Module.validate(engine, data)
            expected = None
        except wasmtime.WasmtimeError as exc:
            expected = wasmtime_error_detail(exc)
        assert native.validate(data) == expected, data.hex()
