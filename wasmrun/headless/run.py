"""A headless run from a path to an exit code: build and serve as ``wasmrun run`` does (on a free
loopback port), open the page in a headless browser, and hand back what the program did. The
browser launches while the project builds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from wasmrun.headless.driver import BrowserSession, HeadlessOptions, Outcome

if TYPE_CHECKING:
    from wasmrun.server.app import BuildOptions, DevServer, ServeOptions


def page_url(server: DevServer) -> str:
    """wasmrun's page when there is a module to run (it reports the program's end, whatever glue
    runs it); a site without one (a directory with an index.html) is its own page."""
    return server.url + "__wasmrun/" if server.site.wasm_path() is not None else server.url


def run_headless(path: str | Path, serve: ServeOptions, build: BuildOptions, headless: HeadlessOptions,
                 stdout: Callable[[str], None], stderr: Callable[[str], None], *,
                 wait_for_close: bool = True) -> Outcome:
    """Run the project (or ``.wasm`` file, or site) at ``path`` in a headless browser until the
    program ends, ``headless.timeout`` passes, or Ctrl-C (raised as KeyboardInterrupt).

    ``wait_for_close=False`` returns while the browser is still closing: for a caller that then
    leaves the process at once (``os._exit``), whereupon Playwright's driver, its pipe closed,
    kills the browser and removes its profile."""
    from wasmrun.headless import prelaunch
    from wasmrun.headless.browsers import choose_browser, require_playwright

    session = prelaunch.take(headless.browser, stdout, stderr, headless)  # started before the CLI parsed
    if session is None:
        require_playwright()
        browser = choose_browser(headless.browser)
        session = BrowserSession(browser.path, headless, stdout, stderr)
        session.start()
    from wasmrun.server.app import open_server

    server = None
    try:
        server = open_server(path, serve, build)
        server.start()
        server.prepare_page()  # a component transpiled before the page's time limits start
        session.open(page_url(server))
        return session.wait()
    finally:
        session.cancel()
        if wait_for_close:
            session.join(10)
        if server is not None:
            server.close()
