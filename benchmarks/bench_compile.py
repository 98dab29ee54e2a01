"""Compile, every language: ``wasmrun compile --no-cache`` beside calling its toolchain directly.

For each example (a copy in a temp dir), the direct command is the one wasmrun itself runs:
``wasmrun compile -v`` logs it (``$ (cd DIR && ENV CMD)`` on stderr), and its output path, in
wasmrun's staging directory, is moved to a scratch directory. Two toolchains run in-process, so
their logged line is no command; their yardstick is the same library call in a bare interpreter:

- wat: ``python -c "wasmtime.wat2wasm(...)"`` writing the ``.wasm``;
- python (the embedded compiler of typed Python): ``python -c "compile_source(...)"``, the
  compiler module alone, without the CLI, plugin loading and output staging. That is "its toolchain
  called directly"; CPython's ``compile()`` would time another compiler, so it is not the yardstick.

Both sides build under the same conditions: build cache off (``--no-cache``), the same
``WASMRUN_HOME`` (so cargo's target directory and Go's ``GOCACHE``, which wasmrun puts there, are
shared), and every toolchain warmed by one run of each side before timing. A language whose
plugin or tool is missing (``wasmrun doctor --json --no-probe``) is listed as skipped, not failed.

Target (issue 2 for c-hello, issue 4 for every language): at most 10% plus 0.5 s over the direct call.

    python benchmarks/bench_compile.py [--runs N] [--quick] [--only rust-hello,go-hello]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _common import REPO, Row, Step, Target, add_runs_arguments, chosen_runs, compare, console_script, report, skipped

TARGET = Target(1.10, 0.5)

_LOGGED = re.compile(r"^\$ (?:\(cd (?P<cwd>\S+) && (?P<wrapped>.*)\)|(?P<plain>.*))$")
_STAGING = re.compile(r"[^\s=]*/\.staging-[^/\s]+")  # the path alone, also inside -femit-bin=PATH
_IN_PROCESS = re.compile(r"\s+\([^()]*in-process\)$")

WAT2WASM = ("import sys, wasmtime; from pathlib import Path; "
            "Path(sys.argv[2]).write_bytes(wasmtime.wat2wasm(Path(sys.argv[1]).read_text()))")
PYTHON_COMPILER = ("import sys; from pathlib import Path; "
                   "from wasmrun.languages.python.compiler import compile_source; "
                   "Path(sys.argv[2]).write_bytes(compile_source(Path(sys.argv[1]).read_text(), 'main.py').wasm())")


@dataclass(frozen=True)
class Case:
    """One row: an example, the toolchain flag, and what it needs (plugin, and tool per doctor)."""

    example: str
    plugin: str
    tool: str | None = None  # a tool doctor must report found (for a plugin with several toolchains)
    toolchain: str | None = None  # --toolchain
    npm: bool = False  # needs node_modules (npm ci) in the copy

    @property
    def label(self) -> str:
        return f"{self.example}{f' --toolchain {self.toolchain}' if self.toolchain else ''}"


CASES = [
    Case("wat-hello", "wat", "wasmtime"),
    Case("c-hello", "c", "clang"),
    Case("cpp-hello", "c", "clang"),
    Case("c-hello", "c", "zig", toolchain="zig"),
    Case("rust-hello", "rust"),
    Case("go-hello", "go"),
    Case("zig-hello", "zig"),
    Case("asc-hello", "assemblyscript", npm=True),
    Case("python-hello", "python"),
]


def logged_commands(stderr: str, out_dir: Path) -> list[Step]:
    """The ``$ ...`` lines of ``compile -v`` as steps, writing into ``out_dir`` instead of staging.
    An in-process line (``... (wasmtime, in-process)``) is returned as its words, for the caller."""
    steps = []
    for line in stderr.splitlines():
        match = _LOGGED.match(line.strip())
        if not match:
            continue
        text = _IN_PROCESS.sub("", match["wrapped"] or match["plain"])
        words = shlex.split(text)
        env = {}
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        argv = [_STAGING.sub(str(out_dir), word) for word in _without_dependency_output(words)]
        steps.append(Step(argv, Path(match["cwd"]) if match["cwd"] else None, env))
    return steps


def _without_dependency_output(words: list[str]) -> list[str]:
    """The command as a user would type it: without the ``-MD -MF FILE`` wasmrun adds to learn
    which headers a compile read (its temporary file is gone by now; what recording inputs costs
    is bench_cache's "recording inputs" row)."""
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word == "-MF":
            skip = True
        elif word != "-MD":
            kept.append(word)
    return kept


def direct_steps(case: Case, logged: list[Step], project: Path, out_dir: Path) -> tuple[list[Step], str]:
    """The yardstick: the logged toolchain commands, or the in-process library call in a bare python."""
    # wat and python compile in-process: their logged line is replaced by the same library call in
    # a bare python; the steps after it (wasm-opt) stay
    if case.plugin == "wat":
        first = Step([sys.executable, "-c", WAT2WASM, str(project / "main.wat"), str(out_dir / "main.wasm")])
        return [first, *logged[1:]], "wasmtime.wat2wasm, bare python (+ logged steps)"
    if case.plugin == "python":
        first = Step([sys.executable, "-c", PYTHON_COMPILER, str(project / "main.py"),
                      str(out_dir / f"{project.name}.wasm")])
        return [first, *logged[1:]], "compile_source, bare python (+ logged steps)"
    steps: list[Step] = []
    for step in logged:
        steps.append(step)
        target_dir = step.env.get("CARGO_TARGET_DIR")
        if target_dir and Path(step.argv[0]).name == "cargo":
            # wasmrun copies cargo's output out of its target directory before any later step
            # (wasm-opt) reads it: that copy is part of the direct call too
            steps.append(Step(["sh", "-c", f"cp {shlex.quote(target_dir)}/wasm32-wasi*/release/*.wasm "
                                           f"{shlex.quote(str(out_dir))}/"]))
        if step.argv[:2] == [step.argv[0], "run"] and Path(step.argv[0]).name == "npm" and step.cwd:
            # likewise asc's output, from the build/ directory asconfig.json names
            steps.append(Step(["sh", "-c", f"cp {shlex.quote(str(step.cwd))}/build/*.wasm "
                                           f"{shlex.quote(str(out_dir))}/"]))
    return steps, "same toolchain, direct"


def available(wasmrun: str, env: dict[str, str]) -> dict[str, dict[str, bool]]:
    """{plugin: {tool: found}} for the wasm target, from ``wasmrun doctor --json --no-probe``."""
    proc = subprocess.run([wasmrun, "doctor", "--json", "--no-probe"], env=env, capture_output=True, text=True,
                          check=False)
    found: dict[str, dict[str, bool]] = {}
    try:
        entries = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"wasmrun doctor --json printed no JSON:\n{proc.stdout}\n{proc.stderr}") from None
    for entry in entries:
        if entry.get("target") == "wasm":
            tools = {tool["name"]: bool(tool["found"]) for tool in entry.get("tools", [])}
            tools[""] = bool(entry.get("ready"))
            found[entry["plugin"]] = tools
    return found


