"""Fixtures: every test gets its own WASMRUN_HOME, loads only this plugin among the external ones,
and builds copies of the examples in its tmp dir."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wasmrun_go import toolchain as go_tools

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def shared_gocache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One go build cache for the whole session: a cold Go build of the std takes seconds."""
    return tmp_path_factory.mktemp("gocache")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                  shared_gocache: Path) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("wasmrun-home")
    monkeypatch.setenv("GOCACHE", str(shared_gocache))
    monkeypatch.setenv("WASMRUN_HOME", str(home))
    monkeypatch.setenv("WASMRUN_LOAD_PLUGINS", "go")
    for name in ("WASMRUN_DISABLE_PLUGINS", "WASMRUN_TRACE_PLUGINS", "WASMRUN_DEBUG",
                 "GOOS", "GOARCH", "GOFLAGS", "GOTOOLCHAIN"):
        monkeypatch.delenv(name, raising=False)
    go_tools.forget()
    yield home
    go_tools.forget()


@pytest.fixture
def example(tmp_path: Path) -> Callable[[str], Path]:
    """Copy ``examples/NAME`` into the test's tmp dir, so builds never write into the repo."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("wasmrun-out", "target"))
        return target

    return copy


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project from a {relative path: content} dict."""

    def make(files: dict[str, str], name: str = "project") -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        return root

    return make


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


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """Invoke ``wasmrun ARGS`` in-process (plugins found through their entry points)."""
    from typer.testing import CliRunner
    from wasmrun.cli.app import app

    runner = CliRunner()

    def invoke(*args: str | os.PathLike[str]) -> CliResult:
        result = runner.invoke(app, [str(a) for a in args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke
