"""Full validation against the spec, by wasmtime's validator, and its errors as one line.

``verify`` and ``inspect`` both ask :func:`validate`; ``exec`` words a compile error with
:func:`wasmtime_error_detail`. This sits below all three, so none of them imports another for it.
"""

from __future__ import annotations

import functools
import re
import threading
from pathlib import Path

_OFFSET = re.compile(r"\s*\(at offset 0x([0-9a-fA-F]+)\)")
_AT_OFFSET_PREFIX = re.compile(r"^.*?\bat offset (\d+):\s*")

#: The verdict: None when valid, else (reason, byte offset or None).
Verdict = tuple[str, int | None] | None


def _split_offset(message: str) -> tuple[str, int | None]:
    match = _OFFSET.search(message)
    if match is None:
        return message, None
    return _OFFSET.sub("", message).strip(), int(match.group(1), 16)


def wasmtime_error_detail(exc: Exception) -> tuple[str, int | None]:
    """The most specific line of a wasmtime compile or validation error, and its byte offset."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__, None
    # the innermost cause is the most specific line, and the one with the offset
    detail = next((line for line in reversed(lines) if _OFFSET.search(line) or _AT_OFFSET_PREFIX.match(line)),
                  lines[-1])
    detail = re.sub(r"^\d+:\s*", "", detail)
    prefixed = _AT_OFFSET_PREFIX.match(detail)
    if prefixed:
        return detail[prefixed.end():].strip(), int(prefixed.group(1))
    return _split_offset(detail)


@functools.cache
def wasmtime_version() -> str:
    """The installed wasmtime-py's version, from its dist-info directory's name (importing
    ``importlib.metadata`` to ask would cost more than the rest of ``verify``'s start-up)."""
    import wasmtime

    site = Path(wasmtime.__file__).resolve().parent.parent
    found = sorted(site.glob("wasmtime-*.dist-info"))
    if len(found) == 1:
        return found[0].name.removeprefix("wasmtime-").removesuffix(".dist-info")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wasmtime")
    except PackageNotFoundError:  # pragma: no cover - wasmtime is a dependency
        return "unknown"


def validator_name() -> str:
    """The validating engine and its version, e.g. ``wasmtime 50.0.1``."""
    return f"wasmtime {wasmtime_version()}"


def validate(data: bytes, *, component: bool = False) -> Verdict:
    """wasmtime's verdict on ``data``: None when valid, else the reason and offset."""
    import wasmtime

    engine = wasmtime.Engine()
    try:
        if component:
            from wasmtime.component import Component

            Component(engine, data)
        else:
            wasmtime.Module.validate(engine, data)
    except wasmtime.WasmtimeError as exc:
        return wasmtime_error_detail(exc)
    return None


class BackgroundValidation:
    """:func:`validate` on another thread (wasmtime releases the GIL while it validates), so a
    caller can read the module in Python meanwhile; :meth:`result` waits for the verdict."""

    def __init__(self, data: bytes, *, component: bool = False) -> None:
        self._verdict: Verdict = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(data, component), daemon=True)
        self._thread.start()

    def _run(self, data: bytes, component: bool) -> None:
        try:
            self._verdict = validate(data, component=component)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in result()
            self._error = exc

    def result(self) -> Verdict:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._verdict


def describe(verdict: tuple[str, int | None]) -> str:
    """A verdict as ``reason (at byte offset N)``."""
    text, offset = verdict
    return text if offset is None else f"{text} (at byte offset {offset})"

