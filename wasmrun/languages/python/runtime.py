"""The runtime every compiled module carries, as WebAssembly text: the memory layout, checked int
arithmetic with Python's semantics (floor ``//`` and ``%``, overflow traps), exact int/float
comparison, and the functions that raise Python's errors.

Each error function takes two string pointers (the message and the source position ``file:line:col``).
In a module that talks WASI it writes ``<message> (at <position>)`` to stderr and exits with status 1,
as CPython does for an uncaught exception; in a module without WASI imports it traps, and the trap's
backtrace names the error function (``OverflowError``, ``ZeroDivisionError``, ...).
"""

from __future__ import annotations

from collections.abc import Callable

# -- memory layout (bytes) ------------------------------------------------------------------------
IOVEC = 0  # fd_write's iovec (ptr, len) at 0, the count written at 8
INT_SCRATCH = 16  # 16..48: the digits of an int being printed
BIGNUM = 1024  # 100 base-10**9 limbs (i64) for exact float-to-decimal conversion
DIGITS = 800  # length of each decimal digit array
DIGITS_LOW, DIGITS_X, DIGITS_HIGH, DIGITS_CAND = 2048, 2848, 3648, 4448
FLOAT_TEXT = 5248  # 64 bytes: a float's repr being assembled
OUT_BUFFER, OUT_SIZE = 8192, 8192  # stdout buffer, flushed at the end of every print()
DATA_START = 16384  # string constants: [i32 byte length][i32 length in characters][UTF-8 bytes]

#: Python's exceptions the runtime raises, each a function ``$<Name> (param $msg i32) (param $site i32)``.
ERRORS = ("OverflowError", "ZeroDivisionError", "ValueError", "AssertionError")

OVERFLOW_MESSAGE = "OverflowError: integer overflow: the result does not fit in 64 bits (wasmrun's int is i64)"

Intern = Callable[[str], int]


def error_functions(wasi: bool) -> str:
    body = "(call $__die (local.get $msg) (local.get $site))" if wasi else "unreachable"
    return "\n".join(f"(func ${name} (param $msg i32) (param $site i32) {body})" for name in ERRORS)


