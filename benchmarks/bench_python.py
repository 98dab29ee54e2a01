"""The embedded Python compiler: compiled wasm (in-process through wasmtime) beside CPython running
the same typed source, and the compiler's own speed.

Targets (issue 5): ``fib(27)`` at least 10x faster than CPython; compiling a 300-line typed module
in at most 0.5 s of in-process time. Each figure is the median of interleaved repeats.

    python benchmarks/bench_python.py [--runs N]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Row, Target, report, runs_argument

from wasmrun.languages.python.compiler import compile_source
from wasmrun.languages.python.harness import LoadedModule

SOURCE = '''
def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def count_primes(n: int) -> int:
    count = 0
    for k in range(2, n):
        d = 2
        prime = True
        while d * d <= k:
            if k % d == 0:
                prime = False
                break
            d += 1
        if prime:
            count += 1
    return count


def newton(x: float, steps: int) -> float:
    total = 0.0
    for i in range(1, steps):
        guess = x + i
        for _ in range(20):
            guess = (guess + (x + i) / guess) / 2
        total += guess
    return total
'''

CASES: list[tuple[str, tuple[Any, ...]]] = [("fib", (27,)), ("count_primes", (60_000,)), ("newton", (2.0, 20_000))]


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def interleaved(a: Callable[[], object], b: Callable[[], object], runs: int) -> tuple[float, float]:
    a(), b()  # warm-up
    times_a: list[float] = []
    times_b: list[float] = []
    for round_no in range(runs):
        pair = ((a, times_a), (b, times_b)) if round_no % 2 == 0 else ((b, times_b), (a, times_a))
        for fn, times in pair:
            times.append(timed(fn))
    return statistics.median(times_a), statistics.median(times_b)


def typed_module(lines: int) -> str:
    """A typed module of about ``lines`` lines: the benchmark's functions, renamed, repeated."""
    parts: list[str] = []
    copy = 0
    while sum(p.count("\n") for p in parts) < lines:
        parts.append(SOURCE.replace("fib", f"fib{copy}").replace("count_primes", f"count_primes{copy}")
                     .replace("newton", f"newton{copy}"))
        copy += 1
    return "".join(parts)


def main() -> int:
    runs = runs_argument(7)
    compiled = compile_source(SOURCE, "bench.py")
    namespace: dict[str, Any] = {}
    exec(compile(SOURCE, "bench.py", "exec"), namespace)
    rows: list[Row] = []
    with LoadedModule(compiled.wasm(), compiled.functions) as module:
        for name, args in CASES:
            func, store = module.func(name), module.store
            assert func(store, *args) == namespace[name](*args), name
            wasm_s, cpython_s = interleaved(lambda f=func, s=store, a=args: f(s, *a),
                                            lambda n=name, a=args: namespace[n](*a), runs)
            target = Target(0.1) if name == "fib" else None
            row = Row(name=f"{name}{args} wasm", command=f"wasmtime in-process: {name}{args}",
                      yardstick_name="CPython", yardstick=f"python: {name}{args}", median_s=round(wasm_s, 5),
                      yardstick_median_s=round(cpython_s, 5), runs=runs)
            if target is not None:
                row.target, row.limit_s = str(target), round(target.limit(cpython_s), 5)
                row.passed = wasm_s <= target.limit(cpython_s)
            rows.append(row)
            print(f"{name}{args}: wasm {wasm_s * 1000:.2f} ms, CPython {cpython_s * 1000:.2f} ms, "
                  f"{cpython_s / wasm_s:.1f}x faster", file=sys.stderr)
    big = typed_module(300)
    line_count = big.count("\n")
    compile_s, bytecode_s = interleaved(lambda: compile_source(big, "big.py").wasm(),
                                        lambda: compile(big, "big.py", "exec"), runs)
    limit = Target(0.0, slack_s=0.5)
    rows.append(Row(name=f"compile {line_count}-line module", command="compile_source(...).wasm() in-process",
                    yardstick_name="CPython compile()", yardstick="compile(source, 'exec')",
                    median_s=round(compile_s, 5), yardstick_median_s=round(bytecode_s, 5), runs=runs,
                    target="<= 0.5 s", limit_s=0.5, passed=compile_s <= limit.limit(bytecode_s)))
    return report("python", rows, python_executable=sys.executable)


if __name__ == "__main__":
    raise SystemExit(main())
