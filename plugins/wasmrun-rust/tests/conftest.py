"""Fixtures: every test gets its own WASMRUN_HOME, loads only this plugin among the external ones,
and builds copies of the examples in its tmp dir.

The isolation, the project factory and the in-process CLI are wasmrun's own fixtures for plugin
authors (``wasmrun.testing``, a pytest plugin installed with wasmrun); the names the tests use
(``make_project``, ``example``, ``cli``) are kept as thin aliases.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wasmrun.testing import CliInvoker, ProjectFactory

from wasmrun_rust import toolchain as rust_tools

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"

# Every suite of the wasmrun repository loads its skip policy (scripts/pytest_skip_policy.py).
if str(REPO / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO / "scripts"))
pytest_plugins = ["pytest_skip_policy"]


@pytest.fixture(autouse=True)
def isolated_home(wasmrun_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WASMRUN_LOAD_PLUGINS", "rust")  # the CLI loads this plugin by its entry point
    for name in ("CARGO_TARGET_DIR", "RUSTC"):
        monkeypatch.delenv(name, raising=False)
    rust_tools.forget()
    yield wasmrun_home
    rust_tools.forget()


@pytest.fixture
def example(wasmrun_project: ProjectFactory) -> Callable[[str], Path]:
    """Copy ``examples/NAME`` into the test's tmp dir (without build outputs), so builds never
    write into the repo."""
    return lambda name: wasmrun_project(EXAMPLES / name, name=name)


@pytest.fixture
def make_project(wasmrun_project: ProjectFactory) -> ProjectFactory:
    """Write a project from a {relative path: content} dict."""
    return wasmrun_project


@pytest.fixture
def fake_tool(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write an executable shell script ``NAME`` into ``tmp_path/fakebin``; returns the directory."""

    def make(name: str, script: str) -> Path:
        directory = tmp_path / "fakebin"
        directory.mkdir(exist_ok=True)
        path = directory / name
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return directory

    return make


@pytest.fixture
def cli(wasmrun_cli: CliInvoker) -> CliInvoker:
    """Invoke ``wasmrun ARGS`` in-process (plugins found through their entry points)."""
    return wasmrun_cli
