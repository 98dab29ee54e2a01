"""Printing for the CLI: JSON, one-line errors, and the decorator that turns wasmrun's errors
into exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer

from wasmrun.errors import EXIT_INTERRUPTED, WasmrunError, error_lines

P = ParamSpec("P")
R = TypeVar("R")


def err(message: str) -> None:
    """A line to stderr."""
    typer.echo(message, err=True)


def print_json(data: Any) -> None:
    """Machine-readable output: always valid JSON on stdout, nothing else."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    typer.echo(json.dumps(data, indent=2, default=str))


def report_error(exc: WasmrunError, *, verbose: bool = False) -> None:
    """The error's lines on stderr; ``verbose`` (``-v``) or ``WASMRUN_DEBUG=1`` add where in a
    plugin its exception came from."""
    import os

    for line in error_lines(exc, debug=verbose or bool(os.environ.get("WASMRUN_DEBUG"))):
        err(line)


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command so that a user's mistake or a tool's failure ends as one line and an exit
    code, never a traceback (``WASMRUN_DEBUG=1`` shows the traceback of unexpected errors)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except WasmrunError as exc:
            report_error(exc, verbose=kwargs.get("verbose") is True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort, BrokenPipeError):
            raise
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            from wasmrun.cli import unexpected_error

            raise typer.Exit(unexpected_error(exc)) from None

    return wrapper


def is_tty() -> bool:
    return sys.stdout.isatty()
