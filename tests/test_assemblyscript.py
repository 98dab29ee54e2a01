"""AssemblyScript built with the real asc (from npm) and executed under wasmtime (and node, for the
ESM bindings of libraries).

The examples carry no node_modules: one ``npm ci --prefer-offline`` per test session installs the
packages (from the npm cache that scripts/toolchains/assemblyscript.sh fills), and each test links
that node_modules into its copy of the project.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from tests.conftest import CliResult
from wasmrun.building import compile_project, detect
from wasmrun.errors import BuildError, MissingToolchainError, UsageError
from wasmrun.languages import assemblyscript as asc_plugin
from wasmrun.models import GlueKind, Optimization
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool, run_wasm

pytestmark = pytest.mark.slow

Example = Callable[[str], Path]
MakeProject = Callable[..., Path]


def _plugins() -> Plugins:
    return load_plugins(entry_points=False)


@pytest.fixture
def node_modules(asc_node_modules: Path) -> Path:
    return asc_node_modules


def link_modules(project: Path, modules: Path) -> Path:
    (project / "node_modules").symlink_to(modules, target_is_directory=True)
    return project


@pytest.fixture
def asc_example(example: Example, node_modules: Path) -> Example:
    """An example copied to tmp_path, with the session's node_modules linked in."""
    return lambda name: link_modules(example(name), node_modules)


def _call_export(wasm: Path, name: str, *args: int) -> object:
    """Instantiate a library with an ``env.abort`` stub and call one export."""
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(wasm))
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    abort_type = wasmtime.FuncType([wasmtime.ValType.i32()] * 4, [])
    linker.define_func("env", "abort", abort_type, lambda *_: None)
    instance = linker.instantiate(store, module)
    func = instance.exports(store)[name]
    assert isinstance(func, wasmtime.Func)
    return func(store, *args)


# -- detection ------------------------------------------------------------------------------------

DEV_DEP = {"devDependencies": {"assemblyscript": "^0.28.0"}}


@pytest.mark.parametrize(("files", "expected"), [
    ({"asconfig.json": "{}", "assembly/index.ts": ""}, "assemblyscript"),
    ({"package.json": json.dumps(DEV_DEP), "assembly/index.ts": ""}, "assemblyscript"),
    ({"package.json": json.dumps({"dependencies": {"assemblyscript": "0.28.0"}})}, "assemblyscript"),
    # Other package.json projects are not AssemblyScript, whatever .ts files they hold.
    ({"package.json": json.dumps({"devDependencies": {"typescript": "^5"}}), "src/index.ts": ""}, None),
    ({"package.json": "{not json", "index.ts": ""}, None),
    # A package.json next to another language's manifest is that project's tooling.
    ({"package.json": json.dumps(DEV_DEP), "go.mod": "module x\n", "main.c": "int main(){}"}, None),
    # asconfig.json is AssemblyScript's own: it wins over a C file, and C declines it.
    ({"asconfig.json": "{}", "assembly/index.ts": "", "helper.c": "int f(void){return 1;}"}, "assemblyscript"),
], ids=["asconfig", "dev-dependency", "dependency", "other-node-project", "broken-package-json",
        "go-module-tooling", "asconfig-beats-c"])
def test_detection(make_project: MakeProject, files: dict[str, str], expected: str | None) -> None:
    project = make_project(files)
    chosen = detect(project, _plugins()).chosen
    if expected is None:
        assert chosen != "assemblyscript"
    else:
        assert chosen == expected


def test_plugin_is_builtin_with_its_alias() -> None:
    plugins = _plugins()
    assert plugins.get("asc").name == "assemblyscript"
    info = plugins.info("assemblyscript")
    assert info.builtin and ".ts" in info.extensions


# -- building -------------------------------------------------------------------------------------

