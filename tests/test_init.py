"""``wasmrun init``: every built-in language's templates build with the real toolchains and run;
init never overwrites and never writes outside its directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from tests.conftest import CliResult, prepared_node_modules
from tests.test_assemblyscript import link_modules
from wasmrun import hookimpl
from wasmrun.building import compile_project, detect
from wasmrun.cli.init_commands import init_project
from wasmrun.errors import NoPluginError, PluginError, UsageError
from wasmrun.languages import c as c_plugin
from wasmrun.models import BuildConfig, BuildResult, Claim, GlueKind, PluginInfo
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool, run_wasm

Cli = Callable[..., CliResult]


def _plugins() -> Plugins:
    return load_plugins(entry_points=False)


def _require(language: str, tmp_path_factory: pytest.TempPathFactory, project: Path) -> None:
    """Make the toolchain for ``language`` available to ``project`` (or skip/fail per CI rules)."""
    if language == "c":
        require_tool("clang or zig", found=c_plugin._zig_command() is not None or
                     c_plugin._find_clang() is not None)
    elif language == "assemblyscript":
        link_modules(project, prepared_node_modules(tmp_path_factory))


def _call(wasm: Path, name: str, *args: int) -> object:
    """Call a library export; WASI and AssemblyScript's env.abort are provided, unused."""
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(wasm))
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    linker.allow_shadowing = True
    linker.define_wasi()
    store.set_wasi(wasmtime.WasiConfig())
    linker.define_func("env", "abort", wasmtime.FuncType([wasmtime.ValType.i32()] * 4, []), lambda *_: None)
    instance = linker.instantiate(store, module)
    exports = instance.exports(store)
    if "_initialize" in exports:
        exports["_initialize"](store)  # type: ignore[operator]
    func = exports[name]
    assert isinstance(func, wasmtime.Func)
    return func(store, *args)


BUILTIN_LANGUAGES = ["wat", "c", "assemblyscript"]


def test_every_builtin_language_offers_both_templates() -> None:
    plugins = _plugins()
    for record in plugins.loaded():
        for flavour in ("command", "library"):
            template = plugins.call(record.name, "project_template", flavour=flavour)
            assert isinstance(template, dict) and template, f"{record.name} has no {flavour} template"


@pytest.mark.slow
@pytest.mark.parametrize("language", BUILTIN_LANGUAGES)
def test_command_template_builds_and_prints_hello(language: str, tmp_path: Path,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    project = tmp_path / "hello"
    result = init_project(_plugins(), language, project)
    assert result.files and all((project / rel).is_file() for rel in result.files)
    _require(language, tmp_path_factory, project)
    assert detect(project, _plugins()).chosen == language
    built = compile_project(project, _plugins())
    assert built.glue is GlueKind.WASI
    run = run_wasm(built.wasm_path)
    assert run.exit_code == 0
    assert "hello" in run.stdout.splitlines()[0]


@pytest.mark.slow
@pytest.mark.parametrize("language", BUILTIN_LANGUAGES)
def test_library_template_builds_and_exports_add(language: str, tmp_path: Path,
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    project = tmp_path / "lib"
    init_project(_plugins(), language, project, flavour="library")
    _require(language, tmp_path_factory, project)
    assert detect(project, _plugins()).chosen == language
    built = compile_project(project, _plugins())
    assert _call(built.wasm_path, "add", 2, 40) == 42


# -- the command line -----------------------------------------------------------------------------

def test_cli_writes_the_template_and_prints_next_steps(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "my project"
    result = cli("init", "wat", target)
    assert result.exit_code == 0, result.stderr
    assert (target / "main.wat").is_file()
    assert f"created {target} from the wat command template:" in result.stdout
    assert f"wasmrun exec '{target}'" in result.stdout


def test_cli_accepts_language_option_and_flavour(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", tmp_path / "lib", "--language", "c", "--flavour", "library", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["plugin"] == "c" and data["flavour"] == "library" and data["files"] == ["lib.c"]


def test_alias_and_npm_step_for_assemblyscript(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", "asc", tmp_path / "a")
    assert result.exit_code == 0, result.stderr
    assert "from the assemblyscript command template" in result.stdout
    assert "npm install" in result.stdout
    assert not (tmp_path / "a" / "node_modules").exists()


def test_refuses_to_overwrite_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "assembly").mkdir()
    (tmp_path / "assembly" / "index.ts").write_text("// mine\n")
    result = cli("init", "assemblyscript", tmp_path)
    assert result.exit_code == 2
    assert "already has assembly/index.ts: nothing was written" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "assembly" / "index.ts").read_text() == "// mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assembly"]


def test_writes_beside_unrelated_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep\n")
    init_project(_plugins(), "c", tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep\n"
    assert (tmp_path / "main.c").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (("init", "cobol"), "unknown language plugin 'cobol'"),
    (("init",), "which language?"),
    (("init", "a", "b", "-l", "c"), "too many arguments"),
    (("init", "c", "a", "b"), "unexpected extra argument"),
    (("init", "c", "--flavour", "applet"), "--flavour must be one of command, library"),
])
def test_bad_input_is_one_line_exit_2(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      args: tuple[str, ...], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is not a directory"):
        init_project(_plugins(), "wat", tmp_path / "f")


def test_symlink_leading_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    (project / "assembly").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UsageError, match="leads outside"):
        init_project(_plugins(), "assemblyscript", project)
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in project.iterdir()) == ["assembly"]


class _TemplatePlugin:
    """A plugin whose templates are whatever the test sets."""

    def __init__(self, template: object) -> None:
        self.template = template

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(name="tmpl", version="1")

    @hookimpl
    def can_handle_project(self, project_dir: Path) -> Claim | None:
        return None

    @hookimpl
    def build(self, config: BuildConfig) -> BuildResult | None:
        return None  # never chosen: it claims nothing

    @hookimpl
    def project_template(self, flavour: str) -> object:
        return self.template if flavour == "command" else None


@pytest.mark.parametrize("bad_path", ["../escape.txt", "/tmp/absolute.txt", "a/../../b.txt", "", "~/x"])
def test_template_paths_outside_the_directory_are_refused(tmp_path: Path, bad_path: str) -> None:
    plugins = _plugins()
    plugins.register(_TemplatePlugin({"ok.txt": "fine", bad_path: "evil"}), "tmpl")
    project = tmp_path / "deep" / "project"
    with pytest.raises(PluginError, match="tmpl"):
        init_project(plugins, "tmpl", project)
    assert not (tmp_path / "escape.txt").exists() and not project.exists()


def test_bad_template_values_and_missing_flavour(tmp_path: Path) -> None:
    plugins = _plugins()
    plugins.register(_TemplatePlugin({"main.txt": b"bytes"}), "tmpl")
    with pytest.raises(PluginError, match="not text"):
        init_project(plugins, "tmpl", tmp_path / "p")
    with pytest.raises(UsageError, match="offers no library template \\(try --flavour command\\)"):
        init_project(plugins, "tmpl", tmp_path / "p", flavour="library")
    with pytest.raises(NoPluginError):
        init_project(plugins, "nope", tmp_path / "p")
    assert not (tmp_path / "p").exists()
