"""A pure-Python reader of the WebAssembly binary format.

:func:`read_module` (or :meth:`WasmModule.from_bytes`) reads the preamble and the section table
at once; each section is decoded the first time it is asked for (``module.imports``,
``module.code`` ...). Nothing read from the file is trusted: every count is checked against the
bytes left in its section before anything is allocated for it (an entry takes at least one
byte), every length against the end of its section, every LEB128 against its width, and every
index the reader resolves (type indices, exported, start and element function indices) against
the space it indexes; the memory and table a data or element segment names are left to
validation, so that ``inspect`` can explain them as findings. Any failure is a
:class:`~wasmrun.errors.WasmFormatError` carrying the absolute byte offset.

Component-model binaries are recognised (``module.is_component``): their section table is read,
and their top-level imports and exports by name; the core modules inside are not decoded.
"""

from __future__ import annotations

import os
import stat
import struct
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from wasmrun.errors import UsageError, WasmFormatError
from wasmrun.wasm.sections import (
    CUSTOM_SECTION_ID,
    MAGIC,
    RawSection,
    bare_message,
    iter_sections,
    read_sleb128,
    read_uleb128,
)

# ---------------------------------------------------------------------------------------------
# Names of things

#: Section ids of a core module, with the names wabt's ``wasm-objdump -h`` uses in lower case.
SECTION_NAMES: dict[int, str] = {
    0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
    7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "datacount", 13: "tag",
}
#: The order the spec requires for the non-custom sections of a module (tag sits after memory).
SECTION_ORDER: dict[int, int] = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}
COMPONENT_SECTION_NAMES: dict[int, str] = {
    0: "custom", 1: "core-module", 2: "core-instance", 3: "core-type", 4: "component", 5: "instance",
    6: "alias", 7: "type", 8: "canon", 9: "start", 10: "import", 11: "export", 12: "value",
}
EXTERNAL_KINDS = ("func", "table", "memory", "global", "tag")
#: The import modules of WASI preview1 (and its predecessor).
WASI_MODULES = frozenset({"wasi_snapshot_preview1", "wasi_unstable"})
#: The page sizes the custom-page-sizes proposal allows, as the log2 its binary format stores: 1 and 65536.
PAGE_SIZE_EXPONENTS = (0, 16)

_NUMTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128"}
#: Abstract heap types, by their one-byte encoding.
_HEAPTYPES = {
    0x70: "func", 0x6F: "extern", 0x6E: "any", 0x6D: "eq", 0x6C: "i31", 0x6B: "struct", 0x6A: "array",
    0x73: "nofunc", 0x72: "noextern", 0x71: "none", 0x69: "exn", 0x74: "noexn",
}
_STORAGE_PACKED = {0x78: "i8", 0x77: "i16"}

#: Instructions allowed in constant expressions (with extended-const and GC), and their immediates.
_CONST_OPS: dict[int, tuple[str, str]] = {
    0x41: ("i32.const", "s32"), 0x42: ("i64.const", "s64"), 0x43: ("f32.const", "f32"),
    0x44: ("f64.const", "f64"), 0x23: ("global.get", "u32"), 0xD0: ("ref.null", "heap"),
    0xD2: ("ref.func", "u32"), 0x6A: ("i32.add", ""), 0x6B: ("i32.sub", ""), 0x6C: ("i32.mul", ""),
    0x7C: ("i64.add", ""), 0x7D: ("i64.sub", ""), 0x7E: ("i64.mul", ""),
}
_CONST_GC_OPS: dict[int, tuple[str, str]] = {
    0x00: ("struct.new", "u32"), 0x01: ("struct.new_default", "u32"), 0x06: ("array.new", "u32"),
    0x07: ("array.new_default", "u32"), 0x08: ("array.new_fixed", "u32u32"), 0x1A: ("any.convert_extern", ""),
    0x1B: ("extern.convert_any", ""), 0x1C: ("ref.i31", ""),
}


# ---------------------------------------------------------------------------------------------
# A cursor over bytes that trusts nothing


