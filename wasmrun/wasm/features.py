"""Which post-MVP features a module uses, named as binaryen's ``--enable-X`` flags.

``wasm-opt`` optimizes with the features it is told about and may introduce any of them (a shift
pair becomes ``i32.extend8_s`` once sign-ext is enabled, a loop becomes ``memory.fill`` once
bulk-memory is). So it must be told exactly what the module already uses: telling it
``-all`` could make the output need features the module's engine lacks, and telling it too
little makes it reject the input.

:func:`used_features` reads the whole module: its types, imports, tables, memories, globals,
exports, segments and every instruction of every function body. An instruction it cannot
decode (the GC prefix's immediates, a proposal newer than this scanner) ends the scan of that
body and the result is marked incomplete: a feature missed there only makes ``wasm-opt`` reject
the input (it validates against the features it is given), never produce a module that needs
more than the original.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from wasmrun.errors import WasmFormatError
from wasmrun.wasm.reader import FuncType, GlobalType, TableType, WasmModule
from wasmrun.wasm.sections import read_sleb128, read_uleb128

#: LLVM's ``target_features`` names (rustc, clang, zig write them) to binaryen's feature flags.
LLVM_TO_BINARYEN = {
    "atomics": "threads",
    "bulk-memory": "bulk-memory",
    "bulk-memory-opt": "bulk-memory",
    "call-indirect-overlong": "reference-types",
    "exception-handling": "exception-handling",
    "extended-const": "extended-const",
    "gc": "gc",
    "memory64": "memory64",
    "multimemory": "multi-memories",
    "multivalue": "multivalue",
    "mutable-globals": "mutable-globals",
    "nontrapping-fptoint": "nontrapping-float-to-int",
    "reference-types": "reference-types",
    "relaxed-simd": "relaxed-simd",
    "sign-ext": "sign-ext",
    "simd128": "simd",
    "tail-call": "tail-call",
}

SIGN_EXT = "sign-ext"
SAT = "nontrapping-float-to-int"
BULK = "bulk-memory"
REF = "reference-types"
SIMD = "simd"
RELAXED_SIMD = "relaxed-simd"
THREADS = "threads"
EH = "exception-handling"
TAIL = "tail-call"
MULTIVALUE = "multivalue"
MUT_GLOBALS = "mutable-globals"
GC = "gc"
FUNC_REFS = "typed-function-references"
MEMORY64 = "memory64"
MULTI_MEMORY = "multi-memories"
EXTENDED_CONST = "extended-const"


@dataclass
class Features:
    """Features found, and whether every function body could be read to the end."""

    used: set[str] = field(default_factory=set)
    complete: bool = True


def declared_features(module: WasmModule) -> set[str]:
    """The features the producer's ``target_features`` section marks used (``+``) or required (``=``)."""
    declared = module.target_features or []
    return {LLVM_TO_BINARYEN[name] for prefix, name in declared
            if prefix in "+=" and name in LLVM_TO_BINARYEN}


def used_features(module: WasmModule) -> Features:
    """What ``module`` uses beyond the MVP (see the module docstring)."""
    found = Features()
    _module_level(module, found.used)
    for body in module.code:
        if not _scan_body(module, body.offset, body.offset + body.size, found.used):
            found.complete = False
    return found


# -- types, imports, sections --------------------------------------------------------------------

def _valtype_features(valtype: str, out: set[str]) -> None:
    if valtype in ("i32", "i64", "f32", "f64"):
        return
    if valtype == "v128":
        out.add(SIMD)
    elif valtype in ("funcref", "externref"):
        out.add(REF)
    elif valtype in ("exnref", "noexnref"):
        out.update((EH, REF))
    elif valtype.startswith("(ref"):
        heap = valtype.rstrip(")").split()[-1]
        out.update((REF, FUNC_REFS))
        if not (heap.isdigit() or heap in ("func", "extern")):
            out.add(GC)
    else:  # anyref, eqref, i31ref, structref, arrayref, nullref, ...
        out.update((REF, GC))


