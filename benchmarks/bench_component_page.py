"""A hello component on wasmrun's page beside the same program as a module, in Chromium (issue 15).

``wasmrun run --target component wat-hello`` (the component transpiled by jco, run with the WASI
0.2 shim) beside ``wasmrun run wat-hello`` (the module, with the page's WASI shim): two servers,
loads alternating, each in a fresh browser context (a first visit), timed by the browser itself
from navigation start to the output appearing (``bench_server.py``'s observer). Both servers
are started and loaded once before timing: the component's transpiling (kept in wasmrun's cache)
and the first install of the component tools are not what a page load costs.

Target: at most 1.25x the module's time.

    python benchmarks/bench_component_page.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import REPO, Row, Target, add_runs_arguments, chosen_runs, console_script, measured, report, skipped
from bench_server import CHROMIUM, HELLO, LAUNCH_ARGS, free_port, load_once, serving

TARGET = Target(1.25)
NAME = "navigation to output: wasmrun run --target component wat-hello"
YARDSTICK = "wasmrun run wat-hello (the module)"


def measure(browser: object, wasmrun: str, tmp: Path, env: dict[str, str], runs: int) -> Row:
    projects = {}
    for kind in ("component", "module"):
        project = projects[kind] = tmp / f"wat-hello-{kind}"
        shutil.copytree(REPO / "examples" / "wat-hello", project, ignore=shutil.ignore_patterns("wasmrun-out"))
    subprocess.run([wasmrun, "compile", "--target", "component", str(projects["component"])], env=env, check=True,
                   capture_output=True)  # installs the component tools once
    ports = {"component": free_port(), "module": free_port()}
    argv = {"component": [wasmrun, "run", "--port", str(ports["component"]), "--target", "component",
                          str(projects["component"])],
            "module": [wasmrun, "run", "--port", str(ports["module"]), str(projects["module"])]}
    with serving(argv["component"], ports["component"], env) as component, \
            serving(argv["module"], ports["module"], env) as module:
        urls = {"component": component.url, "module": module.url}
        for url in urls.values():  # warm: transpiling, the servers' first request, Chromium's caches
            load_once(browser, url, [("#console", HELLO)])
        times: dict[str, list[float]] = {"component": [], "module": []}
        for round_no in range(runs):
            order = ["component", "module"] if round_no % 2 == 0 else ["module", "component"]
            for kind in order:
                times[kind].append(load_once(browser, urls[kind], [("#console", HELLO)])["shown_ms"] / 1000)
    return measured(NAME, " ".join(argv["component"]), YARDSTICK, " ".join(argv["module"]), times["component"],
                    times["module"], target=TARGET)


def main() -> int:
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, 20, quick=10)
    runs = chosen_runs(parser.parse_args())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return report("component_page", [skipped(NAME, YARDSTICK, "tool missing (playwright)")])
    if not Path(CHROMIUM).is_file():
        return report("component_page", [skipped(NAME, YARDSTICK, f"tool missing ({CHROMIUM})")])
    if shutil.which("node") is None or shutil.which("npm") is None:
        return report("component_page", [skipped(NAME, YARDSTICK, "tool missing (node and npm)")])
    wasmrun = console_script("wasmrun")
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-component-page-") as tmp, sync_playwright() as pw:
        env = {**os.environ, "WASMRUN_HOME": str(Path(tmp) / "home"), "WASMRUN_LOAD_PLUGINS": ""}
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            row = measure(browser, wasmrun, Path(tmp), env, runs)
        finally:
            browser.close()
    return report("component_page", [row], chromium=CHROMIUM)


if __name__ == "__main__":
    raise SystemExit(main())
