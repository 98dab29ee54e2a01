"""A Python program's output on wasmrun's page beside the same program run by Pyodide, in Chromium
(issue 16).

``wasmrun run hello.wasm`` (``main.py`` built by ``wasmrun compile`` beforehand, by componentize-py
into a component; the page runs it transpiled by jco and bundled with the WASI 0.2 shim) beside a
minimal page that loads Pyodide (npm ``pyodide``, served locally by ``python -m http.server``: no
CDN) and runs the same source with ``runPython``. Two servers, loads alternating, each in a fresh
browser context (a first visit, nothing cached), timed by the browser itself from navigation
start to the line appearing (``bench_server.py``'s observer). Both are loaded once before timing:
building and transpiling the component (kept in wasmrun's caches) are not what a page load costs.

Where Pyodide comes from: ``npm install pyodide@PYODIDE_VERSION --ignore-scripts`` into
``~/.cache/wasmrun-bench/pyodide`` (or ``$WASMRUN_BENCH_CACHE/pyodide``), once, on the first run;
without npm the row is skipped.

Target: wasmrun's page no later than Pyodide's (at most 1.0x).

    python benchmarks/bench_python_page.py [--runs N] [--quick]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from _common import Row, Target, measured
from bench_server import alternating_loads, free_port, page_benchmark, serving

TARGET = Target(1.0)
PYODIDE_VERSION = "314.0.8"
LINE = "hello from Python"
SOURCE = f'print("{LINE}")\n'
NAME = "navigation to output: wasmrun run hello.wasm (whole Python)"
YARDSTICK = f"Pyodide {PYODIDE_VERSION}, minimal page, python -m http.server"

PYODIDE_PAGE = """<!doctype html>
<meta charset="utf-8"><title>pyodide</title>
<pre id="out"></pre>
<script type="module">
import { loadPyodide } from "./pyodide/pyodide.mjs";
const out = document.getElementById("out");
const pyodide = await loadPyodide({ indexURL: "./pyodide/", stdout: (line) => { out.textContent += line + "\\n"; } });
pyodide.runPython(%s);
</script>
"""


def bench_cache() -> Path:
    return Path(os.environ.get("WASMRUN_BENCH_CACHE", Path.home() / ".cache" / "wasmrun-bench"))


def pyodide_package() -> Path:
    """npm ``pyodide``'s directory, installed into the benchmark cache on first use."""
    where = bench_cache() / "pyodide"
    package = where / "node_modules" / "pyodide"
    if not (package / "package.json").is_file() or PYODIDE_VERSION not in (package / "package.json").read_text():
        where.mkdir(parents=True, exist_ok=True)
        npm = shutil.which("npm")
        if npm is None:
            raise FileNotFoundError("npm")
        subprocess.run([npm, "install", "--prefix", str(where), "--ignore-scripts", "--no-audit", "--no-fund",
                        "--silent", f"pyodide@{PYODIDE_VERSION}"], check=True)
    return package


def measure(browser: object, wasmrun: str, tmp: Path, env: dict[str, str], runs: int) -> Row:
    import json

    project = tmp / "hello"
    project.mkdir()
    (project / "main.py").write_text(SOURCE, encoding="utf-8")
    built = subprocess.run([wasmrun, "compile", "--json", str(project)], env=env, check=True, capture_output=True,
                           text=True)
    wasm = json.loads(built.stdout)["wasm_path"]
    site = tmp / "pyodide-site"
    site.mkdir()
    shutil.copytree(pyodide_package(), site / "pyodide")
    (site / "index.html").write_text(PYODIDE_PAGE % json.dumps(SOURCE), encoding="utf-8")
    ports = {"wasmrun": free_port(), "pyodide": free_port()}
    argv = {"wasmrun": [wasmrun, "run", "--port", str(ports["wasmrun"]), wasm],
            "pyodide": [sys.executable, "-m", "http.server", str(ports["pyodide"]), "--bind", "127.0.0.1",
                        "--directory", str(site)]}
    wanted = {"wasmrun": [("#console", LINE)], "pyodide": [("#out", LINE)]}
    with serving(argv["wasmrun"], ports["wasmrun"], env) as ours, \
            serving(argv["pyodide"], ports["pyodide"], env) as theirs:
        urls = {"wasmrun": ours.url, "pyodide": theirs.url}
        import urllib.request

        with urllib.request.urlopen(ours.url, timeout=900) as first:  # waits for the transpile (tens of s)
            first.read()
        times = alternating_loads(browser, urls, wanted, runs)
    return measured(NAME, " ".join(argv["wasmrun"]), YARDSTICK, " ".join(argv["pyodide"]), times["wasmrun"],
                    times["pyodide"], target=TARGET)


def main() -> int:
    return page_benchmark("python_page", NAME, YARDSTICK, 10, 4, measure)


if __name__ == "__main__":
    raise SystemExit(main())
