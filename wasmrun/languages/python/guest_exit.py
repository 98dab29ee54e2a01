"""Guest-side code shared by wasmrun's Python components: how a run ends, as CPython would end it.

This file runs INSIDE the components, not in wasmrun: the program runner of
:mod:`wasmrun.languages.python.components` and the agent's stateful cell
(:mod:`wasmrun.agent.runtimes.python`) both write it (:func:`source`) beside their app as
:data:`MODULE` and import it, so an exit status or a traceback is shaped in one place. It
imports only the standard library, and is plain Python so that it is linted and tested here too.
"""

import os
import sys
from types import TracebackType

#: The module name the guest apps import this file as.
MODULE = "wasmrun_guest_exit"


def exit_status(code: object) -> int:
    """The exit status of ``SystemExit(code)``, as CPython's own exit: None is 0, an int is
    itself, anything else is printed to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return int(code)  # a bool too
    print(code, file=sys.stderr)
    return 1


def without_runner(tb: TracebackType | None, runner_file: str) -> TracebackType | None:
    """The traceback ``tb`` without the frames of the runner (the file named ``runner_file``),
    so that it reads as CPython's for the user's own code."""
    runner = os.path.basename(runner_file)
    kept = []
    while tb is not None:
        if os.path.basename(tb.tb_frame.f_code.co_filename) != runner:
            kept.append(tb)
        tb = tb.tb_next
    for frame, following in zip(kept, [*kept[1:], None], strict=True):
        frame.tb_next = following
    return kept[0] if kept else None


def source() -> str:
    """This file's text, to write into a component's app directory as ``MODULE + ".py"``."""
    with open(__file__, encoding="utf-8") as text:
        return text.read()