def _short_uleb(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """An unsigned LEB128 of at most three bytes at ``pos`` (indices below 2**21) and where it
    ends, or ``(-1, pos)`` for anything longer or cut off: the inline fast paths of the readers
    below take the general, checking road then."""
    if pos < end:
        first = data[pos]
        if first < 0x80:
            return first, pos + 1
        if pos + 1 < end:
            second = data[pos + 1]
            if second < 0x80:
                return (first & 0x7F) | (second << 7), pos + 2
            if pos + 2 < end and data[pos + 2] < 0x80:
                return (first & 0x7F) | ((second & 0x7F) << 7) | (data[pos + 2] << 14), pos + 3
    return -1, pos


class ByteReader:
    """Reads from ``data[pos:end]``; ``what`` names the thing being read, for error messages."""

    __slots__ = ("data", "end", "pos", "what")

    def __init__(self, data: bytes, pos: int, end: int, what: str) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.what = what

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def fail(self, problem: str, offset: int | None = None) -> WasmFormatError:
        return WasmFormatError(f"{self.what}: {problem}", offset=self.pos if offset is None else offset)

    def u8(self) -> int:
        if self.pos >= self.end:
            raise self.fail("unexpected end")
        byte = self.data[self.pos]
        self.pos += 1
        return byte

    def _leb_error(self, exc: WasmFormatError) -> WasmFormatError:
        return WasmFormatError(f"{self.what}: {bare_message(exc)}", offset=exc.offset)

    def _uleb(self, bits: int) -> int:
        data, pos = self.data, self.pos
        if pos < self.end and data[pos] < 0x80:  # the common one-byte case, inline
            self.pos = pos + 1
            return data[pos]
        try:
            value, self.pos = read_uleb128(data, pos, max_bits=bits, end=self.end)
        except WasmFormatError as exc:
            raise self._leb_error(exc) from None
        return value

    def _sleb(self, bits: int) -> int:
        try:
            value, self.pos = read_sleb128(self.data, self.pos, bits=bits, end=self.end)
        except WasmFormatError as exc:
            raise self._leb_error(exc) from None
        return value

    def u32(self) -> int:
        data, pos = self.data, self.pos
        if pos < self.end and data[pos] < 0x80:  # the common one-byte case, inline
            self.pos = pos + 1
            return data[pos]
        if pos + 1 < self.end and data[pos + 1] < 0x80:  # and two bytes (up to 16,383), inline too
            self.pos = pos + 2
            return (data[pos] & 0x7F) | (data[pos + 1] << 7)
        try:
            value, self.pos = read_uleb128(data, pos, max_bits=32, end=self.end)
        except WasmFormatError as exc:
            raise self._leb_error(exc) from None
        return value

    def u64(self) -> int:
        return self._uleb(64)

    def s32(self) -> int:
        return self._sleb(32)

    def s33(self) -> int:
        return self._sleb(33)

    def s64(self) -> int:
        return self._sleb(64)

    def take(self, size: int) -> bytes:
        if size > self.end - self.pos:
            raise self.fail(f"{size} bytes claimed but only {self.end - self.pos} left")
        out = self.data[self.pos:self.pos + size]
        self.pos += size
        return out

    def skip(self, size: int) -> int:
        """Skip ``size`` bytes; returns where they started."""
        if size > self.end - self.pos:
            raise self.fail(f"{size} bytes claimed but only {self.end - self.pos} left")
        start = self.pos
        self.pos += size
        return start

    def name(self) -> str:
        data, start, end = self.data, self.pos, self.end
        if start < end:
            size = data[start]
            if size < 0x80 and start + 1 + size <= end:  # the common short name, inline
                self.pos = start + 1 + size
                try:
                    return data[start + 1:self.pos].decode("utf-8")
                except UnicodeDecodeError:
                    raise self.fail("name is not valid UTF-8", start) from None
        raw = self.take(self.u32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("name is not valid UTF-8", start) from None

    def count(self, noun: str, min_size: int = 1) -> int:
        """A vector length, checked against the bytes left (each entry takes ``min_size`` or more)."""
        start = self.pos
        n = self.u32()
        if n * min_size > self.end - self.pos:
            raise self.fail(f"claims {n} {noun} but only {self.end - self.pos} bytes are left", start)
        return n

    def expect_end(self) -> None:
        if self.pos != self.end:
            raise self.fail(f"{self.end - self.pos} unexpected bytes at the end")


# ---------------------------------------------------------------------------------------------
# What the sections hold


class _Record:
    """A plain record: its fields are its ``__slots__``, set by its ``__init__``; two are equal
    when they are of one class with equal fields. Read-only by convention. (Each
    dataclass cost a millisecond at import, and ``import dataclasses`` ten more: a fifth of
    ``inspect``'s start-up.)"""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__name__}({fields})"


class Limits(_Record):
    __slots__ = ("index64", "max", "min", "page_size", "shared")

    def __init__(self, min: int, max: int | None = None, shared: bool = False, index64: bool = False,
                 page_size: int | None = None) -> None:  # page_size: memories with the custom-page-sizes proposal
        self.min = min
        self.max = max
        self.shared = shared
        self.index64 = index64
        self.page_size = page_size

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"min": self.min, "max": self.max}
        if self.shared:
            out["shared"] = True
        if self.index64:
            out["index64"] = True
        if self.page_size is not None:
            out["page_size"] = self.page_size
        return out


class FuncType(_Record):
    __slots__ = ("fields", "kind", "params", "results")

    def __init__(self, params: tuple[str, ...], results: tuple[str, ...], kind: str = "func",
                 fields: tuple[str, ...] = ()) -> None:
        self.params = params
        self.results = results
        self.kind = kind  # "func", "struct" or "array" (GC)
        self.fields = fields

    def __str__(self) -> str:
        if self.kind != "func":
            return f"{self.kind} {{{', '.join(self.fields)}}}"
        return f"({', '.join(self.params)}) -> ({', '.join(self.results)})"


class TableType(_Record):
    __slots__ = ("element", "limits")

    def __init__(self, element: str, limits: Limits) -> None:
        self.element = element
        self.limits = limits


class GlobalType(_Record):
    __slots__ = ("mutable", "valtype")

    def __init__(self, valtype: str, mutable: bool) -> None:
        self.valtype = valtype
        self.mutable = mutable

    def __str__(self) -> str:
        return f"mut {self.valtype}" if self.mutable else self.valtype


class ConstExpr(_Record):
    """A constant expression: its text (``i32.const 1024``) and its value when it is one constant."""

    __slots__ = ("text", "value")

    def __init__(self, text: str, value: int | float | None = None) -> None:
        self.text = text
        self.value = value


class Import(NamedTuple):  # a tuple: modules import thousands, and a tuple is made fastest
    module: str
    name: str
    kind: str  # one of EXTERNAL_KINDS
    type: int | TableType | Limits | GlobalType  # type index for func and tag
    offset: int


class Export(_Record):
    __slots__ = ("index", "kind", "name", "offset")

    def __init__(self, name: str, kind: str, index: int, offset: int) -> None:
        self.name = name
        self.kind = kind
        self.index = index
        self.offset = offset


class Global(_Record):
    __slots__ = ("init", "offset", "type")

    def __init__(self, type: GlobalType, init: ConstExpr, offset: int) -> None:
        self.type = type
        self.init = init
        self.offset = offset


class Table(_Record):
    __slots__ = ("init", "offset", "type")

    def __init__(self, type: TableType, init: ConstExpr | None, offset: int) -> None:
        self.type = type
        self.init = init
        self.offset = offset


class ElementSegment(_Record):
    __slots__ = ("count", "element_type", "functions", "mode", "offset", "offset_expr", "table")

    def __init__(self, mode: str, table: int | None, offset_expr: ConstExpr | None, element_type: str, count: int,
                 functions: tuple[int, ...], offset: int) -> None:
        self.mode = mode  # active, passive, declarative
        self.table = table
        self.offset_expr = offset_expr
        self.element_type = element_type
        self.count = count
        self.functions = functions  # for the function-index forms
        self.offset = offset


class DataSegment(_Record):
    __slots__ = ("data_offset", "memory", "mode", "offset", "offset_expr", "size")

    def __init__(self, mode: str, memory: int | None, offset_expr: ConstExpr | None, size: int, data_offset: int,
                 offset: int) -> None:
        self.mode = mode  # active, passive
        self.memory = memory
        self.offset_expr = offset_expr
        self.size = size
        self.data_offset = data_offset  # where its bytes start in the file
        self.offset = offset


class FunctionBody(_Record):
    __slots__ = ("offset", "size")

    def __init__(self, offset: int, size: int) -> None:
        self.offset = offset  # of the body (after its size)
        self.size = size


