"""wasmrun's conformance check for plugins (``wasmrun.testing.check_plugin``): the hookimpls match
the specs, the info is complete, no empty or foreign project is claimed, the example builds to a
valid module, and ``clean`` leaves the project as it was."""

from __future__ import annotations

from pathlib import Path

from wasmrun.testing import Conformance

import wasmrun_zig

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_conformance_builds_the_example(wasmrun_conformance: Conformance) -> None:
    report = wasmrun_conformance(wasmrun_zig, example_project=EXAMPLES / "zig-hello")
    assert report.name == "zig"
    assert "clean restores the project" in report.passed
