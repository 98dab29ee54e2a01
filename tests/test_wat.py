"""The WAT plugin: pip-only, so these run everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wasmrun.building import compile_project, detect, project_path
from wasmrun.models import GlueKind, Optimization
from wasmrun.plugins import load_plugins
from wasmrun.testing import run_wasm
from wasmrun.wasm.sections import iter_sections


def test_wat_hello_builds_and_prints_hello(example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    result = compile_project(project_path(project), load_plugins(entry_points=False))
    assert result.plugin == "wat"
    assert result.wasm_path == project / "wasmrun-out" / "main.wasm"
    assert result.glue is GlueKind.WASI
    run = run_wasm(result.wasm_path)
    assert run.exit_code == 0
    assert "hello" in run.stdout


def test_debug_build_keeps_names_release_strips_them(make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": '(module (func $answer (export "answer") (result i32) i32.const 42))'})
    plugins = load_plugins(entry_points=False)
    debug = compile_project(project, plugins, optimization=Optimization.DEBUG).wasm_path.read_bytes()
    names_in_debug = [s.name for s in iter_sections(debug) if s.id == 0]
    release = compile_project(project, plugins, optimization=Optimization.RELEASE).wasm_path.read_bytes()
    assert "name" in names_in_debug
    assert "name" not in [s.name for s in iter_sections(release) if s.id == 0]
    assert len(release) < len(debug)


def test_wat_syntax_error_is_a_build_failure_with_the_assembler_message(cli, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"main.wat": "(module (func (export \"f\") (result i32) i32.const))"})
    result = cli("compile", project)
    assert result.exit_code == 1
    assert "wat2wasm failed on main.wat" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_several_modules_without_main_is_refused_clearly(cli, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"a.wat": "(module)", "b.wat": "(module)"})
    result = cli("compile", project)
    assert result.exit_code == 2
    assert "none is main.wat" in result.stderr


def test_detect_wat_project_names_the_files(make_project: Callable[..., Path]) -> None:
    project = make_project({"src/main.wat": "(module)"})
    detection = detect(project, load_plugins(entry_points=False))
    assert detection.chosen == "wat"
    assert detection.claims[0][1].evidence == ["src/main.wat"]