def test_hello_builds_with_its_asbuild_script_and_runs(asc_example: Example) -> None:
    project = asc_example("asc-hello")
    result = compile_project(project, _plugins())
    assert result.glue is GlueKind.WASI
    assert result.toolchain.startswith("npm run asbuild:release (asc 0.")
    assert result.wasm_path == project / "wasmrun-out" / "release.wasm"
    run = run_wasm(result.wasm_path, ["a b", "c"])
    assert run.exit_code == 0
    assert run.stdout == "hello from AssemblyScript\narg 1: a b\narg 2: c\n"
    # The script wrote where the project's asconfig says; that copy stays, untouched.
    own = project / "build" / "release.wasm"
    assert own.read_bytes() == result.wasm_path.read_bytes()


def test_debug_level_runs_the_debug_script(asc_example: Example) -> None:
    project = asc_example("asc-hello")
    result = compile_project(project, _plugins(), optimization=Optimization.DEBUG)
    assert result.wasm_path.name == "debug.wasm"
    assert result.commands[-1][-1] == "asbuild:debug"
    assert run_wasm(result.wasm_path).stdout.startswith("hello from AssemblyScript")


def test_direct_asc_levels_differ_and_never_write_into_the_project(asc_example: Example) -> None:
    project = asc_example("asc-hello")
    plugins = _plugins()
    sizes = {}
    for level in Optimization:
        result = compile_project(project, plugins, optimization=level, toolchain_name="asc",
                                 output_dir=project / f"out-{level.value}")
        assert result.toolchain.startswith("asc 0.")
        assert "--target" in result.commands[-1]
        assert run_wasm(result.wasm_path).stdout.startswith("hello from AssemblyScript")
        sizes[level] = result.wasm_path.stat().st_size
    assert sizes[Optimization.SIZE] < sizes[Optimization.RELEASE] < sizes[Optimization.DEBUG], sizes
    assert not (project / "build").exists()


