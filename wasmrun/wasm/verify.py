"""``verify``: is this file a valid WebAssembly module (or component)?

Three stages, the first problem reported with its byte offset: the preamble (magic and version),
the structure (every section decoded by :mod:`wasmrun.wasm.reader`, in order, every count and
index in range), then full validation against the spec by wasmtime's validator (the types of
every instruction, :mod:`wasmrun.wasm.validate`). The validator runs first and the structure is
read only when it rejects the module (see :func:`verify_bytes`). The JSON shape is documented in
docs/reference/inspect-json.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wasmrun.errors import WasmFormatError
from wasmrun.wasm.inspect import section_table, summary
from wasmrun.wasm.reader import NotAFileError, WasmModule, read_file
from wasmrun.wasm.sections import bare_message
from wasmrun.wasm.validate import validate, validator_name

SCHEMA = "wasmrun.verify"
SCHEMA_VERSION = 1

__all__ = ["NotAFileError", "VerifyResult", "load", "read_file", "verify_bytes", "verify_file"]


def load(path: Path) -> WasmModule:
    """A module read from ``path``, its structure checked; errors name the file."""
    data = read_file(path)
    try:
        module = WasmModule(data, path)
        module.parse_all()
    except WasmFormatError as exc:
        raise WasmFormatError(f"{path}: {exc.message}") from None
    return module


class VerifyResult:
    """The verdict on a file (a plain class: ``import dataclasses`` would cost ``verify`` 10 ms)."""

    def __init__(self, file: str, valid: bool, stage: str, kind: str | None = None, error: str | None = None,
                 offset: int | None = None, warnings: list[str] | None = None, module: WasmModule | None = None,
                 engine: str = "") -> None:
        self.file = file
        self.valid = valid
        self.stage = stage  # "valid", or where it failed: "preamble", "structure", "validation"
        self.kind = kind  # module, component
        self.error = error
        self.offset = offset
        self.warnings = [] if warnings is None else warnings
        self.module = module
        self.engine = engine

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
            out["sections"] = section_table(self.module)
            try:
                out["summary"] = summary(self.module)
            except WasmFormatError:
                out["summary"] = None
        return out


def verify_bytes(data: bytes, file: str = "<bytes>") -> VerifyResult:
    """Verify a module in memory; never raises for a bad module (the result says why).

    The validator runs first: a module it accepts is valid and is not read again in Python (a
    module with 20,000 imports would cost more to read than to validate). Only a module it
    rejects is read by wasmrun's reader, so that a malformed structure is reported as such, with
    the reader's own words and offset."""
    try:
        module = WasmModule(data)
    except WasmFormatError as exc:
        stage = "preamble" if exc.offset is not None and exc.offset < 8 else "structure"
        return VerifyResult(file, False, stage, error=bare_message(exc), offset=exc.offset)
    problem = validate(data, component=module.is_component)
    warnings = module.custom_section_problems()
    if problem is None:
        return VerifyResult(file, True, "valid", module.kind, warnings=warnings, module=module,
                            engine=validator_name())
    try:
        module.parse_all()
    except WasmFormatError as exc:
        return VerifyResult(file, False, "structure", module.kind, bare_message(exc), exc.offset, warnings, module)
    text, offset = problem
    return VerifyResult(file, False, "validation", module.kind, text, offset, warnings, module, validator_name())


def verify_file(path: Path) -> VerifyResult:
    """Verify a file; a missing path raises UsageError, anything but a regular file NotAFileError."""
    return verify_bytes(read_file(path), str(path))