def _module_level(module: WasmModule, out: set[str]) -> None:
    for functype in module.types:
        if functype.kind != "func":
            out.update((REF, GC))
            continue
        if len(functype.results) > 1:
            out.add(MULTIVALUE)
        for valtype in (*functype.params, *functype.results):
            _valtype_features(valtype, out)
    tables: list[TableType] = []
    global_types: list[GlobalType] = []
    for item in module.imports:
        if isinstance(item.type, TableType):
            tables.append(item.type)
        elif isinstance(item.type, GlobalType):
            global_types.append(item.type)
            if item.type.mutable:
                out.add(MUT_GLOBALS)
        elif item.kind == "tag":
            out.add(EH)
    tables += [table.type for table in module.tables]
    if any(table.init is not None for table in module.tables):
        out.update((REF, FUNC_REFS))
    memories = module.all_memories
    for table in tables:
        if table.element != "funcref":  # a funcref table is MVP
            _valtype_features(table.element, out)
    if len(tables) > 1:
        out.add(REF)
    if len(memories) > 1:
        out.add(MULTI_MEMORY)
    if any(memory.shared for memory in memories):
        out.add(THREADS)
    if any(memory.index64 for memory in memories):
        out.add(MEMORY64)
    for defined in module.globals:
        global_types.append(defined.type)
        _const_features(defined.init.text, out)
    for global_type in global_types:
        _valtype_features(global_type.valtype, out)
    for export in module.exports:
        if export.kind == "global" and export.index < len(global_types) and global_types[export.index].mutable:
            out.add(MUT_GLOBALS)
    if module.tags:
        out.add(EH)
    if module.data_count is not None:
        out.add(BULK)
    for segment in module.data_segments:
        if segment.mode == "passive":
            out.add(BULK)
        if segment.memory:
            out.add(MULTI_MEMORY)
        if segment.offset_expr is not None:
            _const_features(segment.offset_expr.text, out)
    for element in module.elements:
        if element.mode != "active":
            out.add(BULK)
        if element.table:
            out.add(REF)
        if element.element_type != "funcref":
            _valtype_features(element.element_type, out)
        if element.offset_expr is not None:
            _const_features(element.offset_expr.text, out)


def _const_features(text: str, out: set[str]) -> None:
    """Features of a constant expression, from the reader's text of it."""
    ops = {part.split()[0] for part in text.split("; ") if part}
    if ops & {"i32.add", "i32.sub", "i32.mul", "i64.add", "i64.sub", "i64.mul"}:
        out.add(EXTENDED_CONST)
    if ops & {"ref.null", "ref.func"}:
        out.add(REF)
    if "v128.const" in ops:
        out.add(SIMD)
    if any(op.startswith(("struct.", "array.", "ref.i31", "any.", "extern.")) for op in ops):
        out.update((REF, GC))


# -- instructions --------------------------------------------------------------------------------

# Immediate kinds.
_NONE, _BLOCK, _U32, _U32X2, _BR_TABLE, _MEMARG, _LEB, _BYTES1, _BYTES4, _BYTES8, _SELECT_T, _HEAP, \
    _MEMIDX, _CALL_INDIRECT, _TRY_TABLE = range(15)

