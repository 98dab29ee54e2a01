"""The plugin as users meet it: installed, found through its entry point, driven by the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from wasmrun.building import doctor
from wasmrun.models import Target
from wasmrun.plugins import load_plugins
from wasmrun.testing import require_tool

import wasmrun_rust
from wasmrun_rust import toolchain as rust_tools

Cli = Callable[..., Any]


def test_the_entry_point_loads_the_plugin() -> None:
    plugins = load_plugins(environ={"WASMRUN_LOAD_PLUGINS": "rust"})
    record = plugins.records["rust"]
    assert record.loaded, record.error
    assert record.source == "wasmrun-rust"
    assert plugins.info("rust").aliases == ["rs"]


def test_plugin_list_shows_it(cli: Cli) -> None:
    result = cli("plugin", "list")
    assert result.exit_code == 0
    assert "rust" in result.stdout and "wasmrun-rust" in result.stdout


@pytest.mark.parametrize(("files", "expected"), [
    ({"Cargo.toml": "", "Makefile": "wasm:\n\tcargo build\n", "src/main.rs": ""}, "rust"),
    ({"Cargo.toml": "", "package.json": "{}", "main.c": "int main(){}"}, "rust"),
    ({"Cargo.toml": "", "src/lib.rs": ""}, "rust"),
    ({"main.rs": "fn main() {}"}, None),
])
def test_detect(files: dict[str, str], expected: str | None, make_project: Callable[..., Path], cli: Cli) -> None:
    result = cli("detect", make_project(files), "--json")
    assert json.loads(result.stdout)["plugin"] == expected


@pytest.mark.slow
def test_compile_then_exec(example: Callable[[str], Path], cli: Cli, capfd: pytest.CaptureFixture[str]) -> None:
    require_tool("cargo", found=rust_tools.find() is not None)
    project = example("rust-hello")
    built = cli("compile", project)
    assert built.exit_code == 0, built.stderr
    assert "with rust (cargo" in built.stdout
    capfd.readouterr()
    ran = cli("exec", project, "a", "b")
    assert ran.exit_code == 0, ran.stderr
    # The module writes to the process's own stdout (file descriptor 1), not through click.
    assert capfd.readouterr().out + ran.stdout == "hello from Rust\narg 1: a\narg 2: b\n"


@pytest.mark.slow
def test_clean_through_the_cli(example: Callable[[str], Path], cli: Cli, isolated_home: Path) -> None:
    require_tool("cargo", found=rust_tools.find() is not None)
    project = example("rust-hello")
    assert cli("compile", project).exit_code == 0
    assert any((isolated_home / "cache" / "cargo-target").iterdir())
    assert cli("clean", project).exit_code == 0
    assert not any((isolated_home / "cache" / "cargo-target").iterdir())
    assert sorted(p.name for p in project.iterdir()) == ["Cargo.toml", "src"]


def test_doctor_reports_rust_for_both_targets() -> None:
    plugins = load_plugins(entry_points=False, builtins=())
    plugins.register(wasmrun_rust, "rust", source="wasmrun-rust")
    reports = {r.target: r for r in doctor(plugins, probe=False)}
    assert [t.name for t in reports[Target.WASM].tools][:1] == ["rustc"]
    assert [t.name for t in reports[Target.WEB].tools if t.optional] == ["wasm-bindgen", "wasm-pack", "trunk"]
