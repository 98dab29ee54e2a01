"""The config file: whatever wasmrun writes it reads back, and what it cannot read or write is one
clear line, with nothing of the user's lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CliResult
from wasmrun import plugin_names
from wasmrun.config import (
    CommandPluginConfig,
    Config,
    InstalledPlugin,
    PluginsConfig,
    load_config,
    save_config,
)
from wasmrun.errors import ConfigError, UsageError
from wasmrun.locations import Locations
from wasmrun.plugin_store import InstallError, install_command, uninstall_command
from wasmrun.plugins import BUILTIN_PLUGINS

Cli = Callable[..., CliResult]

NAMES = st.from_regex(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*", fullmatch=True).filter(plugin_names.is_valid)
#: Any text TOML can hold (every Unicode scalar value: hypothesis's text never makes a lone surrogate).
TEXT = st.text(max_size=30)
TEXTS = st.lists(TEXT, max_size=3)

COMMANDS = st.builds(CommandPluginConfig, command=TEXT, version=TEXT, description=TEXT, extensions=TEXTS,
                     entry_files=TEXTS, tools=TEXTS, capabilities=TEXTS, subcommands=TEXTS, installed_at=TEXT)
INSTALLED = st.builds(InstalledPlugin, distribution=TEXT, version=TEXT, source=TEXT, installed_at=TEXT, path=TEXT,
                      entry_points=st.lists(NAMES, max_size=3))
CONFIGS = st.builds(Config, plugins=st.builds(
    PluginsConfig, disabled=st.lists(NAMES, max_size=3),
    # Distributions are keyed by their canonical name, which is a plugin-name-like word too.
    installed=st.dictionaries(NAMES, INSTALLED, max_size=2),
    commands=st.dictionaries(NAMES, COMMANDS, max_size=3)))


#: Names a command plugin cannot take: the built-ins' (and their aliases) and installed entry points'.
TAKEN = {m.rsplit(".", 1)[-1] for m in BUILTIN_PLUGINS} | {"cpp", "c++", "asc", "js", "node", "ts"} | {
    ep.name for ep in entry_points(group="wasmrun")}


def _locations(root: str) -> Locations:
    return Locations.from_environment({"WASMRUN_HOME": root})


@settings(max_examples=200, deadline=None)
@given(config=CONFIGS)
def test_every_config_written_reads_back_the_same(config: Config) -> None:
    with tempfile.TemporaryDirectory() as root:
        where = _locations(root)
        save_config(config, where)
        assert load_config(where) == config


@pytest.fixture(scope="module")
def executable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("bin") / "tool"
    exe.write_text("#!/bin/sh\nexit 1\n")
    exe.chmod(0o755)
    return exe


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(NAMES, st.text(max_size=45)), description=TEXT, extensions=TEXTS)
def test_a_command_plugin_is_refused_or_round_trips(executable: Path, name: str, description: str,
                                                    extensions: list[str]) -> None:
    with tempfile.TemporaryDirectory() as root:
        where = _locations(root)
        options: dict[str, list[str] | str] = {"description": description, "extensions": extensions}
        if not name:
            name = executable.stem  # no name given: the executable's
        if not plugin_names.is_valid(name):
            with pytest.raises(UsageError, match=r"^invalid plugin name "):
                install_command(str(executable), name=name, options=options, locations=where)
            assert not where.config_file.exists()
            return
        if name in TAKEN:
            with pytest.raises(InstallError, match="already"):
                install_command(str(executable), name=name, options=options, locations=where)
            return
        assert install_command(str(executable), name=name, options=options, locations=where) == name
        spec = load_config(where).plugins.commands[name]
        assert (spec.description, spec.extensions) == (description, extensions)
        assert uninstall_command(name, locations=where)
        assert load_config(where).plugins.commands == {}


@pytest.mark.parametrize("name", ["my.tool", "tool\n[plugins]\ndisabled = ['wat']", "My Tool", "tool\""])
def test_install_command_with_a_bad_name_is_one_line_and_writes_nothing(cli: Cli, isolated_home: Path,
                                                                        executable: Path, name: str) -> None:
    result = cli("plugin", "install", "--command", executable, "--name", name)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: invalid plugin name {plugin_names.shown(name)}: use lowercase")
    assert not (isolated_home / "config" / "config.toml").exists()
    assert cli("plugin", "list").exit_code == 0


def test_a_command_plugin_named_by_its_file_is_told_to_use_name(cli: Cli, tmp_path: Path) -> None:
    exe = tmp_path / "my.tool"
    exe.write_text("#!/bin/sh\nexit 1\n")
    exe.chmod(0o755)
    result = cli("plugin", "install", "--command", exe)  # the name would be the stem: 'my'
    assert result.exit_code == 0, result.stderr
    exe = tmp_path / "Tool"
    shutil.copy(tmp_path / "my.tool", exe)
    result = cli("plugin", "install", "--command", exe)
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("(give one with --name)")


def test_a_name_the_old_writer_would_have_broken_now_round_trips(cli: Cli, isolated_home: Path,
                                                                executable: Path) -> None:
    installed = cli("plugin", "install", "--command", executable, "--name", "my-tool", "--extensions", '.x"y')
    assert installed.exit_code == 0, installed.stderr
    assert cli("plugin", "list").exit_code == 0
    assert load_config().plugins.commands["my-tool"].extensions == ['.x"y']
    gone = cli("plugin", "uninstall", "my-tool")
    assert gone.exit_code == 0, gone.stderr


# -- files wasmrun cannot read ------------------------------------------------------------------

COMMANDS_READING_THE_CONFIG = [("plugin", "list"), ("plugin", "disable", "wat"), ("plugin", "uninstall", "x"),
                               ("compile", "{project}"), ("detect", "{project}")]


@pytest.mark.parametrize(("content", "message"), [
    (b'schema_version = 2\n[plugins]\ndisabled = ["w\xe4t"]\n', "is not UTF-8 text (byte 43, line 3)"),
    (b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "is nested too deeply to be read"),
    (b"x = " + b"{a = " * 5_000 + b"1" + b"}" * 5_000 + b"\n", "is nested too deeply to be read"),
])
def test_an_unreadable_config_is_one_line_and_left_alone(cli: Cli, isolated_home: Path,
                                                         make_project: Callable[..., Path], content: bytes,
                                                         message: str) -> None:
    path = isolated_home / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    project = make_project({"main.wat": "(module)"})
    for args in COMMANDS_READING_THE_CONFIG:
        result = cli(*(a.format(project=project) for a in args))
        assert result.exit_code == 2, args
        assert result.stderr == f"error: config file {path} {message}\n", args
    assert path.read_bytes() == content
    version = cli("--version")  # --version never fails on the config
    assert version.exit_code == 0 and version.stdout.startswith("wasmrun ")


def test_a_deep_table_path_is_named_shortly(isolated_home: Path) -> None:
    path = isolated_home / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[plugins." + ".".join(["a"] * 50_000) + "]\n")
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert caught.value.message.startswith(f"config file {path}: plugins.a")
    assert len(caught.value.message) < len(str(path)) + 300


# -- files wasmrun cannot write -----------------------------------------------------------------

def _run_in_read_only(home: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``wasmrun ARGS`` with ``home`` (its WASMRUN_HOME) read-only: by its permissions for a user,
    by a read-only bind mount, in a mount namespace of its own, for root (whom permissions do not
    stop)."""
    env = {**os.environ, "WASMRUN_HOME": str(home)}
    command = [sys.executable, "-m", "wasmrun", *args]
    if os.geteuid() != 0:
        for directory in [home, *[p for p in home.rglob("*") if p.is_dir()]]:
            directory.chmod(0o555)
        try:
            return subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        finally:
            for directory in [home, *[p for p in home.rglob("*") if p.is_dir()]]:
                directory.chmod(0o755)
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is needed to test a read-only home as root"
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    return subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c", script, str(home), *command],
                          env=env, capture_output=True, text=True, check=False)


