"""Direct mode: a hit proven from the record's fingerprints alone, and anything the key was
computed from, changed, sends ``compile`` back to the full road."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmrun import direct, toolchain
from wasmrun.building import compile_project
from wasmrun.cache import BuildCache
from wasmrun.plugins import load_plugins


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test a moment ago count as settled; each edit below changes a size,
    so no change hides behind an equal timestamp."""
    monkeypatch.setattr(direct, "RACY_WINDOW_NS", 0)
    monkeypatch.setattr(direct, "_seen_outside", {})  # what other tests' traces saw is not this one's


@pytest.fixture
def project(example: Callable[[str], Path]) -> Path:
    return example("wat-hello")


def options_for(project: Path, **changes: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {"output_dir": None, "optimization": None, "target": None, "language": None,
                                "toolchain": None, "extra_args": [], "debug_info": False, "optimize": True}
    settings.update(changes)
    return direct.invocation(project, **settings)


def built(project: Path) -> dict[str, Any] | None:
    """Build through the full road (writing the record), delete the outputs, then ask direct mode."""
    compile_project(project, load_plugins(entry_points=False))
    shutil.rmtree(project / "wasmrun-out")
    return direct.restore(options_for(project))


def test_a_hit_is_restored_without_plugins(project: Path) -> None:
    result = built(project)
    assert result is not None and result["cached"] is True and result["plugin"] == "wat"
    wasm = Path(result["wasm_path"])
    assert wasm == project / "wasmrun-out" / "main.wasm" and wasm.read_bytes().startswith(b"\0asm")
    assert json.loads((project / "wasmrun-out" / ".wasmrun-manifest.json").read_text())["files"] == ["main.wasm"]


@pytest.mark.parametrize("change", ["edit source", "new source", "project settings", "environment variable",
                                    "config file", "other options"])
def test_any_change_sends_compile_to_the_full_road(project: Path, change: str, monkeypatch: pytest.MonkeyPatch,
                                                   isolated_home: Path) -> None:
    assert built(project) is not None
    shutil.rmtree(project / "wasmrun-out")
    options = options_for(project)
    if change == "edit source":
        with (project / "main.wat").open("a") as handle:
            handle.write(";; edited\n")
    elif change == "new source":
        (project / "extra.wat").write_text("(module)")
    elif change == "project settings":
        (project / "wasmrun.toml").write_text('optimization = "size"\n')
    elif change == "environment variable":
        monkeypatch.setenv("WASMRUN_EXTRA_SETTING", "1")
    elif change == "config file":
        config = isolated_home / "config" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("")
    elif change == "other options":
        options = options_for(project, optimization="size")
    assert direct.restore(options) is None
    assert not (project / "wasmrun-out" / "main.wasm").exists()  # nothing restored on a miss


def test_deleting_the_output_directory_is_not_a_change(project: Path) -> None:
    assert built(project) is not None
    shutil.rmtree(project / "wasmrun-out")
    assert direct.restore(options_for(project)) is not None


def test_a_file_changed_just_before_the_record_is_not_trusted(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(direct, "RACY_WINDOW_NS", 10**12)  # everything here was written "just now"
    assert built(project) is None


def test_a_damaged_entry_is_not_served(project: Path) -> None:
    assert built(project) is not None
    shutil.rmtree(project / "wasmrun-out")
    entries = BuildCache.default().entries_dir
    (wasm,) = entries.glob("*/files/main.wasm")
    wasm.write_bytes(wasm.read_bytes()[:-1] + b"\1")  # same size, different content
    assert direct.restore(options_for(project)) is None
    assert not (project / "wasmrun-out" / "main.wasm").exists()


def test_a_users_file_in_the_way_is_kept(project: Path) -> None:
    assert built(project) is not None
    out = project / "wasmrun-out"
    shutil.rmtree(out)
    out.mkdir()
    (out / "main.wasm").write_text("mine")
    from wasmrun.errors import UsageError

    with pytest.raises(UsageError, match="was not built by wasmrun"):
        direct.restore(options_for(project))
    assert (out / "main.wasm").read_text() == "mine"


def test_the_trace_sees_files_listings_and_programs(tmp_path: Path) -> None:
    program = tmp_path / "bin" / "fake-cc"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\necho 'fake-cc 1.2.3'\n")
    program.chmod(0o755)
    data = tmp_path / "VERSION"
    data.write_text("1.2.3")
    listed = tmp_path / "listed"
    listed.mkdir()
    trace = direct.Trace(tmp_path / "project")
    with trace:
        data.read_text()
        os.listdir(listed)
        assert toolchain.tool_version(str(program)) == "1.2.3"
    (tmp_path / "after").write_text("")
    with open(tmp_path / "after"):  # outside the trace: not seen
        pass
    assert trace.inputs[str(data)] == direct.file_stamp(str(data))
    assert trace.inputs[str(listed)] == direct.listing_stamp(str(listed))
    assert trace.inputs[str(program)][0] == "f"
    assert str(tmp_path / "after") not in trace.inputs


def test_a_tool_changed_in_place_sends_compile_to_the_full_road(project: Path) -> None:
    """The record carries every program the key asked for a version; one rewritten is a change."""
    program = project.parent / "bin" / "fake-tool"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\necho 'fake-tool 1.0'\n")
    program.chmod(0o755)
    compile_project(project, load_plugins(entry_points=False))
    record_file = direct.record_path(BuildCache.default(), options_for(project))
    record = json.loads(record_file.read_text())
    record["inputs"][str(program)] = direct.file_stamp(str(program))  # as if the key had asked it
    record_file.write_text(json.dumps(record))
    shutil.rmtree(project / "wasmrun-out")
    assert direct.restore(options_for(project)) is not None
    program.write_text("#!/bin/sh\necho 'fake-tool 2.0'\n")
    assert direct.restore(options_for(project)) is None


def run_cli(project: Path, *args: str, command: str = "compile") -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """``wasmrun compile`` in a fresh interpreter; also which heavy modules it imported."""
    code = ("import sys\nfrom wasmrun.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
            "heavy = sorted(m for m in ('typer', 'pydantic', 'pluggy') if m in sys.modules)\n"
            "print('MODULES', heavy, file=sys.stderr)\n"
            "sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", code, command, str(project), *args], capture_output=True,
                          text=True, check=False)
    modules = next(line for line in proc.stderr.splitlines() if line.startswith("MODULES"))
    return proc, json.loads(modules.split(" ", 1)[1].replace("'", '"'))


def test_the_cli_answers_a_hit_without_typer_pydantic_or_pluggy(project: Path) -> None:
    time.sleep(2.1)  # the real racy window: the sources must be older than the record
    first, modules = run_cli(project, "--json")
    assert first.returncode == 0 and "pydantic" in modules
    shutil.rmtree(project / "wasmrun-out")
    second, modules = run_cli(project, "--json")
    assert second.returncode == 0, second.stderr
    assert modules == []
    before, after = json.loads(first.stdout), json.loads(second.stdout)
    assert after["cached"] is True and after["commands"] == []
    for same in ("wasm_path", "plugin", "toolchain", "glue", "optimized_by", "additional_files"):
        assert after[same] == before[same]
    assert Path(after["wasm_path"]).read_bytes().startswith(b"\0asm")
    text, modules = run_cli(project)
    assert modules == [] and text.stdout.startswith(f"built {after['wasm_path']} (") and "(cached)" in text.stdout


def test_the_cli_leaves_what_direct_mode_cannot_answer_to_typer(project: Path) -> None:
    time.sleep(2.1)
    run_cli(project)
    with (project / "main.wat").open("a") as handle:
        handle.write(";; changed\n")
    proc, modules = run_cli(project)
    assert proc.returncode == 0 and "(cached)" not in proc.stdout and "pydantic" in modules


def test_a_garbled_record_sends_compile_to_the_full_road(project: Path) -> None:
    time.sleep(2.1)
    run_cli(project)
    (record,) = (BuildCache.default().root / "direct").glob("*.json")
    data = json.loads(record.read_text())
    del data["result"]
    record.write_text(json.dumps(data))
    shutil.rmtree(project / "wasmrun-out")
    proc, modules = run_cli(project)
    assert proc.returncode == 0 and "(cached)" in proc.stdout and "pydantic" in modules
    assert "Traceback" not in proc.stderr


def test_exec_of_a_built_project_runs_it_without_loading_plugins(project: Path) -> None:
    time.sleep(2.1)
    first, modules = run_cli(project, command="exec")
    assert (first.returncode, first.stdout) == (0, "hello from WebAssembly text\n") and "pluggy" in modules
    shutil.rmtree(project / "wasmrun-out")
    second, modules = run_cli(project, command="exec")
    assert (second.returncode, second.stdout) == (0, "hello from WebAssembly text\n")
    assert "pluggy" not in modules and "pydantic" not in modules
