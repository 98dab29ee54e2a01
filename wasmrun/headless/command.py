"""``run --headless`` from its parsed options to an exit code, without typer: typer's ``run`` and
the typer-free route (:mod:`wasmrun.cli.fast`) both end here, so they cannot disagree.

stdout carries the program's output alone; wasmrun's own lines go to stderr. Run as its own
process, wasmrun leaves with ``os._exit`` once the program has ended (see :func:`headless_main`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING

from wasmrun.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, WasmrunError, error_lines

if TYPE_CHECKING:
    from wasmrun.server.app import BuildOptions, ServeOptions


def err(line: str) -> None:
    """A line of wasmrun's own on stderr."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def write_out(text: str) -> None:
    """What the program writes to its stdout."""
    with contextlib.suppress(BrokenPipeError):  # the reader left (`| head -1`): the program still runs to its end
        sys.stdout.write(text)
        sys.stdout.flush()


def write_err(text: str) -> None:
    """What the program writes to its stderr, and the browser's console errors."""
    sys.stderr.write(text)
    sys.stderr.flush()


def read_stdin() -> bytes:
    """The program's stdin: what is piped in, read to its end; nothing from a terminal."""
    return b"" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()


def headless_main(path: str, serve: ServeOptions, build: BuildOptions, *, timeout: float | None,
                  browser: str | None, leave: bool) -> int:
    """Run ``path`` headless (options checked by the caller) and return the exit code; with
    ``leave`` (wasmrun runs as its own process), end the process instead, at once.

    Leaving with ``os._exit`` once the program has ended (or the build failed, or Ctrl-C) does not
    wait for the browser to close: Playwright's driver, its pipe closed, kills the browser and
    removes its profile. That also keeps the interpreter's exit from tearing down the browser
    thread's greenlets, which can crash while that thread is busy. The server is closed by then.
    In-process (a test's CLI runner) the browser is waited for and the code returned."""
    from wasmrun.headless.driver import HeadlessOptions
    from wasmrun.headless.run import run_headless

    options = HeadlessOptions(browser=browser, timeout=timeout, stdin=read_stdin())
    try:
        outcome = run_headless(path, serve, build, options, write_out, write_err, wait_for_close=not leave)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (wasmrun.cli.Terminated): 130 or 143, as every command
        from wasmrun.cli import Terminated

        err("interrupted")
        code = EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    except WasmrunError as exc:
        for line in error_lines(exc, debug=bool(os.environ.get("WASMRUN_DEBUG"))):
            err(line)
        code = exc.exit_code
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        from wasmrun.cli import unexpected_error

        code = unexpected_error(exc)
    else:
        if outcome.message:
            err(f"error: {outcome.message}")
        code = outcome.exit_code
    if not leave:
        return code
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
