"""Errors a user can cause, each carrying the exit code the CLI ends with.

The CLI prints ``error: <message>`` (one line) for any :class:`WasmrunError` and exits with
its ``exit_code``; everything else is a bug and is reported as such, still without a traceback
unless ``WASMRUN_DEBUG=1``.
"""

from __future__ import annotations

#: Exit codes, documented in docs/reference/exit-codes.md and stable.
EXIT_OK = 0
EXIT_FAILURE = 1  # the build (or the module, or the check) failed
EXIT_USAGE = 2  # bad usage or input: no such path, no plugin, missing toolchain, bad config
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_TERMINATED = 143  # SIGTERM (128 + 15)


class WasmrunError(Exception):
    """An error the user can act on; ``str(error)`` is the one line printed."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def error_lines(exc: WasmrunError, *, debug: bool = False) -> list[str]:
    """What the CLI prints for ``exc`` on stderr: a failed tool's own output first (with
    ``debug``: where in a plugin its exception came from), then the one ``error:`` line, then a
    hint when there is one."""
    lines = [exc.output] if isinstance(exc, BuildError) and exc.output else []
    if debug and isinstance(exc, PluginError) and exc.details:
        lines.append(exc.details)
    lines.append(f"error: {exc.message}")
    if exc.hint:
        lines.append(f"hint: {exc.hint}")
    return lines


class UsageError(WasmrunError):
    """Bad arguments or input: a missing path, an unknown name, a malformed value."""


class ConfigError(WasmrunError):
    """The config file cannot be read or does not match its schema."""


class NoPluginError(WasmrunError):
    """No language plugin claims the project (or the requested one does not exist)."""


class MissingToolchainError(WasmrunError):
    """A tool the build needs is not installed; the message names it and how to get it."""


class BuildError(WasmrunError):
    """The toolchain ran and failed; ``output`` holds what it printed."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, output: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output = output


class PluginError(WasmrunError):
    """A plugin raised or returned something it should not have; ``details`` holds the plugin's
    own traceback frames when it raised (shown with ``WASMRUN_DEBUG=1`` or ``-v``)."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, details: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.details = details


class WasmFormatError(WasmrunError):
    """A ``.wasm`` file is malformed; ``offset`` is where reading failed."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message if offset is None else f"{message} (at byte offset {offset})")
        self.offset = offset


#: Exit codes of ``wasmrun exec`` when wasmrun stops the module (all above 125, so never one a
#: module can give through WASI's ``proc_exit``): signal-style numbers, 128 + the signal whose
#: meaning is closest.
EXIT_TRAP = 134  # the module trapped (128 + SIGABRT, as the wasmtime CLI)
EXIT_MEMORY_LIMIT = 137  # --max-memory refused the memory the module needed (128 + SIGKILL, as an OOM kill)
EXIT_TIMEOUT = 142  # --timeout expired (128 + SIGALRM)
EXIT_OUT_OF_FUEL = 152  # --fuel ran out (128 + SIGXCPU, CPU limit exceeded)


class ModuleRefusedError(WasmrunError):
    """``exec`` will not run this binary natively (it needs JS glue, or is a component it cannot run)."""

    exit_code = EXIT_FAILURE
