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

import shutil
import subprocess
from pathlib import Path

from _common import REPO, Row, Target, measured
from bench_server import CHROMIUM, HELLO, alternating_loads, free_port, page_benchmark, serving

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
        times = alternating_loads(browser, urls, {kind: [("#console", HELLO)] for kind in urls}, runs)
    return measured(NAME, " ".join(argv["component"]), YARDSTICK, " ".join(argv["module"]), times["component"],
                    times["module"], target=TARGET)


def main() -> int:
    return page_benchmark("component_page", NAME, YARDSTICK, 20, 10, measure, chromium=CHROMIUM)


if __name__ == "__main__":
    raise SystemExit(main())
