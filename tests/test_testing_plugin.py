"""wasmrun.testing, the pytest plugin for plugin authors: its fixtures, run in pytest sessions of
their own (pytester), the conformance check on a good and a bad plugin, the documentation's
example tests, and the cost of importing it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
DOCS_PLUGINS = REPO / "docs" / "plugins"


def plugin_args() -> list[str]:
    """``-p wasmrun.testing`` unless the installed wasmrun already registers it (``pytest11``)."""
    installed = any(ep.value == "wasmrun.testing" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "wasmrun.testing"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In a subprocess: an in-process run drops the modules it imported when it ends, and a test
    # after it then imports wasmrun afresh beside objects that still hold the old classes (a
    # plugin's BuildError was no longer a WasmrunError), so test order changed the results.
    return pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider",
                                         "-W", "ignore::pytest.PytestAssertRewriteWarning", *args)


# -- importing it is cheap -----------------------------------------------------------------------

HEAVY = ("pytest", "_pytest", "pluggy", "pydantic", "pydantic_core", "wasmtime", "typer", "click", "rich",
         "packaging", "platformdirs", "wasmrun.models", "wasmrun.plugins", "wasmrun._testing_fixtures")


def test_import_is_cheap_and_does_nothing(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import wasmrun.testing"],
                          capture_output=True, text=True, check=True, cwd=tmp_path)
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "wasmrun.testing" in imported
    heavy = sorted(name for name in imported if name.split(".")[0] in HEAVY or name in HEAVY)
    assert heavy == [], f"`import wasmrun.testing` imports {heavy}"
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_existing_helpers_keep_their_names() -> None:
    from wasmrun import testing

    for name in ("run_wasm", "require_tool", "UNINSTALLABLE_TOOLS", "WasmRun", "toolchains_required"):
        assert hasattr(testing, name)


# -- the fixtures, in pytest runs of their own ---------------------------------------------------

FIXTURES = ("wasmrun_home", "wasmrun_plugins", "wasmrun_project", "wasmrun_cli", "run_wasm", "run_headless",
            "wasmrun_conformance")


def test_fixtures_are_listed_with_their_documentation(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--fixtures", "-v")
    text = result.stdout.str()
    for name in FIXTURES:
        assert f"\n{name} " in text or f"\n{name}\n" in text, f"pytest --fixtures does not list {name}"
    assert "wasmrun_cli(\"compile\"" in text  # the docstrings' examples are shown


def test_home_project_and_plugins(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(textwrap.dedent('''
        import os
        from pathlib import Path

        import wasmrun.building
        import wasmrun.languages.wat


        def test_home(wasmrun_home):
            assert os.environ["WASMRUN_HOME"] == str(wasmrun_home)
            assert os.environ["WASMRUN_LOAD_PLUGINS"] == ""
            assert list(wasmrun_home.iterdir()) == []


        def test_project_from_a_dict(wasmrun_project, tmp_path):
            project = wasmrun_project({"main.wat": "(module)", "src/data.bin": b"\\x00\\x01"}, name="p")
            assert project == tmp_path / "p"
            assert (project / "main.wat").read_text() == "(module)"
            assert (project / "src" / "data.bin").read_bytes() == b"\\x00\\x01"


        def test_project_copied_without_outputs(wasmrun_project, tmp_path):
            source = tmp_path / "source"
            (source / "wasmrun-out").mkdir(parents=True)
            (source / "wasmrun-out" / "old.wasm").write_bytes(b"")
            (source / "main.wat").write_text("(module)")
            copy = wasmrun_project(source, name="copy")
            assert sorted(p.name for p in copy.iterdir()) == ["main.wat"]


        def test_plugins_hold_the_builtins_and_the_plugin(wasmrun_plugins):
            class Extra:
                pass

            plugins = wasmrun_plugins(wasmrun.languages.wat)  # a built-in module under test: once, not twice
            assert plugins.records["wat"].error is None
            assert "c" in plugins.records
            assert wasmrun.building.default_plugins() is plugins


        def test_a_plugin_that_does_not_load_fails_with_the_reason(wasmrun_plugins):
            import pytest

            class NoInfo:
                pass

            with pytest.raises(AssertionError, match="plugin 'broken' did not load: missing required hook"):
                wasmrun_plugins(NoInfo(), name="broken")
            plugins = wasmrun_plugins(NoInfo(), name="broken", check=False)
            assert "missing required hook" in plugins.records["broken"].error


        def test_an_unknown_installed_plugin_is_named(wasmrun_plugins):
            import pytest

            with pytest.raises(AssertionError, match="no installed plugin 'no-such-plugin'"):
                wasmrun_plugins("no-such-plugin")
    '''))
    run(pytester).assert_outcomes(passed=6)


def test_cli_runs_in_process_with_the_tests_plugins(pytester: pytest.Pytester) -> None:
    shutil.copy(DOCS_PLUGINS / "example_plugin.py", pytester.path / "example_plugin.py")
    pytester.makepyfile(textwrap.dedent('''
        import json

        import example_plugin


        def test_builtins_only_by_default(wasmrun_cli, wasmrun_project):
            result = wasmrun_cli("detect", wasmrun_project({"greeting.txt": "hi"}))
            assert result.exit_code == 2
            assert "no language plugin claims" in result.stderr


        def test_sees_the_plugins_of_the_test(wasmrun_plugins, wasmrun_cli, wasmrun_project):
            wasmrun_plugins(example_plugin)
            listed = json.loads(wasmrun_cli("plugin", "list", "--json").stdout)
            assert "greeting" in [row["name"] for row in listed]
            ran = wasmrun_cli("exec", wasmrun_project({"greeting.txt": "hi\\n"}))
            assert (ran.exit_code, ran.stdout) == (0, "hi\\n")


        def test_usage_errors_are_exit_codes(wasmrun_cli):
            result = wasmrun_cli("compile", "/no/such/dir")
            assert result.exit_code == 2
            assert result.stderr.startswith("error: ")
    '''))
    run(pytester).assert_outcomes(passed=3)


# A WASI command echoing stdin to stdout, exiting with 10 * argc + the number of environment variables.
ECHO_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 1024))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $args (i32.const 16) (i32.const 20)))
    (drop (call $environ (i32.const 24) (i32.const 28)))
    (call $exit (i32.add (i32.mul (i32.load (i32.const 16)) (i32.const 10)) (i32.load (i32.const 24))))))
"""