def missing(case: Case, found: dict[str, dict[str, bool]]) -> str | None:
    """Why ``case`` cannot be built here, or None."""
    if case.plugin not in found:
        return f"tool missing (no '{case.plugin}' plugin installed)"
    tools = found[case.plugin]
    if case.tool is not None and not tools.get(case.tool):
        return f"tool missing ({case.tool})"
    if case.tool is None and not tools[""]:
        absent = [name for name, ok in tools.items() if name and not ok]
        return f"tool missing ({', '.join(absent) or case.plugin + ' toolchain'})"
    if case.npm and shutil.which("npm") is None:
        return "tool missing (npm)"
    return None


def runnable_cases(only: set[str], found: dict[str, dict[str, bool]], rows: list[Row], prefix: str,
                   yardstick_name: str) -> Iterator[Case]:
    """The cases to measure (those in ``only``, when given); for each that cannot run here a skipped
    row named ``prefix + label`` goes into ``rows`` instead."""
    for case in CASES:
        if only and case.example not in only:
            continue
        reason = missing(case, found)
        if reason:
            print(f"{case.label}: {reason}", flush=True)
            rows.append(skipped(f"{prefix}{case.label}", yardstick_name, reason))
            continue
        yield case


def error_row(case: Case, prefix: str, yardstick_name: str, exc: BaseException) -> Row:
    """A failed row for a case whose measurement raised: printed, and marked as a miss."""
    print(f"{case.label}: ERROR {exc}", file=sys.stderr, flush=True)
    row = skipped(f"{prefix}{case.label}", yardstick_name, "error (see the log)")
    row.note, row.passed = f"error: {str(exc).splitlines()[0]}", False
    return row


