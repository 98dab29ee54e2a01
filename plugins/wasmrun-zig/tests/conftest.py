"""Fixtures: a private WASMRUN_HOME, only this package's plugin loaded from its entry point, and
projects copied into tmp_path."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("wasmrun-home")
    monkeypatch.setenv("WASMRUN_HOME", str(home))
    monkeypatch.setenv("WASMRUN_LOAD_PLUGINS", "zig")
    for name in ("WASMRUN_DISABLE_PLUGINS", "WASMRUN_TRACE_PLUGINS", "WASMRUN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def example(tmp_path: Path) -> Callable[[str], Path]:
    """Copy ``examples/NAME`` of the wasmrun checkout into tmp_path."""

    def copy(name: str) -> Path:
        source = EXAMPLES / name
        if not source.is_dir():
            pytest.skip(f"examples/{name} not found (run the tests from a wasmrun checkout)")
        target = tmp_path / name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("wasmrun-out", "zig-out", ".zig-cache"))
        return target

    return copy


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    def make(files: dict[str, str], name: str = "project") -> Path:
        root = tmp_path / name
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        return root

    return make
