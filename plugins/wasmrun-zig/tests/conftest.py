"""Fixtures: every test gets its own WASMRUN_HOME, loads only this plugin among the external ones,
and builds copies of the examples in its tmp dir.

The isolation and the project factory are wasmrun's own fixtures for plugin authors
(``wasmrun.testing``, a pytest plugin installed with wasmrun); ``example`` and ``make_project`` are
thin aliases the tests use.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wasmrun.testing import ProjectFactory

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"

# Every suite of the wasmrun repository loads its skip policy (scripts/pytest_skip_policy.py).
if str(REPO / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO / "scripts"))
pytest_plugins = ["pytest_skip_policy"]


@pytest.fixture(autouse=True)
def isolated_home(wasmrun_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WASMRUN_LOAD_PLUGINS", "zig")  # the CLI loads this plugin by its entry point
    yield wasmrun_home


@pytest.fixture
def example(wasmrun_project: ProjectFactory) -> Callable[[str], Path]:
    """Copy ``examples/NAME`` of the wasmrun checkout into the test's tmp dir."""

    def copy(name: str) -> Path:
        if not (EXAMPLES / name).is_dir():
            pytest.skip(f"examples/{name} not found (run the tests from a wasmrun checkout)")
        return wasmrun_project(EXAMPLES / name, name=name)

    return copy


@pytest.fixture
def make_project(wasmrun_project: ProjectFactory) -> ProjectFactory:
    """Write a project from a {relative path: content} dict."""
    return wasmrun_project
