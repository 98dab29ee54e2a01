"""The headless browser of one run: a thread that owns Playwright (its sync API is bound to the
thread that starts it), launches the browser while the main thread builds and serves, then opens
the page, streams what the page reports and ends with the program's exit code.

The page reports through ``window.wasmrunHost`` (host.js, installed before the page's own
scripts): one console line per write and one for the end, so output and end arrive in order.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from wasmrun.errors import EXIT_FAILURE, EXIT_OK, EXIT_TIMEOUT, EXIT_TRAP, WasmrunError

#: Chromium's flags for a short-lived headless run; --no-sandbox lets it run as root (and in
#: containers without user namespaces): the pages it opens are the user's own, from loopback.
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-extensions", "--mute-audio"]
#: Marks the page's reports among its console lines.
MARKER = "\u2063wasmrun\u2063"
#: How often the wait looks up from the page: for Ctrl-C and --timeout (an ending needs no poll).
POLL_MS = 200
#: wasmrun's page that has not started the program this long after opening never will (exit 1).
START_LIMIT_S = 60.0


@dataclass
class Outcome:
    """How a headless run ended: the exit code, and the one line wasmrun prints when it, not the
    program, ended the run (a timeout, a page that did not load)."""

    exit_code: int
    message: str | None = None


@dataclass
class HeadlessOptions:
    """The browser side of a run: which browser, its time limit, and the program's stdin."""

    browser: str | None = None  # a name among those found, or a path; None: the first found
    timeout: float | None = None  # seconds from opening the page; None: until the program ends
    stdin: bytes = b""
    launch_args: list[str] = field(default_factory=lambda: list(BROWSER_ARGS))


def host_script(stdin: bytes) -> str:
    """host.js with this run's configuration filled in."""
    text = resources.files("wasmrun.headless").joinpath("host.js").read_text(encoding="utf-8")
    config = json.dumps({"stdin": base64.b64encode(stdin).decode("ascii"), "marker": MARKER})
    return text.replace("__WASMRUN_HOST_CONFIG__", config)


def outcome_of_end(data: dict[str, Any]) -> Outcome:
    """The exit code of the page's end report, as ``exec`` has them."""
    status = data.get("status")
    if status == "exited":
        code = data.get("code")
        return Outcome(code if isinstance(code, int) else EXIT_OK)
    if status == "trapped":
        return Outcome(EXIT_TRAP)
    if status == "ready":  # a library or reactor: initialised, nothing more to run
        return Outcome(EXIT_OK)
    text = str(data.get("text") or status).removeprefix("failed: ")
    return Outcome(EXIT_FAILURE, f"the page could not run the program: {text}")


