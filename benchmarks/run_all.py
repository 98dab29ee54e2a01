"""Run every ``benchmarks/bench_*.py`` in turn, then print one table of all their rows and write
``benchmarks/results/all.json``.

Each benchmark writes ``benchmarks/results/<name>.json``; this reads back the files the run wrote.
``--quick`` (fewer repeats) and ``--runs N`` go to every benchmark; ``--only compile,detect``
runs some of them. ``nox -s bench`` runs this.

    python benchmarks/run_all.py [--quick | --runs N] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _common import BENCH_DIR, LOADAVG_START, RESULTS_DIR, table, verdict


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, help="repeats per command, for every benchmark")
    parser.add_argument("--quick", action="store_true", help="fewer repeats: a rough figure, fast")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (e.g. compile,detect)")
    args = parser.parse_args(argv)
    passed_on = [*(["--runs", str(args.runs)] if args.runs else []), *(["--quick"] if args.quick else [])]
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    scripts = [s for s in sorted(BENCH_DIR.glob("bench_*.py")) if not only or s.stem.removeprefix("bench_") in only]
    started = time.time()
    status: dict[str, dict[str, object]] = {}
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        began = time.time()
        code = subprocess.run([sys.executable, str(script), *passed_on], cwd=BENCH_DIR, check=False).returncode
        status[script.stem.removeprefix("bench_")] = {"exit_code": code, "seconds": round(time.time() - began, 1)}
    rows: list[dict[str, object]] = []
    loads: dict[str, object] = {}
    for path in sorted(RESULTS_DIR.glob("*.json")):
        if path.name == "all.json" or path.stat().st_mtime < started - 1:  # not written by this run
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        name = str(data.get("benchmark", path.stem))
        rows += [{"bench": name, **row} for row in data.get("rows", [])]
        loads[name] = {"start": data.get("loadavg_start"), "end": data.get("loadavg_end")}
    end = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print("\n=== all benchmarks\n" + table(rows, group="bench"))
    missed = [str(row["name"]) for row in rows if verdict(row).startswith("FAIL")]
    failed = [name for name, entry in status.items() if entry["exit_code"] != 0]
    no_rows = [name for name in status if not any(row["bench"] == name for row in rows)]
    print(f"\n{sum(r.get('passed') is True for r in rows)} targets met, {len(missed)} missed, "
          f"{sum(verdict(r) == 'report' for r in rows)} reported, "
          f"{sum(str(verdict(r)).startswith('skipped') for r in rows)} skipped; "
          f"load average {LOADAVG_START[0]:.2f} at the start, {end[0]:.2f} at the end ({os.cpu_count()} CPUs)")
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    if failed:
        print(f"benchmarks that failed or missed a target: {', '.join(failed)}")
    if no_rows:
        print(f"benchmarks that wrote no results (crashed?): {', '.join(no_rows)}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "all.json").write_text(json.dumps({
        "python": sys.version.split()[0], "cpus": os.cpu_count(), "quick": args.quick, "runs": args.runs,
        "loadavg_start": [round(x, 2) for x in LOADAVG_START], "loadavg_end": [round(x, 2) for x in end],
        "benchmarks": status, "loadavg_per_benchmark": loads, "rows": rows,
    }, indent=2) + "\n", encoding="utf-8")
    print(f"written {(RESULTS_DIR / 'all.json').relative_to(BENCH_DIR.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
