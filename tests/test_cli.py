"""The command line as a user meets it: output, JSON shapes, exit codes, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from wasmrun import __version__, hookimpl
from wasmrun.models import BuildConfig, BuildResult, Claim, PluginInfo
from wasmrun.plugins import load_plugins

Cli = Callable[..., CliResult]
MakeProject = Callable[..., Path]


def test_version_lists_the_plugins(cli: Cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"wasmrun {__version__}")
    assert f"  wat {__version__} (built-in)" in lines
    assert f"  c {__version__} (built-in)" in lines


def test_python_dash_m_and_console_script_agree() -> None:
    proc = subprocess.run([sys.executable, "-m", "wasmrun", "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"wasmrun {__version__}")


def test_compile_json_is_the_build_result(cli: Cli, example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    result = cli("compile", project, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["wasm_path"] == str(project / "wasmrun-out" / "main.wasm")
    assert data["plugin"] == "wat"
    assert data["glue"] == "wasi"
    assert set(data) == {"wasm_path", "js_path", "html_path", "additional_files", "glue", "plugin", "toolchain",
                         "commands", "duration_s", "cached", "optimized_by", "post_process", "componentized_by"}


def test_detect_text_and_json(cli: Cli, make_project: MakeProject) -> None:
    project = make_project({"main.wat": "(module)", "src/x.c": ""})
    text = cli("detect", project)
    assert text.exit_code == 0
    assert text.stdout.splitlines() == ["-> c: src/x.c", "   wat: main.wat"]
    data = json.loads(cli("detect", project, "--json").stdout)
    assert data["plugin"] == "c"
    assert [c["plugin"] for c in data["candidates"]] == ["c", "wat"]
    assert data["candidates"][1]["evidence"] == ["main.wat"]


@pytest.mark.parametrize(("args", "message"), [
    (["compile", "/no/such/dir"], "error: no such file or directory: /no/such/dir"),
    (["compile", "--optimization", "fast", "."],
     "error: --optimization must be one of debug, release, size, not 'fast'"),
    (["compile", "--target", "native", "."], "error: --target must be one of wasm, web, component, not 'native'"),
    (["compile", "--language", "cobol", "."], "error: unknown language plugin 'cobol' (available: {builtins})"),
    (["detect", "/no/such/dir"], "error: no such file or directory: /no/such/dir"),
    (["plugin", "info", "cobol"], "error: unknown language plugin 'cobol' (available: {builtins})"),
    (["exec", "/no/such/file.wasm"], "error: no such file or directory: /no/such/file.wasm"),
])
def test_bad_usage_is_one_line_and_exit_2(cli: Cli, args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    builtins = ", ".join(sorted(r.name for r in load_plugins(entry_points=False).loaded()))
    assert result.stderr.strip() == message.format(builtins=builtins)


def test_a_file_is_not_a_project(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "main.c").write_text("")
    result = cli("compile", tmp_path / "main.c")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: not a project directory: {tmp_path / 'main.c'}"


def test_no_plugin_claims_the_project(cli: Cli, make_project: MakeProject) -> None:
    project = make_project({"notes.txt": "hi"})
    result = cli("compile", project)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: no language plugin claims {project} (looked for ")
    assert cli("detect", project).exit_code == 2


def test_bad_config_file_is_named_and_exit_2(cli: Cli, isolated_home: Path, make_project: MakeProject) -> None:
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[plugins]\ndisabled = 'wat'\n")
    result = cli("compile", make_project({"main.wat": "(module)"}))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: config file {config}: plugins.disabled: Input should be a valid list"
    config.write_text("[plugins\n")
    result = cli("plugin", "list")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: config file {config} is not valid TOML:")


def test_config_disables_a_builtin(cli: Cli, isolated_home: Path, make_project: MakeProject) -> None:
    from wasmrun.config import Config, PluginsConfig, load_config, save_config

    save_config(Config(plugins=PluginsConfig(disabled=["wat"])))
    assert load_config().plugins.disabled == ["wat"]
    listed = {row["name"]: row for row in json.loads(cli("plugin", "list", "--json").stdout)}
    assert listed["wat"]["enabled"] is False and listed["wat"]["state"] == "disabled"
    assert cli("compile", make_project({"main.wat": "(module)"})).exit_code == 2


def test_plugin_list_and_info(cli: Cli) -> None:
    rows = json.loads(cli("plugin", "list", "--json").stdout)
    builtins = [(r["name"], r["state"]) for r in rows if r["builtin"]]
    assert builtins[:2] == [("wat", "loaded"), ("c", "loaded")]
    assert all(r["state"] == "disabled" for r in rows if not r["builtin"])  # WASMRUN_LOAD_PLUGINS=""
    web = json.loads(cli("plugin", "list", "--json", "--capability", "web").stdout)
    assert "c" in [r["name"] for r in web] and "wat" not in [r["name"] for r in web]
    info = json.loads(cli("plugin", "info", "c", "--json").stdout)
    assert info["name"] == "c" and "web" in info["capabilities"] and ".cpp" in info["extensions"]
    assert cli("plugin", "list", "--capability", "teleport").exit_code == 2


class EntryPoint:
    """An entry point as importlib.metadata gives it, loading ``loader()``."""

    def __init__(self, name: str, loader: Callable[[], object]) -> None:
        self.name, self.value, self.dist, self._loader = name, f"wasmrun_{name}:plugin", None, loader

    def load(self) -> object:
        return self._loader()


@pytest.fixture
def external(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make the environment's entry points these (and load them all)."""

    def install(*eps: EntryPoint) -> None:
        monkeypatch.setattr("wasmrun.plugins.external_entry_points", lambda: list(eps))
        monkeypatch.delenv("WASMRUN_LOAD_PLUGINS", raising=False)

    return install


