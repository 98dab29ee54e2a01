"""wasmrun's conformance check for plugins (``wasmrun.testing.check_plugin``): the hookimpls match
the specs, the info is complete, no empty or foreign project is claimed, the example builds to a
valid module, and ``clean`` leaves the project as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from wasmrun.testing import Conformance

import wasmrun_go

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_conformance_without_building(wasmrun_conformance: Conformance) -> None:
    report = wasmrun_conformance(wasmrun_go, example_project=EXAMPLES / "go-hello", build=False)
    assert report.name == "go"


@pytest.mark.slow
def test_conformance_builds_the_example(wasmrun_conformance: Conformance) -> None:
    # Skips when go (1.21 or newer) is missing; fails then under WASMRUN_REQUIRE_TOOLCHAINS=1.
    report = wasmrun_conformance(wasmrun_go, example_project=EXAMPLES / "go-hello",
                                 expect_stdout="hello from Go\n")
    assert "clean restores the project" in report.passed
