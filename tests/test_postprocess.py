"""wasm-opt over release and size builds: it runs, keeps the module's features and behaviour,
is skipped by --no-opt and without wasm-opt, and never fails a build."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from tests.conftest import CliResult
from wasmrun.building import compile_project
from wasmrun.models import Optimization
from wasmrun.plugins import load_plugins
from wasmrun.testing import require_tool, run_wasm
from wasmrun.wasm.features import used_features
from wasmrun.wasm.reader import WasmModule

Example = Callable[[str], Path]

#: A WASI command using sign-ext, saturating conversions, bulk memory and multi-value.
FEATURES_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "features ok\n")
  (func $pair (result i32 i32) (i32.const 16) (i32.const 12))
  (func $narrow (param i32) (result i32) (i32.extend8_s (local.get 0)))
  (func (export "_start") (local $p i32) (local $n i32)
    (call $pair) (local.set $n) (local.set $p)
    (memory.copy (i32.const 64) (local.get $p) (local.get $n))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.add (local.get $n) (call $narrow (i32.const 256))))
    (drop (i32.trunc_sat_f32_s (f32.const 1e30)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def _plugins():  # type: ignore[no-untyped-def]
    return load_plugins(entry_points=False)


def _path_without(tool: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH with every directory holding ``tool`` replaced by a copy of its other programs."""
    kept = []
    for index, directory in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if directory and (Path(directory) / tool).exists():
            shadow = tmp_path / f"path-{index}"
            shadow.mkdir()
            for entry in Path(directory).iterdir():
                if entry.name != tool:
                    (shadow / entry.name).symlink_to(entry)
            directory = str(shadow)
        kept.append(directory)
    monkeypatch.setenv("PATH", os.pathsep.join(kept))
    assert shutil.which(tool) is None


def _fake_wasm_opt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    script = bin_dir / "wasm-opt"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["c-hello", "cpp-hello"])
def test_release_build_goes_through_wasm_opt(example: Example, name: str) -> None:
    require_tool("clang")
    require_tool("wasm-opt")
    project = example(name)
    plain = compile_project(project, _plugins(), output_dir=project / "plain", optimize=False)
    optimized = compile_project(project, _plugins(), output_dir=project / "opt")
    assert plain.optimized_by is None
    assert any(Path(cmd[0]).name == "wasm-opt" for cmd in optimized.commands)
    assert not any(Path(cmd[0]).name == "wasm-opt" for cmd in plain.commands)
    assert optimized.wasm_path.stat().st_size <= plain.wasm_path.stat().st_size
    if optimized.optimized_by is not None:  # wasm-opt -O3 may lose to clang; then clang's output stays
        assert optimized.optimized_by.startswith("wasm-opt ") and "-O3" in optimized.optimized_by
    wasmtime.Module.validate(wasmtime.Engine(), optimized.wasm_path.read_bytes())
    assert run_wasm(optimized.wasm_path, ["x"]).stdout == run_wasm(plain.wasm_path, ["x"]).stdout


@pytest.mark.slow
def test_size_build_uses_oz(example: Example) -> None:
    require_tool("clang")
    require_tool("wasm-opt")
    result = compile_project(example("c-hello"), _plugins(), optimization=Optimization.SIZE)
    opt = [cmd for cmd in result.commands if Path(cmd[0]).name == "wasm-opt"]
    assert opt and "-Oz" in opt[0]
    assert result.optimized_by is not None and result.optimized_by.endswith("-Oz")
    assert run_wasm(result.wasm_path).stdout.startswith("hello from C\n")


def test_post_mvp_features_are_enabled_not_all(make_project: Callable[..., Path]) -> None:
    require_tool("wasm-opt")
    project = make_project({"main.wat": FEATURES_WAT})
    plain = compile_project(project, _plugins(), output_dir=project / "plain", optimize=False)
    assert run_wasm(plain.wasm_path).stdout == "features ok\n"
    result = compile_project(project, _plugins())
    command = next(cmd for cmd in result.commands if Path(cmd[0]).name == "wasm-opt")
    enabled = {arg for arg in command if arg.startswith("--enable-")}
    assert enabled == {"--enable-sign-ext", "--enable-nontrapping-float-to-int", "--enable-bulk-memory",
                       "--enable-multivalue"}
    assert "--mvp-features" in command and "-all" not in command
    assert result.optimized_by is not None
    wasmtime.Module.validate(wasmtime.Engine(), result.wasm_path.read_bytes())
    assert run_wasm(result.wasm_path).stdout == "features ok\n"
    assert used_features(WasmModule.from_file(result.wasm_path)).used <= {
        "sign-ext", "nontrapping-float-to-int", "bulk-memory", "multivalue"}