class NameSection(_Record):
    __slots__ = (
        "data",
        "elements",
        "functions",
        "globals",
        "local_functions",
        "memories",
        "module",
        "subsections",
        "tables",
        "tags",
        "types",
    )
    __hash__ = None  # type: ignore[assignment]  # filled in as it is read

    def __init__(self) -> None:
        self.module: str | None = None
        self.functions: dict[int, str] = {}
        self.globals: dict[int, str] = {}
        self.memories: dict[int, str] = {}
        self.tables: dict[int, str] = {}
        self.types: dict[int, str] = {}
        self.data: dict[int, str] = {}
        self.elements: dict[int, str] = {}
        self.tags: dict[int, str] = {}
        self.local_functions = 0  # functions with local names
        self.subsections: list[int] = []


class Dylink(_Record):
    __slots__ = ("exports", "imports", "memory_align", "memory_size", "needed", "table_align", "table_size")
    __hash__ = None  # type: ignore[assignment]  # filled in as it is read

    def __init__(self) -> None:
        self.memory_size = 0
        self.memory_align = 0
        self.table_size = 0
        self.table_align = 0
        self.needed: list[str] = []
        self.exports: list[tuple[str, int]] = []
        self.imports: list[tuple[str, str, int]] = []


class ComponentExtern(_Record):
    __slots__ = ("kind", "name")

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind


# ---------------------------------------------------------------------------------------------
# Reading a file


class NotAFileError(WasmFormatError):
    """The path exists but is not a regular file (a directory, a FIFO, a device)."""


