"""WebAssembly modules the verify, inspect, reader and exec tests share: WAT sources assembled
with ``wasmtime.wat2wasm``, hand-made binaries, and a kept corpus of malformed files."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HELLO_WAT = (REPO / "examples" / "wat-hello" / "main.wat").read_text()

#: Every kind of standard section: a table with elements (active, passive, declarative), globals
#: of each number type, a memory with a maximum, active and passive data (so a data count
#: section), a start function, exports of each kind, and a name section.
RICH_WAT = r"""
(module $rich
  (type $binop (func (param i32 i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (import "env" "base" (global $base i32))
  (import "env" "tbl" (table $imported 1 funcref))
  (table $t 4 8 funcref)
  (memory $m 1 2)
  (global $counter (mut i32) (i32.const 7))
  (global $half f64 (f64.const 0.5))
  (global $neg i64 (i64.const -42))
  (global $third f32 (f32.const 0.25))
  (elem (table $t) (i32.const 1) func $add $sub)
  (elem $passive func $add)
  (elem declare func $sub)
  (data (i32.const 16) "hi")
  (data $p "passive")
  (func $add (type $binop) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $binop) (i32.sub (local.get 0) (local.get 1)))
  (func $init
    (memory.init $p (i32.const 0) (i32.const 0) (i32.const 7))
    (data.drop $p)
    (elem.drop $passive)
    (call $log (global.get $counter)))
  (start $init)
  (export "add" (func $add))
  (export "table" (table $t))
  (export "memory" (memory $m))
  (export "counter" (global $counter)))
"""

#: Reference types and multi-value: two tables, externref, a function returning two values.
TABLES_WAT = r"""
(module
  (table $funcs 2 funcref)
  (table $refs 1 10 externref)
  (global $g (mut externref) (ref.null extern))
  (elem (table $funcs) (i32.const 0) funcref (ref.func $pair) (ref.null func))
  (func $pair (export "pair") (param i64) (result i64 i32)
    (local.get 0) (i32.const -1))
  (func (export "fsum") (param f32 f64) (result f64)
    (f64.add (f64.promote_f32 (local.get 0)) (local.get 1))))
"""

#: A library: exports only, no imports, no memory.
LIBRARY_WAT = r"""
(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "mulf") (param f32 f32) (result f32) (f32.mul (local.get 0) (local.get 1)))
  (func (export "divd") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
  (func (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "boom") (param i32) (result i32) (call $deeper (local.get 0)))
  (func $deeper (param i32) (result i32) unreachable)
  (func (export "spin") (loop $l (br $l))))
"""

#: A WASI reactor: _initialize and a function export.
REACTOR_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (global $ready (mut i32) (i32.const 0))
  (memory (export "memory") 1)
  (func (export "_initialize") (global.set $ready (i32.const 40)))
  (func (export "answer") (result i32) (i32.add (global.get $ready) (i32.const 2))))
"""

#: A WASI command that exits with its argument count (argv[0] included).
ARGC_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (call $exit (i32.load (i32.const 0)))))
"""

#: A WASI command that exits with the number of environment variables it sees.
ENVC_WAT = ARGC_WAT.replace("args_sizes_get", "environ_sizes_get")

#: A WASI command that exits with the number of preopened directories (fd 3 upwards).
PREOPENS_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $fd i32)
    (local.set $fd (i32.const 3))
    (block $done
      (loop $next
        (br_if $done (call $prestat (local.get $fd) (i32.const 0)))
        (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
        (br $next)))
    (call $exit (i32.sub (local.get $fd) (i32.const 3)))))
"""

#: Copies stdin to stdout until end of file.
CAT_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (block $eof
      (loop $more
        ;; iovec at 0: buf 64, len 1024; bytes read at 8
        (i32.store (i32.const 0) (i32.const 64))
        (i32.store (i32.const 4) (i32.const 1024))
        (br_if $eof (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br_if $eof (i32.eqz (i32.load (i32.const 8))))
        (i32.store (i32.const 4) (i32.load (i32.const 8)))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
        (br $more)))))
