"""The output directory holds one build: what an earlier build wrote and a later one did not is
removed when the later one is placed, unless the user changed it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wasmrun.building import compile_project
from wasmrun.plugins import load_plugins


def test_a_debug_info_builds_wat_does_not_outlive_it(example: Callable[[str], Path]) -> None:
    project = example("python-hello")
    plugins = load_plugins(entry_points=False)
    out = project / "wasmrun-out"
    debug = compile_project(project, plugins, debug_info=True)
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {debug.wasm_path.name,
                                                                            debug.wasm_path.stem + ".wat"}
    plain = compile_project(project, plugins)
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {plain.wasm_path.name}
    again = compile_project(project, plugins, debug_info=True)  # restored from the cache, .wat and all
    assert (out / (again.wasm_path.stem + ".wat")).is_file()


def test_a_leftover_the_user_changed_is_kept(example: Callable[[str], Path]) -> None:
    project = example("python-hello")
    plugins = load_plugins(entry_points=False)
    debug = compile_project(project, plugins, debug_info=True)
    wat = debug.wasm_path.with_suffix(".wat")
    wat.write_text(wat.read_text() + ";; my notes\n")
    compile_project(project, plugins)
    assert wat.read_text().endswith(";; my notes\n")
