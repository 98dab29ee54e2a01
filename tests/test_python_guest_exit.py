"""The guest code both Python components share (wasmrun.languages.python.guest_exit), run here on
the host; the components themselves are run by tests/test_python_components.py and
tests/test_agent_sandbox.py."""

from __future__ import annotations

import sys
import traceback

import pytest

from wasmrun.languages.python import guest_exit


@pytest.mark.parametrize(("code", "status", "stderr"), [
    (None, 0, ""), (0, 0, ""), (3, 3, ""), (True, 1, ""), (False, 0, ""), ("bye", 1, "bye\n"), ([1], 1, "[1]\n"),
])
def test_exit_status_is_cpythons(code: object, status: int, stderr: str, capsys: pytest.CaptureFixture[str]) -> None:
    got = guest_exit.exit_status(code)
    assert (got, type(got)) == (status, int)
    assert capsys.readouterr().err == stderr


def _traceback_of_user_code(runner_file: str) -> str:
    user = compile("def f():\n    raise ValueError('from the user')\nf()\n", "/main.py", "exec")
    try:
        exec(user, {})  # this frame is the runner's: this test file
    except ValueError as exc:
        kept = guest_exit.without_runner(exc.__traceback__, runner_file)
        return "".join(traceback.format_exception(type(exc), exc, kept))
    raise AssertionError("no exception")


def test_without_runner_keeps_only_the_users_frames() -> None:
    shown = _traceback_of_user_code(__file__)
    assert shown.splitlines() == ["Traceback (most recent call last):", '  File "/main.py", line 3, in <module>',
                                  '  File "/main.py", line 2, in f', "ValueError: from the user"]
    assert __file__ in _traceback_of_user_code("/elsewhere/runner.py")  # not the runner: kept


def test_source_is_the_module_itself_and_imports_only_the_standard_library() -> None:
    import ast

    tree = ast.parse(guest_exit.source())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert imported <= set(sys.stdlib_module_names), imported
    assert "def without_runner" in guest_exit.source()