class Exploding:
    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(name="exploding", version="0.1")

    @hookimpl
    def can_handle_project(self, project_dir: Path) -> Claim | None:
        raise ZeroDivisionError("division by zero")

    @hookimpl
    def build(self, config: BuildConfig) -> BuildResult | None:
        return None  # never chosen: its claim raises


def test_plugin_failing_in_its_claim_is_one_warning_and_the_others_build(
        cli: Cli, external: Callable[..., None], make_project: MakeProject) -> None:
    external(EntryPoint("exploding", Exploding))
    project = make_project({"main.wat": "(module)"})
    result = cli("compile", project)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: plugin 'exploding' failed in can_handle_project: ZeroDivisionError: division by zero; skipped"]
    detected = cli("detect", project, "--json")
    assert detected.exit_code == 0 and json.loads(detected.stdout)["plugin"] == "wat"
    assert cli("detect", make_project({"notes.txt": ""}, name="other")).exit_code == 2


def test_plugin_health_asks_the_claim(cli: Cli, external: Callable[..., None]) -> None:
    external(EntryPoint("exploding", Exploding))
    result = cli("plugin", "health", "exploding")
    assert result.exit_code == 1
    assert result.stdout.strip() == ("exploding        Broken: plugin 'exploding' failed in can_handle_project: "
                                     "ZeroDivisionError: division by zero")
    assert json.loads(cli("plugin", "health", "wat", "--json").stdout)[0]["status"] == "Healthy"


def _exits_at_import() -> object:
    sys.exit(7)


def test_a_plugin_calling_sys_exit_at_import_is_named_everywhere_and_can_be_disabled(
        cli: Cli, external: Callable[..., None], make_project: MakeProject) -> None:
    external(EntryPoint("exits", _exits_at_import))
    project = make_project({"main.wat": "(module)"})
    compiled = cli("compile", project)
    assert compiled.exit_code == 0, compiled.stderr
    assert compiled.stderr.splitlines() == [
        "warning: plugin 'exits' failed to load, so it was not asked: cannot import wasmrun_exits:plugin: "
        "SystemExit: 7"]
    listed = {r["name"]: r for r in json.loads(cli("plugin", "list", "--json").stdout)}
    assert listed["exits"]["state"] == "error"
    doctor = cli("doctor", "--no-probe")
    assert doctor.exit_code == 0
    assert "exits (wasmrun_exits:plugin): FAILED TO LOAD" in doctor.stdout.splitlines()
    assert "    error: cannot import wasmrun_exits:plugin: SystemExit: 7" in doctor.stdout.splitlines()
    doctor_json = [r for r in json.loads(cli("doctor", "--no-probe", "--json").stdout) if r["plugin"] == "exits"]
    assert doctor_json == [{"plugin": "exits", "target": None, "ready": False, "tools": [],
                            "error": "failed to load: cannot import wasmrun_exits:plugin: SystemExit: 7"}]
    # --version imports no plugin: it says what the last command that loaded plugins found.
    version = cli("--version").stdout.splitlines()
    assert ("  exits ? (wasmrun_exits:plugin) [failed to load when last used: "
            "cannot import wasmrun_exits:plugin: SystemExit: 7]") in version
    disabled = cli("plugin", "disable", "exits")
    assert (disabled.exit_code, disabled.stdout.strip()) == (0, "exits disabled")
    assert cli("compile", project).stderr == ""
    assert not any("failed to load" in line for line in cli("--version").stdout.splitlines())