_OPS: dict[int, tuple[int, tuple[str, ...]]] = {
    0x00: (_NONE, ()), 0x01: (_NONE, ()), 0x02: (_BLOCK, ()), 0x03: (_BLOCK, ()), 0x04: (_BLOCK, ()),
    0x05: (_NONE, ()), 0x06: (_BLOCK, (EH,)), 0x07: (_U32, (EH,)), 0x08: (_U32, (EH,)),
    0x09: (_U32, (EH,)), 0x0A: (_NONE, (EH,)), 0x0B: (_NONE, ()), 0x0C: (_U32, ()), 0x0D: (_U32, ()),
    0x0E: (_BR_TABLE, ()), 0x0F: (_NONE, ()), 0x10: (_U32, ()), 0x11: (_CALL_INDIRECT, ()),
    0x12: (_U32, (TAIL,)), 0x13: (_CALL_INDIRECT, (TAIL,)), 0x14: (_U32, (REF, FUNC_REFS)),
    0x15: (_U32, (TAIL, REF, FUNC_REFS)), 0x18: (_U32, (EH,)), 0x19: (_NONE, (EH,)),
    0x1A: (_NONE, ()), 0x1B: (_NONE, ()), 0x1C: (_SELECT_T, (REF,)), 0x1F: (_TRY_TABLE, (EH,)),
    0x20: (_U32, ()), 0x21: (_U32, ()), 0x22: (_U32, ()), 0x23: (_U32, ()), 0x24: (_U32, ()),
    0x25: (_U32, (REF,)), 0x26: (_U32, (REF,)),
    0x3F: (_MEMIDX, ()), 0x40: (_MEMIDX, ()), 0x41: (_LEB, ()), 0x42: (_LEB, ()),
    0x43: (_BYTES4, ()), 0x44: (_BYTES8, ()),
    0xD0: (_HEAP, (REF,)), 0xD1: (_NONE, (REF,)), 0xD2: (_U32, (REF,)), 0xD3: (_NONE, (REF, GC)),
    0xD4: (_NONE, (REF, FUNC_REFS)), 0xD5: (_U32, (REF, FUNC_REFS)), 0xD6: (_U32, (REF, FUNC_REFS)),
}
_OPS.update({op: (_MEMARG, ()) for op in range(0x28, 0x3F)})
_OPS.update({op: (_NONE, ()) for op in range(0x45, 0xC0)})
_OPS.update({op: (_NONE, (SIGN_EXT,)) for op in range(0xC0, 0xC5)})

#: 0xFC sub-opcodes: immediates and features.
_FC_OPS: dict[int, tuple[int, tuple[str, ...]]] = {
    **{sub: (_NONE, (SAT,)) for sub in range(8)},
    8: (_U32X2, (BULK,)), 9: (_U32, (BULK,)), 10: (_U32X2, (BULK,)), 11: (_U32, (BULK,)),
    12: (_U32X2, (BULK,)), 13: (_U32, (BULK,)), 14: (_U32X2, (BULK,)),
    15: (_U32, (REF,)), 16: (_U32, (REF,)), 17: (_U32, (REF,)),
}


class _Stop(Exception):
    """An instruction this scanner cannot step over."""


def _scan_body(module: WasmModule, pos: int, end: int, out: set[str]) -> bool:
    """Add the features of one function body; False when it could not be read to the end.

    The body is read through a view that ends where the body ends, so no count or length in it
    can send the scan into the bodies after it."""
    data = memoryview(module.data)[:end]
    types = module.types
    try:
        count, pos = read_uleb128(data, pos)
        for _ in range(count):
            _, pos = read_uleb128(data, pos)
            pos = _valtype_at(data, pos, out)
        while pos < end:
            op = data[pos]
            pos += 1
            if op == 0xFC:
                sub, pos = read_uleb128(data, pos)
                kind, features = _FC_OPS.get(sub, (-1, ()))
            elif op == 0xFD:
                sub, pos = read_uleb128(data, pos)
                pos = _simd(data, sub, pos, out)
                continue
            elif op == 0xFE:
                sub, pos = read_uleb128(data, pos)
                out.add(THREADS)
                kind, features = (_BYTES1, ()) if sub == 0x03 else (_MEMARG, ())
            elif op == 0xFB:
                out.update((REF, GC))
                return False
            else:
                kind, features = _OPS.get(op, (-1, ()))
            if kind < 0:
                return False
            out.update(features)
            pos = _immediates(data, types, kind, pos, out)
    except (_Stop, IndexError, WasmFormatError):
        return False
    return pos == end


