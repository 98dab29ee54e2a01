"""``wasmrun run --headless`` (issue 19) beside a bare Playwright script, in one run.

Candidate: ``wasmrun run --headless wat-hello`` with the build cache warm (the warm-up run builds
it): start-up, the cache hit, the server, Chromium, the page, the program's line on stdout, exit.
Yardstick: a Python script that starts ``python -m http.server`` on loopback with a static page
printing the same line (``console.log``), starts the same Chromium through Playwright with the
same flags, loads the page, reads the line from the console, prints it and stops both. The runs
alternate (A B, B A, ...); the figure is the ratio of the medians. Target: at most 1.2x.

    python benchmarks/bench_headless.py [--runs N] [--quick]
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, Step, Target, compare, console_script, report, runs_argument, skipped

TARGET = Target(1.2)
HELLO = "hello from WebAssembly text"

YARDSTICK = r'''
import socket, subprocess, sys, time
from playwright.sync_api import sync_playwright

ARGS = %(args)r
site = sys.argv[1]
with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", site],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=%(chromium)r, args=ARGS)
        page = browser.new_page()
        while True:  # until http.server listens (it started while Chromium did)
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.01)
        with page.expect_console_message(lambda m: m.text == %(hello)r) as message:
            page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
        print(message.value.text)
        browser.close()
finally:
    server.terminate()
    server.wait()
'''

PAGE = f"""<!doctype html><meta charset="utf-8"><title>hello</title>
<pre id="out"></pre><script>document.getElementById("out").textContent = {HELLO!r}; console.log({HELLO!r});</script>
"""


def main() -> int:
    runs = runs_argument(10, quick=3)
    name, yardstick_name = "run --headless wat-hello (cache warm)", "bare Playwright + http.server"
    from wasmrun.headless.browsers import find_browsers
    from wasmrun.headless.driver import BROWSER_ARGS

    browsers = find_browsers()
    if importlib.util.find_spec("playwright") is None or not browsers:
        return report("headless", [skipped(name, yardstick_name, "playwright or chromium not installed")])
    chromium = str(browsers[0].path)
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-headless-") as tmp:
        root = Path(tmp)
        project = root / "wat-hello"
        shutil.copytree(REPO / "examples" / "wat-hello", project, ignore=shutil.ignore_patterns("wasmrun-out"))
        site = root / "site"
        site.mkdir()
        (site / "index.html").write_text(PAGE, encoding="utf-8")
        script = root / "bare_headless.py"
        script.write_text(YARDSTICK % {"args": BROWSER_ARGS, "chromium": chromium, "hello": HELLO}, encoding="utf-8")
        env = {**os.environ, "WASMRUN_HOME": str(root / "home")}
        wasmrun = console_script("wasmrun")
        candidate = [Step([wasmrun, "run", "--headless", str(project)])]
        yardstick = [Step([sys.executable, str(script), str(site)])]
        for steps in (candidate, yardstick):  # both print the line: what is timed is a real run
            out = subprocess.run(steps[0].argv, env=env, capture_output=True, text=True, timeout=300, check=False)
            if out.stdout != f"{HELLO}\n":
                raise SystemExit(f"{steps[0].shown()} printed {out.stdout!r} (exit {out.returncode}): {out.stderr}")
        row = compare(name, candidate, yardstick_name, yardstick, runs=runs, target=TARGET, warmup=1, env=env)
        return report("headless", [row], chromium=chromium)


if __name__ == "__main__":
    sys.exit(main())
