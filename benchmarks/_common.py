"""Shared by the benchmarks: time commands interleaved, take medians, compare with a target,
print a table and write ``benchmarks/results/<name>.json``.

A benchmark measures a command beside its yardstick in the same run: the runs alternate (A B,
B A, A B, ...) so that a noisy neighbour or a thermal swing hits both alike, and the figure is
the median of the repeats, never a single run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

#: The load average when this benchmark started: the machine may be shared, so every result says how busy it was.
LOADAVG_START = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)


@dataclass
class Step:
    """One process to run: its argv, working directory and extra environment. A ``setup`` step
    (deleting an output directory before a build) runs but is not timed: it is not what is
    measured, and a Python process for it would add 0.03 s to both sides."""

    argv: list[str]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    setup: bool = False

    def shown(self) -> str:
        import shlex

        prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in self.env.items())
        where = f"(cd {shlex.quote(str(self.cwd))} && " if self.cwd else ""
        return f"{where}{prefix}{shlex.join(self.argv)}{')' if self.cwd else ''}"


@dataclass(frozen=True)
class Target:
    """Pass when ``median <= factor * yardstick + slack_s``."""

    factor: float
    slack_s: float = 0.0

    def limit(self, yardstick_s: float) -> float:
        return self.factor * yardstick_s + self.slack_s

    def __str__(self) -> str:
        return f"<= {self.factor:g}x" + (f" + {self.slack_s:g} s" if self.slack_s else "")


@dataclass
class Row:
    """One measurement beside its yardstick."""

    name: str
    command: str
    yardstick_name: str
    yardstick: str
    median_s: float | None  # None: skipped (see ``note``)
    yardstick_median_s: float | None
    runs: int
    target: str | None = None
    limit_s: float | None = None
    passed: bool | None = None  # None: reported, no target (or skipped)
    note: str | None = None  # why it was skipped, or what to know when reading it
    #: Median CPU seconds (user + system) of the timed steps and every process they waited for:
    #: far steadier than wall time on a shared machine, so a change's effect shows through the load.
    #: None where not measured (or where a side leaves processes it does not wait for).
    cpu_s: float | None = None
    yardstick_cpu_s: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.median_s is None or not self.yardstick_median_s:
            return None
        return self.median_s / self.yardstick_median_s

    @property
    def overhead_s(self) -> float | None:
        if self.median_s is None or self.yardstick_median_s is None:
            return None
        return self.median_s - self.yardstick_median_s

    def as_dict(self) -> dict[str, object]:
        ratio, overhead = self.ratio, self.overhead_s
        return {**asdict(self), "ratio": None if ratio is None else round(ratio, 3),
                "overhead_s": None if overhead is None else round(overhead, 4)}


def skipped(name: str, yardstick_name: str, reason: str) -> Row:
    """A row that could not be measured here (a toolchain or browser missing): listed, not failed."""
    return Row(name=name, command="", yardstick_name=yardstick_name, yardstick="", median_s=None,
               yardstick_median_s=None, runs=0, note=f"skipped: {reason}")


def judge(row: Row, target: Target) -> Row:
    """Set the row's target, limit and verdict from its medians."""
    assert row.median_s is not None and row.yardstick_median_s is not None
    row.target = str(target)
    row.limit_s = round(target.limit(row.yardstick_median_s), 4)
    row.passed = row.median_s <= target.limit(row.yardstick_median_s)
    return row


def measured(name: str, command: str, yardstick_name: str, yardstick: str, times: Sequence[float],
             yardstick_times: Sequence[float], *, target: Target | None = None) -> Row:
    """A row from times taken by the benchmark itself (in a browser, in-process, from a log)."""
    row = Row(name=name, command=command, yardstick_name=yardstick_name, yardstick=yardstick,
              median_s=round(statistics.median(times), 4),
              yardstick_median_s=round(statistics.median(yardstick_times), 4), runs=len(times))
    return judge(row, target) if target is not None else row


def console_script(name: str) -> str:
    """The console script installed beside this interpreter (the venv being benchmarked)."""
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise SystemExit(f"no '{name}' console script beside {sys.executable}: install wasmrun into this environment")