def test_version_marks_an_installed_plugin_that_failed_to_load(cli: Cli, isolated_home: Path,
                                                               external: Callable[..., None]) -> None:
    from wasmrun.config import Config, InstalledPlugin, PluginsConfig, save_config

    def broken() -> object:
        raise ImportError("No module named 'gone'")

    save_config(Config(plugins=PluginsConfig(installed={"wasmrun-gone": InstalledPlugin(
        distribution="wasmrun-gone", version="1.0", source="wasmrun-gone", installed_at="now",
        path=str(isolated_home), entry_points=["gone"])})))
    assert "  gone 1.0 (wasmrun-gone, installed)" in cli("--version").stdout.splitlines()
    external(EntryPoint("gone", broken))
    assert cli("plugin", "list").exit_code == 0
    version = cli("--version").stdout.splitlines()
    assert ("  gone 1.0 (wasmrun-gone, installed) [failed to load when last used: "
            "cannot import wasmrun_gone:plugin: ImportError: No module named 'gone']") in version


def test_clean_deletes_only_what_wasmrun_built(cli: Cli, example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    out = project / "wasmrun-out"
    out.mkdir()
    mine = out / "notes.txt"
    mine.write_text("the user's own file")
    assert cli("compile", project).exit_code == 0
    assert (out / "main.wasm").is_file()
    result = cli("clean", project)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["removed 1 file(s)", "kept wasmrun-out/notes.txt: not made by wasmrun"]
    assert not (out / "main.wasm").exists()
    assert mine.read_text() == "the user's own file"
    assert (project / "main.wat").is_file()
    assert cli("clean", project).stdout.splitlines() == [
        "nothing to clean", "kept wasmrun-out/notes.txt: not made by wasmrun"]


def test_build_never_overwrites_a_file_it_did_not_make(cli: Cli, example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    out = project / "wasmrun-out"
    out.mkdir()
    (out / "main.wasm").write_bytes(b"precious")
    result = cli("compile", project)
    assert result.exit_code == 2
    assert "already exists and was not built by wasmrun" in result.stderr
    assert (out / "main.wasm").read_bytes() == b"precious"
    # A file wasmrun built is replaced on the next build.
    (out / "main.wasm").unlink()
    assert cli("compile", project).exit_code == 0
    assert cli("compile", project).exit_code == 0


def test_exec_project_builds_then_runs(tmp_path: Path, example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    proc = subprocess.run([sys.executable, "-m", "wasmrun", "exec", str(project)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello from WebAssembly text\n"


def test_ctrl_c_during_a_build_exits_130_without_traceback(make_project: MakeProject) -> None:
    project = make_project({"Makefile": "wasm:\n\tsleep 30\n", "main.c": ""})
    proc = subprocess.Popen([sys.executable, "-m", "wasmrun", "compile", str(project), "-v"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    line = ""
    while "make" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "interrupted"
    assert not list((project / "wasmrun-out").glob(".staging-*"))


@pytest.mark.parametrize("args", [("plugin", "disable", "wat\n[plugins]"), ("plugin", "enable", "a\nb"),
                                  ("plugin", "uninstall", "a\nb"), ("plugin", "info", "a\nb"),
                                  ("compile", "--language", "a\nb", "{project}")])
def test_a_plugin_name_with_a_newline_is_still_one_error_line(cli: Cli, isolated_home: Path, make_project: MakeProject,
                                                              args: tuple[str, ...]) -> None:
    project = make_project({"main.wat": "(module)"})
    result = cli(*(arg.format(project=project) for arg in args))
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "\\n" in result.stderr
    assert not (isolated_home / "config" / "config.toml").exists()


def test_a_plugin_printing_while_it_imports_leaves_json_output_valid(cli: Cli, external: Callable[..., None]) -> None:
    class Chatty(Exploding):
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            print("hello from plugin_info")
            return PluginInfo(name="chatty", version="0.1")

    def chatty() -> object:
        print("hello from a plugin's import")
        return Chatty()

    external(EntryPoint("chatty", chatty))
    result = cli("plugin", "list", "--json")
    assert result.exit_code == 0
    assert "chatty" in {row["name"] for row in json.loads(result.stdout)}
    assert result.stderr.splitlines() == ["hello from a plugin's import", "hello from plugin_info"]
