"""CI's rule (scripts/pytest_skip_policy.py): with WASMRUN_REQUIRE_TOOLCHAINS=1 a skip fails unless
its reason is exactly "TOOL not installed" for a tool on the exemption list; every kind of skip,
in every suite of the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
SUITES = ["tests", *sorted(p.parent.relative_to(REPO).as_posix() for p in REPO.glob("plugins/*/tests/conftest.py"))]

USES_THE_POLICY = 'pytest_plugins = ["pytest_skip_policy"]\n'

TESTS = '''
import pytest

from wasmrun.testing import require_tool


@pytest.fixture
def needs_foo():
    pytest.skip("foo not installed")


def test_a_tool_that_ci_must_have():
    pytest.skip("foo not installed")


def test_an_exempt_tool_through_require_tool():
    require_tool("tinygo", found=False)


def test_an_exempt_tool_said_exactly():
    pytest.skip("wasm-pack not installed")


def test_a_reason_that_only_mentions_an_exempt_tool():
    pytest.skip("tinygo is installed")


def test_a_reason_that_names_an_exempt_tool_beside_another():
    pytest.skip("wasm-bindgen not installed, and clang neither")


@pytest.mark.skipif(True, reason="no network")
def test_a_skipif_mark():
    pass


def test_a_fixture_that_skips(needs_foo):
    pass


@pytest.mark.xfail(reason="known bug")
def test_an_expected_failure():
    assert False
'''


@pytest.mark.parametrize(("required", "outcomes"), [
    ("1", {"failed": 3, "errors": 2, "skipped": 2, "xfailed": 1}),  # a failing setup is an error
    ("", {"skipped": 7, "xfailed": 1}),
])
def test_only_an_exempt_tool_said_exactly_may_skip(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                   required: str, outcomes: dict[str, int]) -> None:
    monkeypatch.setenv("WASMRUN_REQUIRE_TOOLCHAINS", required)
    pytester.makeconftest(USES_THE_POLICY)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(**outcomes)
    if required:
        result.stdout.fnmatch_lines_random([
            "FAILED *::test_a_tool_that_ci_must_have*",
            "FAILED *::test_a_reason_that_only_mentions_an_exempt_tool*",
            "FAILED *::test_a_reason_that_names_an_exempt_tool_beside_another*",
            "ERROR *::test_a_skipif_mark*",
            "ERROR *::test_a_fixture_that_skips*",
            "*skipped under WASMRUN_REQUIRE_TOOLCHAINS=1, and the reason is not one of the exempt ones*: "
            "tinygo is installed",
        ])


def test_skips_at_collection_are_checked_too_and_the_run_goes_on(pytester: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMRUN_REQUIRE_TOOLCHAINS", "1")
    pytester.makeconftest(USES_THE_POLICY)
    pytester.makepyfile(
        test_importorskip='import pytest\npytest.importorskip("no_such_module_for_wasmrun")\n\n'
                          'def test_never_collected():\n    pass\n',
        test_module_skip='import pytest\npytest.skip("no compiler here", allow_module_level=True)\n',
        test_module_skip_exempt='import pytest\npytest.skip("trunk not installed", allow_module_level=True)\n',
        test_fine="def test_fine():\n    pass\n",
    )
    result = pytester.runpytest("-rA")
    result.assert_outcomes(failed=2, skipped=1, passed=1)
    result.stdout.fnmatch_lines_random([
        "FAILED test_importorskip.py::skipped-at-collection*",
        "FAILED test_module_skip.py::skipped-at-collection*",
        "*the reason is not one of the exempt ones*: could not import 'no_such_module_for_wasmrun'*",
        "*the reason is not one of the exempt ones*: no compiler here",
    ])


def test_skips_at_collection_stay_skips_without_the_requirement(pytester: pytest.Pytester,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WASMRUN_REQUIRE_TOOLCHAINS", raising=False)
    pytester.makeconftest(USES_THE_POLICY)
    pytester.makepyfile(test_importorskip='import pytest\npytest.importorskip("no_such_module_for_wasmrun")\n')
    pytester.runpytest().assert_outcomes(skipped=1)


@pytest.mark.parametrize("suite", SUITES)
def test_every_suite_of_the_repository_loads_the_policy(suite: str, tmp_path: Path) -> None:
    """Run a skipping test beside the suite, with the suite's own config and conftest (as nox does:
    `pytest --rootdir plugins/X plugins/X/tests`), its own test files left out."""
    suite_dir = REPO / suite
    root = suite_dir.parent
    probe = tmp_path / "test_probe.py"
    probe.write_text('import pytest\n\ndef test_probe():\n    pytest.skip("foo not installed")\n')
    env = {**os.environ, "WASMRUN_REQUIRE_TOOLCHAINS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(root / "pyproject.toml"), "--rootdir", str(root),
         "-p", "no:cacheprovider", "--ignore-glob", str(suite_dir / "test_*.py"), str(suite_dir), str(probe)],
        capture_output=True, text=True, cwd=root, env=env, timeout=300, check=False)
    assert "1 failed" in proc.stdout, proc.stdout + proc.stderr
    assert "the reason is not one of the exempt ones" in proc.stdout