class BrowserSession(threading.Thread):
    """Launch at once, open the page given to :meth:`open`, and keep the :class:`Outcome`.
    ``stdout`` and ``stderr`` get text as the page reports it (called from this thread)."""

    def __init__(self, executable: Path, options: HeadlessOptions, stdout: Callable[[str], None],
                 stderr: Callable[[str], None]) -> None:
        super().__init__(name="wasmrun-headless", daemon=True)
        self.executable = executable
        self.options = options
        self.stdout = stdout
        self.stderr = stderr
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None
        self._urls: queue.Queue[str | None] = queue.Queue()
        self._cancelled = threading.Event()
        self.finished = threading.Event()  # the outcome (or error) is known; the browser may still be closing
        self.imported = threading.Event()  # Playwright is imported (or could not be): its driver starts next

    # -- the main thread's side -----------------------------------------------------------------

    def open(self, url: str) -> None:
        self._urls.put(url)

    def cancel(self) -> None:
        """Stop (Ctrl-C, or the server could not start): the browser closes within a poll."""
        self._cancelled.set()
        self._urls.put(None)

    def wait(self) -> Outcome:
        """The outcome, once the page has ended (the browser may still be closing); Ctrl-C
        reaches the caller while waiting."""
        while not self.finished.wait(0.1):
            if not self.is_alive():
                break
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome

    # -- this thread ----------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001  (handed to the main thread)
            if not self._cancelled.is_set():
                self.error = _launch_error(exc, self.executable)
        finally:
            self.imported.set()
            self.finished.set()

    def _run(self) -> None:
        try:
            from playwright.sync_api import sync_playwright
        finally:
            self.imported.set()
        with sync_playwright() as playwright:
            # a fresh temporary profile per launch (Playwright's default): parallel runs never share one
            browser = playwright.chromium.launch(executable_path=str(self.executable), args=self.options.launch_args,
                                                 handle_sigint=False, handle_sigterm=False, handle_sighup=False)
            try:
                url = self._next_url()
                if url is not None:
                    self.outcome = self._drive(browser, url)
                    self.finished.set()
            finally:
                browser.close()

    def _next_url(self) -> str | None:
        while not self._cancelled.is_set():
            try:
                return self._urls.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _drive(self, browser: Any, url: str) -> Outcome | None:
        from playwright.sync_api import Error as PlaywrightError

        context = browser.new_context()
        page = context.new_page()
        ended: list[Outcome] = []
        started: list[bool] = []
        own_page = not url.rstrip("/").endswith("__wasmrun")  # no wasmrun page: a project's index.html

        def on_console(message: Any) -> None:
            if ended:  # the program has ended: what the page says while wasmrun closes is not its output
                return
            text = message.text
            report = _report_of(text)
            if report is not None:
                kind, data = report
                if kind == "stdout" and isinstance(data, str):
                    self.stdout(data)
                elif kind in ("stderr", "note") and isinstance(data, str):
                    self.stderr(data)
                elif kind == "start":
                    started.append(True)
                elif kind == "end" and not ended:
                    ended.append(outcome_of_end(data if isinstance(data, dict) else {}))
            elif message.type in ("error", "warning"):
                self.stderr(f"console.{message.type}: {text}\n")
            elif own_page and message.type in ("log", "info"):  # a project's own page: its console is its output
                self.stdout(f"{text}\n")

        def on_page_error(error: Any) -> None:
            if ended:
                return
            self.stderr(f"uncaught {getattr(error, 'name', 'Error')}: {getattr(error, 'message', error)}\n")

        def on_crash(_: Any) -> None:
            if not ended:
                ended.append(Outcome(EXIT_FAILURE, "the browser's page crashed"))

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("crash", on_crash)
        page.add_init_script(host_script(self.options.stdin))
        start = time.monotonic()
        try:
            response = page.goto(url, wait_until="commit", timeout=30_000)
        except PlaywrightError as exc:
            return Outcome(EXIT_FAILURE, f"the page failed to load: {_first_line(exc)}")
        if response is None or not response.ok:
            status = f"HTTP {response.status}" if response is not None else "no response"
            return Outcome(EXIT_FAILURE, f"the page failed to load: {status} for {url}")
        timeout = self.options.timeout
        while not ended:
            if self._cancelled.is_set():
                return None
            elapsed = time.monotonic() - start
            remaining = None if timeout is None else timeout - elapsed
            out_of_time = elapsed >= START_LIMIT_S or (remaining is not None and remaining <= 0)
            if not own_page and not started and out_of_time:
                waited = min(elapsed, START_LIMIT_S)
                return Outcome(EXIT_FAILURE, f"the page did not start the program within {waited:.0f} s")
            if remaining is not None and remaining <= 0:
                return Outcome(EXIT_TIMEOUT, f"timed out: the program was still running after --timeout {timeout:g} s")
            step = POLL_MS if remaining is None else max(1, min(POLL_MS, int(remaining * 1000)))
            try:
                page.wait_for_event("console", predicate=lambda _: bool(ended), timeout=step)
            except PlaywrightError as exc:
                if ended or "Timeout" in type(exc).__name__ or "Timeout" in str(exc).split("\n", 1)[0]:
                    continue
                return Outcome(EXIT_FAILURE, f"the browser's page went away: {_first_line(exc)}")
        return ended[0]


def _report_of(text: str) -> tuple[str, Any] | None:
    """A report of the page's (``[kind, data]`` after the marker), or None for any other line."""
    if not text.startswith(MARKER):
        return None
    try:
        kind, data = json.loads(text[len(MARKER):])
    except (ValueError, TypeError):
        return None
    return (kind, data) if isinstance(kind, str) else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _launch_error(exc: BaseException, executable: Path) -> BaseException:
    """An error of the browser's thread as the one line the user sees."""
    if isinstance(exc, (WasmrunError, KeyboardInterrupt)):
        return exc
    return HeadlessError(f"the browser {executable} failed: {_first_line(exc)}")


class HeadlessError(WasmrunError):
    """The browser could not be started or driven (exit 1)."""

    exit_code = EXIT_FAILURE
