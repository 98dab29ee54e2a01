"""Starting the browser of ``run --headless`` before the CLI parses its arguments: the launch
(Playwright's driver, then Chromium) is the longest step of a headless run, and typer's import
and dispatch would otherwise come before it. ``wasmrun.cli`` calls :func:`prelaunch` when the
arguments ask for a headless run; the command takes the session with :func:`take`. A session not
taken (a usage error, say) is cancelled and joined at exit, so the interpreter never ends with
the browser's thread busy."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wasmrun.headless.driver import BrowserSession, HeadlessOptions

_session: BrowserSession | None = None
_browser: str | None = None


def wanted(args: Sequence[str]) -> bool:
    """Whether ``args`` (wasmrun's own, before any ``--``) ask for a headless run."""
    import os

    own = list(args[: args.index("--")] if "--" in args else args)
    # `wasmrun PATH --headless` is `wasmrun run PATH --headless` (see wasmrun.cli)
    return "--headless" in own and (own[0] in ("run", "serve", "dev") or os.path.exists(own[0]))


def _browser_option(args: Sequence[str]) -> str | None:
    own = list(args[: args.index("--")] if "--" in args else args)
    for index, arg in enumerate(own):
        if arg == "--browser" and index + 1 < len(own):
            return own[index + 1]
        if arg.startswith("--browser="):
            return arg.split("=", 1)[1]
    return None


#: At most this long the caller waits for Playwright's import before going on with its own.
IMPORT_WAIT_S = 2.0


def prelaunch(args: Sequence[str]) -> None:
    """Start the browser the arguments name (quietly nothing when it cannot be found: the command
    then reports that as it would without a pre-launch), and return once Playwright is imported.

    Waiting for that import keeps the caller's own imports from competing with it for the GIL:
    Playwright's import comes before its driver starts, on the road to the page, while the
    caller's (the CLI, the server) have time until the browser is up."""
    import atexit

    from wasmrun.errors import WasmrunError
    from wasmrun.headless.browsers import choose_browser, playwright_installed

    global _session, _browser
    if _session is not None or not playwright_installed():
        return
    _browser = _browser_option(args)
    try:
        browser = choose_browser(_browser)
    except WasmrunError:
        return
    _session = BrowserSession(browser.path, HeadlessOptions(browser=_browser), _unset, _unset)
    _session.start()
    atexit.register(_cancel)
    _session.imported.wait(IMPORT_WAIT_S)


def take(browser: str | None, stdout: Callable[[str], None], stderr: Callable[[str], None],
         options: HeadlessOptions) -> BrowserSession | None:
    """The pre-launched session, given this run's options and writers, when it drives the browser
    asked for; else None (and it is cancelled)."""
    global _session
    session, _session = _session, None
    if session is None:
        return None
    if browser != _browser:
        session.cancel()
        return None
    session.options = options
    session.stdout = stdout
    session.stderr = stderr
    return session


def _unset(text: str) -> None:
    raise RuntimeError("a pre-launched browser session was used before the command took it")


def _cancel() -> None:
    session = _session
    if session is not None:
        session.cancel()
        session.join(10)