def test_run_wasm_fixture_passes_args_env_and_stdin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(textwrap.dedent(f'''
        from wasmrun.building import compile_project

        ECHO = {ECHO_WAT!r}


        def test_run(wasmrun_plugins, wasmrun_project, run_wasm):
            result = compile_project(wasmrun_project({{"main.wat": ECHO}}), wasmrun_plugins())
            ran = run_wasm(result.wasm_path, ["a", "b"], env={{"ONE": "1"}}, stdin="echo me")
            assert (ran.exit_code, ran.stdout, ran.stderr) == (31, "echo me", "")
    '''))
    run(pytester).assert_outcomes(passed=1)


# -- the conformance check -----------------------------------------------------------------------

def test_conformance_passes_on_the_builtin_wat_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(textwrap.dedent('''
        import wasmrun.languages.wat


        def test_wat(wasmrun_conformance, tmp_path):
            report = wasmrun_conformance(wasmrun.languages.wat, expect_stdout="hello from WebAssembly text\\n")
            assert report.name == "wat"
            assert "clean restores the project" in report.passed
            assert report.build is not None and report.build.wasm_path.is_relative_to(tmp_path)
    '''))
    run(pytester).assert_outcomes(passed=1)


BAD_PLUGIN = '''
from pathlib import Path

import wasmrun
from wasmrun.models import BuildResult, Capability, Claim, PluginInfo


@wasmrun.hookimpl
def plugin_info():
    return PluginInfo(name="sloppy", version="0.1.0", description="claims everything",
                      extensions=[".txt"], capabilities=[Capability.WASM])


@wasmrun.hookimpl
def can_handle_project(project_dir):
    return Claim(evidence=["(anything)"])


@wasmrun.hookimpl
def build(config):
    (config.project_dir / "obj").mkdir(exist_ok=True)
    (config.project_dir / "obj" / "main.o").write_bytes(b"")
    wasm = config.output_dir / "out.wasm"
    wasm.write_bytes(b"\\0asm\\1\\0\\0\\0\\1\\7")  # a type section that ends too soon
    return BuildResult(wasm_path=wasm)
'''