"""

#: Exits with the given code through proc_exit.
EXIT_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const {code}))))
"""

#: Traps two calls deep, with names for the backtrace.
TRAP_WAT = r"""
(module
  (func $inner unreachable)
  (func $outer (call $inner))
  (func (export "_start") (call $outer)))
"""

#: Loops forever.
SPIN_WAT = r"""(module (func (export "_start") (loop $l (br $l))))"""

#: Says "spinning" on stdout, then loops for ever: a test can wait for the line before signalling.
SPIN_AFTER_LINE_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "spinning\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $l (br $l))))
"""

#: Doubles its memory (as allocators grow) until refused, then traps: the growth refused is as
#: large as the memory, so the memory is still far below the limit when it fails.
DOUBLING_WAT = r"""
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l
      (br_if $l (i32.ne (memory.grow (memory.size)) (i32.const -1))))
    unreachable))
"""

#: Grows its memory a page at a time until refused, then traps.
GROW_WAT = r"""
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l
      (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable))
"""

#: Needs emscripten's JS glue.
EMSCRIPTEN_WAT = r"""
(module
  (import "env" "emscripten_memcpy_js" (func (param i32 i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))
"""

#: wasm-bindgen output: its imports, and only its internals exported.
BINDGEN_WAT = r"""
(module
  (import "wbg" "__wbg_log_8d35a9b1" (func (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__wbindgen_malloc") (param i32 i32) (result i32) (i32.const 0))
  (func (export "__wbindgen_free") (param i32 i32 i32)))
"""

#: Go's GOOS=js output imports from "gojs".
GO_WAT = r"""
(module
  (import "gojs" "runtime.wasmExit" (func (param i32)))
  (memory (export "mem") 1)
  (func (export "run") (param i32 i32)))
"""

#: A WASI 0.2 command component whose run returns ok (or err with ``{tag}`` = 1).
COMPONENT_WAT = r"""
(component
  (core module $m (func (export "run") (result i32) i32.const {tag}))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $runi (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $runi)))
"""

#: A component that is not a command.
LIB_COMPONENT_WAT = r"""
(component
  (core module $m (func (export "f") (result i32) i32.const 1))
  (core instance $i (instantiate $m))
  (func $f (result u32) (canon lift (core func $i "f")))
  (export "answer" (func $f)))
"""


def wat(source: str) -> bytes:
    import wasmtime

    return bytes(wasmtime.wat2wasm(source))


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def name(text: str) -> bytes:
    raw = text.encode()
    return uleb(len(raw)) + raw


def section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + uleb(len(payload)) + payload


def custom(section_name: str, payload: bytes) -> bytes:
    return section(0, name(section_name) + payload)


PREAMBLE = b"\x00asm\x01\x00\x00\x00"
#: () -> () as a type section, a function of it, and its body (just ``end``).
TYPE_VOID = section(1, b"\x01\x60\x00\x00")
FUNC_ONE = section(3, b"\x01\x00")
CODE_ONE = section(10, b"\x01\x02\x00\x0b")

#: The kept corpus of malformed files: each with the error text and offset the reader reports.
MALFORMED: dict[str, tuple[bytes, str, int]] = {
    "empty": (b"", "empty file", 0),
    "short": (b"\x00as", "file too short", 0),
    "bad-magic": (b"\x7fELF\x01\x00\x00\x00", "bad magic number", 0),
    "bad-version": (b"\x00asm\x02\x00\x00\x00", "unsupported WebAssembly version", 4),
    "section-past-end": (PREAMBLE + b"\x01\x10\x01\x60", "section 1 claims 16 bytes but only 2 remain", 8),
    "size-leb-past-end": (PREAMBLE + b"\x01\xff", "unexpected end of data in a LEB128 number", 9),
    "leb-too-wide": (PREAMBLE + b"\x01\x86\x80\x80\x80\x80\x00" + b"\x00" * 6, "LEB128 number longer than 5 bytes", 9),
    "count-4-billion": (PREAMBLE + b"\x03\x05\xff\xff\xff\xff\x0f", "claims 4294967295 functions", 10),
    "count-past-end-types": (PREAMBLE + section(1, b"\x05\x60\x00\x00"), "claims 5 types", 10),
    "truncated-type": (PREAMBLE + section(1, b"\x01\x60\x02\x7f"), "claims 2 parameters", 12),
    "leb-in-section-past-end": (PREAMBLE + section(1, b"\x01\x60\x00\x80"), "unexpected end of data in a LEB128 number",
                                13),
    "type-index-out-of-range": (PREAMBLE + TYPE_VOID + section(3, b"\x01\x05"), "type index 5 out of range", 17),
    "export-index-out-of-range": (PREAMBLE + section(7, b"\x01" + name("f") + b"\x00\x03"),
                                  "func index 3 out of range", 14),
    "start-index-out-of-range": (PREAMBLE + section(8, b"\x09"), "func index 9 out of range", 10),
    "code-count-mismatch": (PREAMBLE + TYPE_VOID + FUNC_ONE + section(10, b"\x02\x02\x00\x0b\x02\x00\x0b"),
                            "2 function bodies for 1 functions", 20),
    "body-past-section": (PREAMBLE + TYPE_VOID + FUNC_ONE + section(10, b"\x01\x09\x00\x0b"),
                          "function body of 9 bytes runs past the end", 22),
    "duplicate-section": (PREAMBLE + TYPE_VOID + TYPE_VOID, "duplicate type section", 14),
    "out-of-order": (PREAMBLE + FUNC_ONE + TYPE_VOID, "type section out of order", 12),
    "unknown-section": (PREAMBLE + section(42, b""), "unknown section id 42", 8),
    "bad-valtype": (PREAMBLE + section(1, b"\x01\x60\x01\x01\x00"), "unknown value type 0x01", 13),
    "trailing-bytes": (PREAMBLE + section(1, b"\x00\x00"), "1 unexpected bytes at the end", 11),
    "bad-import-kind": (PREAMBLE + section(2, b"\x01" + name("m") + name("f") + b"\x09"), "unknown import kind", 15),
    "bad-name-utf8": (PREAMBLE + section(7, b"\x01\x01\xff\x00\x00"), "name is not valid UTF-8", 11),
    # custom-page-sizes allows only 2**0 and 2**16: an exponent of 4 billion once cost 587 MB to compute
    "page-size-exponent-huge": (PREAMBLE + section(5, b"\x01\x08\x00\xff\xff\xff\xff\x0f"),
                                "page size 2**4294967295 is not allowed", 13),
    "page-size-exponent-17": (PREAMBLE + section(5, b"\x01\x09\x01\x02\x11"), "page size 2**17 is not allowed", 14),
    "imported-page-size-exponent": (PREAMBLE + section(2, b"\x01" + name("m") + name("mem") + b"\x02\x08\x00\x20"),
                                    "page size 2**32 is not allowed", 20),
}


COMPONENT_SOURCES = REPO / "tests" / "components"


def shapes_project() -> dict[str, str]:
    """tests/components/shapes.wat's core module, with the interface's functions exported under
    their canonical ABI names, and shapes.wit as its world: a library project that ``--target
    component`` builds (with wasm-tools) into the shapes component, which both generators read
    (neither reads the hand-assembled shapes.wasm: "component export `item` was not a function or
    instance")."""
    text = (COMPONENT_SOURCES / "shapes.wat").read_text()
    core = text[text.index("(core module $m"):text.index("(core instance $i")].strip()
    core = core.replace("(core module $m", "(module", 1)
    area = '(func (export "area")'
    add = '(func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))'
    assert core.count(area) == 1 and core.count(add) == 1
    core = core.replace(area, '(func (export "example:shapes/geometry@0.1.0#area")').replace(
        add, f'(func $add {add[len("(func "):]}\n    (export "example:shapes/geometry@0.1.0#add" (func $add))')
    return {"lib.wat": core, "wit/world.wit": (COMPONENT_SOURCES / "shapes.wit").read_text()}
