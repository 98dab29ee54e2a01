"""The top level of a module: the preamble and the list of sections, read without trusting any
length. Enough for tools that move sections around; :mod:`wasmrun.wasm.reader` decodes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from typing import NamedTuple

from wasmrun.errors import WasmFormatError

MAGIC = b"\x00asm"
MODULE_VERSION = b"\x01\x00\x00\x00"
CUSTOM_SECTION_ID = 0


def read_uleb128(data: bytes | memoryview, pos: int, *, max_bits: int = 32, end: int | None = None) -> tuple[int, int]:
    """Decode an unsigned LEB128 at ``pos``, reading no further than ``end`` (default: the end of
    ``data``); returns (value, next position). The one unsigned LEB128 decoder of wasmrun: a
    number wider than ``max_bits`` allows, or running past ``end``, is a WasmFormatError at ``pos``."""
    limit = len(data) if end is None else end
    if pos < limit and data[pos] < 0x80:  # the common one-byte case
        return data[pos], pos + 1
    start = pos
    result = shift = 0
    max_bytes = (max_bits + 6) // 7
    for _ in range(max_bytes):
        if pos >= limit:
            raise WasmFormatError("unexpected end of data in a LEB128 number", offset=start)
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if result >> max_bits:
                raise WasmFormatError(f"LEB128 number out of range for u{max_bits}", offset=start)
            return result, pos
    raise WasmFormatError(f"LEB128 number longer than {max_bytes} bytes (u{max_bits})", offset=start)


def read_sleb128(data: bytes | memoryview, pos: int, *, bits: int = 32, end: int | None = None) -> tuple[int, int]:
    """Decode a signed LEB128 of at most ``bits`` bits at ``pos``; as :func:`read_uleb128`."""
    limit = len(data) if end is None else end
    start = pos
    result = shift = 0
    max_bytes = (bits + 6) // 7
    for _ in range(max_bytes):
        if pos >= limit:
            raise WasmFormatError("unexpected end of data in a LEB128 number", offset=start)
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte & 0x40:
                result -= 1 << shift
            if not -(1 << (bits - 1)) <= result < 1 << (bits - 1):
                raise WasmFormatError(f"LEB128 number out of range for s{bits}", offset=start)
            return result, pos
    raise WasmFormatError(f"LEB128 number longer than {max_bytes} bytes (s{bits})", offset=start)


def bare_message(exc: WasmFormatError) -> str:
    """The message without the ``(at byte offset N)`` suffix WasmFormatError adds to it."""
    suffix = f" (at byte offset {exc.offset})"
    return exc.message[: -len(suffix)] if exc.offset is not None and exc.message.endswith(suffix) else exc.message


class RawSection(NamedTuple):  # not a dataclass: ``import dataclasses`` costs 10 ms of every start-up
    """One section: its id, where its header starts, and where its payload lies."""

    id: int
    offset: int  # the section id byte
    payload_offset: int
    size: int  # payload size in bytes
    name: str | None = None  # custom sections only

    @property
    def end(self) -> int:
        return self.payload_offset + self.size


def iter_sections(data: bytes | memoryview) -> Iterator[RawSection]:
    """Yield each section; a length that runs past the end of the data is an error at once."""
    if len(data) < 8:
        raise WasmFormatError(f"file too short to be a WebAssembly module ({len(data)} bytes)", offset=0)
    if bytes(data[:4]) != MAGIC:
        raise WasmFormatError("not a WebAssembly binary (bad magic number)", offset=0)
    pos = 8
    while pos < len(data):
        start = pos
        section_id = data[pos]
        size, payload = read_uleb128(data, pos + 1)
        if payload + size > len(data):
            raise WasmFormatError(
                f"section {section_id} claims {size} bytes but only {len(data) - payload} remain", offset=start)
        name = None
        if section_id == CUSTOM_SECTION_ID:
            name_len, name_pos = read_uleb128(data, payload)
            if name_pos + name_len > payload + size:
                raise WasmFormatError("custom section name runs past its section", offset=payload)
            try:
                name = bytes(data[name_pos:name_pos + name_len]).decode("utf-8")
            except UnicodeDecodeError:
                raise WasmFormatError("custom section name is not UTF-8", offset=name_pos) from None
        yield RawSection(section_id, start, payload, size, name)
        pos = payload + size


def strip_custom_sections(data: bytes, names: Set[str]) -> bytes:
    """The module without the custom sections called one of ``names``."""
    kept = [data[:8]]
    for section in iter_sections(data):
        if section.id == CUSTOM_SECTION_ID and section.name in names:
            continue
        kept.append(data[section.offset:section.end])
    return b"".join(kept)


def encode_uleb128(value: int) -> bytes:
    """Encode a non-negative integer as unsigned LEB128 (the inverse of :func:`read_uleb128`)."""
    if value < 0:
        raise ValueError(f"cannot encode {value} as unsigned LEB128")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def replace_section(data: bytes, section: RawSection, payload: bytes) -> bytes:
    """The module with ``section``'s payload replaced by ``payload`` (its id kept, its size re-encoded)."""
    header = bytes([section.id]) + encode_uleb128(len(payload))
    return data[:section.offset] + header + payload + data[section.end:]