def core(intern: Intern) -> str:
    """Arithmetic helpers; no imports needed."""
    ovf = intern(OVERFLOW_MESSAGE)
    zdiv = intern("ZeroDivisionError: integer division or modulo by zero")
    zdiv_true = intern("ZeroDivisionError: division by zero")
    zdiv_float = intern("ZeroDivisionError: float division by zero")
    neg_exp = intern("ValueError: int ** negative int is a float in Python; wasmrun's int ** int needs "
                     "an exponent >= 0")
    neg_shift = intern("ValueError: negative shift count")
    inexact = intern("ValueError: int / int with an operand beyond 2**53 is not supported (the result could "
                     "differ from CPython's correctly rounded one)")
    nan_int = intern("ValueError: cannot convert float NaN to integer")
    inf_int = intern("OverflowError: cannot convert float infinity to integer")
    domain = intern("ValueError: math domain error")
    return f"""
(func $__mul (param $a i64) (param $b i64) (param $site i32) (result i64)
  (local $r i64)
  (local.set $r (i64.mul (local.get $a) (local.get $b)))
  (if (i32.and (i64.lt_u (i64.add (local.get $a) (i64.const 0x80000000)) (i64.const 0x100000000))
               (i64.lt_u (i64.add (local.get $b) (i64.const 0x80000000)) (i64.const 0x100000000)))
    (then (return (local.get $r))))
  (if (i64.eqz (local.get $a)) (then (return (i64.const 0))))
  (if (i32.or (i32.and (i64.eq (local.get $a) (i64.const -1)) (i64.eq (local.get $b) (i64.const 0x8000000000000000)))
              (i32.and (i64.eq (local.get $b) (i64.const -1)) (i64.eq (local.get $a) (i64.const 0x8000000000000000))))
    (then (call $OverflowError (i32.const {ovf}) (local.get $site))))
  (if (i64.ne (i64.div_s (local.get $r) (local.get $a)) (local.get $b))
    (then (call $OverflowError (i32.const {ovf}) (local.get $site))))
  (local.get $r))

(func $__neg (param $a i64) (param $site i32) (result i64)
  (if (i64.eq (local.get $a) (i64.const 0x8000000000000000))
    (then (call $OverflowError (i32.const {ovf}) (local.get $site))))
  (i64.sub (i64.const 0) (local.get $a)))

(func $__abs (param $a i64) (param $site i32) (result i64)
  (if (i64.lt_s (local.get $a) (i64.const 0)) (then (return (call $__neg (local.get $a) (local.get $site)))))
  (local.get $a))

(func $__floordiv (param $a i64) (param $b i64) (param $site i32) (result i64)
  (local $q i64)
  (if (i64.eqz (local.get $b)) (then (call $ZeroDivisionError (i32.const {zdiv}) (local.get $site))))
  (if (i32.and (i64.eq (local.get $a) (i64.const 0x8000000000000000)) (i64.eq (local.get $b) (i64.const -1)))
    (then (call $OverflowError (i32.const {ovf}) (local.get $site))))
  (local.set $q (i64.div_s (local.get $a) (local.get $b)))
  (if (i32.and (i64.ne (i64.rem_s (local.get $a) (local.get $b)) (i64.const 0))
               (i64.lt_s (i64.xor (local.get $a) (local.get $b)) (i64.const 0)))
    (then (local.set $q (i64.sub (local.get $q) (i64.const 1)))))
  (local.get $q))

(func $__mod (param $a i64) (param $b i64) (param $site i32) (result i64)
  (local $r i64)
  (if (i64.eqz (local.get $b)) (then (call $ZeroDivisionError (i32.const {zdiv}) (local.get $site))))
  (local.set $r (i64.rem_s (local.get $a) (local.get $b)))
  (if (i32.and (i64.ne (local.get $r) (i64.const 0))
               (i64.lt_s (i64.xor (local.get $r) (local.get $b)) (i64.const 0)))
    (then (local.set $r (i64.add (local.get $r) (local.get $b)))))
  (local.get $r))

(func $__pow (param $b i64) (param $e i64) (param $site i32) (result i64)
  (local $r i64)
  (if (i64.lt_s (local.get $e) (i64.const 0)) (then (call $ValueError (i32.const {neg_exp}) (local.get $site))))
  (local.set $r (i64.const 1))
  (block $done (loop $next
    (br_if $done (i64.eqz (local.get $e)))
    (if (i32.wrap_i64 (i64.and (local.get $e) (i64.const 1)))
      (then (local.set $r (call $__mul (local.get $r) (local.get $b) (local.get $site)))))
    (local.set $e (i64.shr_u (local.get $e) (i64.const 1)))
    (if (i64.ne (local.get $e) (i64.const 0))
      (then (local.set $b (call $__mul (local.get $b) (local.get $b) (local.get $site)))))
    (br $next)))
  (local.get $r))

(func $__lshift (param $a i64) (param $n i64) (param $site i32) (result i64)
  (local $r i64)
  (if (i64.lt_s (local.get $n) (i64.const 0)) (then (call $ValueError (i32.const {neg_shift}) (local.get $site))))
  (if (i64.eqz (local.get $a)) (then (return (i64.const 0))))
  (if (i64.ge_s (local.get $n) (i64.const 64)) (then (call $OverflowError (i32.const {ovf}) (local.get $site))))
  (local.set $r (i64.shl (local.get $a) (local.get $n)))
  (if (i64.ne (i64.shr_s (local.get $r) (local.get $n)) (local.get $a))
    (then (call $OverflowError (i32.const {ovf}) (local.get $site))))
  (local.get $r))

(func $__rshift (param $a i64) (param $n i64) (param $site i32) (result i64)
  (if (i64.lt_s (local.get $n) (i64.const 0)) (then (call $ValueError (i32.const {neg_shift}) (local.get $site))))
  (if (i64.ge_s (local.get $n) (i64.const 64)) (then (local.set $n (i64.const 63))))
  (i64.shr_s (local.get $a) (local.get $n)))

(func $__truediv_ii (param $a i64) (param $b i64) (param $site i32) (result f64)
  (if (i64.eqz (local.get $b)) (then (call $ZeroDivisionError (i32.const {zdiv_true}) (local.get $site))))
  (if (i32.or (i64.gt_u (i64.add (local.get $a) (i64.const 0x20000000000000)) (i64.const 0x40000000000000))
              (i64.gt_u (i64.add (local.get $b) (i64.const 0x20000000000000)) (i64.const 0x40000000000000)))
    (then (call $ValueError (i32.const {inexact}) (local.get $site))))
  (f64.div (f64.convert_i64_s (local.get $a)) (f64.convert_i64_s (local.get $b))))

(func $__truediv_ff (param $a f64) (param $b f64) (param $site i32) (result f64)
  (if (f64.eq (local.get $b) (f64.const 0)) (then (call $ZeroDivisionError (i32.const {zdiv_float}) (local.get $site))))
  (f64.div (local.get $a) (local.get $b)))

(func $__f2i (param $x f64) (param $site i32) (result i64)
  (if (f64.ne (local.get $x) (local.get $x)) (then (call $ValueError (i32.const {nan_int}) (local.get $site))))
  (if (f64.eq (f64.abs (local.get $x)) (f64.const inf)) (then (call $OverflowError (i32.const {inf_int})
    (local.get $site))))
  (if (i32.or (f64.ge (local.get $x) (f64.const 0x1p63)) (f64.lt (local.get $x) (f64.const -0x1p63)))
    (then (call $OverflowError (i32.const {ovf}) (local.get $site))))
  (i64.trunc_f64_s (local.get $x)))

(func $__sqrt (param $x f64) (param $site i32) (result f64)
  (if (f64.lt (local.get $x) (f64.const 0)) (then (call $ValueError (i32.const {domain}) (local.get $site))))
  (f64.sqrt (local.get $x)))

;; compare an int with a float exactly, as CPython does: -1, 0, 1, or 2 when the float is NaN
(func $__cmp_if (param $a i64) (param $b f64) (result i32)
  (local $t f64) (local $ti i64)
  (if (f64.ne (local.get $b) (local.get $b)) (then (return (i32.const 2))))
  (if (f64.ge (local.get $b) (f64.const 0x1p63)) (then (return (i32.const -1))))
  (if (f64.lt (local.get $b) (f64.const -0x1p63)) (then (return (i32.const 1))))
  (local.set $t (f64.trunc (local.get $b)))
  (local.set $ti (i64.trunc_f64_s (local.get $t)))
  (if (i64.lt_s (local.get $a) (local.get $ti)) (then (return (i32.const -1))))
  (if (i64.gt_s (local.get $a) (local.get $ti)) (then (return (i32.const 1))))
  (if (f64.gt (local.get $b) (local.get $t)) (then (return (i32.const -1))))
  (if (f64.lt (local.get $b) (local.get $t)) (then (return (i32.const 1))))
  (i32.const 0))
"""
