"""Tests of the greeting plugin (example_plugin.py beside this file), written with the fixtures
that wasmrun ships for plugin authors.

docs/plugins/testing.md shows this file piece by piece, and wasmrun's own test suite runs it
(tests/test_testing_plugin.py), so every example there works as written.
"""

from __future__ import annotations

from pathlib import Path

import example_plugin  # the plugin under test; in your package: `import wasmrun_greeting`
import pytest

from wasmrun.building import compile_project


# --8<-- [start:isolation]
@pytest.fixture(autouse=True)
def isolated(wasmrun_home: Path) -> Path:
    """Every test gets its own WASMRUN_HOME: no user config, no installed plugin, no shared cache."""
    return wasmrun_home
# --8<-- [end:isolation]


# --8<-- [start:conformance]
def test_conformance(wasmrun_conformance):
    wasmrun_conformance(example_plugin, example_project={"greeting.txt": "hello\n"}, expect_stdout="hello\n")
# --8<-- [end:conformance]


# --8<-- [start:claims]
def test_claims_greeting_projects_only(wasmrun_plugins, wasmrun_project):
    plugins = wasmrun_plugins(example_plugin)  # the built-ins and this plugin, nothing else

    greeting = wasmrun_project({"greeting.txt": "hi\n"}, name="greeting")
    assert plugins.claims(greeting)[0][0] == "greeting"

    notes = wasmrun_project({"notes.txt": "not a greeting\n"}, name="notes")
    assert plugins.claims(notes) == []
# --8<-- [end:claims]


# --8<-- [start:build]
def test_builds_a_command_that_prints_the_greeting(wasmrun_plugins, wasmrun_project, run_wasm):
    plugins = wasmrun_plugins(example_plugin)
    project = wasmrun_project({"greeting.txt": "hello, world\n"})

    result = compile_project(project, plugins)  # what `wasmrun compile` does
    assert result.plugin == "greeting"

    ran = run_wasm(result.wasm_path, ["ignored", "arguments"], env={"LANG": "C"}, stdin="")
    assert (ran.exit_code, ran.stdout, ran.stderr) == (0, "hello, world\n", "")
# --8<-- [end:build]


# --8<-- [start:cli]
def test_cli(wasmrun_plugins, wasmrun_project, wasmrun_cli):
    wasmrun_plugins(example_plugin)  # wasmrun_cli sees the same plugins
    project = wasmrun_project({"greeting.txt": "hi from the CLI\n"})

    detected = wasmrun_cli("detect", project)
    assert detected.exit_code == 0
    assert "greeting: greeting.txt" in detected.stdout

    ran = wasmrun_cli("exec", project)  # builds, then runs the module natively
    assert (ran.exit_code, ran.stdout) == (0, "hi from the CLI\n")
# --8<-- [end:cli]


# --8<-- [start:errors]
def test_an_empty_greeting_is_one_line_and_exit_code_2(wasmrun_plugins, wasmrun_project, wasmrun_cli):
    wasmrun_plugins(example_plugin)
    result = wasmrun_cli("compile", wasmrun_project({"greeting.txt": ""}))

    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "greeting.txt is empty" in result.stderr
# --8<-- [end:errors]