def test_library_gets_esm_bindings_that_work(asc_example: Example) -> None:
    project = asc_example("asc-lib")
    result = compile_project(project, _plugins())
    assert result.glue is GlueKind.ASSEMBLYSCRIPT
    assert result.js_path is not None and result.js_path.name == "release.js"
    assert {p.name for p in result.additional_files} == {"release.d.ts"}
    assert _call_export(result.wasm_path, "add", 2, 40) == 42
    require_tool("node")
    script = f"const m = await import({json.dumps(result.js_path.as_uri())}); console.log(m.add(20, 22));"
    proc = subprocess.run(["node", "--input-type=module", "-e", script],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "42"


def test_wasi_shim_dependency_without_extends_still_builds_a_command(make_project: MakeProject,
                                                                     node_modules: Path) -> None:
    package = {"devDependencies": {"assemblyscript": "^0.28.0", "@assemblyscript/wasi-shim": "^0.1.0"}}
    project = link_modules(make_project({
        "package.json": json.dumps(package),
        "assembly/index.ts": 'console.log("hello through the shim");\n',
    }), node_modules)
    result = compile_project(project, _plugins())
    assert result.glue is GlueKind.WASI
    assert "--exportStart" in result.commands[-1]
    assert run_wasm(result.wasm_path).stdout == "hello through the shim\n"


def test_build_script_output_found_from_its_out_file(make_project: MakeProject, node_modules: Path) -> None:
    package = {"scripts": {"build": "asc assembly/index.ts --outFile dist/thing.wasm --bindings esm -O3"},
               "devDependencies": {"assemblyscript": "^0.28.0"}}
    project = link_modules(make_project({
        "package.json": json.dumps(package),
        "assembly/index.ts": "export function twice(x: i32): i32 { return x * 2; }\n",
        "dist/old.wasm": "not a module",
    }), node_modules)
    result = compile_project(project, _plugins())
    assert result.wasm_path.name == "thing.wasm"
    assert result.js_path is not None and result.js_path.name == "thing.js"
    assert _call_export(result.wasm_path, "twice", 21) == 42
    assert (project / "dist" / "old.wasm").read_text() == "not a module"


def test_compile_error_shows_ascs_own_message(cli: Callable[..., CliResult], asc_example: Example) -> None:
    project = asc_example("asc-lib")
    (project / "assembly" / "index.ts").write_text("export function f(): i32 { return undefinedName; }\n")
    result = cli("compile", project, "--toolchain", "asc")
    assert result.exit_code == 1
    assert "undefinedName" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: asc failed")
    assert "Traceback" not in result.stderr


# -- node_modules ---------------------------------------------------------------------------------

def test_missing_node_modules_is_one_clear_line(cli: Callable[..., CliResult], example: Example) -> None:
    require_tool("node")
    project = example("asc-hello")
    result = cli("compile", project)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "node_modules is missing: run `npm install`" in lines[0]
    assert "WASMRUN_NPM_INSTALL=1" in lines[0]
    assert not (project / "node_modules").exists()


def test_missing_node_modules_from_the_build_hook(example: Example) -> None:
    require_tool("node")
    project = example("asc-lib")
    plugins = _plugins()
    from wasmrun.models import BuildConfig

    with pytest.raises(MissingToolchainError, match="node_modules is missing"):
        plugins.call("assemblyscript", "build",
                     config=BuildConfig(project_dir=project, output_dir=project / "out"))


def test_npm_install_when_asked(example: Example, node_modules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WASMRUN_NPM_INSTALL=1: wasmrun runs `npm ci` itself (from the cache warmed by the session)."""
    project = example("asc-hello")
    monkeypatch.setenv(asc_plugin.INSTALL_ENV, "1")
    result = compile_project(project, _plugins())
    assert [Path(c[0]).name for c in result.commands][:1] == ["npm"]
    assert result.commands[0][1] == "ci"
    assert (project / "node_modules" / "assemblyscript").is_dir()
    assert run_wasm(result.wasm_path).stdout.startswith("hello from AssemblyScript")


def test_npm_install_failure_is_a_build_error_not_a_stack_trace(make_project: MakeProject,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("npm")
    project = make_project({"package.json": json.dumps({"devDependencies": {"assemblyscript": "^^bad version"}}),
                            "assembly/index.ts": ""})
    monkeypatch.setenv(asc_plugin.INSTALL_ENV, "1")
    with pytest.raises(BuildError) as info:
        compile_project(project, _plugins())
    assert info.value.message.startswith("npm install failed")
    assert "EINVALIDTAGNAME" in info.value.output  # npm's own words, shown above the error line


def test_missing_node_names_it_and_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  example: Example) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(MissingToolchainError) as info:
        compile_project(example("asc-hello"), _plugins())
    assert info.value.message.startswith("node is needed to build assemblyscript")
    assert "apt-get install nodejs npm" in info.value.message


def test_unknown_toolchain_and_web_target_are_usage_errors(asc_example: Example) -> None:
    from wasmrun.models import Target

    project = asc_example("asc-lib")
    with pytest.raises(UsageError, match="choose asc or npm"):
        compile_project(project, _plugins(), toolchain_name="clang")
    with pytest.raises(UsageError, match="--target wasm"):
        compile_project(project, _plugins(), target=Target.WEB)
    with pytest.raises(UsageError, match="no asbuild or build script"):
        compile_project(project, _plugins(), toolchain_name="npm")


def test_source_files_include_configs_and_the_installed_compiler(asc_example: Example) -> None:
    project = asc_example("asc-hello")
    (project / "build").mkdir()
    (project / "build" / "release.d.ts").write_text("")
    files = {p.relative_to(project).as_posix() for p in asc_plugin.source_files(project)}
    assert {"assembly/index.ts", "asconfig.json", "package.json", "package-lock.json",
            "node_modules/assemblyscript/package.json",
            "node_modules/@assemblyscript/wasi-shim/package.json"} <= files
    assert "build/release.d.ts" not in files  # an output, not a source
    assert not any(f.startswith("node_modules/assemblyscript/std") for f in files)