def test_plugin_disable_in_a_read_only_home_is_one_line_and_loses_nothing(isolated_home: Path) -> None:
    save_config(Config(plugins=PluginsConfig(disabled=["c"])))
    path = isolated_home / "config" / "config.toml"
    before = path.read_bytes()
    result = _run_in_read_only(isolated_home, ["plugin", "disable", "wat"])
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: cannot write config file {path}: ")
    assert result.stderr.endswith(" (the file is unchanged)\n")
    assert len(result.stderr.splitlines()) == 1
    assert path.read_bytes() == before
    listed = _run_in_read_only(isolated_home, ["plugin", "list"])  # reading still works
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr


def test_plugin_install_in_a_read_only_home_is_one_line(isolated_home: Path, tmp_path: Path) -> None:
    result = _run_in_read_only(isolated_home, ["plugin", "install", str(tmp_path)])
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot write to the plugin directory {isolated_home / 'data'}")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(("name", "content", "message"), [
    ("wasmrun.toml", b'language = "w\xe4t"\n', "is not UTF-8 text (byte 13, line 1)"),
    ("wasmrun.toml", b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "is nested too deeply to be read"),
    ("pyproject.toml", b"[project]\nname = 'x'\n# \xff\n", "is not UTF-8 text (byte 23, line 3)"),
])
def test_every_toml_file_wasmrun_reads_is_one_line_when_unreadable(cli: Cli, make_project: Callable[..., Path],
                                                                   name: str, content: bytes,
                                                                   message: str) -> None:
    project = make_project({"main.wat": "(module)"})
    (project / name).write_bytes(content)
    result = cli("compile", project)
    assert (result.exit_code, result.stderr) == (2, f"error: {project / name} {message}\n")