def test_conformance_fails_on_a_bad_plugin_with_every_problem_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(sloppy=BAD_PLUGIN)
    pytester.makepyfile(test_sloppy=textwrap.dedent('''
        import sloppy


        def test_conformance(wasmrun_conformance):
            wasmrun_conformance(sloppy, example_project={"hello.txt": "hi"})
    '''))
    result = run(pytester)
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    for line in [
        "E       wasmrun.testing.ConformanceError: plugin 'sloppy' does not conform (10 problems):",
        "E         - claims an empty project (evidence: ['(anything)'])",
        "E         - claims a Rust crate (Cargo.toml, src/main.rs), which is not its language (evidence: ['(any",
        "E         - claims a WebAssembly text project (main.wat), which is not its language",
        "E         - the built module is not valid WebAssembly: ",
        "out.wasm: invalid (structure): section 1 claims 7 bytes but only 0 remain (at byte offset 8)",
        "E         - clean after a build leaves the project changed:\nE             left behind: obj\n"
        "E             left behind: obj/main.o\n",
    ]:
        assert line in text
    assert "check_plugin(" not in text  # the check's own frames are hidden: the test line, then the problems


def test_conformance_names_misspelt_and_unmarked_hooks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(typo=textwrap.dedent('''
        import wasmrun
        from wasmrun.models import PluginInfo


        @wasmrun.hookimpl
        def plugin_info():
            return PluginInfo(name="typo", version="1.0")


        @wasmrun.hookimpl
        def can_handle_project(project_dir, config):
            return None


        @wasmrun.hookimpl
        def biuld(config):
            return None


        def clean(project_dir, output_dir):
            return []
    '''))
    pytester.makepyfile(test_typo="import typo\n\ndef test_it(wasmrun_conformance):\n    wasmrun_conformance(typo)\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    assert ("plugin 'typo' does not conform (4 problems):\n"
            "E         - hookimpl 'biuld' matches no wasmrun hook (did you mean 'build'?)\n"
            "E         - hookimpl 'can_handle_project' takes config, which the hook does not pass "
            "(it passes: project_dir)\n"
            "E         - 'clean' is named like a hook but not marked @wasmrun.hookimpl\n"
            "E         - missing required hook 'build'\n") in result.stdout.str()


def test_conformance_reports_incomplete_info_and_a_foreign_claim(tmp_path: Path) -> None:
    import wasmrun
    from wasmrun.models import Claim, PluginInfo
    from wasmrun.testing import ConformanceError, check_plugin

    class CargoEater:
        @wasmrun.hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="eater", version="not a version")

        @wasmrun.hookimpl
        def can_handle_project(self, project_dir: Path) -> Claim | None:
            return Claim(evidence=["Cargo.toml"]) if (project_dir / "Cargo.toml").exists() else None

        @wasmrun.hookimpl
        def build(self, config: object) -> None:
            return None

    with pytest.raises(ConformanceError) as caught:
        check_plugin(CargoEater(), workdir=tmp_path)
    assert caught.value.problems[:4] == [
        "plugin_info().version 'not a version' is not a version (PEP 440)",
        "plugin_info().description is empty",
        "plugin_info() lists no extensions and no entry_files (which files matter to a build?)",
        "plugin_info().capabilities is empty (say what it builds: wasm, wasi, library, web, "
        "optimization-levels, debug-info, component)",
    ]
    assert caught.value.problems[4].startswith("claims a Rust crate (Cargo.toml, src/main.rs)")
    assert caught.value.problems[5].startswith("no example project")


