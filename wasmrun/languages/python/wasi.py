"""Output through WASI ``fd_write``, as WebAssembly text: ``print()`` of ints, bools, strings and
floats byte for byte as CPython prints them, and the error exit.

A float prints as ``repr(float)`` does: the shortest decimal string that reads back as the same
double (ties broken to even, as David Gay's ``dtoa`` mode 0), in fixed notation when its decimal
exponent is in ``-4 <= exp < 16`` and as ``1.5e-05``/``1e+16`` otherwise. The digits come from an
exact conversion (a base-10**9 bignum), so every finite double prints correctly, subnormals included.
"""

from __future__ import annotations

from wasmrun.languages.python.runtime import (
    BIGNUM,
    DIGITS,
    DIGITS_CAND,
    DIGITS_HIGH,
    DIGITS_LOW,
    DIGITS_X,
    FLOAT_TEXT,
    INT_SCRATCH,
    IOVEC,
    OUT_BUFFER,
    OUT_SIZE,
    Intern,
)

IMPORTS = """
(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
"""


def io(intern: Intern) -> str:
    """The output functions (``$__write``, ``$__flush``, ``$__print_*``) and ``$__die``."""
    at, close = intern(" (at "), intern(")\n")
    true, false = intern("True"), intern("False")
    nan, inf, minus, zero = intern("nan"), intern("inf"), intern("-"), intern("0.0")
    return f"""
(global $__outpos (mut i32) (i32.const 0))
(global $__bn_len (mut i32) (i32.const 0))

(func $__fd_write_all (param $fd i32) (param $p i32) (param $n i32)
  (local $w i32)
  (block $done (loop $more
    (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
    (i32.store (i32.const {IOVEC}) (local.get $p))
    (i32.store (i32.const {IOVEC + 4}) (local.get $n))
    (br_if $done (call $fd_write (local.get $fd) (i32.const {IOVEC}) (i32.const 1) (i32.const {IOVEC + 8})))
    (local.set $w (i32.load (i32.const {IOVEC + 8})))
    (br_if $done (i32.eqz (local.get $w)))
    (local.set $p (i32.add (local.get $p) (local.get $w)))
    (local.set $n (i32.sub (local.get $n) (local.get $w)))
    (br $more))))

(func $__flush
  (if (global.get $__outpos) (then
    (call $__fd_write_all (i32.const 1) (i32.const {OUT_BUFFER}) (global.get $__outpos))
    (global.set $__outpos (i32.const 0)))))

(func $__write (param $p i32) (param $n i32)
  (if (i32.gt_u (i32.add (global.get $__outpos) (local.get $n)) (i32.const {OUT_SIZE}))
    (then (call $__flush)
          (if (i32.gt_u (local.get $n) (i32.const {OUT_SIZE}))
            (then (call $__fd_write_all (i32.const 1) (local.get $p) (local.get $n)) (return)))))
  (memory.copy (i32.add (i32.const {OUT_BUFFER}) (global.get $__outpos)) (local.get $p) (local.get $n))
  (global.set $__outpos (i32.add (global.get $__outpos) (local.get $n))))

(func $__write_str (param $s i32)
  (call $__write (i32.add (local.get $s) (i32.const 8)) (i32.load (local.get $s))))

(func $__err_str (param $s i32)
  (call $__fd_write_all (i32.const 2) (i32.add (local.get $s) (i32.const 8)) (i32.load (local.get $s))))

(func $__die (param $msg i32) (param $site i32)
  (call $__flush)
  (call $__err_str (local.get $msg))
  (call $__err_str (i32.const {at}))
  (call $__err_str (local.get $site))
  (call $__err_str (i32.const {close}))
  (call $proc_exit (i32.const 1))
  unreachable)

(func $__print_bool (param $b i32)
  (call $__write_str (select (i32.const {true}) (i32.const {false}) (local.get $b))))

(func $__print_int (param $v i64)
  (local $pos i32) (local $u i64)
  (local.set $pos (i32.const {INT_SCRATCH + 32}))
  (local.set $u (select (i64.sub (i64.const 0) (local.get $v)) (local.get $v)
                        (i64.lt_s (local.get $v) (i64.const 0))))
  (loop $digit
    (local.set $pos (i32.sub (local.get $pos) (i32.const 1)))
    (i32.store8 (local.get $pos) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $u) (i64.const 10)))))
    (local.set $u (i64.div_u (local.get $u) (i64.const 10)))
    (br_if $digit (i64.ne (local.get $u) (i64.const 0))))
  (if (i64.lt_s (local.get $v) (i64.const 0)) (then
    (local.set $pos (i32.sub (local.get $pos) (i32.const 1)))
    (i32.store8 (local.get $pos) (i32.const 45))))
  (call $__write (local.get $pos) (i32.sub (i32.const {INT_SCRATCH + 32}) (local.get $pos))))

;; -- exact float to decimal: a bignum of base-10**9 limbs ---------------------------------------
(func $__bn_set (param $v i64)
  (i64.store (i32.const {BIGNUM}) (i64.rem_u (local.get $v) (i64.const 1000000000)))
  (i64.store (i32.const {BIGNUM + 8})
    (i64.rem_u (i64.div_u (local.get $v) (i64.const 1000000000)) (i64.const 1000000000)))
  (i64.store (i32.const {BIGNUM + 16}) (i64.div_u (local.get $v) (i64.const 1000000000000000000)))
  (global.set $__bn_len (i32.const 3)))

(func $__bn_mul (param $f i64)
  (local $i i32) (local $p i32) (local $t i64) (local $carry i64)
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (global.get $__bn_len)))
    (local.set $p (i32.add (i32.const {BIGNUM}) (i32.shl (local.get $i) (i32.const 3))))
    (local.set $t (i64.add (i64.mul (i64.load (local.get $p)) (local.get $f)) (local.get $carry)))
    (i64.store (local.get $p) (i64.rem_u (local.get $t) (i64.const 1000000000)))
    (local.set $carry (i64.div_u (local.get $t) (i64.const 1000000000)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
  (block $done2 (loop $more
    (br_if $done2 (i64.eqz (local.get $carry)))
    (i64.store (i32.add (i32.const {BIGNUM}) (i32.shl (global.get $__bn_len) (i32.const 3)))
               (i64.rem_u (local.get $carry) (i64.const 1000000000)))
    (local.set $carry (i64.div_u (local.get $carry) (i64.const 1000000000)))
    (global.set $__bn_len (i32.add (global.get $__bn_len) (i32.const 1)))
    (br $more))))

;; the bignum's decimal digits (values 0..9), right-aligned in dst[0..{DIGITS})
(func $__bn_digits (param $dst i32)
  (local $i i32) (local $pos i32) (local $limb i64) (local $k i32)
  (memory.fill (local.get $dst) (i32.const 0) (i32.const {DIGITS}))
  (local.set $pos (i32.add (local.get $dst) (i32.const {DIGITS})))
  (block $done (loop $limbs
    (br_if $done (i32.ge_u (local.get $i) (global.get $__bn_len)))
    (local.set $limb (i64.load (i32.add (i32.const {BIGNUM}) (i32.shl (local.get $i) (i32.const 3)))))
    (local.set $k (i32.const 9))
    (loop $digits
      (local.set $pos (i32.sub (local.get $pos) (i32.const 1)))
      (i32.store8 (local.get $pos) (i32.wrap_i64 (i64.rem_u (local.get $limb) (i64.const 10))))
      (local.set $limb (i64.div_u (local.get $limb) (i64.const 10)))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br_if $digits (local.get $k)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $limbs))))

;; n * 2**e exactly, as digits with max(0, -e) of them after the decimal point
(func $__dec_exact (param $dst i32) (param $n i64) (param $e i32)
  (local $p i64)
  (call $__bn_set (local.get $n))
  (if (i32.ge_s (local.get $e) (i32.const 0))
    (then
      (block $d (loop $l
        (br_if $d (i32.lt_s (local.get $e) (i32.const 30)))
        (call $__bn_mul (i64.const 1073741824))
        (local.set $e (i32.sub (local.get $e) (i32.const 30)))
        (br $l)))
      (call $__bn_mul (i64.shl (i64.const 1) (i64.extend_i32_u (local.get $e)))))
    (else
      (local.set $e (i32.sub (i32.const 0) (local.get $e)))
      (block $d (loop $l
        (br_if $d (i32.lt_s (local.get $e) (i32.const 13)))
        (call $__bn_mul (i64.const 1220703125))
        (local.set $e (i32.sub (local.get $e) (i32.const 13)))
        (br $l)))
      (local.set $p (i64.const 1))
      (block $d (loop $l
        (br_if $d (i32.eqz (local.get $e)))
        (local.set $p (i64.mul (local.get $p) (i64.const 5)))
        (local.set $e (i32.sub (local.get $e) (i32.const 1)))
        (br $l)))
      (call $__bn_mul (local.get $p))))
  (call $__bn_digits (local.get $dst)))

(func $__any_nonzero (param $a i32) (param $from i32) (result i32)
  (block $done (loop $next
    (br_if $done (i32.ge_s (local.get $from) (i32.const {DIGITS})))
    (if (i32.load8_u (i32.add (local.get $a) (local.get $from))) (then (return (i32.const 1))))
    (local.set $from (i32.add (local.get $from) (i32.const 1)))
    (br $next)))
  (i32.const 0))

(func $__cmp_prefix (param $a i32) (param $b i32) (param $p i32) (result i32)
  (local $i i32) (local $da i32) (local $db i32)
  (block $done (loop $next
    (br_if $done (i32.gt_s (local.get $i) (local.get $p)))
    (local.set $da (i32.load8_u (i32.add (local.get $a) (local.get $i))))
    (local.set $db (i32.load8_u (i32.add (local.get $b) (local.get $i))))
    (if (i32.lt_u (local.get $da) (local.get $db)) (then (return (i32.const -1))))
    (if (i32.gt_u (local.get $da) (local.get $db)) (then (return (i32.const 1))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
  (i32.const 0))

(func $__putc (param $o i32) (param $c i32) (result i32)
  (i32.store8 (local.get $o) (local.get $c))
  (i32.add (local.get $o) (i32.const 1)))

(func $__print_float (param $x f64)
  (local $bits i64) (local $bexp i32) (local $frac i64) (local $m i64) (local $e i32) (local $incl i32)
  (local $low i64) (local $f i32) (local $p i32) (local $c i32) (local $cf i32) (local $cu i32)
  (local $d i32) (local $i i32) (local $q i32) (local $last i32) (local $decpt i32) (local $nd i32)
  (local $o i32) (local $exp i32)
  (if (f64.ne (local.get $x) (local.get $x)) (then (call $__write_str (i32.const {nan})) (return)))
  (local.set $bits (i64.reinterpret_f64 (local.get $x)))
  (if (i64.lt_s (local.get $bits) (i64.const 0)) (then (call $__write_str (i32.const {minus}))))
  (if (f64.eq (f64.abs (local.get $x)) (f64.const inf)) (then (call $__write_str (i32.const {inf})) (return)))
  (local.set $bexp (i32.and (i32.wrap_i64 (i64.shr_u (local.get $bits) (i64.const 52))) (i32.const 0x7ff)))
  (local.set $frac (i64.and (local.get $bits) (i64.const 0xfffffffffffff)))
  (if (i32.and (i32.eqz (local.get $bexp)) (i64.eqz (local.get $frac)))
    (then (call $__write_str (i32.const {zero})) (return)))
  (if (i32.eqz (local.get $bexp))
    (then (local.set $m (local.get $frac)) (local.set $e (i32.const -1074)))
    (else (local.set $m (i64.or (local.get $frac) (i64.const 0x10000000000000)))
          (local.set $e (i32.sub (local.get $bexp) (i32.const 1075)))))
  (local.set $incl (i64.eqz (i64.and (local.get $m) (i64.const 1))))
  (local.set $low (select (i64.const 1) (i64.const 2)
                          (i32.and (i64.eqz (local.get $frac)) (i32.gt_u (local.get $bexp) (i32.const 1)))))
  (local.set $e (i32.sub (local.get $e) (i32.const 2)))
  (local.set $m (i64.shl (local.get $m) (i64.const 2)))
  (call $__dec_exact (i32.const {DIGITS_X}) (local.get $m) (local.get $e))
  (call $__dec_exact (i32.const {DIGITS_LOW}) (i64.sub (local.get $m) (local.get $low)) (local.get $e))
  (call $__dec_exact (i32.const {DIGITS_HIGH}) (i64.add (local.get $m) (i64.const 2)) (local.get $e))
  (local.set $f (select (i32.sub (i32.const 0) (local.get $e)) (i32.const 0) (i32.lt_s (local.get $e) (i32.const 0))))
  (block $lead (loop $skip
    (br_if $lead (i32.load8_u (i32.add (i32.const {DIGITS_HIGH}) (local.get $p))))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (br $skip)))
  ;; the shortest candidate in the rounding interval [low, high] of x, nearest x (ties to even)
  (block $found (loop $search
    (if (i32.eqz (call $__any_nonzero (i32.const {DIGITS_X}) (i32.add (local.get $p) (i32.const 1))))
      (then (memory.copy (i32.const {DIGITS_CAND}) (i32.const {DIGITS_X}) (i32.const {DIGITS})) (br $found)))
    (local.set $c (call $__cmp_prefix (i32.const {DIGITS_X}) (i32.const {DIGITS_LOW}) (local.get $p)))
    (local.set $cf (i32.or (i32.gt_s (local.get $c) (i32.const 0))
      (i32.and (i32.eqz (local.get $c))
        (i32.and (local.get $incl)
          (i32.eqz (call $__any_nonzero (i32.const {DIGITS_LOW}) (i32.add (local.get $p) (i32.const 1))))))))
    (memory.copy (i32.const {DIGITS_CAND}) (i32.const {DIGITS_X}) (i32.add (local.get $p) (i32.const 1)))
    (memory.fill (i32.add (i32.const {DIGITS_CAND + 1}) (local.get $p)) (i32.const 0)
                 (i32.sub (i32.const {DIGITS - 1}) (local.get $p)))
    (local.set $i (local.get $p))
    (block $carried (loop $carry
      (local.set $d (i32.add (i32.load8_u (i32.add (i32.const {DIGITS_CAND}) (local.get $i))) (i32.const 1)))
      (if (i32.lt_u (local.get $d) (i32.const 10))
        (then (i32.store8 (i32.add (i32.const {DIGITS_CAND}) (local.get $i)) (local.get $d)) (br $carried)))
      (i32.store8 (i32.add (i32.const {DIGITS_CAND}) (local.get $i)) (i32.const 0))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $carry)))
    (local.set $c (call $__cmp_prefix (i32.const {DIGITS_CAND}) (i32.const {DIGITS_HIGH}) (local.get $p)))
    (local.set $cu (i32.or (i32.lt_s (local.get $c) (i32.const 0))
      (i32.and (i32.eqz (local.get $c))
        (i32.or (local.get $incl)
          (call $__any_nonzero (i32.const {DIGITS_HIGH}) (i32.add (local.get $p) (i32.const 1)))))))
    (if (i32.and (local.get $cf) (local.get $cu)) (then
      (local.set $d (i32.load8_u (i32.add (i32.const {DIGITS_X + 1}) (local.get $p))))
      (if (i32.eqz (i32.or (i32.gt_u (local.get $d) (i32.const 5))
            (i32.and (i32.eq (local.get $d) (i32.const 5))
              (i32.or (call $__any_nonzero (i32.const {DIGITS_X}) (i32.add (local.get $p) (i32.const 2)))
                      (i32.and (i32.load8_u (i32.add (i32.const {DIGITS_X}) (local.get $p))) (i32.const 1))))))
        (then (memory.copy (i32.const {DIGITS_CAND}) (i32.const {DIGITS_X}) (i32.add (local.get $p) (i32.const 1)))))
      (br $found)))
    (br_if $found (local.get $cu))
    (if (local.get $cf) (then
      (memory.copy (i32.const {DIGITS_CAND}) (i32.const {DIGITS_X}) (i32.add (local.get $p) (i32.const 1)))
      (br $found)))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (br $search)))
  ;; digits DIGITS_CAND[q..last], value 0.d1d2... * 10**decpt
  (block $q_done (loop $q_next
    (br_if $q_done (i32.load8_u (i32.add (i32.const {DIGITS_CAND}) (local.get $q))))
    (local.set $q (i32.add (local.get $q) (i32.const 1)))
    (br $q_next)))
  (local.set $last (i32.const {DIGITS - 1}))
  (block $l_done (loop $l_next
    (br_if $l_done (i32.load8_u (i32.add (i32.const {DIGITS_CAND}) (local.get $last))))
    (local.set $last (i32.sub (local.get $last) (i32.const 1)))
    (br $l_next)))
  (local.set $nd (i32.add (i32.sub (local.get $last) (local.get $q)) (i32.const 1)))
  (local.set $decpt (i32.sub (i32.sub (i32.const {DIGITS}) (local.get $q)) (local.get $f)))
  (local.set $o (i32.const {FLOAT_TEXT}))
  (if (i32.and (i32.gt_s (local.get $decpt) (i32.const -4)) (i32.le_s (local.get $decpt) (i32.const 16)))
    (then
      (if (i32.le_s (local.get $decpt) (i32.const 0))
        (then
          (local.set $o (call $__putc (local.get $o) (i32.const 48)))
          (local.set $o (call $__putc (local.get $o) (i32.const 46)))
          (local.set $i (local.get $decpt))
          (block $z_done (loop $z
            (br_if $z_done (i32.ge_s (local.get $i) (i32.const 0)))
            (local.set $o (call $__putc (local.get $o) (i32.const 48)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $z)))
          (local.set $i (i32.const 0))
          (block $d_done (loop $dl
            (br_if $d_done (i32.ge_s (local.get $i) (local.get $nd)))
            (local.set $o (call $__putc (local.get $o)
              (i32.add (i32.const 48) (i32.load8_u (i32.add (i32.const {DIGITS_CAND}) (i32.add (local.get $q)
                (local.get $i)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $dl))))
        (else
          (local.set $i (i32.const 0))
          (block $d_done (loop $dl
            (br_if $d_done (i32.and (i32.ge_s (local.get $i) (local.get $nd)) (i32.ge_s (local.get $i)
              (local.get $decpt))))
            (if (i32.eq (local.get $i) (local.get $decpt)) (then (local.set $o (call $__putc (local.get $o)
              (i32.const 46)))))
            (local.set $o (call $__putc (local.get $o)
              (select
                (i32.add (i32.const 48) (i32.load8_u (i32.add (i32.const {DIGITS_CAND}) (i32.add
                  (local.get $q) (local.get $i)))))
                (i32.const 48)
                (i32.lt_s (local.get $i) (local.get $nd)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $dl)))
          (if (i32.le_s (local.get $nd) (local.get $decpt)) (then
            (local.set $o (call $__putc (local.get $o) (i32.const 46)))
            (local.set $o (call $__putc (local.get $o) (i32.const 48))))))))
    (else
      (local.set $o (call $__putc (local.get $o)
        (i32.add (i32.const 48) (i32.load8_u (i32.add (i32.const {DIGITS_CAND}) (local.get $q))))))
      (if (i32.gt_s (local.get $nd) (i32.const 1)) (then
        (local.set $o (call $__putc (local.get $o) (i32.const 46)))
        (local.set $i (i32.const 1))
        (block $d_done (loop $dl
          (br_if $d_done (i32.ge_s (local.get $i) (local.get $nd)))
          (local.set $o (call $__putc (local.get $o)
            (i32.add (i32.const 48) (i32.load8_u (i32.add (i32.const {DIGITS_CAND}) (i32.add (local.get $q)
              (local.get $i)))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $dl)))))
      (local.set $o (call $__putc (local.get $o) (i32.const 101)))
      (local.set $exp (i32.sub (local.get $decpt) (i32.const 1)))
      (local.set $o (call $__putc (local.get $o) (select (i32.const 45) (i32.const 43) (i32.lt_s
        (local.get $exp) (i32.const 0)))))
      (if (i32.lt_s (local.get $exp) (i32.const 0)) (then (local.set $exp (i32.sub (i32.const 0) (local.get $exp)))))
      (if (i32.ge_s (local.get $exp) (i32.const 100)) (then
        (local.set $o (call $__putc (local.get $o) (i32.add (i32.const 48) (i32.div_u (local.get $exp)
          (i32.const 100)))))))
      (local.set $o (call $__putc (local.get $o)
        (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $exp) (i32.const 10)) (i32.const 10)))))
      (local.set $o (call $__putc (local.get $o) (i32.add (i32.const 48) (i32.rem_u (local.get $exp)
        (i32.const 10)))))))
  (call $__write (i32.const {FLOAT_TEXT}) (i32.sub (local.get $o) (i32.const {FLOAT_TEXT}))))
"""
