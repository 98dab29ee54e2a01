"""Which browser a headless run drives: a Chromium or Chrome installed on the machine (Playwright's
own browser downloads are not needed), and whether Playwright itself is installed. ``doctor``
reports both through :func:`browser_report`."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wasmrun.errors import MissingToolchainError, UsageError

if TYPE_CHECKING:
    from wasmrun.models import ToolStatus

#: Executables looked up on PATH, in this order: the first found is the default.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
                 "microsoft-edge")
BROWSER_HINT = "apt-get install chromium (or Chrome), or name one with --browser PATH"
PLAYWRIGHT_HINT = "pip install 'wasmrun[browser]'"
#: The name of the browser's entry in ``doctor``'s report.
BROWSER_REPORT = "browser"


@dataclass(frozen=True)
class Browser:
    """A browser found on the machine: the name it was found by and its executable."""

    name: str
    path: Path


def find_browsers() -> list[Browser]:
    """Every Chromium-family browser on PATH, one entry per executable."""
    found: list[Browser] = []
    seen: set[Path] = set()
    for name in BROWSER_NAMES:
        where = shutil.which(name)
        if where is None:
            continue
        real = Path(where).resolve()
        if real not in seen:
            seen.add(real)
            found.append(Browser(name, Path(where)))
    return found


def choose_browser(wanted: str | None = None) -> Browser:
    """The browser to drive: ``wanted`` (a name among those found, or a path to an executable),
    else the first found. Raises a one-line error naming how to get one."""
    found = find_browsers()
    if wanted:
        for browser in found:
            if wanted in (browser.name, str(browser.path)):
                return browser
        candidate = Path(wanted).expanduser()
        if os.sep in wanted or candidate.is_file():
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return Browser(candidate.name, candidate.absolute())
            raise UsageError(f"--browser {wanted}: no such executable")
        names = ", ".join(b.name for b in found) or "none"
        raise UsageError(f"--browser {wanted}: not found (browsers found: {names})", hint=BROWSER_HINT)
    if not found:
        raise MissingToolchainError("no Chromium or Chrome found for --headless", hint=BROWSER_HINT)
    return found[0]


def playwright_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("playwright") is not None
    except (ImportError, ValueError):  # a finder that refuses it, a broken install
        return False


def require_playwright() -> None:
    """Raise the one-line error that says how to install Playwright, when it is missing."""
    if not playwright_installed():
        raise MissingToolchainError("--headless needs Playwright, which is not installed", hint=PLAYWRIGHT_HINT)


def _version(path: Path) -> str | None:
    import subprocess

    try:
        proc = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    words = proc.stdout.split()
    return next((w for w in words if w[:1].isdigit()), None)


def browser_report(probe: bool = True) -> list[ToolStatus]:
    """Playwright and every browser found, as ``doctor`` lists tools (browser versions when
    ``probe``); a missing browser is one entry with how to install it. Ready when Playwright and
    one browser are found."""
    from importlib import metadata

    from wasmrun.models import ToolStatus

    has_playwright = playwright_installed()
    version = None
    if has_playwright:
        try:
            version = metadata.version("playwright")
        except metadata.PackageNotFoundError:
            version = None
    tools = [ToolStatus(name="playwright", found=has_playwright, version=version, required_for="run --headless",
                        install_hint=PLAYWRIGHT_HINT)]
    browsers = find_browsers()
    for browser in browsers:
        tools.append(ToolStatus(name=browser.name, found=True, path=str(browser.path),
                                version=_version(browser.path) if probe else None,
                                required_for="run --headless", optional=True))
    if not browsers:
        tools.append(ToolStatus(name="chromium", found=False, required_for="run --headless", optional=True,
                                install_hint="apt-get install chromium"))
    return tools