_NOT_REGULAR = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_file(path: Path) -> bytes:
    """The bytes of the regular file ``path``: a missing path is a usage error (exit 2); anything
    else, a directory, a FIFO (reading would wait for a writer) or a device (``/dev/zero`` never
    ends), is refused as not a module (exit 1) before a byte is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = next((name for test, name in _NOT_REGULAR if test(mode)), "not a regular file")
        raise NotAFileError(f"{path} is not a file ({what})")
    with os.fdopen(fd, "rb") as file:
        try:
            return file.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None


# ---------------------------------------------------------------------------------------------
# The module


class WasmModule:
    """A module (or component) read lazily from its bytes; see the module docstring."""

    def __init__(self, data: bytes, path: Path | None = None) -> None:
        self.data = data
        self.path = path
        if not data:
            raise WasmFormatError("empty file: not a WebAssembly module", offset=0)
        if len(data) < 8:
            raise WasmFormatError(f"file too short to be a WebAssembly module ({len(data)} bytes)", offset=0)
        if data[:4] != MAGIC:
            raise WasmFormatError(f"not a WebAssembly binary (bad magic number {data[:4].hex(' ')})", offset=0)
        self.version = int.from_bytes(data[4:6], "little")
        self.layer = int.from_bytes(data[6:8], "little")
        if self.layer == 1:
            self.is_component = True
        elif self.layer == 0 and self.version == 1:
            self.is_component = False
        else:
            raise WasmFormatError(f"unsupported WebAssembly version {data[4:8].hex(' ')} (expected 01 00 00 00)",
                                  offset=4)
        self.sections: list[RawSection] = list(iter_sections(data))
        self._by_id: dict[int, RawSection] = {}
        for section in self.sections:
            if section.id != CUSTOM_SECTION_ID:
                self._by_id.setdefault(section.id, section)

    @classmethod
    def from_bytes(cls, data: bytes) -> WasmModule:
        return cls(bytes(data))

    @classmethod
    def from_file(cls, path: str | Path) -> WasmModule:
        path = Path(path)
        return cls(read_file(path), path)

    # -- the section table ----------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return "component" if self.is_component else "module"

    def section_name(self, section: RawSection) -> str:
        names = COMPONENT_SECTION_NAMES if self.is_component else SECTION_NAMES
        return names.get(section.id, f"unknown({section.id})")

    def section(self, section_id: int) -> RawSection | None:
        return self._by_id.get(section_id)

    def custom_sections(self, name: str | None = None) -> list[RawSection]:
        return [s for s in self.sections if s.id == CUSTOM_SECTION_ID and (name is None or s.name == name)]

    def section_count(self, section: RawSection) -> int | None:
        """The entry count a section starts with (the index for start), as ``wasm-objdump -h`` shows."""
        if section.id == CUSTOM_SECTION_ID or self.is_component or section.id not in SECTION_NAMES:
            return None
        r = self._reader(section)
        return r.u32()

    def check_order(self) -> None:
        """Non-custom sections at most once each, in the order the spec requires."""
        if self.is_component:
            return
        last = 0
        seen: set[int] = set()
        for section in self.sections:
            if section.id == CUSTOM_SECTION_ID:
                continue
            rank = SECTION_ORDER.get(section.id)
            if rank is None:
                raise WasmFormatError(f"unknown section id {section.id}", offset=section.offset)
            if section.id in seen:
                raise WasmFormatError(f"duplicate {SECTION_NAMES[section.id]} section", offset=section.offset)
            if rank < last:
                raise WasmFormatError(f"{SECTION_NAMES[section.id]} section out of order", offset=section.offset)
            seen.add(section.id)
            last = rank

    def _reader(self, section: RawSection, what: str | None = None) -> ByteReader:
        return ByteReader(self.data, section.payload_offset, section.end,
                          what or f"{self.section_name(section)} section")

    def _module_only(self) -> None:
        if self.is_component:
            raise WasmFormatError("this is a component, not a core module; its core sections are not decoded",
                                  offset=4)

    # -- types ------------------------------------------------------------------------------------

    def _heaptype(self, r: ByteReader) -> str:
        start = r.pos
        value = r.s33()
        if value >= 0:
            return str(value)
        name = _HEAPTYPES.get(value + 0x80)
        if name is None:
            raise r.fail(f"unknown heap type {value}", start)
        return name

    def _valtype(self, r: ByteReader) -> str:
        start = r.pos
        byte = r.u8()
        if byte in _NUMTYPES:
            return _NUMTYPES[byte]
        if byte in _HEAPTYPES:
            return f"{_HEAPTYPES[byte]}ref"
        if byte in (0x63, 0x64):
            heap = self._heaptype(r)
            return f"(ref null {heap})" if byte == 0x63 else f"(ref {heap})"
        raise r.fail(f"unknown value type 0x{byte:02x}", start)

    def _reftype(self, r: ByteReader) -> str:
        start = r.pos
        valtype = self._valtype(r)
        if valtype in _NUMTYPES.values():
            raise r.fail(f"{valtype} is not a reference type", start)
        return valtype

    def _storagetype(self, r: ByteReader) -> str:
        byte = r.data[r.pos] if r.pos < r.end else -1
        if byte in _STORAGE_PACKED:
            r.pos += 1
            return _STORAGE_PACKED[byte]
        return self._valtype(r)

    def _fieldtype(self, r: ByteReader) -> str:
        storage = self._storagetype(r)
        mut = r.u8()
        if mut > 1:
            raise r.fail(f"bad mutability flag {mut}", r.pos - 1)
        return f"mut {storage}" if mut else storage

    def _comptype(self, r: ByteReader) -> FuncType:
        start = r.pos
        form = r.u8()
        if form == 0x60:
            params = tuple(self._valtype(r) for _ in range(r.count("parameters")))
            results = tuple(self._valtype(r) for _ in range(r.count("results")))
            return FuncType(params, results)
        if form == 0x5F:
            return FuncType((), (), "struct", tuple(self._fieldtype(r) for _ in range(r.count("fields", 2))))
        if form == 0x5E:
            return FuncType((), (), "array", (self._fieldtype(r),))
        raise r.fail(f"unknown type form 0x{form:02x}", start)

    def _subtype(self, r: ByteReader, out: list[FuncType]) -> None:
        byte = r.data[r.pos] if r.pos < r.end else -1
        if byte in (0x50, 0x4F):
            r.pos += 1
            for _ in range(r.count("supertypes")):
                r.u32()
        out.append(self._comptype(r))

    @cached_property
    def types(self) -> list[FuncType]:
        self._module_only()
        section = self.section(1)
        if section is None:
            return []
        r = self._reader(section)
        out: list[FuncType] = []
        for _ in range(r.count("types", 3)):
            if r.pos < r.end and r.data[r.pos] == 0x4E:  # rec group
                r.pos += 1
                for _ in range(r.count("types in a rec group", 3)):
                    self._subtype(r, out)
            else:
                self._subtype(r, out)
        r.expect_end()
        return out

    def _typeidx(self, r: ByteReader, *, func: bool = True) -> int:
        start = r.pos
        index = r.u32()
        if index >= len(self.types):
            raise r.fail(f"type index {index} out of range ({len(self.types)} types)", start)
        if func and self.types[index].kind != "func":
            raise r.fail(f"type {index} is a {self.types[index].kind} type, not a function type", start)
        return index

    def _limits(self, r: ByteReader, *, memory: bool) -> Limits:
        start = r.pos
        flags = r.u8()
        if flags & ~(0x0F if memory else 0x05):
            raise r.fail(f"bad limits flags 0x{flags:02x}", start)
        index64 = bool(flags & 0x04)
        read = r.u64 if index64 else r.u32
        minimum = read()
        maximum = read() if flags & 0x01 else None
        page_size: int | None = None
        if flags & 0x08:  # custom-page-sizes: log2 of the page size, which may only be 1 or 65536
            exponent_at = r.pos
            exponent = r.u32()
            if exponent not in PAGE_SIZE_EXPONENTS:
                raise r.fail(f"page size 2**{exponent} is not allowed (custom page sizes are 1 or 65536 bytes)",
                             exponent_at)
            page_size = 1 << exponent
        return Limits(minimum, maximum, bool(flags & 0x02), index64, page_size)

    def _tabletype(self, r: ByteReader) -> TableType:
        element = self._reftype(r)
        return TableType(element, self._limits(r, memory=False))

    def _globaltype(self, r: ByteReader) -> GlobalType:
        valtype = self._valtype(r)
        mut = r.u8()
        if mut > 1:
            raise r.fail(f"bad global mutability flag {mut}", r.pos - 1)
        return GlobalType(valtype, bool(mut))

    def _const_expr(self, r: ByteReader) -> ConstExpr:
        parts: list[str] = []
        values: list[int | float] = []
        while True:
            start = r.pos
            op = r.u8()
            if op == 0x0B:
                break
            if op == 0xFB:
                sub = r.u32()
                if sub not in _CONST_GC_OPS:
                    raise r.fail(f"instruction 0xfb {sub} is not allowed in a constant expression", start)
                name, imm = _CONST_GC_OPS[sub]
            elif op == 0xFD:
                sub = r.u32()
                if sub != 0x0C:
                    raise r.fail(f"instruction 0xfd {sub} is not allowed in a constant expression", start)
                parts.append(f"v128.const 0x{r.take(16)[::-1].hex()}")
                continue
            elif op in _CONST_OPS:
                name, imm = _CONST_OPS[op]
            else:
                raise r.fail(f"instruction 0x{op:02x} is not allowed in a constant expression", start)
            value: int | float | str | None = None
            if imm == "s32":
                value = r.s32()
            elif imm == "s64":
                value = r.s64()
            elif imm == "f32":
                value = struct.unpack("<f", r.take(4))[0]
            elif imm == "f64":
                value = struct.unpack("<d", r.take(8))[0]
            elif imm == "u32":
                value = r.u32()
            elif imm == "u32u32":
                value = f"{r.u32()} {r.u32()}"
            elif imm == "heap":
                value = self._heaptype(r)
            if isinstance(value, (int, float)) and name.endswith(".const"):
                values.append(value)
            parts.append(name if value is None else f"{name} {value}")
        single = values[0] if len(parts) == 1 and len(values) == 1 else None
        return ConstExpr("; ".join(parts), single)

    # -- imports and the index spaces -------------------------------------------------------------

    @cached_property
    def imports(self) -> list[Import]:
        self._module_only()
        section = self.section(2)
        if section is None:
            return []
        r = self._reader(section)
        out: list[Import] = []
        data, end, n_types = self.data, r.end, len(self.types)
        # function type indices a one-byte index may name, for the fast path below
        func_types = {i for i, t in enumerate(self.types[:0x80]) if t.kind == "func"}
        module_names: dict[bytes, str] = {}
        new_tuple = tuple.__new__  # an Import without the Python-level __new__ a NamedTuple call runs
        append = out.append
        count = r.count("imports", 4)
        pos = r.pos
        for _ in range(count):
            start = pos
            # The common import, inline: short names, a function, a one-byte type index. Anything
            # else (or anything wrong) takes the general road below, which says what is wrong.
            module_size = data[start] if start < end else 0x80
            name_at = start + 1 + module_size
            if module_size < 0x80 and name_at < end:
                name_size = data[name_at]
                kind_at = name_at + 1 + name_size
                if name_size < 0x80 and kind_at + 1 < end and data[kind_at] == 0 and data[kind_at + 1] in func_types:
                    raw_module = data[start + 1:name_at]
                    try:
                        module = module_names.get(raw_module) or module_names.setdefault(
                            raw_module, raw_module.decode("utf-8"))
                        name = data[name_at + 1:kind_at].decode("utf-8")
                    except UnicodeDecodeError:
                        pass
                    else:
                        append(new_tuple(Import, (module, name, "func", data[kind_at + 1], start)))
                        pos = kind_at + 2
                        continue
            r.pos = start
            module = r.name()
            name = r.name()
            kind_at = r.pos
            kind = r.u8()
            desc: int | TableType | Limits | GlobalType
            if kind == 0:
                at = r.pos  # a function's type index: one byte in the common case, inline
                if at < end and data[at] < 0x80 and data[at] < n_types and self.types[data[at]].kind == "func":
                    desc = data[at]
                    r.pos = at + 1
                else:
                    desc = self._typeidx(r)
            elif kind == 1:
                desc = self._tabletype(r)
            elif kind == 2:
                desc = self._limits(r, memory=True)
            elif kind == 3:
                desc = self._globaltype(r)
            elif kind == 4:
                if r.u8() != 0:
                    raise r.fail("bad tag attribute", r.pos - 1)
                desc = self._typeidx(r)
            else:
                raise r.fail(f"unknown import kind 0x{kind:02x}", kind_at)
            append(Import(module, name, EXTERNAL_KINDS[kind], desc, start))
            pos = r.pos
        r.pos = pos
        r.expect_end()
        return out

    @cached_property
    def _imports_by_kind(self) -> dict[str, list[Import]]:
        by_kind: dict[str, list[Import]] = {kind: [] for kind in EXTERNAL_KINDS}
        imports = self.imports
        if set(map(itemgetter(2), imports)) == {"func"}:  # (2: Import.kind) the common case, sorted in C
            by_kind["func"] = list(imports)
            return by_kind
        for item in imports:
            by_kind[item.kind].append(item)
        return by_kind

    def imported(self, kind: str) -> list[Import]:
        """The imports of one kind, in index order (a new list; the module keeps its own)."""
        return list(self._imports_by_kind[kind])

    @cached_property
    def functions(self) -> list[int]:
        """The type index of each function defined in the module (imports not included)."""
        self._module_only()
        section = self.section(3)
        if section is None:
            return []
        r = self._reader(section)
        out = [self._typeidx(r) for _ in range(r.count("functions"))]
        r.expect_end()
        return out

    @property
    def imported_function_count(self) -> int:
        return len(self._imports_by_kind["func"])

    @property
    def function_count(self) -> int:
        """All functions: imported, then defined."""
        return self.imported_function_count + len(self.functions)

    def function_type(self, index: int) -> FuncType | None:
        imported = self._imports_by_kind["func"]
        if index < len(imported):
            type_index = imported[index].type
        elif index - len(imported) < len(self.functions):
            type_index = self.functions[index - len(imported)]
        else:
            return None
        assert isinstance(type_index, int)
        return self.types[type_index]

    @cached_property
    def tables(self) -> list[Table]:
        self._module_only()
        section = self.section(4)
        if section is None:
            return []
        r = self._reader(section)
        out: list[Table] = []
        for _ in range(r.count("tables", 3)):
            start = r.pos
            if r.pos + 1 < r.end and r.data[r.pos] == 0x40 and r.data[r.pos + 1] == 0x00:
                r.pos += 2
                table_type = self._tabletype(r)
                out.append(Table(table_type, self._const_expr(r), start))
            else:
                out.append(Table(self._tabletype(r), None, start))
        r.expect_end()
        return out

    @cached_property
    def memories(self) -> list[Limits]:
        self._module_only()
        section = self.section(5)
        if section is None:
            return []
        r = self._reader(section)
        out = [self._limits(r, memory=True) for _ in range(r.count("memories", 2))]
        r.expect_end()
        return out

    @property
    def all_memories(self) -> list[Limits]:
        """Every memory of the module: the imported ones first (as indices count), then its own."""
        return [i.type for i in self._imports_by_kind["memory"] if isinstance(i.type, Limits)] + self.memories

    @cached_property
    def tags(self) -> list[int]:
        self._module_only()
        section = self.section(13)
        if section is None:
            return []
        r = self._reader(section)
        out: list[int] = []
        for _ in range(r.count("tags", 2)):
            if r.u8() != 0:
                raise r.fail("bad tag attribute", r.pos - 1)
            out.append(self._typeidx(r))
        r.expect_end()
        return out

    @cached_property
    def globals(self) -> list[Global]:
        self._module_only()
        section = self.section(6)
        if section is None:
            return []
        r = self._reader(section)
        out: list[Global] = []
        for _ in range(r.count("globals", 3)):
            start = r.pos
            global_type = self._globaltype(r)
            out.append(Global(global_type, self._const_expr(r), start))
        r.expect_end()
        return out

    def space_size(self, kind: str) -> int:
        """How many items of ``kind`` (func, table, memory, global, tag) exist, imported and defined."""
        defined: list[Any]
        if kind == "func":
            defined = self.functions
        elif kind == "table":
            defined = self.tables
        elif kind == "memory":
            defined = self.memories
        elif kind == "global":
            defined = self.globals
        else:
            defined = self.tags
        return len(self._imports_by_kind[kind]) + len(defined)

    def _index(self, r: ByteReader, kind: str, size: int | None = None) -> int:
        """An index into ``kind``'s space, checked against its ``size`` (computed when not given)."""
        start = r.pos
        index = r.u32()
        if size is None:
            size = self.space_size(kind)
        if index >= size:
            raise r.fail(f"{kind} index {index} out of range ({size} {kind}s)", start)
        return index

    @cached_property
    def exports(self) -> list[Export]:
        self._module_only()
        section = self.section(7)
        if section is None:
            return []
        spaces = [self.space_size(kind) for kind in EXTERNAL_KINDS]
        inline = self._common_exports(section, spaces)
        return inline if inline is not None else self._checked_exports(section, spaces)

    def _common_exports(self, section: RawSection, spaces: list[int]) -> list[Export] | None:
        """The exports when every one is of the common form (a short UTF-8 name, a known kind, an
        index of up to three bytes in range, no name twice), read inline: else None, and
        :meth:`_checked_exports` reads them, saying what is wrong."""
        r = self._reader(section)
        count = r.count("exports", 3)
        data, pos, end = self.data, r.pos, r.end
        names: list[str] = []
        kinds: list[str] = []
        indices: list[int] = []
        starts: list[int] = []
        kind_names, n_kinds = EXTERNAL_KINDS, len(EXTERNAL_KINDS)
        for _ in range(count):
            size = data[pos] if pos < end else 0x80
            kind_at = pos + 1 + size
            if size >= 0x80 or kind_at + 1 >= end:
                return None
            kind = data[kind_at]
            index = data[kind_at + 1]
            after = kind_at + 2
            if index >= 0x80:
                second = data[after] if after < end else 0x80
                if second < 0x80:
                    index = (index & 0x7F) | (second << 7)
                    after += 1
                else:
                    index, after = _short_uleb(data, kind_at + 1, end)
            if kind >= n_kinds or not 0 <= index < spaces[kind]:
                return None
            try:
                names.append(data[pos + 1:kind_at].decode("utf-8"))
            except UnicodeDecodeError:
                return None
            kinds.append(kind_names[kind])
            indices.append(index)
            starts.append(pos)
            pos = after
        if pos != end or len(set(names)) != count:
            return None
        return list(map(Export, names, kinds, indices, starts))

    def _checked_exports(self, section: RawSection, spaces: list[int]) -> list[Export]:
        r = self._reader(section)
        out: list[Export] = []
        seen: set[str] = set()
        data, end = self.data, r.end
        for _ in range(r.count("exports", 3)):
            start = r.pos
            size = data[start] if start < end else 0x80
            if size < 0x80 and start + 1 + size <= end:  # a short name, inline
                r.pos = start + 1 + size
                try:
                    name = data[start + 1:r.pos].decode("utf-8")
                except UnicodeDecodeError:
                    raise r.fail("name is not valid UTF-8", start) from None
            else:
                name = r.name()
            if name in seen:
                raise r.fail(f"duplicate export name '{name}'", start)
            seen.add(name)
            kind_at = r.pos
            kind = r.u8()
            if kind >= len(EXTERNAL_KINDS):
                raise r.fail(f"unknown export kind 0x{kind:02x}", kind_at)
            kind_name = EXTERNAL_KINDS[kind]
            size = spaces[kind]
            index_at = r.pos
            index = r.u32()
            if index >= size:
                raise r.fail(f"{kind_name} index {index} out of range ({size} {kind_name}s)", index_at)
            out.append(Export(name, kind_name, index, start))
        r.expect_end()
        return out

    def wasi_command_outline(self) -> tuple[FuncType, list[str]] | None:
        """For a module that imports nothing but WASI functions and exports ``_start``: that
        function's type and the names of the memories it exports, in export order, read without
        decoding each import and export (all ``exec`` needs of it: a fifth of the time
        :attr:`imports` and :attr:`exports` take for 20,000 of each). None for any other module, and
        for anything not of the common form (a long or non-ASCII name, a two-byte type index, a
        name twice, an index out of range): the full reader then decides, and says what is wrong."""
        if self.is_component or self.section(7) is None:
            return None
        data = self.data
        func_types = {i for i, t in enumerate(self.types[:0x80]) if t.kind == "func"}
        imported = 0
        section = self.section(2)
        try:
            if section is not None:
                end = section.end
                imported, pos = read_uleb128(data, section.payload_offset, end=end)
                if not data[pos:end].isascii():  # every name ASCII, every length and type index one byte
                    return None
                wasi = tuple(module.encode() for module in WASI_MODULES)
                for _ in range(imported):
                    name_at = pos + 1 + data[pos]
                    kind_at = name_at + 1 + data[name_at]
                    if (kind_at + 1 >= end or data[kind_at] != 0 or data[kind_at + 1] not in func_types
                            or data[pos + 1:name_at] not in wasi):
                        return None
                    pos = kind_at + 2
                if pos != end:
                    return None
            section = self.section(7)
            assert section is not None
            end = section.end
            count, pos = read_uleb128(data, section.payload_offset, end=end)
            spaces = [imported + len(self.functions), len(self.tables), len(self.memories), len(self.globals),
                      len(self.tags)]
            names: list[bytes] = []
            memories: list[bytes] = []
            start = -1
            for _ in range(count):
                size = data[pos]
                kind_at = pos + 1 + size
                if size >= 0x80 or kind_at + 1 >= end:
                    return None
                kind = data[kind_at]
                index = data[kind_at + 1]
                after = kind_at + 2
                if index >= 0x80:  # two bytes inline, three by the call
                    second = data[after] if after < end else 0x80
                    if second < 0x80:
                        index = (index & 0x7F) | (second << 7)
                        after += 1
                    else:
                        index, after = _short_uleb(data, kind_at + 1, end)
                if kind >= len(spaces) or not 0 <= index < spaces[kind]:
                    return None
                name = data[pos + 1:kind_at]
                names.append(name)
                if kind == 0 and name == b"_start":
                    start = index
                elif kind == 2:
                    memories.append(name)
                pos = after
        except (IndexError, WasmFormatError):
            return None
        if pos != end or start < imported or not b"".join(names).isascii() or len(set(names)) != count:
            return None
        return self.types[self.functions[start - imported]], [name.decode() for name in memories]

    @cached_property
    def _function_export_names(self) -> dict[int, str]:
        """Each exported function's first export name."""
        names: dict[int, str] = {}
        for export in self.exports:
            if export.kind == "func":
                names.setdefault(export.index, export.name)
        return names

    @cached_property
    def _exports_by_kind(self) -> dict[str, list[Export]]:
        by_kind: dict[str, list[Export]] = {kind: [] for kind in EXTERNAL_KINDS}
        for item in self.exports:
            by_kind[item.kind].append(item)
        return by_kind

    def exported(self, kind: str) -> list[Export]:
        """The exports of one kind, in export order (a new list; the module keeps its own)."""
        return list(self._exports_by_kind[kind])

    @cached_property
    def start(self) -> int | None:
        self._module_only()
        section = self.section(8)
        if section is None:
            return None
        r = self._reader(section)
        index = self._index(r, "func")
        r.expect_end()
        return index

    @cached_property
    def elements(self) -> list[ElementSegment]:
        self._module_only()
        section = self.section(9)
        if section is None:
            return []
        r = self._reader(section)
        out: list[ElementSegment] = []
        for _ in range(r.count("element segments")):
            start = r.pos
            flags = r.u32()
            if flags > 7:
                raise r.fail(f"bad element segment flags {flags}", start)
            passive_or_declarative = flags & 0x01
            explicit_table = flags & 0x02
            uses_exprs = flags & 0x04
            mode = ("declarative" if explicit_table else "passive") if passive_or_declarative else "active"
            table: int | None = None
            offset_expr: ConstExpr | None = None
            if mode == "active":
                table = r.u32() if explicit_table else 0  # an index past the tables is left to validation
                offset_expr = self._const_expr(r)
            element_type = "funcref"
            if passive_or_declarative or explicit_table:
                if uses_exprs:
                    element_type = self._reftype(r)
                else:
                    kind_at = r.pos
                    if r.u8() != 0x00:
                        raise r.fail("bad element kind (expected 0x00, funcref)", kind_at)
            functions: list[int] = []
            if uses_exprs:
                count = r.count("element expressions", 2)
                for _ in range(count):
                    self._const_expr(r)
            else:
                count = r.count("function indices")
                function_count = self.function_count
                functions = [self._index(r, "func", function_count) for _ in range(count)]
            out.append(ElementSegment(mode, table, offset_expr, element_type, count, tuple(functions), start))
        r.expect_end()
        return out

    @cached_property
    def data_count(self) -> int | None:
        self._module_only()
        section = self.section(12)
        if section is None:
            return None
        r = self._reader(section)
        count = r.u32()
        r.expect_end()
        return count

    @cached_property
    def code(self) -> list[FunctionBody]:
        """Each function body's offset and size; bodies are not decoded (the validator does that)."""
        self._module_only()
        section = self.section(10)
        if section is None:
            return []
        r = self._reader(section)
        n = r.count("function bodies", 2)
        if n != len(self.functions):
            raise r.fail(f"{n} function bodies for {len(self.functions)} functions", section.payload_offset)
        out: list[FunctionBody] = []
        data, pos, end = self.data, r.pos, r.end
        for _ in range(n):
            if pos < end and data[pos] < 0x80:  # inline the common small-body case
                size = data[pos]
                pos += 1
            else:
                r.pos = pos
                size = r.u32()
                pos = r.pos
            if size > end - pos:
                r.pos = pos
                raise r.fail(f"function body of {size} bytes runs past the end of the section")
            if size == 0:
                raise r.fail("empty function body", pos)
            out.append(FunctionBody(pos, size))
            pos += size
        r.pos = pos
        r.expect_end()
        return out

    @cached_property
    def data_segments(self) -> list[DataSegment]:
        self._module_only()
        section = self.section(11)
        if section is None:
            return []
        r = self._reader(section)
        n = r.count("data segments", 2)
        if self.data_count is not None and self.data_count != n:
            raise r.fail(f"data count section says {self.data_count} segments, data section has {n}",
                         section.payload_offset)
        out: list[DataSegment] = []
        for _ in range(n):
            start = r.pos
            flags = r.u32()
            memory: int | None = None
            offset_expr: ConstExpr | None = None
            if flags == 1:
                mode = "passive"
            elif flags in (0, 2):
                mode = "active"
                memory = r.u32() if flags == 2 else 0  # an index past the memories is left to validation
                offset_expr = self._const_expr(r)
            else:
                raise r.fail(f"bad data segment flags {flags}", start)
            size = r.u32()
            data_at = r.skip(size)
            out.append(DataSegment(mode, memory, offset_expr, size, data_at, start))
        r.expect_end()
        return out

    # -- custom sections --------------------------------------------------------------------------

    def _custom_reader(self, section: RawSection) -> ByteReader:
        r = ByteReader(self.data, section.payload_offset, section.end, f"'{section.name}' custom section")
        r.name()
        return r

    def _namemap(self, r: ByteReader) -> dict[int, str]:
        out: dict[int, str] = {}
        data, end = self.data, r.end
        count = r.count("names", 2)
        pos = r.pos
        for _ in range(count):
            # The common entry, inline: an index of up to three bytes and a short UTF-8 name.
            # Anything else takes the general road below, which says what is wrong.
            index = data[pos] if pos + 1 < end else 0x80
            name_at = pos + 1
            if index >= 0x80:
                second = data[name_at] if name_at + 1 < end else 0x80
                if second < 0x80:
                    index = (index & 0x7F) | (second << 7)
                    name_at += 1
                else:
                    index, name_at = _short_uleb(data, pos, end)
            if index >= 0 and name_at < end:
                size = data[name_at]
                after = name_at + 1 + size
                if size < 0x80 and after <= end:
                    try:
                        out[index] = data[name_at + 1:after].decode("utf-8")
                    except UnicodeDecodeError:
                        pass
                    else:
                        pos = after
                        continue
            r.pos = pos
            index = r.u32()
            out[index] = r.name()
            pos = r.pos
        r.pos = pos
        return out

    @cached_property
    def names(self) -> NameSection | None:
        """The ``name`` section, or None. Raises WasmFormatError when it is malformed."""
        sections = self.custom_sections("name")
        if not sections:
            return None
        r = self._custom_reader(sections[0])
        names = NameSection()
        maps = {1: "functions", 4: "types", 5: "tables", 6: "memories", 7: "globals", 8: "elements", 9: "data",
                11: "tags"}
        while r.pos < r.end:
            sub_id = r.u8()
            size = r.u32()
            sub = ByteReader(self.data, r.skip(size), r.pos, f"name section, subsection {sub_id}")
            names.subsections.append(sub_id)
            if sub_id == 0:
                names.module = sub.name()
            elif sub_id in maps:
                setattr(names, maps[sub_id], self._namemap(sub))
            elif sub_id == 2:
                names.local_functions = sub.count("functions with local names", 2)
                sub.pos = sub.end
            else:
                sub.pos = sub.end
            sub.expect_end()
        return names

    def function_name(self, index: int) -> str | None:
        """The function's name from the name section (malformed: none), else its export name."""
        try:
            names = self.names
        except WasmFormatError:
            names = None
        if names is not None and index in names.functions:
            return names.functions[index]
        exported = self._function_export_names.get(index)
        if exported is not None:
            return exported
        imported = self._imports_by_kind["func"]
        if index < len(imported):
            return f"{imported[index].module}.{imported[index].name}"
        return None

    @cached_property
    def producers(self) -> dict[str, list[tuple[str, str]]] | None:
        """``producers``: field (language, processed-by, sdk) -> [(name, version)]."""
        sections = self.custom_sections("producers")
        if not sections:
            return None
        r = self._custom_reader(sections[0])
        out: dict[str, list[tuple[str, str]]] = {}
        for _ in range(r.count("fields", 2)):
            name = r.name()
            out[name] = [(r.name(), r.name()) for _ in range(r.count("values", 2))]
        r.expect_end()
        return out

    @cached_property
    def target_features(self) -> list[tuple[str, str]] | None:
        """``target_features``: [(prefix, feature)], prefix one of + - =."""
        sections = self.custom_sections("target_features")
        if not sections:
            return None
        r = self._custom_reader(sections[0])
        out: list[tuple[str, str]] = []
        for _ in range(r.count("features", 2)):
            prefix_at = r.pos
            prefix = chr(r.u8())
            if prefix not in "+-=":
                raise r.fail(f"bad feature prefix {prefix!r}", prefix_at)
            out.append((prefix, r.name()))
        r.expect_end()
        return out

    @cached_property
    def source_mapping_url(self) -> str | None:
        sections = self.custom_sections("sourceMappingURL")
        if not sections:
            return None
        r = self._custom_reader(sections[0])
        url = r.name()
        r.expect_end()
        return url

    @cached_property
    def dylink(self) -> Dylink | None:
        """``dylink.0`` (shared-everything dynamic linking), or None."""
        sections = self.custom_sections("dylink.0")
        if not sections:
            return None
        r = self._custom_reader(sections[0])
        out = Dylink()
        while r.pos < r.end:
            sub_id = r.u8()
            size = r.u32()
            sub = ByteReader(self.data, r.skip(size), r.pos, f"dylink.0 section, subsection {sub_id}")
            if sub_id == 1:
                out.memory_size, out.memory_align = sub.u32(), sub.u32()
                out.table_size, out.table_align = sub.u32(), sub.u32()
            elif sub_id == 2:
                out.needed = [sub.name() for _ in range(sub.count("needed libraries"))]
            elif sub_id == 3:
                out.exports = [(sub.name(), sub.u32()) for _ in range(sub.count("export infos", 2))]
            elif sub_id == 4:
                out.imports = [(sub.name(), sub.name(), sub.u32()) for _ in range(sub.count("import infos", 3))]
            else:
                sub.pos = sub.end
            sub.expect_end()
        return out

    # -- components -------------------------------------------------------------------------------

    def _component_name(self, r: ByteReader) -> str:
        start = r.pos
        tag = r.u8()
        if tag not in (0x00, 0x01):
            raise r.fail(f"bad extern name tag 0x{tag:02x}", start)
        return r.name()

    def _component_desc(self, r: ByteReader) -> str:
        start = r.pos
        sort = r.u8()
        if sort == 0x00:
            if r.u8() != 0x11:
                raise r.fail("bad core module type", r.pos - 1)
            r.u32()
            return "core-module"
        if sort in (0x01, 0x04, 0x05):
            r.u32()
            return {0x01: "func", 0x04: "component", 0x05: "instance"}[sort]
        if sort == 0x02:
            byte = r.data[r.pos] if r.pos < r.end else -1
            if 0x64 <= byte <= 0x7F:
                r.pos += 1
            else:
                r.s33()
            return "value"
        if sort == 0x03:
            bound = r.u8()
            if bound == 0x00:
                r.u32()
            elif bound != 0x01:
                raise r.fail(f"bad type bound 0x{bound:02x}", r.pos - 1)
            return "type"
        raise r.fail(f"bad extern description 0x{sort:02x}", start)

    @cached_property
    def component_imports(self) -> list[ComponentExtern]:
        if not self.is_component:
            return []
        out: list[ComponentExtern] = []
        for section in self.sections:
            if section.id != 10:
                continue
            r = self._reader(section)
            for _ in range(r.count("imports", 3)):
                name = self._component_name(r)
                out.append(ComponentExtern(name, self._component_desc(r)))
            r.expect_end()
        return out

    @cached_property
    def component_exports(self) -> list[ComponentExtern]:
        if not self.is_component:
            return []
        sorts = {0x01: "func", 0x02: "value", 0x03: "type", 0x04: "component", 0x05: "instance"}
        out: list[ComponentExtern] = []
        for section in self.sections:
            if section.id != 11:
                continue
            r = self._reader(section)
            for _ in range(r.count("exports", 3)):
                name = self._component_name(r)
                sort_at = r.pos
                sort = r.u8()
                if sort == 0x00:
                    r.u8()
                    kind = "core"
                elif sort in sorts:
                    kind = sorts[sort]
                else:
                    raise r.fail(f"bad export sort 0x{sort:02x}", sort_at)
                r.u32()
                if r.u8() == 0x01:
                    self._component_desc(r)
                out.append(ComponentExtern(name, kind))
            r.expect_end()
        return out

    @property
    def core_module_count(self) -> int:
        return sum(1 for s in self.sections if s.id == 1) if self.is_component else 0

    # -- everything at once -----------------------------------------------------------------------

    def parse_all(self) -> None:
        """Decode every section (custom ones excepted) and check the structure; raises WasmFormatError."""
        if self.is_component:
            self.component_imports  # noqa: B018
            self.component_exports  # noqa: B018
            return
        self.check_order()
        for section in self.sections:
            if section.id not in SECTION_NAMES:
                raise WasmFormatError(f"unknown section id {section.id}", offset=section.offset)
        self.types  # noqa: B018
        self.imports  # noqa: B018
        self.functions  # noqa: B018
        self.tables  # noqa: B018
        self.memories  # noqa: B018
        self.tags  # noqa: B018
        self.globals  # noqa: B018
        self.exports  # noqa: B018
        self.start  # noqa: B018
        self.elements  # noqa: B018
        self.data_count  # noqa: B018
        code = self.code
        if self.section(10) is None and self.functions:
            raise WasmFormatError(f"{len(self.functions)} functions declared but there is no code section",
                                  offset=len(self.data))
        del code
        self.data_segments  # noqa: B018
        if self.data_count is not None and self.section(11) is None and self.data_count:
            raise WasmFormatError(f"data count section says {self.data_count} segments but there is no data section",
                                  offset=len(self.data))

    def custom_section_problems(self) -> list[str]:
        """Each known custom section that does not decode, as one line with its offset."""
        problems: list[str] = []
        for attr in ("names", "producers", "target_features", "source_mapping_url", "dylink"):
            try:
                getattr(self, attr)
            except WasmFormatError as exc:
                problems.append(exc.message)
        return problems


def read_module(source: str | Path | bytes) -> WasmModule:
    """A module from a path or from bytes."""
    if isinstance(source, (str, Path)):
        return WasmModule.from_file(source)
    return WasmModule.from_bytes(source)