def test_mvp_module_gets_no_features(example: Example) -> None:
    require_tool("wasm-opt")
    result = compile_project(example("wat-hello"), _plugins())
    command = next(cmd for cmd in result.commands if Path(cmd[0]).name == "wasm-opt")
    assert not [arg for arg in command if arg.startswith("--enable-")]
    assert run_wasm(result.wasm_path).stdout == "hello from WebAssembly text\n"


def test_no_opt_and_debug_builds_skip_wasm_opt(example: Example, cli: Callable[..., CliResult]) -> None:
    require_tool("wasm-opt")
    project = example("wat-hello")
    for result in (compile_project(project, _plugins(), optimize=False),
                   compile_project(project, _plugins(), optimization=Optimization.DEBUG)):
        assert result.optimized_by is None
        assert not any(Path(cmd[0]).name == "wasm-opt" for cmd in result.commands)
    out = cli("compile", str(project), "--no-opt", "--no-cache")
    assert out.exit_code == 0 and "optimized with" not in out.stdout
    out = cli("compile", str(project), "--no-cache")
    assert out.exit_code == 0 and "optimized with wasm-opt" in out.stdout


def test_cache_keeps_optimized_and_plain_builds_apart(example: Example) -> None:
    require_tool("wasm-opt")
    project = example("wat-hello")
    time.sleep(0.03)  # files changed in the tick a build starts in are too new to store
    first = compile_project(project, _plugins())
    again = compile_project(project, _plugins())
    assert again.cached and again.optimized_by == first.optimized_by is not None
    plain = compile_project(project, _plugins(), optimize=False)
    assert not plain.cached and plain.optimized_by is None
    assert compile_project(project, _plugins(), optimize=False).cached


def test_without_wasm_opt_builds_work_and_doctor_says_how_to_install(
        example: Example, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        cli: Callable[..., CliResult]) -> None:
    _path_without("wasm-opt", monkeypatch, tmp_path)
    result = compile_project(example("wat-hello"), _plugins())
    assert result.optimized_by is None
    assert run_wasm(result.wasm_path).stdout == "hello from WebAssembly text\n"
    out = cli("doctor", "--no-probe")
    assert "optional wasm-opt: apt-get install binaryen" in out.stdout
    report = cli("doctor", "--no-probe", "--json").stdout
    assert '"plugin": "post-processing"' in report and '"found": false' in report


def test_doctor_reports_wasm_opt(cli: Callable[..., CliResult]) -> None:
    require_tool("wasm-opt")
    out = cli("doctor", "--no-probe")
    assert "post-processing (release and size builds of every language): wasm-opt" in out.stdout
    assert "ok       wasm-opt" in out.stdout


@pytest.mark.parametrize("body", [
    'while [ "$1" != "-o" ]; do shift; done; printf "garbage" > "$2"\n',  # not a module
    'while [ "$1" != "-o" ]; do shift; done; printf "\\0asm\\1\\0\\0\\0\\5\\3" > "$2"\n',  # truncated
    'echo "Fatal: simulated failure" >&2; exit 1\n',
])
def test_bad_wasm_opt_result_keeps_the_original(example: Example, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                body: str) -> None:
    project = example("wat-hello")
    expected = compile_project(project, _plugins(), output_dir=tmp_path / "plain", optimize=False)
    _fake_wasm_opt(tmp_path, monkeypatch, body)
    with caplog.at_level(logging.WARNING, logger="wasmrun.postprocess"):
        result = compile_project(project, _plugins(), use_cache=False)
    assert result.optimized_by is None
    assert result.wasm_path.read_bytes() == expected.wasm_path.read_bytes()
    assert "kept main.wasm as built" in caplog.text
    assert run_wasm(result.wasm_path).stdout == "hello from WebAssembly text\n"
    assert sorted(p.name for p in result.wasm_path.parent.iterdir()) == [".wasmrun-manifest.json", "main.wasm"]


def test_invalid_output_is_rejected(example: Example, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                    caplog: pytest.LogCaptureFixture) -> None:
    """A well-formed but invalid module (a function body that does not type-check) is not kept."""
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(wasmtime.wat2wasm('(module (func (export "f") (result i32) (i64.const 1)))'))
    _fake_wasm_opt(tmp_path, monkeypatch, f'while [ "$1" != "-o" ]; do shift; done; cp {bad} "$2"\n')
    with caplog.at_level(logging.WARNING, logger="wasmrun.postprocess"):
        result = compile_project(example("wat-hello"), _plugins(), use_cache=False)
    assert result.optimized_by is None and "does not validate" in caplog.text
    assert run_wasm(result.wasm_path).stdout == "hello from WebAssembly text\n"
