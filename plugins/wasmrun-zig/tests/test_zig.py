"""wasmrun-zig, loaded from its entry point, building with the real zig and run under wasmtime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime
from typer.testing import CliRunner
from wasmrun.building import compile_project, detect, doctor
from wasmrun.cli.app import app
from wasmrun.cli.init_commands import init_project
from wasmrun.errors import MissingToolchainError, UsageError
from wasmrun.models import GlueKind, Optimization
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool, run_wasm

import wasmrun_zig

Example = Callable[[str], Path]
MakeProject = Callable[..., Path]

BUILD_ZIG = """\
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const exe = b.addExecutable(.{
        .name = "project",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/main.zig"),
            .target = target,
            .optimize = optimize,
        }),
    });
    b.installArtifact(exe);
}
"""



def zig_command(commands: list[list[str]]) -> list[str]:
    """The zig command among a build's commands (wasm-opt may run after it)."""
    return next(c for c in commands if "ziglang" in c or Path(c[0]).name == "zig")

def _plugins() -> Plugins:
    return load_plugins()


def require_zig() -> None:
    require_tool("zig", found=wasmrun_zig.zig_command() is not None)


def _call_without_imports(wasm: Path, name: str, *args: int) -> object:
    """Instantiate with no imports at all (a freestanding library needs none) and call an export."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module.from_file(engine, str(wasm))
    assert list(module.imports) == []
    func = wasmtime.Instance(store, module, []).exports(store)[name]
    assert isinstance(func, wasmtime.Func)
    return func(store, *args)


def test_loads_from_its_entry_point() -> None:
    plugins = _plugins()
    record = plugins.get("zig")
    assert record.source == "wasmrun-zig" and not record.builtin
    assert record.version == wasmrun_zig.__version__
    assert ".zig" in plugins.info("zig").extensions


@pytest.mark.parametrize(("files", "claimed"), [
    ({"build.zig": "", "src/main.zig": ""}, True),
    ({"src/main.zig": ""}, True),
    ({"main.zig": ""}, True),
    ({"src/root.zig": ""}, True),
    ({"main.zig": "", "Cargo.toml": "[package]\n"}, False),  # a Rust crate with a zig helper is Rust
    ({"main.c": "int main(void){return 0;}"}, False),
    ({"README.md": "zig"}, False),
], ids=["build.zig", "src-main", "root-main", "library", "rust-crate", "c-project", "nothing"])
def test_detection(make_project: MakeProject, files: dict[str, str], claimed: bool) -> None:
    project = make_project(files)
    assert (detect(project, _plugins()).chosen == "zig") is claimed
    assert (wasmrun_zig.can_handle_project(project) is not None) is claimed


@pytest.mark.slow
def test_hello_example_builds_and_runs(example: Example) -> None:
    require_zig()
    result = compile_project(example("zig-hello"), _plugins())
    assert result.plugin == "zig" and result.glue is GlueKind.WASI
    assert result.toolchain.startswith("zig 0.")
    run = run_wasm(result.wasm_path, ["a b", "c"])
    assert run.exit_code == 0
    assert run.stdout == "hello from Zig\narg 1: a b\narg 2: c\n"


@pytest.mark.slow
def test_optimization_levels_give_different_code(example: Example) -> None:
    require_zig()
    project = example("zig-hello")
    plugins = _plugins()
    sizes = {}
    for level in Optimization:
        result = compile_project(project, plugins, optimization=level, output_dir=project / f"out-{level.value}")
        assert wasmrun_zig.MODES[level] in zig_command(result.commands)
        assert run_wasm(result.wasm_path).stdout.startswith("hello from Zig")
        sizes[level] = result.wasm_path.stat().st_size
    assert sizes[Optimization.SIZE] < sizes[Optimization.RELEASE] < sizes[Optimization.DEBUG], sizes


@pytest.mark.slow
def test_library_example_exports_add_and_imports_nothing(example: Example) -> None:
    require_zig()
    result = compile_project(example("zig-lib"), _plugins())
    assert result.glue is GlueKind.NONE
    assert _call_without_imports(result.wasm_path, "add", 2, 40) == 42


@pytest.mark.slow
def test_build_zig_is_honoured_and_leaves_the_project_clean(make_project: MakeProject) -> None:
    require_zig()
    project = make_project({"build.zig": BUILD_ZIG, "src/main.zig": wasmrun_zig.COMMAND_SOURCE})
    result = compile_project(project, _plugins(), optimization=Optimization.SIZE)
    command = zig_command(result.commands)
    assert command[command.index("build"):][:2] == ["build", "install"]
    assert "-Dtarget=wasm32-wasi" in command and "-Doptimize=ReleaseSmall" in command
    assert result.wasm_path.name == "project.wasm"
    assert run_wasm(result.wasm_path).stdout.startswith("hello from Zig")
    assert sorted(p.name for p in project.iterdir()) == ["build.zig", "src", "wasmrun-out"]
    direct = compile_project(project, _plugins(), toolchain_name="direct", output_dir=project / "direct")
    assert "build-exe" in zig_command(direct.commands)
    assert run_wasm(direct.wasm_path).stdout.startswith("hello from Zig")


@pytest.mark.slow
@pytest.mark.parametrize("flavour", ["command", "library"])
def test_init_templates_build_and_run(tmp_path: Path, flavour: str) -> None:
    require_zig()
    project = tmp_path / "fresh"
    written = init_project(_plugins(), "zig", project, flavour)
    assert written.plugin == "zig"
    result = compile_project(project, _plugins())
    if flavour == "command":
        assert run_wasm(result.wasm_path).stdout == "hello from Zig\n"
    else:
        assert _call_without_imports(result.wasm_path, "add", 20, 22) == 42


@pytest.mark.slow
def test_compile_error_exits_1_with_zigs_own_message(make_project: MakeProject) -> None:
    require_zig()
    project = make_project({"main.zig": "pub fn main() void {\n    undefined_name();\n}\n"})
    result = CliRunner().invoke(app, ["compile", str(project)])
    assert result.exit_code == 1
    assert "undefined_name" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: zig build-exe failed")
    assert "Traceback" not in result.stderr


def test_missing_zig_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, make_project: MakeProject) -> None:
    monkeypatch.setattr(wasmrun_zig, "zig_command", lambda: None)
    project = make_project({"main.zig": wasmrun_zig.COMMAND_SOURCE})
    with pytest.raises(MissingToolchainError) as info:
        compile_project(project, _plugins())
    assert info.value.message.startswith("zig is needed to build zig for --target wasm")
    assert "pip install ziglang" in info.value.message


def test_several_sources_without_an_entry_are_refused(make_project: MakeProject) -> None:
    project = make_project({"a.zig": "", "b.zig": ""})
    with pytest.raises(UsageError, match=r"no entry file among the \.zig sources"):
        compile_project(project, _plugins())


@pytest.mark.slow
def test_doctor_probe_compiles() -> None:
    require_zig()
    report = next(r for r in doctor(_plugins()) if r.plugin == "zig")
    (zig,) = report.tools
    assert zig.probe_ok is True, zig.probe_error
    assert report.ready and zig.version and zig.version.startswith("0.")
