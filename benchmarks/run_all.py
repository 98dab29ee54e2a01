"""Run every ``benchmarks/bench_*.py`` in turn, then print one table of all their rows.

Each benchmark writes ``benchmarks/results/<name>.json``; this reads back the files the run
wrote. Arguments after the script (``--runs N``) go to every benchmark. ``nox -s bench`` runs it.

    python benchmarks/run_all.py [--runs N]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from _common import BENCH_DIR, RESULTS_DIR, table, verdict


def main(argv: list[str]) -> int:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    started = time.time()
    failed: list[str] = []
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script), *argv], cwd=BENCH_DIR, check=False).returncode != 0:
            failed.append(script.name)
    rows = []
    for path in sorted(RESULTS_DIR.glob("*.json")):
        if path.stat().st_mtime >= started - 1:  # written by this run, not left over
            rows += json.loads(path.read_text(encoding="utf-8")).get("rows", [])
    print("\n=== all benchmarks\n" + table(rows))
    missed = [str(row["name"]) for row in rows if verdict(row) == "FAIL"]
    if missed:
        print(f"\ntargets missed: {', '.join(missed)}")
    if failed:
        print(f"benchmarks that failed or missed a target: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
