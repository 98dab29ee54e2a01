"""Go modules built with the real go command (GOOS=wasip1 and GOOS=js) and executed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from wasmrun.building import clean_project, compile_project
from wasmrun.errors import BuildError, MissingToolchainError
from wasmrun.models import GlueKind, Optimization, Target
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool, run_wasm

import wasmrun_go
from wasmrun_go import toolchain as go_tools

pytestmark = pytest.mark.slow

Example = Callable[[str], Path]


def _plugins() -> Plugins:
    plugins = load_plugins(entry_points=False)
    plugins.register(wasmrun_go, "go", source="wasmrun-go", version=wasmrun_go.__version__)
    return plugins


def require_go(minimum: tuple[int, ...] = go_tools.WASI_MIN) -> go_tools.GoToolchain:
    go = go_tools.find(minimum)
    require_tool("go", found=go is not None)
    assert go is not None
    return go


def test_hello_builds_with_go_for_wasip1_and_runs(example: Example) -> None:
    go = require_go()
    project = example("go-hello")
    result = compile_project(project, _plugins(), toolchain_name="go")
    assert result.plugin == "go"
    assert result.glue is GlueKind.WASI
    assert result.wasm_path == project / "wasmrun-out" / "go-hello.wasm"
    assert result.toolchain == f"go {go_tools.show(go.version)} (wasip1/wasm)"
    run = run_wasm(result.wasm_path, ["one", "two words"])
    assert run.exit_code == 0
    assert run.stdout == "hello from Go\narg 1: one\narg 2: two words\n"
    assert sorted(p.name for p in project.iterdir()) == ["go.mod", "main.go", "wasmrun-out"]


def test_tinygo_is_preferred_when_installed(example: Example) -> None:
    require_tool("tinygo", found=go_tools.find_tinygo() is not None)  # on UNINSTALLABLE_TOOLS: skips here
    result = compile_project(example("go-hello"), _plugins())
    assert result.toolchain.startswith("tinygo")
    assert run_wasm(result.wasm_path).stdout.startswith("hello from Go")


def test_without_tinygo_the_default_is_go(example: Example) -> None:
    require_go()
    if go_tools.find_tinygo() is not None:
        pytest.skip("tinygo is installed")
    assert compile_project(example("go-hello"), _plugins()).toolchain.startswith("go ")


def test_toolchain_tinygo_when_missing_says_how_to_get_it(example: Example) -> None:
    if go_tools.find_tinygo() is not None:
        pytest.skip("tinygo is installed")
    with pytest.raises(MissingToolchainError, match="tinygo is needed for --toolchain tinygo") as info:
        compile_project(example("go-hello"), _plugins(), toolchain_name="tinygo")
    assert info.value.hint is not None and "tinygo.org" in info.value.hint


def test_web_build_ships_wasm_exec_js_and_runs_under_node(example: Example, tmp_path: Path) -> None:
    go = require_go(go_tools.JS_MIN)
    project = example("go-hello")
    result = compile_project(project, _plugins(), target=Target.WEB, toolchain_name="go")
    assert result.glue is GlueKind.GO
    assert result.js_path == project / "wasmrun-out" / "wasm_exec.js"
    glue = go.wasm_exec_js()
    assert glue is not None and result.js_path.read_bytes() == glue.read_bytes()
    assert "js/wasm" in result.toolchain
    node = shutil.which("node")
    require_tool("node", found=node is not None)
    assert node is not None
    runner = tmp_path / "run.js"
    runner.write_text(
        'globalThis.require = require; globalThis.fs = require("fs"); globalThis.path = require("path");\n'
        'globalThis.TextEncoder = require("util").TextEncoder; globalThis.TextDecoder = require("util").TextDecoder;\n'
        'globalThis.performance ??= require("perf_hooks").performance; globalThis.crypto ??= require("crypto");\n'
        'require(process.argv[2]);\n'
        'const go = new Go(); go.argv = ["go-hello", "x"]; go.exit = process.exit;\n'
        'WebAssembly.instantiate(fs.readFileSync(process.argv[3]), go.importObject)'
        '.then((r) => go.run(r.instance));\n')
    proc = subprocess.run([node, str(runner), str(result.js_path), str(result.wasm_path)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello from Go\narg 1: x\n"


def test_optimization_levels_visibly_matter(example: Example) -> None:
    require_go()
    project = example("go-hello")
    plugins = _plugins()
    sizes = {}
    for level in (Optimization.DEBUG, Optimization.RELEASE):
        out = project / f"out-{level.value}"
        wasm = compile_project(project, plugins, optimization=level, output_dir=out, toolchain_name="go").wasm_path
        assert run_wasm(wasm).stdout.startswith("hello from Go")
        sizes[level] = wasm.stat().st_size
    assert sizes[Optimization.RELEASE] < sizes[Optimization.DEBUG], sizes


def test_the_build_cache_lives_in_wasmruns_cache(example: Example, isolated_home: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    require_go()
    monkeypatch.delenv("GOCACHE")
    result = compile_project(example("go-hello"), _plugins(), toolchain_name="go")
    assert "GOCACHE=" + str(isolated_home / "cache" / "go-build") in " ".join(
        f"{k}={v}" for k, v in wasmrun_go.compiler.go_env("wasip1").items())
    assert (isolated_home / "cache" / "go-build").is_dir()
    assert result.wasm_path.is_file()


def test_wasmexport_library_needs_go_1_24(make_project: Callable[..., Path]) -> None:
    require_go()
    template = wasmrun_go.project_template("library")
    assert template is not None
    project = make_project(template)
    if go_tools.find(go_tools.WASMEXPORT_MIN) is None:
        with pytest.raises(MissingToolchainError) as info:
            compile_project(project, _plugins(), toolchain_name="go")
        assert "needs Go 1.24 or newer" in info.value.message
        return
    import wasmtime

    wasm = compile_project(project, _plugins(), toolchain_name="go").wasm_path
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    exports = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm))).exports(store)
    exports["_initialize"](store)  # type: ignore[operator]
    assert exports["add"](store, 40, 2) == 42  # type: ignore[operator]


def test_a_go_line_newer_than_every_installed_go_is_explained(make_project: Callable[..., Path]) -> None:
    require_go()
    project = make_project({"go.mod": "module example.com/future\n\ngo 1.99\n",
                            "main.go": "package main\n\nfunc main() {}\n"})
    with pytest.raises(MissingToolchainError, match=r"go.mod's 'go 1.99' needs Go 1.99 or newer"):
        compile_project(project, _plugins(), toolchain_name="go")


def test_a_compile_error_is_a_build_error_with_gos_output(make_project: Callable[..., Path]) -> None:
    require_go()
    project = make_project({"go.mod": "module example.com/bad\n\ngo 1.21\n",
                            "main.go": "package main\n\nfunc main() { var x int = \"no\" }\n"})
    with pytest.raises(BuildError) as info:
        compile_project(project, _plugins(), toolchain_name="go")
    assert "cannot use" in info.value.output


def test_the_command_template_builds_and_runs(make_project: Callable[..., Path]) -> None:
    require_go()
    template = wasmrun_go.project_template("command")
    assert template is not None
    result = compile_project(make_project(template), _plugins(), toolchain_name="go")
    assert run_wasm(result.wasm_path).stdout == "hello from Go\n"


def test_clean_removes_the_outputs_and_nothing_else(example: Example) -> None:
    require_go()
    project = example("go-hello")
    plugins = _plugins()
    result = compile_project(project, plugins, toolchain_name="go")
    assert result.wasm_path in clean_project(project, plugins)
    assert sorted(p.name for p in project.iterdir()) == ["go.mod", "main.go"]