def _children_cpu() -> float:
    """CPU seconds used so far by the processes this one has waited for (and theirs)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(steps: Sequence[Step], env: Mapping[str, str], cpu: list[float] | None = None) -> float:
    """Wall time of running ``steps`` one after the other (setup steps run, untimed); a failing
    step aborts the benchmark. ``cpu`` gets the timed steps' CPU seconds appended."""
    elapsed = 0.0
    used = 0.0
    for step in steps:
        started, started_cpu = time.perf_counter(), _children_cpu()
        proc = subprocess.run(step.argv, cwd=step.cwd, env={**env, **step.env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        if not step.setup:
            elapsed += time.perf_counter() - started
            used += _children_cpu() - started_cpu
        if proc.returncode != 0:
            raise SystemExit(f"benchmark command failed (exit {proc.returncode}): {step.shown()}\n"
                             f"{proc.stderr.decode(errors='replace')}")
    if cpu is not None:
        cpu.append(used)
    return elapsed


def interleaved(candidates: Mapping[str, Sequence[Step]], *, runs: int, warmup: int = 1,
                env: Mapping[str, str] | None = None,
                cpu: dict[str, list[float]] | None = None) -> dict[str, list[float]]:
    """Run every candidate ``runs`` times, alternating their order each round; the times in
    seconds (``cpu``, when given, gets each candidate's CPU seconds per run)."""
    environ = dict(os.environ if env is None else env)
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            run_once(candidates[name], environ)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(runs):
        order = names if round_no % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(run_once(candidates[name], environ,
                                        None if cpu is None else cpu.setdefault(name, [])))
    return times


def compare(name: str, steps: Sequence[Step], yardstick_name: str, yardstick: Sequence[Step], *, runs: int,
            target: Target | None = None, warmup: int = 1, env: Mapping[str, str] | None = None,
            cpu: bool = False) -> Row:
    """Time ``steps`` beside ``yardstick`` and judge the medians against ``target``; ``cpu``: also
    report both sides' median CPU seconds (only where every process is waited for)."""
    used: dict[str, list[float]] = {}
    times = interleaved({"candidate": steps, "yardstick": yardstick}, runs=runs, warmup=warmup, env=env,
                        cpu=used if cpu else None)
    median = statistics.median(times["candidate"])
    base = statistics.median(times["yardstick"])
    row = Row(name=name, command=" && ".join(s.shown() for s in steps), yardstick_name=yardstick_name,
              yardstick=" && ".join(s.shown() for s in yardstick), median_s=round(median, 4),
              yardstick_median_s=round(base, 4), runs=runs)
    if cpu:
        row.cpu_s = round(statistics.median(used["candidate"]), 4)
        row.yardstick_cpu_s = round(statistics.median(used["yardstick"]), 4)
    if target is not None:
        row.target = str(target)
        row.limit_s = round(target.limit(base), 4)
        row.passed = median <= target.limit(base)
    return row


def verdict(row: Mapping[str, object]) -> str:
    if row.get("median_s") is None:
        note = str(row.get("note") or "skipped")
        return f"FAIL ({note})" if row.get("passed") is False else note
    passed = row.get("passed")
    return "report" if passed is None else ("ok" if passed else "FAIL")


def _fmt(value: object, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def table(rows: Sequence[Mapping[str, object]], *, group: str | None = None) -> str:
    """Rows (as dicts) as a plain-text table; ``group`` names a key shown as a first column."""
    header = ("benchmark", "median", "yardstick", "its median", "ratio", "overhead", "target", "")
    if group:
        header = (group, *header)
    lines = [header]
    for row in rows:
        cells = (
            str(row["name"]), _fmt(row["median_s"], ".3f", " s"), str(row["yardstick_name"]),
            _fmt(row["yardstick_median_s"], ".3f", " s"), _fmt(row["ratio"], ".2f", "x"),
            _fmt(row["overhead_s"], "+.3f", " s"), str(row.get("target") or "-"), verdict(row),
        )
        lines.append((str(row.get(group, "")), *cells) if group else cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def write_results(name: str, rows: Sequence[Row], **extra: object) -> Path:
    """Write ``results/<name>.json``: {"benchmark", "python", "rows": [...], ...extra}."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    end = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    data = {"benchmark": name, "python": sys.version.split()[0], "cpus": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in LOADAVG_START], "loadavg_end": [round(x, 2) for x in end],
            "rows": [r.as_dict() for r in rows], **extra}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def report(name: str, rows: Sequence[Row], **extra: object) -> int:
    """Print the table, write the JSON; the exit code is 1 when a target was missed."""
    print(table([r.as_dict() for r in rows]))
    for row in rows:
        if row.cpu_s is not None and row.yardstick_cpu_s:
            print(f"  cpu: {row.name}: {row.cpu_s:.3f} s beside {row.yardstick_cpu_s:.3f} s "
                  f"({row.cpu_s / row.yardstick_cpu_s:.2f}x, {row.cpu_s - row.yardstick_cpu_s:+.3f} s)")
    path = write_results(name, rows, **extra)
    end = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"\nload average {LOADAVG_START[0]:.2f} at the start, {end[0]:.2f} at the end ({os.cpu_count()} CPUs)")
    print(f"written {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 1 if any(r.passed is False for r in rows) else 0


QUICK_RUNS = 3


def add_runs_arguments(parser: argparse.ArgumentParser, default: int, quick: int = QUICK_RUNS) -> None:
    """``--runs N`` and ``--quick`` (``--runs {quick}`` unless --runs is given); read with :func:`chosen_runs`."""
    parser.add_argument("--runs", type=int, default=None, help=f"repeats per command (default {default})")
    parser.add_argument("--quick", action="store_true", help=f"fewer repeats ({quick}): a rough figure, fast")
    parser.set_defaults(_default_runs=default, _quick_runs=quick)


def chosen_runs(args: argparse.Namespace) -> int:
    if args.runs is not None:
        return int(args.runs)
    return int(args._quick_runs if args.quick else args._default_runs)


def runs_argument(default: int, quick: int = QUICK_RUNS) -> int:
    """``--runs N`` / ``--quick`` from the command line (default ``default``)."""
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, default, quick)
    return chosen_runs(parser.parse_args())
