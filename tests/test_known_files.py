"""A module file ``exec`` ran before is recalled from its ``stat`` (not read or hashed again), and
any change to it, an entry that is not what wasmrun wrote, or a changed artifact falls back to
reading the file: what runs is always what the file holds now."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.wasm_samples import wat
from wasmrun.wasm import compile_cache, known_files
from wasmrun.wasm.runner import RunRequest, run_module


def exiting(code: int) -> bytes:
    """A WASI command that exits with ``code`` (0 to 9: the same size whatever the code)."""
    return wat(f"""(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const {code}))))""")


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files just written count as settled (else an entry waits for a change time 2 s old)."""
    monkeypatch.setattr(known_files, "SETTLED_S", 0.0)


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "index" / "files").glob("*.json"))


def test_a_file_run_before_is_not_read_again(tmp_path: Path, settled: None, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "three.wasm"
    path.write_bytes(exiting(3))
    request = RunRequest(path, cache_dir=tmp_path / "cache")
    first = run_module(request)
    assert (first.exit_code, first.from_cache) == (3, False)
    assert len(entries(tmp_path / "cache")) == 1

    def no_reading(_: Path) -> bytes:
        raise AssertionError("the module file was read again")

    monkeypatch.setattr("wasmrun.wasm.reader.read_file", no_reading)
    again = run_module(request)
    assert (again.exit_code, again.from_cache) == (3, True)


def test_a_changed_file_is_read_again_even_with_its_size_and_times_put_back(tmp_path: Path, settled: None) -> None:
    path = tmp_path / "m.wasm"
    path.write_bytes(exiting(3))
    request = RunRequest(path, cache_dir=tmp_path / "cache")
    assert run_module(request).exit_code == 3
    before = os.stat(path)
    path.write_bytes(exiting(4))  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old times: only ctime moved
    assert os.stat(path).st_size == before.st_size
    assert run_module(request).exit_code == 4
    assert run_module(request).exit_code == 4


def test_a_file_changed_just_now_is_not_remembered(tmp_path: Path) -> None:
    """A file changed within the clock's resolution of being read could keep its change time:
    no entry is written for a file younger than ``SETTLED_S``."""
    path = tmp_path / "m.wasm"
    path.write_bytes(exiting(5))
    cache = tmp_path / "cache"
    assert run_module(RunRequest(path, cache_dir=cache)).exit_code == 5
    assert entries(cache) == []
    # an --invoke run is never recalled either (its plan depends on the call)
    assert run_module(RunRequest(path, cache_dir=cache, invoke="_start")).exit_code == 5
    assert entries(cache) == []


@pytest.mark.parametrize("text", [
    "", "{", "[]", "null", '"x"', '{"format": 1}',
    '{"format": 1, "path": "PATH", "identity": "IDENTITY", "sha256": 7, "facts": {}}',
    '{"format": 1, "path": "PATH", "identity": "IDENTITY", "sha256": "00", "facts": []}',
    '{"format": 1, "path": "PATH", "identity": "IDENTITY", "sha256": "00", "facts": {"nonsense": 1}}',
    '{"format": 1, "path": "PATH", "identity": "IDENTITY", "sha256": "SHA", "facts": {"run_interfaces": []}}',
    '{"format": 1, "path": "PATH", "identity": "IDENTITY", "sha256": "00", "facts": {"run_interfaces": null}}',
    '{"format": 2, "path": "PATH", "identity": "IDENTITY", "sha256": "SHA", "facts": FACTS}',
    '{"format": 1, "path": "/elsewhere", "identity": "IDENTITY", "sha256": "SHA", "facts": FACTS}',
])
def test_an_entry_wasmrun_did_not_write_falls_back_to_reading(tmp_path: Path, settled: None, text: str) -> None:
    path = tmp_path / "m.wasm"
    path.write_bytes(exiting(6))
    cache = tmp_path / "cache"
    request = RunRequest(path, cache_dir=cache)
    assert run_module(request).exit_code == 6
    [entry] = entries(cache)
    real = json.loads(entry.read_text())
    entry.write_text(text.replace('"PATH"', json.dumps(str(path))).replace('"IDENTITY"', json.dumps(real["identity"]))
                     .replace('"SHA"', json.dumps(real["sha256"])).replace("FACTS", json.dumps(real["facts"])))
    assert run_module(request).exit_code == 6  # a wrong plan (a component's run of a core module) is not used
    assert run_module(request).exit_code == 6


def test_a_changed_artifact_of_a_recalled_file_is_never_run(tmp_path: Path, settled: None) -> None:
    cache = tmp_path / "cache"
    one, two = tmp_path / "one.wasm", tmp_path / "two.wasm"
    one.write_bytes(exiting(1))
    two.write_bytes(exiting(2))
    assert run_module(RunRequest(one, cache_dir=cache)).exit_code == 1
    assert run_module(RunRequest(two, cache_dir=cache)).exit_code == 2
    settings = {"consume_fuel": False, "epoch_interruption": True, "component": False}
    artifact_one = cache / (compile_cache.cache_key(one.read_bytes(), settings) + ".cwasm")
    artifact_two = cache / (compile_cache.cache_key(two.read_bytes(), settings) + ".cwasm")
    artifact_one.write_bytes(artifact_two.read_bytes())  # one's entry now holds two's machine code
    again = run_module(RunRequest(one, cache_dir=cache))
    assert (again.exit_code, again.from_cache) == (1, False)  # discarded and compiled again
    assert run_module(RunRequest(one, cache_dir=cache)).from_cache
