"""A library: every annotated top-level function is exported (no main, no WASI imports).

    wasmrun compile examples/python-lib
    wasmrun exec --invoke gcd examples/python-lib/wasmrun-out/python-lib.wasm 12 18
"""

import math


def gcd(a: int, b: int) -> int:
    while b != 0:
        a, b = b, a % b
    return abs(a)


def isqrt(n: int) -> int:
    """Integer square root by Newton's method."""
    if n < 2:
        return n
    x = n
    y = (x + 1) // 2
    while y < x:
        x = y
        y = (x + n // x) // 2
    return x


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def hypot(a: float, b: float) -> float:
    return math.sqrt(a * a + b * b)