def test_a_pyproject_whose_tool_is_not_a_table_is_not_a_crash(cli: Cli, make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": "(module)", "pyproject.toml": 'tool = "none"\n'})
    result = cli("compile", project)
    assert result.exit_code == 0, result.stderr


def test_command_metadata_that_is_not_utf8_is_one_line(cli: Cli, executable: Path, tmp_path: Path) -> None:
    metadata = tmp_path / "meta.toml"
    metadata.write_bytes(b'description = "caf\xe9"\n')
    result = cli("plugin", "install", "--command", executable, "--metadata", metadata)
    assert (result.exit_code, result.stderr) == (2, f"error: {metadata} is not UTF-8 text (byte 18, line 1)\n")


def test_a_schema_version_that_is_not_a_number_is_refused(isolated_home: Path) -> None:
    path = isolated_home / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("schema_version = true\n")
    with pytest.raises(ConfigError, match="schema_version must be a positive integer"):
        load_config()


@pytest.mark.parametrize("config", [
    '[plugins]\ndisabled = [{a = 1}]\n',
    '[plugins]\ndisabled = 5\ninstalled = {x = {entry_points = "abc", version = 3}}\n'
    'commands = {y = 1, z = {version = [1]}}\n',
    'plugins = [1, 2]\n',
])
@pytest.mark.parametrize("status", ['[[[[', '{"failed": [{"name": 1}, 5, {"name": "q", "error": ["x"]}]}', '7'])
def test_version_reads_what_it_can_of_any_config_and_failure_record(cli: Cli, isolated_home: Path, config: str,
                                                                    status: str) -> None:
    (isolated_home / "config").mkdir()
    (isolated_home / "config" / "config.toml").write_text(config)
    (isolated_home / "state").mkdir()
    (isolated_home / "state" / "plugins.json").write_text(status)
    result = cli("--version")
    assert result.exit_code == 0 and result.stderr == ""
    assert "  wat " in result.stdout and "failed to load" not in result.stdout
