"""The command-line interface: a thin typer layer over :mod:`wasmrun.building` and friends."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType

TYPE_CHECKING = False  # typing's own flag, without importing typing at every start-up
if TYPE_CHECKING:
    from typing import NoReturn


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM. A ``KeyboardInterrupt``, so that SIGTERM takes the
    road of Ctrl-C: every ``finally`` runs (a build's staging directory is discarded, a running
    compiler is killed with its process group), a plugin's call does not report it as the
    plugin's failure, and wasmrun ends with one line; :func:`main` then exits with 143."""


_terminated = False


def _terminate(signum: int, frame: FrameType | None) -> None:
    global _terminated
    _terminated = True
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends wasmrun at once
    raise Terminated


#: True when wasmrun runs as its own process (``main``), not in-process (typer's test runner): a
#: command may then leave with ``os._exit`` once its work is done (``run --headless`` does).
process_entry = False


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; Ctrl-C anywhere ends quietly with exit code 130, SIGTERM
    the same way with 143."""
    from wasmrun.errors import EXIT_TERMINATED

    global _terminated, process_entry
    _terminated = False
    process_entry = True
    previous = None
    threading = sys.modules.get("threading")  # never imported: this is the only thread
    if threading is None or threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        _main(argv)
    except SystemExit:
        if not _terminated:
            raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if _terminated:
        sys.exit(EXIT_TERMINATED)


def _main(argv: list[str] | None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args == ["--version"]:
            # Fast path: no typer, no pydantic, no plugin imported just to print versions.
            from wasmrun.cli.version import version_text

            print(version_text())
            return
        from wasmrun.cli.fast import try_fast

        try:
            code = try_fast(args)  # exec and verify of a file, without typer (see wasmrun.cli.fast)
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - the same one line as typer's route
            sys.exit(unexpected_error(exc))
        if code is not None:
            if argv is None and args[0] in LEAVE_AT_ONCE:  # the process's own entry point, not main([...])
                _leave(code)
            sys.exit(code)
        if "--headless" in args:  # the browser launches while typer loads (see wasmrun.headless.prelaunch)
            from wasmrun.headless.prelaunch import prelaunch, wanted

            if wanted(args):
                prelaunch(args)
        from wasmrun.cli.app import app

        # `wasmrun PATH` is `wasmrun run PATH` when PATH is not a command name and exists.
        if args and not args[0].startswith("-"):
            names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
            names |= {g.name or "" for g in app.registered_groups}
            if args[0] not in names and os.path.exists(args[0]):
                args.insert(0, "run")
        app(args=args, prog_name="wasmrun")
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(closed_output())


#: The typer-free commands that leave by :func:`_leave`: they read a module (and ``exec`` runs it,
#: after any build it needs has finished); ``compile`` and ``run`` end the usual way.
LEAVE_AT_ONCE = frozenset({"exec", "inspect", "verify"})


def _leave(code: int) -> NoReturn:
    """End the process once a typer-free command is done: flush stdout and stderr and leave with
    ``os._exit``, without the interpreter's teardown (freeing a report's 100,000 objects and every
    loaded module one by one: 20 ms of a 200 ms ``inspect --json``). Nothing is left to finish:
    those commands have written their files and their threads are done. A closed stdout raises
    BrokenPipeError here, handled as everywhere."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def closed_output() -> int:
    """The reader of our output went away (``wasmrun ... | head -1``): end quietly, as other Unix
    tools do, with exit code 1 (as click does for the typer route, and Python's docs advise)."""
    from wasmrun.errors import EXIT_FAILURE

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # keep Python's exit-time flush from complaining
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    return EXIT_FAILURE


def unexpected_error(exc: BaseException) -> int:
    """One line for an error wasmrun did not expect (``WASMRUN_DEBUG=1``: the traceback), and the
    exit code; the same on the typer-free route and typer's."""
    from wasmrun.errors import EXIT_FAILURE

    if os.environ.get("WASMRUN_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    first = (str(exc).strip().splitlines() or [""])[0]
    try:
        print(f"error: internal error: {type(exc).__name__}: {first} (set WASMRUN_DEBUG=1 for details)",
              file=sys.stderr)
    except BrokenPipeError:
        return closed_output()
    return EXIT_FAILURE
