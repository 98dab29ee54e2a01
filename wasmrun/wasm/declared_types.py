"""A component's own named types (a world's records, variants, enums and flags), read from its binary.

``wasm-tools component new`` writes the types a world defines itself as type imports bound by
``eq`` (``(import "item" (type (eq 0)))``), and a component may export a type by name; wasmtime's
component types list neither, so the functions using them would show their records as unnamed.
This reads the top-level type, import, alias and export sections just far enough to number every
type, decodes the value types defined there, and gives each named one with the name it was
imported or exported under. What it cannot read (an encoding newer than it knows) ends the
reading: the types it has not named stay unnamed, as wasmtime gives them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from wasmrun.errors import WasmFormatError
from wasmrun.wasm import wit
from wasmrun.wasm.reader import ByteReader
from wasmrun.wasm.wit import WitType

_PRIMITIVES = {0x7F: "bool", 0x7E: "s8", 0x7D: "u8", 0x7C: "s16", 0x7B: "u16", 0x7A: "s32", 0x79: "u32",
               0x78: "s64", 0x77: "u64", 0x76: "f32", 0x75: "f64", 0x74: "char", 0x73: "string"}
_ALIAS, _TYPE, _IMPORT, _EXPORT = 6, 7, 10, 11
_SORT_TYPE = 0x03
_MAX_DEPTH = 100


class _Unreadable(Exception):
    """An encoding this reader does not know: stop here."""


def declared_types(data: bytes) -> list[tuple[str, WitType]]:
    """The component's named value types at its top level, in the order they are declared."""
    reader = _Reader()
    with contextlib.suppress(_Unreadable, WasmFormatError, RecursionError):
        reader.read(data)  # when it stops early, what it read stays good: every type before was numbered
    return reader.named()