def _immediates(data: memoryview, types: list[FuncType], kind: int, pos: int, out: set[str]) -> int:
    if kind == _NONE:
        return pos
    if kind == _U32:
        return read_uleb128(data, pos)[1]
    if kind == _LEB:  # i32.const, i64.const
        return read_sleb128(data, pos, bits=64)[1]
    if kind == _U32X2:
        return read_uleb128(data, read_uleb128(data, pos)[1])[1]
    if kind == _MEMARG:
        return _memarg(data, pos, out)
    if kind == _BLOCK:
        return _blocktype(data, types, pos, out)
    if kind == _BR_TABLE:
        count, pos = read_uleb128(data, pos)
        for _ in range(count + 1):
            pos = read_uleb128(data, pos)[1]
        return pos
    if kind == _BYTES1:
        return pos + 1
    if kind == _BYTES4:
        return pos + 4
    if kind == _BYTES8:
        return pos + 8
    if kind == _SELECT_T:
        count, pos = read_uleb128(data, pos)
        for _ in range(count):
            pos = _valtype_at(data, pos, out)
        return pos
    if kind == _HEAP:
        heap, pos = read_sleb128(data, pos, bits=33)
        _heap_features(heap, out)
        return pos
    if kind == _MEMIDX:
        memory, pos = read_uleb128(data, pos)
        if memory:
            out.add(MULTI_MEMORY)
        return pos
    if kind == _CALL_INDIRECT:
        pos = read_uleb128(data, pos)[1]
        table, pos = read_uleb128(data, pos)
        if table:
            out.add(REF)
        return pos
    if kind == _TRY_TABLE:
        pos = _blocktype(data, types, pos, out)
        count, pos = read_uleb128(data, pos)
        for _ in range(count):
            catch_kind = data[pos]
            pos += 1
            if catch_kind in (0, 1):
                pos = read_uleb128(data, pos)[1]
            pos = read_uleb128(data, pos)[1]
        return pos
    raise _Stop


def _simd(data: memoryview, sub: int, pos: int, out: set[str]) -> int:
    out.add(SIMD)
    if 0x100 <= sub <= 0x113:
        out.add(RELAXED_SIMD)
        return pos
    if sub > 0xFF:
        raise _Stop
    if sub <= 11 or sub in (92, 93):
        return _memarg(data, pos, out)
    if sub in (12, 13):
        return pos + 16
    if 21 <= sub <= 34:
        return pos + 1
    if 84 <= sub <= 91:
        return _memarg(data, pos, out) + 1
    return pos


def _memarg(data: memoryview, pos: int, out: set[str]) -> int:
    """Alignment (bit 6: a memory index follows), then the offset (u64 with memory64)."""
    align, pos = read_uleb128(data, pos)
    if align & 0x40:
        memory, pos = read_uleb128(data, pos)
        if memory:
            out.add(MULTI_MEMORY)
    return read_uleb128(data, pos, max_bits=64)[1]


def _blocktype(data: memoryview, types: list[FuncType], pos: int, out: set[str]) -> int:
    byte = data[pos]
    if byte == 0x40:
        return pos + 1
    if 0x40 < byte < 0x80:  # a value type: one byte, negative as s33
        return _valtype_at(data, pos, out)
    index, pos = read_sleb128(data, pos, bits=33)
    out.add(MULTIVALUE)  # a type-index block type is the multi-value proposal
    if 0 <= index < len(types):
        for valtype in (*types[index].params, *types[index].results):
            _valtype_features(valtype, out)
    return pos


_VALTYPE_NAMES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref",
                  0x6F: "externref", 0x69: "exnref", 0x74: "noexnref"}


def _valtype_at(data: memoryview, pos: int, out: set[str]) -> int:
    byte = data[pos]
    pos += 1
    if byte in (0x63, 0x64):
        heap, pos = read_sleb128(data, pos, bits=33)
        out.update((REF, FUNC_REFS))
        _heap_features(heap, out)
        return pos
    name = _VALTYPE_NAMES.get(byte)
    if name is None:
        if not 0x65 <= byte <= 0x74:
            raise _Stop
        name = "anyref"  # a GC abstract type
    _valtype_features(name, out)
    return pos


def _heap_features(heap: int, out: set[str]) -> None:
    """A heap type as s33: a type index, or an abstract type (negative)."""
    out.add(REF)
    if heap >= 0:
        return
    if (heap + 0x80) not in (0x70, 0x6F):  # not func or extern
        out.add(GC if (heap + 0x80) not in (0x69, 0x74) else EH)


def feature_flags(names: Iterable[str]) -> list[str]:
    """``--enable-X`` for each feature name, sorted."""
    return [f"--enable-{name}" for name in sorted(set(names))]
