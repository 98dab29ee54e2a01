"""The build cache (issues 9 and 13), each figure beside its yardstick in the same run.

(a) For every example bench_compile.py builds (its toolchain present): a hit (inputs unchanged,
    output directory deleted) beside the full build of the same project (``--no-cache``).
    Target, where the full build takes over 1 s: the hit at least 10x faster.
(b) A hit on a project whose build read 1,000 files (``main.c`` including 999 headers) beside a
    hit on a 1-file project. Target: at most 0.1 s more.
(c) Recording: a full build that records its inputs and stores the result (``--no-cache``) beside
    the same build with the cache off (``WASMRUN_CACHE_MAX_BYTES=0``). Target: at most 5% + 0.1 s.

End to end is one ``wasmrun compile`` process per build: what a user waits for. A hit there is
answered from the invocation's manifest (wasmrun.manifests) before any plugin is loaded. For the
built-in languages the in-process rows time ``wasmrun.building.compile_project`` alone: the full
route to a hit without interpreter start-up.

    python benchmarks/bench_cache.py [--runs N] [--only c-hello,rust-hello]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import Row, Step, Target, add_runs_arguments, chosen_runs, compare, console_script, report
from bench_compile import Case, available, error_row, prepare, runnable_cases

HIT_FACTOR = Target(0.1)  # the hit at least 10x faster than the full build
MANY_FILES = Target(1.0, 0.1)  # 1,000 files at most 0.1 s over 1 file
RECORDING = Target(1.05, 0.1)  # recording inputs: at most 5% + 0.1 s over the build with the cache off
SLOW_BUILD_S = 1.0  # the hit target applies to builds slower than this
BUILT_IN = {"wat", "c", "assemblyscript", "python"}  # in-process rows load the built-in plugins only


def build_step(wasmrun: str, project: Path, *, no_cache: bool, toolchain: str | None) -> list[Step]:
    """Delete the output directory (untimed), then ``wasmrun compile`` (``--no-cache``: the full build)."""
    flags = [*(["--no-cache"] if no_cache else []), *(["--toolchain", toolchain] if toolchain else [])]
    remove = Step([sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)",
                   str(project / "wasmrun-out")], setup=True)
    return [remove, Step([wasmrun, "compile", str(project), *flags])]


def in_process(name: str, project: Path, *, runs: int, toolchain: str | None,
               compare_with: Path | None = None, target: Target | None = None) -> Row:
    """Median of ``compile_project`` in this process: a hit beside a full build (or beside a hit on
    ``compare_with``), the output directory deleted before each."""
    from wasmrun.building import compile_project
    from wasmrun.outputs import default_output_dir
    from wasmrun.plugins import load_plugins

    plugins = load_plugins(entry_points=False)

    def once(where: Path, read: bool) -> float:
        shutil.rmtree(default_output_dir(where), ignore_errors=True)
        started = time.perf_counter()
        result = compile_project(where, plugins, toolchain_name=toolchain, use_cache=read)
        elapsed = time.perf_counter() - started
        if result.cached != read:
            raise SystemExit(f"expected {'a hit' if read else 'a build'} for {where}")
        return elapsed

    base = compare_with or project
    candidate: Callable[[], float] = lambda: once(project, True)  # noqa: E731
    yardstick: Callable[[], float] = (lambda: once(base, True)) if compare_with else (lambda: once(base, False))
    once(project, False)  # stored in this process (the interpreter is an input: the CLI's is another)
    if compare_with:
        once(compare_with, False)
    candidate(), yardstick()  # warm
    times: dict[str, list[float]] = {"candidate": [], "yardstick": []}
    for round_no in range(runs):
        order = [("candidate", candidate), ("yardstick", yardstick)]
        for label, run in order if round_no % 2 == 0 else order[::-1]:
            times[label].append(run())
    median, base_median = statistics.median(times["candidate"]), statistics.median(times["yardstick"])
    row = Row(name=name, command="compile_project (hit)", yardstick_name="1-file hit" if compare_with else "full build",
              yardstick="compile_project (hit)" if compare_with else "compile_project (use_cache=False)",
              median_s=round(median, 4), yardstick_median_s=round(base_median, 4), runs=runs)
    judge(row, target, base_median)
    return row


def judge(row: Row, target: Target | None, yardstick_s: float) -> None:
    if target is not None:
        row.target = str(target)
        row.limit_s = round(target.limit(yardstick_s), 4)
        row.passed = row.median_s <= row.limit_s


def many_files_project(root: Path, count: int) -> Path:
    """``main.c`` including ``count - 1`` headers of about 2 KB in 10 directories: a build that
    reads ``count`` project files (and the system headers ``stdio.h`` pulls in, on both sides)."""
    root.mkdir(parents=True)
    filler = "/* " + "lorem ipsum dolor sit amet " * 70 + "*/\n"
    includes = []
    for index in range(1, count):
        header = root / "include" / f"d{index % 10}" / f"h{index}.h"
        header.parent.mkdir(parents=True, exist_ok=True)
        header.write_text(f"#pragma once\n#define H{index} {index}\n{filler}")
        includes.append(f'#include "include/d{index % 10}/h{index}.h"\n')
    (root / "main.c").write_text("#include <stdio.h>\n" + "".join(includes)
                                 + 'int main(void) { puts("hello"); return 0; }\n')
    return root


def c_toolchains() -> list[str]:
    from wasmrun.languages import c

    found = ["clang"] if c._find_clang() and c._wasi_sysroot() else []
    return found + (["zig"] if c._zig_command() else [])


def measure_hit(case: Case, wasmrun: str, root: Path, env: dict[str, str], runs: int) -> list[Row]:
    project = prepare(case, root)
    time.sleep(0.05)  # past the file-system clock tick the files were written in (too new to store)
    row = compare(f"hit: {case.label}", build_step(wasmrun, project, no_cache=False, toolchain=case.toolchain),
                  "full build", build_step(wasmrun, project, no_cache=True, toolchain=case.toolchain),
                  runs=runs, env=env)
    if row.yardstick_median_s is not None and row.yardstick_median_s > SLOW_BUILD_S:
        judge(row, HIT_FACTOR, row.yardstick_median_s)
    rows = [row]
    if case.plugin in BUILT_IN:
        inner = in_process(f"hit, in-process: {case.label}", project, runs=runs, toolchain=case.toolchain)
        if inner.yardstick_median_s is not None and inner.yardstick_median_s > SLOW_BUILD_S:
            judge(inner, HIT_FACTOR, inner.yardstick_median_s)
        rows.append(inner)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, 5)
    parser.add_argument("--only", default="", help="comma-separated examples to measure (default: all)")
    args = parser.parse_args()
    runs = chosen_runs(args)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    wasmrun = console_script("wasmrun")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-cache-") as tmp:
        os.environ["WASMRUN_HOME"] = str(Path(tmp) / "home")  # for the in-process rows and every child process
        env = dict(os.environ)
        found = available(wasmrun, env)
        for case in runnable_cases(only, found, rows, "hit: ", "full build"):
            try:
                rows += measure_hit(case, wasmrun, Path(tmp), env, runs)
                rows.append(recording_cost(case, wasmrun, Path(tmp), env, runs))
            except (RuntimeError, SystemExit) as exc:
                rows.append(error_row(case, "hit: ", "full build", exc))
                continue
            print(f"  {case.label}: done", flush=True)

        if not only and "clang" in c_toolchains():
            one = many_files_project(Path(tmp) / "files-1", 1)
            thousand = many_files_project(Path(tmp) / "files-1000", 1000)
            time.sleep(0.05)  # files written in the tick a build starts in are too new to store
            rows.append(compare("hit: 1,000 source files",
                                build_step(wasmrun, thousand, no_cache=False, toolchain=None),
                                "hit: 1 source file", build_step(wasmrun, one, no_cache=False, toolchain=None),
                                runs=runs, target=MANY_FILES, env=env))
            rows.append(in_process("hit, in-process: 1,000 source files", thousand, runs=runs, toolchain=None,
                                   compare_with=one, target=MANY_FILES))
            rows.append(compare("recording inputs: 1,000 source files",
                                build_step(wasmrun, thousand, no_cache=True, toolchain=None), "cache off",
                                [Step(s.argv, s.cwd, {"WASMRUN_CACHE_MAX_BYTES": "0"})
                                 for s in build_step(wasmrun, thousand, no_cache=True, toolchain=None)],
                                runs=runs, target=RECORDING, env=env))
    return report("cache", rows, end_to_end="wasmrun compile [--no-cache]")


def recording_cost(case: Case, wasmrun: str, root: Path, env: dict[str, str], runs: int) -> Row:
    """A full build that records and stores (``--no-cache``) beside the same build with the cache
    off: what keying a build by its inputs costs."""
    (root / "recording").mkdir(exist_ok=True)
    project = prepare(case, root / "recording")
    steps = build_step(wasmrun, project, no_cache=True, toolchain=case.toolchain)
    plain = [Step(s.argv, s.cwd, {"WASMRUN_CACHE_MAX_BYTES": "0"}) for s in steps]
    return compare(f"recording inputs: {case.label}", steps, "cache off", plain, runs=runs, target=RECORDING,
                   env=env)


if __name__ == "__main__":
    sys.exit(main())
