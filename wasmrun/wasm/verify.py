"""``verify``: is this file a valid WebAssembly module (or component)?

Three stages, each stopping at the first problem with its byte offset: the preamble (magic and
version), the structure (every section decoded by :mod:`wasmrun.wasm.reader`, in order, every
count and index in range), then full validation against the spec by wasmtime's validator (the
types of every instruction). The JSON shape is documented in docs/reference/inspect-json.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasmrun.errors import UsageError, WasmFormatError
from wasmrun.wasm.reader import WasmModule

SCHEMA = "wasmrun.verify"
SCHEMA_VERSION = 1

_OFFSET = re.compile(r"\s*\(at offset 0x([0-9a-fA-F]+)\)")


class NotAFileError(WasmFormatError):
    """The path exists but is not a regular file (a directory, a device)."""


def read_file(path: Path) -> bytes:
    """The bytes of ``path``: a missing path is a usage error (exit 2); a directory is not a module (exit 1)."""
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if not path.is_file():
        raise NotAFileError(f"{path} is not a file" + (" (a directory)" if path.is_dir() else ""))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def load(path: Path) -> WasmModule:
    """A module read from ``path``, its structure checked; errors name the file."""
    data = read_file(path)
    try:
        module = WasmModule(data, path)
        module.parse_all()
    except WasmFormatError as exc:
        raise WasmFormatError(f"{path}: {exc.message}") from None
    return module


@dataclass
class VerifyResult:
    file: str
    valid: bool
    stage: str  # "valid", or where it failed: "preamble", "structure", "validation"
    kind: str | None = None  # module, component
    error: str | None = None
    offset: int | None = None
    warnings: list[str] = field(default_factory=list)
    module: WasmModule | None = None
    engine: str = ""

    @property
    def message(self) -> str:
        """The one line a person reads."""
        if self.valid:
            return f"{self.file}: valid WebAssembly {self.kind}"
        where = f" (at byte offset {self.offset})" if self.offset is not None else ""
        return f"{self.file}: invalid ({self.stage}): {self.error}{where}"

    def as_dict(self, *, detailed: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "file": self.file, "valid": self.valid,
            "kind": self.kind, "stage": self.stage, "error": self.error, "offset": self.offset,
            "validator": self.engine, "warnings": self.warnings,
        }
        if detailed and self.module is not None:
            from wasmrun.wasm.inspect import section_table, summary

            out["sections"] = section_table(self.module)
            try:
                out["summary"] = summary(self.module)
            except WasmFormatError:
                out["summary"] = None
        return out


def _split_offset(message: str) -> tuple[str, int | None]:
    match = _OFFSET.search(message)
    if match is None:
        return message, None
    return _OFFSET.sub("", message).strip(), int(match.group(1), 16)


_AT_OFFSET_PREFIX = re.compile(r"^.*?\bat offset (\d+):\s*")


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


def _wasmtime_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"wasmtime {version('wasmtime')}"
    except PackageNotFoundError:  # pragma: no cover - wasmtime is a dependency
        return "wasmtime"


def verify_bytes(data: bytes, file: str = "<bytes>") -> VerifyResult:
    """Verify a module in memory; never raises for a bad module (the result says why)."""
    try:
        module = WasmModule(data)
    except WasmFormatError as exc:
        stage = "preamble" if exc.offset is not None and exc.offset < 8 else "structure"
        return VerifyResult(file, False, stage, error=_bare(exc), offset=exc.offset)
    try:
        module.parse_all()
    except WasmFormatError as exc:
        return VerifyResult(file, False, "structure", module.kind, _bare(exc), exc.offset, module=module)
    warnings = module.custom_section_problems()
    problem = _validate(data, module.is_component)
    if problem is not None:
        text, offset = problem
        return VerifyResult(file, False, "validation", module.kind, text, offset, warnings, module,
                            _wasmtime_version())
    return VerifyResult(file, True, "valid", module.kind, warnings=warnings, module=module, engine=_wasmtime_version())


def _validate(data: bytes, component: bool) -> tuple[str, int | None] | None:
    """wasmtime's verdict: None when valid, else the reason and offset."""
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


def _bare(exc: WasmFormatError) -> str:
    """The message without the offset suffix WasmFormatError adds (the result keeps it apart)."""
    suffix = f" (at byte offset {exc.offset})"
    return exc.message[: -len(suffix)] if exc.offset is not None and exc.message.endswith(suffix) else exc.message


def verify_file(path: Path) -> VerifyResult:
    """Verify a file; a missing path raises UsageError, a directory NotAFileError."""
    return verify_bytes(read_file(path), str(path))
