"""Detection with many plugins (issue 7): ``wasmrun detect`` with 200 plugin distributions beside 5.

Plugin distributions are generated, not pip-installed: in a temp dir, ``wasmrun_benchplug_N-1.0.dist-info/``
(``METADATA`` and an ``entry_points.txt`` with a ``[wasmrun]`` group) beside the module
``wasmrun_benchplug_N.py``, whose ``plugin_info`` and ``can_handle_project`` hookimpls answer as a
real plugin would and decline the project. One directory holds 5 of them, another 200; each is put
on ``PYTHONPATH`` for ``wasmrun detect examples/wat-hello``, so both are found through entry points
exactly as installed distributions are (the plugins installed in the environment load in both).

Target: with 200, the CLI wall time at most 0.1 s over the time with 5.

When the target is missed (or with ``--profile``), it shows where the time goes: ``cProfile`` of
the detect command with 200 plugins, the top functions by cumulative and by own time (in the JSON too).

    python benchmarks/bench_detect.py [--runs N] [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import io
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, Row, Step, Target, add_runs_arguments, chosen_runs, compare, console_script, report

TARGET = Target(1.0, 0.1)
FEW, MANY = 5, 200

MODULE = '''"""A generated wasmrun plugin for bench_detect.py: it answers plugin_info and declines every project."""
from wasmrun import hookimpl
from wasmrun.models import PluginInfo


@hookimpl
def plugin_info():
    return PluginInfo(name="{name}", version="1.0", description="benchmark plugin {index}",
                      extensions=[".bench{index}"], entry_files=["bench{index}.toml"])


@hookimpl
def can_handle_project(project_dir):
    return None
'''


def make_plugins(root: Path, count: int) -> Path:
    """``count`` plugin distributions (dist-info + module) in ``root``, ready for PYTHONPATH."""
    root.mkdir(parents=True)
    for index in range(count):
        module = f"wasmrun_benchplug_{index}"
        name = f"benchplug{index}"
        (root / f"{module}.py").write_text(MODULE.format(name=name, index=index), encoding="utf-8")
        dist = root / f"{module}-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8")
        (dist / "entry_points.txt").write_text(f"[wasmrun]\n{name} = {module}\n", encoding="utf-8")
        (dist / "RECORD").write_text("", encoding="utf-8")
    return root


def profile(wasmrun_args: list[str], env: dict[str, str], top: int = 25) -> dict[str, object]:
    """cProfile of ``wasmrun detect`` in a child process with ``env``: the top functions, as text."""
    out = Path(env["WASMRUN_HOME"]).parent / "detect.prof"
    code = ("import sys, cProfile; from wasmrun.cli import main; out = sys.argv[1]\n"
            "sys.argv = ['wasmrun', *sys.argv[2:]]\n"
            "p = cProfile.Profile(); p.enable()\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "finally:\n    p.disable(); p.dump_stats(out)")
    proc = subprocess.run([sys.executable, "-c", code, str(out), *wasmrun_args], env=env, capture_output=True,
                          text=True, check=False)
    if not out.is_file():
        return {"error": proc.stderr[-2000:]}
    texts: dict[str, object] = {}
    for order in ("cumulative", "tottime"):
        buffer = io.StringIO()
        stats = pstats.Stats(str(out), stream=buffer)
        stats.sort_stats(order).print_stats(top)
        texts[order] = buffer.getvalue()
    stats = pstats.Stats(str(out))
    total = max((entry[3] for entry in stats.stats.values()), default=0.0)  # type: ignore[attr-defined]
    texts["total_s"] = round(total, 3)
    return texts


def main() -> int:
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, 15)
    parser.add_argument("--profile", action="store_true", help="profile even when the target is met")
    args = parser.parse_args()
    runs = chosen_runs(args)
    wasmrun = console_script("wasmrun")
    project = REPO / "examples" / "wat-hello"
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-detect-") as tmp:
        few = make_plugins(Path(tmp) / f"plugins-{FEW}", FEW)
        many = make_plugins(Path(tmp) / f"plugins-{MANY}", MANY)
        # pip byte-compiles what it installs; so do we, or every run would compile 200 modules
        # (this matters where PYTHONDONTWRITEBYTECODE is set).
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(few), str(many)], check=True)
        home = Path(tmp) / "home"
        base = {**os.environ, "WASMRUN_HOME": str(home)}
        base.pop("WASMRUN_LOAD_PLUGINS", None)  # every entry point loads
        path = os.environ.get("PYTHONPATH")

        def env_for(directory: Path) -> dict[str, str]:
            return {"PYTHONPATH": str(directory) + (os.pathsep + path if path else "")}

        # sanity: the 200 are found and loaded (plugin list shows them)
        listing = subprocess.run([wasmrun, "plugin", "list"], env={**base, **env_for(many)}, capture_output=True,
                                 text=True, check=False)
        loaded = listing.stdout.count("benchplug")
        if loaded < MANY:
            print(listing.stdout[-3000:], listing.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"`wasmrun plugin list` shows {loaded} of the {MANY} generated plugins")
        errors = [line for line in listing.stdout.splitlines() if "benchplug" in line and "error" in line.lower()]
        if errors:
            raise SystemExit("generated plugins failed to load:\n" + "\n".join(errors[:5]))
        row: Row = compare(f"detect, {MANY} plugins", [Step([wasmrun, "detect", str(project)], env=env_for(many))],
                           f"detect, {FEW} plugins", [Step([wasmrun, "detect", str(project)], env=env_for(few))],
                           runs=runs, target=TARGET, env=base)
        extra: dict[str, object] = {"plugins_loaded": loaded}
        if args.profile or not row.passed:
            many_env = {**base, **env_for(many)}
            extra["profile"] = {str(MANY): profile(["detect", str(project)], many_env)}
    status = report("detect", [row], **extra)
    if "profile" in extra:
        prof = extra["profile"][str(MANY)]  # type: ignore[index]
        print(f"\ncProfile of `wasmrun detect` with {MANY} plugins, by cumulative time:\n{prof['cumulative']}")
        print(f"by own time:\n{prof['tottime']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
