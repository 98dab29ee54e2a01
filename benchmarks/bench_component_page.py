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
import sys
from pathlib import Path
from typing import Any

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
        for kind, url in urls.items():  # after the timed loads: the breakdown is not part of the figure
            print(f"breakdown ({kind}): {breakdown(browser, url)}", file=sys.stderr)
    return measured(NAME, " ".join(argv["component"]), YARDSTICK, " ".join(argv["module"]), times["component"],
                    times["module"], target=TARGET)


#: The renderer's main-thread events summed in the breakdown (their own CPU time, ``tdur``).
PHASES = {"compile JS": ("v8.compile", "v8.compileModule"), "run JS": ("v8.run", "v8.evaluateModule", "RunMicrotasks",
                                                                      "FunctionCall", "TimerFire"),
          "layout and paint": ("Layout", "UpdateLayoutTree", "Paint", "PrePaint")}


def breakdown(browser: Any, url: str, loads: int = 3) -> str:
    """Where one load's time goes, median of ``loads`` traced loads (tracing adds its own cost):
    the renderer main thread's CPU time from navigation to the output, in all and per phase."""
    import json
    import statistics

    from bench_server import OBSERVER

    totals: dict[str, list[float]] = {}
    for _ in range(loads):
        context = browser.new_context()
        try:
            page = context.new_page()
            page.add_init_script(OBSERVER % {"want": json.dumps([["#console", HELLO]])})
            browser.start_tracing(page=page, categories=["devtools.timeline", "disabled-by-default-devtools.timeline",
                                                          "v8.execute", "v8", "loading", "blink.user_timing"])
            page.goto(url, wait_until="commit")
            page.wait_for_function("() => window.__shown", timeout=30_000)
            shown_ms = float(page.evaluate("() => window.__shown.at"))
            events = json.loads(browser.stop_tracing())["traceEvents"]
        finally:
            context.close()
        main = next(((e["pid"], e["tid"]) for e in events if e.get("name") == "ParseHTML"), None)
        start = next((e["ts"] for e in events if e.get("name") == "navigationStart" and main and e["pid"] == main[0]
                      and e["args"].get("data", {}).get("documentLoaderURL", "").startswith("http")), None)
        if main is None or start is None:
            continue
        mine = [e for e in events if (e["pid"], e["tid"]) == main and e.get("ph") == "X"
                and start <= e["ts"] <= start + shown_ms * 1000]
        row = {"shown": shown_ms, "main-thread CPU": outermost_cpu_ms(mine, ("RunTask",))}
        for phase, names in PHASES.items():
            row[phase] = outermost_cpu_ms(mine, names)
        for key, value in row.items():
            totals.setdefault(key, []).append(value)
    return ", ".join(f"{key} {statistics.median(values):.1f} ms" for key, values in totals.items()) or "no trace"


def outermost_cpu_ms(events: list[dict[str, Any]], names: tuple[str, ...]) -> float:
    """The CPU time of the events named ``names``, an event nested in an earlier one not counted again."""
    total, end = 0, 0
    for event in sorted((e for e in events if e["name"] in names), key=lambda e: e["ts"]):
        if event["ts"] >= end:
            total += event.get("tdur", 0)
            end = event["ts"] + event.get("dur", 0)
    return total / 1000


def main() -> int:
    return page_benchmark("component_page", NAME, YARDSTICK, 20, 10, measure, chromium=CHROMIUM)


if __name__ == "__main__":
    raise SystemExit(main())
