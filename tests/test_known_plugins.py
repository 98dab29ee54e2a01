"""A project (or ``init``) for a language wasmrun knows of but lacks: every command names the
plugin package and how to install it, in one line and exit code 2. The plugin packages are hidden
(no entry points at all), as on a machine where only wasmrun is installed; and then installed but
turned off, each way that can happen."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmrun import known_plugins

Cli = Callable[..., Any]
PROJECTS = {
    "rust": ({"Cargo.toml": '[package]\nname = "r"\nversion = "0.1.0"\n', "src/main.rs": "fn main() {}\n"},
             "Rust", "Cargo.toml"),
    "go": ({"go.mod": "module example.com/g\n", "main.go": "package main\n\nfunc main() {}\n"}, "Go", "go.mod"),
    "zig": ({"build.zig": "", "src/main.zig": "pub fn main() void {}\n"}, "Zig", "build.zig"),
}


@pytest.fixture
def hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """No plugin package in the environment: wasmrun sees only its built-ins."""
    monkeypatch.setattr("wasmrun.plugins.external_entry_points", lambda: [])
    monkeypatch.delenv("WASMRUN_LOAD_PLUGINS", raising=False)


def _install_words(plugin: str) -> str:
    known = known_plugins.by_name(plugin)
    assert known is not None
    return known_plugins.how_to_install(known)


@pytest.mark.parametrize("plugin", sorted(PROJECTS))
@pytest.mark.parametrize("command", [["compile"], ["detect"], ["run", "--port", "0"], ["exec"], ["clean"]])
def test_each_command_names_the_package_and_how_to_get_it(plugin: str, command: list[str], hidden: None,
                                                          make_project: Callable[..., Path], cli: Cli) -> None:
    files, language, marker = PROJECTS[plugin]
    project = make_project(files, name=f"{plugin}-project")
    result = cli(command[0], project, *command[1:])
    if command == ["clean"]:  # nothing to build, nothing to say: clean has nothing of the plugin's to delete
        assert result.exit_code == 0
        return
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {project} looks like a {language} project ({marker}); the {plugin} plugin is not installed: "
        + _install_words(plugin)]
    assert not (project / "wasmrun-out").exists()


def test_the_words_name_the_index_package_and_the_checkout_path() -> None:
    known = known_plugins.by_name("rust")
    assert known is not None
    words = known_plugins.how_to_install(known)
    assert "`wasmrun plugin install wasmrun-rust` (from a package index)" in words
    checkout = known_plugins.checkout_path(known)
    if checkout is not None:  # wasmrun runs from a checkout (an editable install): its real path
        assert checkout == Path(known_plugins.__file__).resolve().parents[1] / "plugins" / "wasmrun-rust"
        assert f"`wasmrun plugin install {checkout}` (from a wasmrun checkout)" in words
    else:  # installed from a wheel (as CI runs it): where to find it in a checkout
        assert "`wasmrun plugin install PATH/TO/wasmrun/plugins/wasmrun-rust` (from a wasmrun checkout)" in words


def test_the_words_name_a_checkout_when_there_is_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    known = known_plugins.by_name("rust")
    assert known is not None
    monkeypatch.setattr(known_plugins, "checkout_path", lambda _known: tmp_path / "plugins" / "wasmrun-rust")
    assert f"`wasmrun plugin install {tmp_path}/plugins/wasmrun-rust` (from a wasmrun checkout)" in \
        known_plugins.how_to_install(known)


def test_detect_json_has_the_missing_plugin(hidden: None, make_project: Callable[..., Path], cli: Cli) -> None:
    project = make_project(PROJECTS["go"][0])
    result = cli("detect", project, "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["plugin"] is None and data["candidates"] == []
    assert data["missing_plugin"]["plugin"] == "go"
    assert data["missing_plugin"]["package"] == "wasmrun-go"
    assert data["missing_plugin"]["evidence"] == ["go.mod"]
    assert "wasmrun plugin install wasmrun-go" in data["missing_plugin"]["message"]


@pytest.mark.parametrize(("name", "plugin"), [("rust", "rust"), ("rs", "rust"), ("golang", "go"), ("zig", "zig")])
def test_init_names_the_package(name: str, plugin: str, hidden: None, tmp_path: Path, cli: Cli) -> None:
    result = cli("init", name, tmp_path / "hello")
    assert result.exit_code == 2
    line, = result.stderr.strip().splitlines()
    assert line.startswith(f"error: the {plugin} plugin is not installed: {_install_words(plugin)} (available: ")
    assert not (tmp_path / "hello").exists()


def test_sources_alone_show_the_language(hidden: None, make_project: Callable[..., Path], cli: Cli) -> None:
    project = make_project({"src/lib.rs": "pub fn f() {}\n", "README.md": ""})
    result = cli("compile", project)
    assert result.exit_code == 2
    assert "looks like a Rust project (src/lib.rs); the rust plugin is not installed" in result.stderr


def test_other_projects_keep_the_usual_message(hidden: None, make_project: Callable[..., Path], cli: Cli) -> None:
    result = cli("compile", make_project({"notes.txt": "hello"}))
    assert result.exit_code == 2
    assert "no language plugin claims" in result.stderr and "wasmrun plugin install" not in result.stderr


@pytest.mark.parametrize(("environment", "expected"), [
    ({"WASMRUN_DISABLE_PLUGINS": "rust"},
     "the rust plugin (wasmrun-rust) is installed but WASMRUN_DISABLE_PLUGINS turns it off"),
    ({"WASMRUN_LOAD_PLUGINS": "go"},
     "the rust plugin (wasmrun-rust) is installed but WASMRUN_LOAD_PLUGINS leaves it out"),
    ({}, "the rust plugin (wasmrun-rust) is disabled: enable it with `wasmrun plugin enable rust`"),
])
def test_installed_but_turned_off(environment: dict[str, str], expected: str, make_project: Callable[..., Path],
                                  cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin's package is there (an entry point named rust), but it is not loaded."""
    from importlib.metadata import EntryPoint

    monkeypatch.setattr("wasmrun.plugins.external_entry_points",
                        lambda: [EntryPoint("rust", "wasmrun_rust", "wasmrun")])
    monkeypatch.delenv("WASMRUN_LOAD_PLUGINS", raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    if not environment:
        assert cli("plugin", "disable", "rust").exit_code == 0
    project = make_project(PROJECTS["rust"][0])
    for command in (["compile"], ["detect"], ["init", "rust"]):
        result = cli(*command, project if command[0] != "init" else project.parent / "new")
        assert result.exit_code == 2, (command, result.stderr)
        assert expected in result.stderr, (command, result.stderr)
