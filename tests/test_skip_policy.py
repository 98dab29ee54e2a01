"""CI's rule: with WASMRUN_REQUIRE_TOOLCHAINS=1 a skip fails unless it names an exempt tool."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = '''
import pytest

def test_needs_foo():
    pytest.skip("foo not installed")

def test_needs_wasm_pack():
    pytest.skip("wasm-pack not installed")
'''


@pytest.mark.parametrize(("required", "outcomes"), [
    ("1", {"failed": 1, "skipped": 1}),
    ("", {"skipped": 2}),
])
def test_skips_are_checked_against_the_exemption_list(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                      required: str, outcomes: dict[str, int]) -> None:
    monkeypatch.setenv("WASMRUN_REQUIRE_TOOLCHAINS", required)
    pytester.makeconftest("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    pytester.makepyfile(TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(**outcomes)
    if required:
        result.stdout.fnmatch_lines(["*the reason names no tool on the exemption list*foo not installed*"])
