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
    import importlib.util

    spec = importlib.util.find_spec("wasmtime")  # where it is, without importing it (80 ms)
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        found = sorted(Path(folder).resolve().parent.glob("wasmtime-*.dist-info"))
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


class _NativeValidator:
    """wasmtime's own validator called through ctypes, without importing wasmtime-py.

    ``inspect`` validates on a thread while it builds its report in Python; importing wasmtime-py
    (80 ms of Python holding the GIL) delayed that report more than validating did. This is the
    same C library and the same default engine configuration that ``wasmtime.Engine()`` makes, so
    the verdict is the same; anything unexpected about the library and :func:`validate` falls
    back to wasmtime-py."""

    def __init__(self) -> None:
        import ctypes
        import importlib.util

        spec = importlib.util.find_spec("wasmtime")
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        library = next((path for folder in folders if (path := _library_in(Path(folder))) is not None), None)
        if library is None:
            raise OSError("wasmtime's C library was not found")

        class ByteVec(ctypes.Structure):
            _fields_ = [("size", ctypes.c_size_t), ("data", ctypes.POINTER(ctypes.c_char))]

        lib = ctypes.CDLL(str(library))
        lib.wasm_engine_new.restype = ctypes.c_void_p
        lib.wasm_engine_new.argtypes = []
        lib.wasmtime_module_validate.restype = ctypes.c_void_p
        lib.wasmtime_module_validate.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.wasmtime_error_message.restype = None
        lib.wasmtime_error_message.argtypes = [ctypes.c_void_p, ctypes.POINTER(ByteVec)]
        lib.wasmtime_error_delete.restype = None
        lib.wasmtime_error_delete.argtypes = [ctypes.c_void_p]
        lib.wasm_byte_vec_delete.restype = None
        lib.wasm_byte_vec_delete.argtypes = [ctypes.POINTER(ByteVec)]
        self._ctypes, self._lib, self._vec = ctypes, lib, ByteVec
        self._engine = lib.wasm_engine_new()
        if not self._engine:
            raise OSError("wasmtime could not make an engine")

    def validate(self, data: bytes) -> Verdict:
        error = self._lib.wasmtime_module_validate(self._engine, data, len(data))
        if not error:
            return None
        message = self._vec()
        self._lib.wasmtime_error_message(error, self._ctypes.byref(message))
        text = self._ctypes.string_at(message.data, message.size).decode("utf-8", "replace")
        self._lib.wasm_byte_vec_delete(self._ctypes.byref(message))
        self._lib.wasmtime_error_delete(error)
        return wasmtime_error_detail(Exception(text))


def _library_in(package: Path) -> Path | None:
    """wasmtime-py's bundled C library inside its package folder (named as wasmtime-py names it)."""
    import os
    import sys

    if hasattr(os, "uname"):
        machine = os.uname().machine
    else:  # pragma: no cover - Windows
        import platform

        machine = platform.machine()
    machine = {"AMD64": "x86_64", "arm64": "aarch64", "ARM64": "aarch64"}.get(machine, machine)
    name = {"linux": "_libwasmtime.so", "darwin": "_libwasmtime.dylib", "win32": "_wasmtime.dll"}.get(sys.platform)
    if name is None:
        return None
    path = package / f"{sys.platform}-{machine}" / name
    return path if path.is_file() else None


@functools.cache
def _native() -> _NativeValidator | None:
    try:
        return _NativeValidator()
    except (OSError, AttributeError, ImportError, ValueError):
        return None


def validate(data: bytes, *, component: bool = False) -> Verdict:
    """wasmtime's verdict on ``data``: None when valid, else the reason and offset."""
    if not component:
        native = _native()
        if native is not None:
            return native.validate(bytes(data))
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