def test_conformance_skips_the_build_when_the_toolchain_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(needs_tool=textwrap.dedent('''
        import wasmrun
        from wasmrun.models import Capability, Claim, PluginInfo, ToolStatus


        @wasmrun.hookimpl
        def plugin_info():
            return PluginInfo(name="needs-tool", version="1.0", description="d", extensions=[".nt"],
                              capabilities=[Capability.WASM])


        @wasmrun.hookimpl
        def can_handle_project(project_dir):
            return Claim(evidence=["main.nt"]) if (project_dir / "main.nt").exists() else None


        @wasmrun.hookimpl
        def check_dependencies(target, probe):
            return [ToolStatus(name="no-such-compiler", found=False, install_hint="apt-get install it")]


        @wasmrun.hookimpl
        def build(config):
            raise AssertionError("never called without its compiler")
    '''))
    pytester.makepyfile(test_needs_tool=textwrap.dedent('''
        import needs_tool


        def test_it(wasmrun_conformance):
            wasmrun_conformance(needs_tool, example_project={"main.nt": ""})
    '''))
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("WASMRUN_REQUIRE_TOOLCHAINS", raising=False)  # a laptop: the missing tool skips
        run(pytester, "-rs").assert_outcomes(skipped=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WASMRUN_REQUIRE_TOOLCHAINS", "1")
        failed = run(pytester)
    failed.assert_outcomes(failed=1)
    failed.stdout.fnmatch_lines(["*no-such-compiler is required (WASMRUN_REQUIRE_TOOLCHAINS=1)*"])


# -- the documentation's example tests run ---------------------------------------------------------

def test_documented_example_tests_pass(pytester: pytest.Pytester) -> None:
    for name in ("example_plugin.py", "test_example_plugin.py"):
        shutil.copy(DOCS_PLUGINS / name, pytester.path / name)
    result = run(pytester, "-v")
    result.assert_outcomes(passed=5)


def test_testing_md_includes_the_example_tests() -> None:
    text = (REPO / "docs" / "plugins" / "testing.md").read_text(encoding="utf-8")
    source = (DOCS_PLUGINS / "test_example_plugin.py").read_text(encoding="utf-8")
    sections = {line.split("[start:")[1].rstrip("]") for line in source.splitlines() if "--8<-- [start:" in line}
    assert sections
    for section in sections:
        assert f"<!-- code: plugins/test_example_plugin.py:{section} " in text, f"testing.md does not show {section}"


def test_documented_command_plugin_registers_conforms_and_builds(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/plugins/command.md's example: registered as the page says, it keeps the contract and builds."""
    from wasmrun.command_plugin import CommandPlugin
    from wasmrun.config import load_config
    from wasmrun.plugin_store import install_command
    from wasmrun.testing import check_plugin, invoke_cli, write_project

    for name in ("greet-command.py", "greet-command.toml"):
        shutil.copy(DOCS_PLUGINS / name, tmp_path / name)
    exe = tmp_path / "greet-command.py"
    exe.chmod(0o755)
    assert install_command(str(exe)) == "greet"  # name, extensions, subcommands from greet-command.toml
    spec = load_config().plugins.commands["greet"]
    assert spec.subcommands == ["compile", "can-handle", "check-deps", "clean"]

    check_plugin(CommandPlugin("greet", spec), example_project={"hello.greet": "hi\n"}, expect_stdout="hi\n",
                 workdir=tmp_path / "check")

    monkeypatch.setenv("WASMRUN_LOAD_PLUGINS", "greet")
    project = write_project(tmp_path / "hi", {"hello.greet": "hello from a command plugin\n"})
    assert invoke_cli("detect", project).stdout == "-> greet: hello.greet\n"
    ran = invoke_cli("exec", project)
    assert (ran.exit_code, ran.stdout) == (0, "hello from a command plugin\n"), ran.stderr
    (project / "hello.greet").write_text("")
    failed = invoke_cli("compile", project)
    assert failed.exit_code == 1
    assert "hello.greet is empty: write the greeting in it" in failed.stderr