def prepare(case: Case, root: Path) -> Path:
    project = root / case.label.replace(" ", "_")
    shutil.copytree(REPO / "examples" / case.example, project,
                    ignore=shutil.ignore_patterns("wasmrun-out", "node_modules", "target", "build"))
    if case.npm:
        proc = subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=project,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"npm ci failed in {project}:\n{proc.stderr[-2000:]}")
    return project


def measure(case: Case, wasmrun: str, root: Path, env: dict[str, str], runs: int) -> tuple[Row, list[str]]:
    project = prepare(case, root)
    direct_out = root / f"direct-out-{project.name}"
    direct_out.mkdir()
    flags = ["--no-cache", *(["--toolchain", case.toolchain] if case.toolchain else [])]
    probe = subprocess.run([wasmrun, "compile", "-v", *flags, str(project)], env=env, capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        raise RuntimeError(f"wasmrun compile {project} failed (exit {probe.returncode}):\n{probe.stderr}")
    logged = logged_commands(probe.stderr, direct_out)
    if not logged:
        raise RuntimeError(f"wasmrun compile -v logged no toolchain command:\n{probe.stderr}")
    direct, yardstick_name = direct_steps(case, logged, project, direct_out)
    # wasmrun writes into a fresh staging directory each time: so does the direct call (an output
    # left in place lets `go build -o` skip linking); rm and mkdir cost a millisecond or two
    direct = [Step(["rm", "-rf", str(direct_out)]), Step(["mkdir", str(direct_out)]), *direct]
    row = compare(f"compile {case.label}", [Step([wasmrun, "compile", *flags, str(project)])], yardstick_name,
                  direct, runs=runs, target=TARGET, env=env)
    return row, [step.shown() for step in logged]


def main() -> int:
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, 10)
    parser.add_argument("--only", default="", help="comma-separated examples to measure (default: all)")
    args = parser.parse_args()
    runs = chosen_runs(args)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    wasmrun = console_script("wasmrun")
    rows: list[Row] = []
    logged: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-compile-") as tmp:
        env = {**os.environ, "WASMRUN_HOME": str(Path(tmp) / "home")}
        found = available(wasmrun, env)
        for case in runnable_cases(only, found, rows, "compile ", "its toolchain, direct"):
            try:
                row, commands = measure(case, wasmrun, Path(tmp), env, runs)
            except (RuntimeError, SystemExit) as exc:
                rows.append(error_row(case, "compile ", "its toolchain, direct", exc))
                continue
            rows.append(row)
            logged[case.label] = commands
            assert row.overhead_s is not None and row.limit_s is not None
            print(f"{case.label}: wasmrun {row.median_s:.3f} s, direct {row.yardstick_median_s:.3f} s, "
                  f"overhead {row.overhead_s:+.3f} s (allowed up to {row.limit_s:.3f} s in all)", flush=True)
    status = report("compile", rows, direct_commands=logged)
    for label, commands in logged.items():
        print(f"\n{label}, as wasmrun logs it:\n  " + "\n  ".join(commands))
    return status


if __name__ == "__main__":
    sys.exit(main())
