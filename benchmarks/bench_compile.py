"""Compile: ``wasmrun compile examples/c-hello`` beside the same compiler command run directly.

The direct command is the one wasmrun itself runs: ``wasmrun compile -v`` logs it (``$ (cd DIR
&& CMD)`` on stderr); its output path, in wasmrun's staging directory, is moved to a scratch
directory. Target (issue 2): wasmrun at most 10% plus 0.5 s over the direct call.

    python benchmarks/bench_compile.py [--runs N] [--example c-hello]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, Step, Target, compare, console_script, report

_LOGGED = re.compile(r"^\$ (?:\(cd (?P<cwd>\S+) && (?P<wrapped>.*)\)|(?P<plain>.*))$")
_STAGING = re.compile(r"\S*/\.staging-[^/\s]+")


def logged_commands(stderr: str, out_dir: Path) -> list[Step]:
    """The ``$ ...`` lines of ``compile -v`` as steps, writing into ``out_dir`` instead of staging."""
    steps = []
    for line in stderr.splitlines():
        match = _LOGGED.match(line.strip())
        if not match:
            continue
        words = shlex.split(match["wrapped"] or match["plain"])
        env = {}
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        argv = [_STAGING.sub(str(out_dir), word) for word in words]
        steps.append(Step(argv, Path(match["cwd"]) if match["cwd"] else None, env))
    return steps


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10, help="repeats per command (default 10)")
    parser.add_argument("--example", default="c-hello", help="the example under examples/ (default c-hello)")
    args = parser.parse_args()
    wasmrun = console_script("wasmrun")
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-") as tmp:
        env = {**os.environ, "WASMRUN_HOME": str(Path(tmp) / "home")}
        project = Path(tmp) / args.example
        shutil.copytree(REPO / "examples" / args.example, project, ignore=shutil.ignore_patterns("wasmrun-out"))
        direct_out = Path(tmp) / "direct-out"
        direct_out.mkdir()
        probe = subprocess.run([wasmrun, "compile", "-v", str(project)], env=env, capture_output=True, text=True,
                               check=False)
        if probe.returncode != 0:
            print(probe.stderr, file=sys.stderr)
            raise SystemExit(f"wasmrun compile {project} failed (exit {probe.returncode}); see `wasmrun doctor`")
        direct = logged_commands(probe.stderr, direct_out)
        if not direct:
            raise SystemExit(f"wasmrun compile -v logged no toolchain command:\n{probe.stderr}")
        row = compare(f"wasmrun compile {args.example}", [Step([wasmrun, "compile", str(project)])],
                      "same compiler, direct", direct, runs=args.runs, target=Target(1.10, 0.5), env=env)
    status = report("compile", [row], direct_commands=[step.shown() for step in direct])
    print("\ndirect: " + "\n        ".join(step.shown() for step in direct))
    print(f"wasmrun overhead: {row.overhead_s:+.3f} s ({row.ratio:.2f}x); allowed: {row.limit_s:.3f} s in all")
    return status


if __name__ == "__main__":
    sys.exit(main())
