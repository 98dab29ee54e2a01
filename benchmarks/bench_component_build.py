"""``--target component`` beside the module build of the same project (issue 15).

For each WASI command example (a copy in a temp dir, as in ``bench_compile.py``):
``wasmrun compile --no-cache --target component PROJECT`` against
``wasmrun compile --no-cache PROJECT``, interleaved, in one ``WASMRUN_HOME``. The component tools
are installed there first (one ``--target component`` build before timing, which also warms the
toolchain), so the figure is what wrapping costs on every build: ``wasm-tools component new``
with the pinned adapter, not the one-time install. A language whose plugin or tool is missing
(``wasmrun doctor``) is listed as skipped.

Target: at most 10% plus 0.5 s over the module build.

    python benchmarks/bench_component_build.py [--runs N] [--quick] [--only wat-hello,c-hello]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from _common import Row, Step, Target, add_runs_arguments, chosen_runs, compare, console_script, report
from bench_compile import Case, available, error_row, prepare, runnable_cases

TARGET = Target(1.10, 0.5)
YARDSTICK = "the module build (--target wasm)"


def measure(case: Case, wasmrun: str, root: Path, env: dict[str, str], runs: int) -> Row:
    project = prepare(case, root)
    flags = ["--no-cache", *(["--toolchain", case.toolchain] if case.toolchain else [])]
    first = subprocess.run([wasmrun, "compile", *flags, "--target", "component", str(project)], env=env,
                           capture_output=True, text=True, check=False)  # installs the tools once
    if first.returncode != 0:
        raise RuntimeError(f"wasmrun compile --target component {project} failed:\n{first.stderr}")
    return compare(f"compile --target component {case.label}",
                   [Step([wasmrun, "compile", *flags, "--target", "component", str(project)])], YARDSTICK,
                   [Step([wasmrun, "compile", *flags, str(project)])], runs=runs, target=TARGET, env=env)


def main() -> int:
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, 7)
    parser.add_argument("--only", default="", help="comma-separated examples to measure (default: all)")
    args = parser.parse_args()
    runs = chosen_runs(args)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    wasmrun = console_script("wasmrun")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-component-") as tmp:
        env = {**os.environ, "WASMRUN_HOME": str(Path(tmp) / "home")}
        found = available(wasmrun, env)
        prefix = "compile --target component "
        for case in runnable_cases(only, found, rows, prefix, YARDSTICK):
            try:
                rows.append(measure(case, wasmrun, Path(tmp), env, runs))
            except (RuntimeError, SystemExit) as exc:
                rows.append(error_row(case, prefix, YARDSTICK, exc))
    return report("component_build", rows)


if __name__ == "__main__":
    raise SystemExit(main())
