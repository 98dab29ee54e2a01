"""The plugin as users meet it: installed, found through its entry point, driven by the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from wasmrun.plugins import load_plugins
from wasmrun.testing import require_tool

from wasmrun_go import toolchain as go_tools

Cli = Callable[..., Any]


def test_the_entry_point_loads_the_plugin() -> None:
    plugins = load_plugins(environ={"WASMRUN_LOAD_PLUGINS": "go"})
    record = plugins.records["go"]
    assert record.loaded, record.error
    assert record.source == "wasmrun-go"
    assert "golang" in plugins.info("go").aliases


@pytest.mark.parametrize(("files", "expected"), [
    ({"go.mod": "module x\n", "main.go": "package main", "package.json": "{}"}, "go"),
    ({"go.mod": "module x\n", "main.go": "package main", "Makefile": "wasm:\n\tgo build\n", "x.c": ""}, "go"),
    ({"main.go": "package main"}, None),
])
def test_detect(files: dict[str, str], expected: str | None, make_project: Callable[..., Path], cli: Cli) -> None:
    result = cli("detect", make_project(files), "--json")
    assert json.loads(result.stdout)["plugin"] == expected


def test_a_module_without_sources_is_refused(make_project: Callable[..., Path], cli: Cli) -> None:
    result = cli("compile", make_project({"go.mod": "module x\n"}))
    assert result.exit_code == 2
    assert "no .go sources" in result.stderr


@pytest.mark.slow
def test_compile_then_exec(example: Callable[[str], Path], cli: Cli, capfd: pytest.CaptureFixture[str]) -> None:
    require_tool("go", found=go_tools.find(go_tools.WASI_MIN) is not None)
    project = example("go-hello")
    built = cli("compile", project)
    assert built.exit_code == 0, built.stderr
    assert "with go (" in built.stdout
    capfd.readouterr()
    ran = cli("exec", project, "a", "b")
    assert ran.exit_code == 0, ran.stderr
    # The module writes to the process's own stdout (file descriptor 1), not through click.
    assert capfd.readouterr().out + ran.stdout == "hello from Go\narg 1: a\narg 2: b\n"


@pytest.mark.slow
def test_web_through_the_cli(example: Callable[[str], Path], cli: Cli) -> None:
    require_tool("go", found=go_tools.find(go_tools.JS_MIN) is not None)
    project = example("go-hello")
    result = cli("compile", project, "--target", "web", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["glue"] == "go"
    assert data["js_path"] == str(project / "wasmrun-out" / "wasm_exec.js")