class _Reader:
    def __init__(self) -> None:
        #: by type index: ("def", decoded), ("eq", index), ("resource", None) or None (unknown)
        self.types: list[tuple[str, Any] | None] = []
        self.names: list[tuple[str, int]] = []

    def read(self, data: bytes) -> None:
        if len(data) < 8 or data[:4] != b"\0asm" or data[6:8] != b"\x01\x00":
            return  # not a component
        top = ByteReader(data, 8, len(data), "component")
        while top.remaining:
            section, size = top.u8(), top.u32()
            start = top.skip(size)
            body = ByteReader(data, start, start + size, "component section")
            if section == _TYPE:
                self._type_section(body)
            elif section == _IMPORT:
                for _ in range(body.count("imports")):
                    name = self._extern_name(body)
                    self._extern_desc(body, name)
            elif section == _ALIAS:
                for _ in range(body.count("aliases")):
                    self._alias(body)
            elif section == _EXPORT:
                for _ in range(body.count("exports")):
                    self._export(body)

    def _type_section(self, body: ByteReader) -> None:
        count = body.count("types")
        for done in range(count):
            decoded = self._deftype(body)
            if decoded is None:  # a component or instance type: the rest of the section is unknown
                self.types.extend([None] * (count - done))
                return
            self.types.append(decoded)

    def _deftype(self, r: ByteReader) -> tuple[str, Any] | None:
        kind = r.data[r.pos] if r.remaining else None
        if kind in (0x41, 0x42, 0x3F):
            return None
        if kind in (0x40, 0x43):  # a function type: numbered, not needed
            r.u8()
            for _ in range(r.count("params")):
                r.name()
                self._valtype(r)
            if r.u8() == 0x00:
                self._valtype(r)
            else:
                r.u8()
            return ("func", None)
        return ("def", self._defvaltype(r))

    def _valtype(self, r: ByteReader) -> Any:
        value = r.s33()
        if value >= 0:
            return ("ref", value)
        code = value & 0x7F
        if code not in _PRIMITIVES:
            raise _Unreadable(code)
        return ("prim", _PRIMITIVES[code])

    def _optional(self, r: ByteReader) -> Any:
        return self._valtype(r) if r.u8() == 0x01 else None

    def _defvaltype(self, r: ByteReader) -> Any:
        kind = r.u8()
        if kind in _PRIMITIVES:
            return ("prim", _PRIMITIVES[kind])
        if kind == 0x72:
            return ("record", [(r.name(), self._valtype(r)) for _ in range(r.count("fields"))])
        if kind == 0x71:
            cases = []
            for _ in range(r.count("cases")):
                name, payload = r.name(), self._optional(r)
                if r.u8() != 0x00:  # refines: gone from the format
                    raise _Unreadable(kind)
                cases.append((name, payload))
            return ("variant", cases)
        if kind == 0x70:
            return ("list", self._valtype(r))
        if kind == 0x6F:
            return ("tuple", [self._valtype(r) for _ in range(r.count("tuple types"))])
        if kind in (0x6E, 0x6D):
            return ("flags" if kind == 0x6E else "enum", [r.name() for _ in range(r.count("names"))])
        if kind == 0x6B:
            return ("option", self._valtype(r))
        if kind == 0x6A:
            return ("result", (self._optional(r), self._optional(r)))
        if kind in (0x69, 0x68):
            return ("own" if kind == 0x69 else "borrow", r.u32())
        raise _Unreadable(kind)

    def _extern_name(self, r: ByteReader) -> str:
        form = r.u8()
        name = r.name()
        if form == 0x01:  # with a version suffix
            r.name()
        elif form != 0x00:
            raise _Unreadable(form)
        return name

    def _extern_desc(self, r: ByteReader, name: str | None) -> None:
        kind = r.u8()
        if kind == 0x00:
            r.u8()
            r.u32()
        elif kind in (0x01, 0x04, 0x05):
            r.u32()
        elif kind == 0x02:
            if r.u8() == 0x00:
                r.u32()
            else:
                self._valtype(r)
        elif kind == _SORT_TYPE:
            bound = r.u8()
            entry: tuple[str, Any] = ("eq", r.u32()) if bound == 0x00 else ("resource", None)
            if name is not None:
                self.names.append((name, len(self.types)))
            self.types.append(entry)
        else:
            raise _Unreadable(kind)

    def _sort(self, r: ByteReader) -> int:
        sort = r.u8()
        if sort == 0x00:
            r.u8()  # the core sort
        return sort

    def _alias(self, r: ByteReader) -> None:
        sort = self._sort(r)
        target = r.u8()
        if target in (0x00, 0x01):
            r.u32()
            r.name()
        elif target == 0x02:
            r.u32()
            r.u32()
        else:
            raise _Unreadable(target)
        if sort == _SORT_TYPE:
            self.types.append(None)

    def _export(self, r: ByteReader) -> None:
        name = self._extern_name(r)
        sort, index = self._sort(r), r.u32()
        if r.u8() == 0x01:
            self._extern_desc(r, None)
            if sort == _SORT_TYPE:
                self.types.pop()  # the ascribed type is this export's own index, added below
        if sort == _SORT_TYPE:
            self.names.append((name, len(self.types)))
            self.types.append(("eq", index))

    # -- into WitTypes ----------------------------------------------------------------------------

    def named(self) -> list[tuple[str, WitType]]:
        self._name_of: dict[int, str] = {}
        for name, index in self.names:
            target = self._definition(index, 0)
            if target is not None:
                self._name_of.setdefault(target, name)
        out, seen = [], set()
        for name, index in self.names:
            try:
                t = self._resolve(index, 0)
            except (_Unreadable, IndexError, TypeError):
                continue
            if t is not None and t.kind in wit.NAMED_KINDS and name not in seen:
                seen.add(name)
                out.append((name, WitType(t.kind, t.items, t.cases, name=name)))
        return out

    def _definition(self, index: int, depth: int) -> int | None:
        """The index of the definition ``index`` stands for (through ``eq`` bounds)."""
        if depth > _MAX_DEPTH or not 0 <= index < len(self.types):
            return None
        entry = self.types[index]
        if entry is not None and entry[0] == "eq":
            return self._definition(entry[1], depth + 1)
        return index if entry is not None else None

    def _resolve(self, index: int, depth: int) -> WitType | None:
        definition = self._definition(index, depth)
        entry = None if definition is None else self.types[definition]
        if entry is None or entry[0] != "def":
            if entry is not None and entry[0] == "resource":
                return WitType("resource", name=self._name_of.get(definition))  # type: ignore[arg-type]
            raise _Unreadable(index)
        return self._wit(entry[1], self._name_of.get(definition), depth + 1)  # type: ignore[arg-type]

    def _wit(self, decoded: Any, name: str | None, depth: int) -> WitType:
        if depth > _MAX_DEPTH:
            raise _Unreadable("too deep")
        kind, body = decoded

        def inner(value: Any) -> WitType:
            if value[0] == "ref":
                resolved = self._resolve(value[1], depth + 1)
                if resolved is None:
                    raise _Unreadable(value)
                return resolved
            return self._wit(value, None, depth + 1)

        if kind == "prim":
            return WitType(body)
        if kind == "record":
            return wit.record(name, ((n, inner(t)) for n, t in body))
        if kind == "variant":
            return wit.variant(name, ((n, None if t is None else inner(t)) for n, t in body))
        if kind == "enum":
            return wit.enum(name, body)
        if kind == "flags":
            return wit.flags(name, body)
        if kind == "list":
            return wit.list_of(inner(body))
        if kind == "tuple":
            return wit.tuple_of(*(inner(t) for t in body))
        if kind == "option":
            return wit.option_of(inner(body))
        if kind == "result":
            ok, err = body
            return wit.result_of(None if ok is None else inner(ok), None if err is None else inner(err))
        if kind in ("own", "borrow"):
            resource = self._resolve(body, depth + 1)
            return WitType(kind, name=resource.name if resource is not None else "resource")
        raise _Unreadable(kind)
