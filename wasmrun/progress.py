"""What a long build is doing, shown on a terminal: once a build has run for
:data:`DELAY_S`, one line on stderr with the command running and the time so far, redrawn until
the build ends and then cleared.

The caller decides whether to show it (:func:`wanted`: stderr is a terminal, and the output is not
``--json``). Standard library only until the line first shows: rich is imported then, by the
thread that draws it, so start-up and quick builds never pay for it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from wasmrun import toolchain

#: How long a build runs before the progress line appears.
DELAY_S = 1.0
#: How often the line is redrawn.
REFRESH_S = 0.1


def wanted(stream: TextIO | None = None, *, as_json: bool = False) -> bool:
    """Whether to show progress: a terminal that can redraw a line, and not JSON output."""
    out = sys.stderr if stream is None else stream
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and not as_json and os.environ.get("TERM") != "dumb"


def describe(label: str, elapsed: float, running: list[str] | None, width: int = 80) -> str:
    """``building hello: cargo build --release ... (3 s)``: the label, the tool running now (its
    program's name and arguments, cut to fit ``width`` columns), and the seconds so far."""
    seconds = f" ({elapsed:.0f} s)"
    what = label
    if running:
        what += ": " + " ".join([Path(running[0]).name, *running[1:]])
    room = max(width - len(seconds), len(label) + 4)
    if len(what) > room:
        what = what[:room - 3] + "..."
    return what + seconds


@contextmanager
def build_progress(label: str, *, enabled: bool, stream: TextIO | None = None,
                   delay: float = DELAY_S) -> Iterator[None]:
    """Show ``label``, the command running and the elapsed time while the body runs, if it runs
    longer than ``delay`` and ``enabled``."""
    if not enabled:
        yield
        return
    stop = threading.Event()
    drawer = threading.Thread(target=_draw, args=(label, stop, stream or sys.stderr, delay, time.monotonic()),
                              name="wasmrun-progress", daemon=True)
    drawer.start()
    try:
        yield
    finally:
        stop.set()
        drawer.join(timeout=5)


def _draw(label: str, stop: threading.Event, stream: TextIO, delay: float, started: float) -> None:
    if stop.wait(delay):
        return  # a quick build: nothing shown, rich never imported
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, stderr=stream is sys.stderr)

    def line() -> Text:
        width = console.width - 3  # the spinner and its space
        return Text(describe(label, time.monotonic() - started, toolchain.running(), width), no_wrap=True)

    # The status is transient (cleared at the end); what wasmrun logs meanwhile (-v) prints above it.
    with console.status(line(), spinner="dots") as status:
        while not stop.wait(REFRESH_S):
            status.update(line())
