"""The dev server in Chromium (issue 6), through playwright.

(a) Navigation to the page showing the hello module's output: ``wasmrun run examples/wat-hello``
    beside the same built module served by ``python -m http.server`` with a minimal hand-written
    page (fetch + ``WebAssembly.instantiateStreaming`` + a 10-line ``fd_write`` shim writing into a
    ``<pre>``). Both servers are separate processes; the loads alternate, each in a fresh browser
    context (empty cache, as a first visit). The time is the browser's own: ``performance.now()``
    (from navigation start) when the output text appears, seen by a MutationObserver installed
    before any page script. Target: within 10%.
(b) Live reload: ``wasmrun run --watch`` with the page open; from saving a changed source (a new
    greeting, a unique one each time so the build cache never answers) to the page showing the new
    output, beside the build's own time (``BuildResult.duration_s``, from the server's
    ``built X in N s; reloading`` line for that very build). Target: the build's time plus 0.5 s.
    Measured for wat-hello, and for c-hello when clang is there (a build that takes real time).

Without a browser (``wasmrun run`` processes and raw sockets):

(c) The first page load of a module with 20,000 imports and 20,000 exports: the requests a
    browser sends at once for wasmrun's page (the page, the module, its info, its report, the
    page's script), on a freshly started ``wasmrun run BIG.wasm``, beside reading that module
    once (the reader, the page's summary and the ``inspect`` report, timed inside a fresh process,
    imports included). Target: 1.5x + 0.3 s: the server reads the module once, not once a request.
(d) 200 simultaneous GETs of a small file, beside the same 200 GETs one after another, on the same
    server. Target: 1x + 0.5 s (a full backlog would make clients wait a second or more to retry).
(e) One GET while 300 connections that send nothing are open, beside the same GET with none.
    Target: 1x + 0.05 s.

When (a) misses its target, one more load of each page is traced: every request (start, end,
size), DOMContentLoaded and when the output appeared, printed and written to the JSON.

Chromium is ``/usr/bin/chromium`` (or ``WASMRUN_BENCH_CHROMIUM``); without playwright or Chromium
the rows are listed as skipped.

    python benchmarks/bench_server.py [--runs N] [--quick] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import REPO, Row, Target, add_runs_arguments, chosen_runs, console_script, measured, report, skipped

NAVIGATION = Target(1.10)
NAVIGATION_MIN_RUNS = 20
RELOAD = Target(1.0, 0.5)
CHROMIUM = os.environ.get("WASMRUN_BENCH_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
HELLO = "hello from WebAssembly text"

MINIMAL_PAGE = """<!doctype html>
<meta charset="utf-8"><title>hello</title>
<pre id="out"></pre>
<script type="module">
let memory; const out = document.getElementById("out"), dec = new TextDecoder();
const fd_write = (fd, iovs, n, nwritten) => {
  const v = new DataView(memory.buffer); let len = 0;
  for (let i = 0; i < n; i++) { const p = v.getUint32(iovs + 8 * i, true), l = v.getUint32(iovs + 8 * i + 4, true);
    out.textContent += dec.decode(new Uint8Array(memory.buffer, p, l)); len += l; }
  v.setUint32(nwritten, len, true); return 0; };
const imports = { wasi_snapshot_preview1: { fd_write } };
const { instance } = await WebAssembly.instantiateStreaming(fetch("main.wasm"), imports);
memory = instance.exports.memory; instance.exports._start();
</script>
"""

#: Installed before any page script: records performance.now() and Date.now() when ``selector``
#: first contains ``text`` (window.__shown), whatever the page does to get it there.
OBSERVER = """
(() => {
  const want = %(want)s;
  const check = () => {
    if (window.__shown) return;
    for (const [selector, text] of want) {
      const node = document.querySelector(selector);
      if (node && node.textContent.includes(text)) {
        window.__shown = { at: performance.now(), epoch_ms: Date.now(), text: node.textContent };
        return;
      }
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {' '.join(proc.args)}")  # type: ignore[arg-type]
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout} s")


class Server:
    """A server process; its stderr lines are collected by a thread (the build log)."""

    def __init__(self, argv: list[str], port: int, env: dict[str, str], cwd: Path | None = None) -> None:
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for_port(port, self.proc)
        self.url = f"http://127.0.0.1:{port}/"

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append((time.time(), line.rstrip("\n")))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def serving(argv: list[str], port: int, env: dict[str, str], cwd: Path | None = None) -> Iterator[Server]:
    server = Server(argv, port, env, cwd)
    try:
        yield server
    finally:
        server.stop()


def load_once(browser: Any, url: str, want: list[tuple[str, str]], *, trace: bool = False) -> dict[str, Any]:
    """Load ``url`` in a fresh context; when the output showed (ms from navigation start), and a trace."""
    import json

    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(OBSERVER % {"want": json.dumps(want)})
        page.goto(url, wait_until="commit")
        page.wait_for_function("() => window.__shown", timeout=30_000)
        shown = page.evaluate("() => window.__shown")
        result: dict[str, Any] = {"shown_ms": float(shown["at"])}
        if trace:
            result["trace"] = page.evaluate("""() => {
              const nav = performance.getEntriesByType("navigation")[0];
              return {
                responseEnd_ms: nav.responseEnd, domContentLoaded_ms: nav.domContentLoadedEventEnd,
                html_bytes: nav.transferSize,
                requests: performance.getEntriesByType("resource").map((r) => ({
                  url: r.name.replace(location.origin, ""), type: r.initiatorType,
                  start_ms: Math.round(r.startTime * 10) / 10,
                  end_ms: Math.round(r.responseEnd * 10) / 10, bytes: r.transferSize })),
              };
            }""")
            result["trace"]["shown_ms"] = result["shown_ms"]
        return result
    finally:
        context.close()


def alternating_loads(browser: Any, urls: dict[str, str], wanted: dict[str, list[tuple[str, str]]],
                      runs: int) -> dict[str, list[float]]:
    """Seconds until each page showed its output, ``runs`` times each: one warm-up load apiece
    (the servers' first request, Chromium's caches), then the pages in alternating order so a
    change in the machine's load falls on both sides."""
    for kind, url in urls.items():
        load_once(browser, url, wanted[kind])
    times: dict[str, list[float]] = {kind: [] for kind in urls}
    kinds = list(urls)
    for round_no in range(runs):
        for kind in (kinds if round_no % 2 == 0 else kinds[::-1]):
            times[kind].append(load_once(browser, urls[kind], wanted[kind])["shown_ms"] / 1000)
    return times


def page_benchmark(report_name: str, row_name: str, yardstick: str, default_runs: int, quick_runs: int,
                   measure: Any, **report_extra: Any) -> int:
    """The ``main`` of a page benchmark: the runs asked for, the tools checked (a missing one is a
    skipped row, not a failure), Chromium launched once, ``measure(browser, wasmrun, tmp, env, runs)``."""
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, default_runs, quick=quick_runs)
    runs = chosen_runs(parser.parse_args())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return report(report_name, [skipped(row_name, yardstick, "tool missing (playwright)")])
    if not Path(CHROMIUM).is_file():
        return report(report_name, [skipped(row_name, yardstick, f"tool missing ({CHROMIUM})")])
    if shutil.which("node") is None or shutil.which("npm") is None:
        return report(report_name, [skipped(row_name, yardstick, "tool missing (node and npm)")])
    wasmrun = console_script("wasmrun")
    with tempfile.TemporaryDirectory(prefix=f"wasmrun-bench-{report_name}-") as tmp, sync_playwright() as pw:
        env = {**os.environ, "WASMRUN_HOME": str(Path(tmp) / "home"), "WASMRUN_LOAD_PLUGINS": ""}
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            row = measure(browser, wasmrun, Path(tmp), env, runs)
        finally:
            browser.close()
    return report(report_name, [row], **report_extra)


def navigation(browser: Any, wasmrun: str, tmp: Path, env: dict[str, str], runs: int) -> tuple[Row, dict[str, Any]]:
    project = tmp / "wat-hello"
    shutil.copytree(REPO / "examples" / "wat-hello", project, ignore=shutil.ignore_patterns("wasmrun-out"))
    subprocess.run([wasmrun, "compile", str(project)], env=env, check=True, capture_output=True)
    site = tmp / "minimal-site"
    site.mkdir()
    shutil.copy(project / "wasmrun-out" / "main.wasm", site / "main.wasm")
    (site / "index.html").write_text(MINIMAL_PAGE, encoding="utf-8")
    port_a, port_b = free_port(), free_port()
    wasmrun_argv = [wasmrun, "run", "--port", str(port_a), str(project)]
    plain_argv = [sys.executable, "-m", "http.server", str(port_b), "--bind", "127.0.0.1", "--directory", str(site)]
    extra: dict[str, Any] = {}
    with serving(wasmrun_argv, port_a, env) as ours, serving(plain_argv, port_b, env) as plain:
        def load_ours(trace: bool = False) -> dict[str, Any]:
            return load_once(browser, ours.url, [("#console", HELLO)], trace=trace)

        def load_plain(trace: bool = False) -> dict[str, Any]:
            return load_once(browser, plain.url, [("#out", HELLO)], trace=trace)

        loads = {"wasmrun": load_ours, "plain": load_plain}
        for load in loads.values():  # warm: the servers' first request, Chromium's compile caches
            load()
        times: dict[str, list[float]] = {"wasmrun": [], "plain": []}
        for round_no in range(runs):
            order = ["wasmrun", "plain"] if round_no % 2 == 0 else ["plain", "wasmrun"]
            for name in order:
                times[name].append(loads[name]()["shown_ms"] / 1000)
        row = measured("navigation to output: wasmrun run wat-hello", " ".join(wasmrun_argv),
                       "python -m http.server + minimal page", " ".join(plain_argv), times["wasmrun"], times["plain"],
                       target=NAVIGATION)
        if not row.passed:
            extra = {name: load(True)["trace"] for name, load in loads.items()}
    return row, extra


def edit(project: Path, source: str, count: int) -> tuple[str, str]:
    """Write a new greeting (unique: ``count``) into the example's source; (the file's text, the greeting)."""
    path = project / source
    text = path.read_text(encoding="utf-8")
    if source == "main.wat":  # the same length (the iovec holds it): "hello from WebAssembly NNNN\n"
        greeting = f"hello from WebAssembly {count:04d}"
        new = re.sub(r'"hello from WebAssembly [^"\\]*\\n"', f'"{greeting}\\\\n"', text)
    else:
        greeting = f"hello from C {count:04d}"
        new = re.sub(r'"hello from C[^"\\]*\\n"', f'"{greeting}\\\\n"', text)
    if new == text:
        raise RuntimeError(f"could not change the greeting in {path}")
    return new, greeting


def live_reload(browser: Any, wasmrun: str, tmp: Path, env: dict[str, str], runs: int, example: str,
                source: str, selector: str = "#console") -> Row:
    project = tmp / f"live-{example}"
    shutil.copytree(REPO / "examples" / example, project, ignore=shutil.ignore_patterns("wasmrun-out"))
    port = free_port()
    argv = [wasmrun, "run", "--watch", "--port", str(port), str(project)]
    latencies: list[float] = []
    builds: list[float] = []
    with serving(argv, port, env) as server:
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.url)
        page.wait_for_function("() => window.wasmrun && ['exited', 'ready', 'trapped'].includes(window.wasmrun.status)",
                               timeout=60_000)
        page.wait_for_function("() => document.documentElement.dataset.wasmrunLive === 'connected'", timeout=10_000)
        for count in range(runs + 1):  # the first is a warm-up
            new, greeting = edit(project, source, count)
            page.add_init_script(OBSERVER % {"want": f'[["{selector}", "{greeting}"]]'})
            seen_lines = len(server.lines)
            saved = time.time()
            (project / source).write_text(new, encoding="utf-8")
            # the page before the reload still shows (and may have recorded) the previous greeting
            page.wait_for_function("(g) => window.__shown && window.__shown.text.includes(g)", arg=greeting,
                                   timeout=60_000)
            shown = page.evaluate("() => window.__shown")
            latency = shown["epoch_ms"] / 1000 - saved
            built = None
            deadline = time.monotonic() + 5
            while built is None and time.monotonic() < deadline:
                for _, line in server.lines[seen_lines:]:
                    match = re.search(r"built \S+ in ([0-9.]+) s; reloading", line)
                    if match:
                        built = float(match[1])
                if built is None:
                    time.sleep(0.02)
            if built is None:
                raise RuntimeError("no 'built ... reloading' line from the server:\n"
                                   + "\n".join(line for _, line in server.lines[-20:]))
            if count:
                latencies.append(latency)
                builds.append(built)
            time.sleep(0.3)  # let the watcher settle before the next save
        context.close()
    return measured(f"live reload: save to new output, {example}", " ".join(argv), "the build itself (duration_s)",
                    "BuildResult.duration_s of the same build, from the server's log", latencies, builds,
                    target=RELOAD)


BIG_IMPORTS = 20_000
PAGE_LOAD = ["/", "/big.wasm", "/__wasmrun/info.json", "/__wasmrun/inspect.json", "/__wasmrun/static/page.js",
             "/__wasmrun/static/wasi.js", "/__wasmrun/static/live.js"]
PAGE_LOAD_TARGET = Target(1.5, 0.3)
BURST = 200
BURST_TARGET = Target(1.0, 0.5)
IDLE = 300
IDLE_TARGET = Target(1.0, 0.05)
READ_ONCE = """
import sys, time
started = time.perf_counter()
from pathlib import Path
from wasmrun.server.app import module_summary
from wasmrun.wasm.inspect import inspect_module
from wasmrun.wasm.reader import WasmModule
module = WasmModule.from_file(Path(sys.argv[1]))
module_summary(module)
inspect_module(module, sys.argv[1])
print(time.perf_counter() - started)
"""


def big_module(path: Path) -> Path:
    """A module of 20,000 function imports, each exported again (built with wasmtime's wat2wasm)."""
    import wasmtime

    lines = ["(module"]
    lines += [f'(import "env" "f{i}" (func $f{i} (param i32) (result i32)))' for i in range(BIG_IMPORTS)]
    lines += [f'(export "e{i}" (func $f{i}))' for i in range(BIG_IMPORTS)]
    path.write_bytes(wasmtime.wat2wasm("\n".join([*lines, ")"])))
    return path


def http_get(port: int, target: str, timeout: float = 120.0) -> int:
    """One GET over a raw socket (Connection: close); its status."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(1 << 20):
            data += chunk
    return int(data.split(b" ", 2)[1])


def all_at_once(port: int, targets: list[str]) -> float:
    """Seconds until every one of ``targets``, requested at once, has been answered 200."""
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda t=t: statuses.append(http_get(port, t))) for t in targets]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if statuses != [200] * len(targets):
        raise RuntimeError(f"not every request was answered 200: {sorted(set(statuses))}")
    return elapsed


def first_page_load(wasmrun: str, tmp: Path, env: dict[str, str], runs: int) -> Row:
    wasm = big_module(tmp / "big.wasm")
    loads: list[float] = []
    reads: list[float] = []
    argv: list[str] = []
    for round_no in range(runs):
        for name in (["server", "read"] if round_no % 2 == 0 else ["read", "server"]):
            if name == "read":
                out = subprocess.run([sys.executable, "-c", READ_ONCE, str(wasm)], env=env, check=True,
                                     capture_output=True, text=True).stdout
                reads.append(float(out.split()[-1]))
                continue
            port = free_port()
            argv = [wasmrun, "run", "--port", str(port), str(wasm)]
            with serving(argv, port, env):
                loads.append(all_at_once(port, PAGE_LOAD))
    return measured(f"first page load (7 requests at once), {BIG_IMPORTS} imports", " ".join(argv),
                    "reading the module once (reader, summary, inspect report)",
                    f"python -c READ_ONCE {wasm.name} (timed inside the process)", loads, reads,
                    target=PAGE_LOAD_TARGET)


def connection_rows(wasmrun: str, tmp: Path, env: dict[str, str], runs: int) -> list[Row]:
    project = tmp / "conn-wat-hello"
    shutil.copytree(REPO / "examples" / "wat-hello", project, ignore=shutil.ignore_patterns("wasmrun-out"))
    port = free_port()
    argv = [wasmrun, "run", "--port", str(port), str(project)]
    burst: dict[str, list[float]] = {"together": [], "one by one": []}
    idle: dict[str, list[float]] = {"idle open": [], "none": []}
    with serving(argv, port, env):
        all_at_once(port, ["/main.wasm"])  # warm: the first request reads the module
        for round_no in range(runs):
            for name in (["together", "one by one"] if round_no % 2 == 0 else ["one by one", "together"]):
                if name == "together":
                    burst[name].append(all_at_once(port, ["/main.wasm"] * BURST))
                else:
                    started = time.perf_counter()
                    for _ in range(BURST):
                        http_get(port, "/main.wasm")
                    burst[name].append(time.perf_counter() - started)
            for name in (["idle open", "none"] if round_no % 2 == 0 else ["none", "idle open"]):
                held = [socket.create_connection(("127.0.0.1", port), timeout=30)
                        for _ in range(IDLE if name == "idle open" else 0)]
                try:
                    started = time.perf_counter()
                    http_get(port, "/main.wasm")
                    idle[name].append(time.perf_counter() - started)
                finally:
                    for sock in held:
                        sock.close()
    command = " ".join(argv)
    return [
        measured(f"{BURST} simultaneous GETs", command, f"the same {BURST} GETs one after another", command,
                 burst["together"], burst["one by one"], target=BURST_TARGET),
        measured(f"a GET while {IDLE} idle connections are open", command, "the same GET with none open", command,
                 idle["idle open"], idle["none"], target=IDLE_TARGET),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, 15, quick=5)
    parser.add_argument("--no-browser", action="store_true", help="only the rows that need no browser: (c), (d), (e)")
    args = parser.parse_args()
    runs = chosen_runs(args)
    names = [("navigation to output: wasmrun run wat-hello", "python -m http.server + minimal page"),
             ("live reload: save to new output, wat-hello", "the build itself (duration_s)"),
             ("live reload: save to new output, c-hello", "the build itself (duration_s)")]
    wasmrun = console_script("wasmrun")
    rows: list[Row] = []
    extra: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-server-") as tmp:
        env = {**os.environ, "WASMRUN_HOME": str(Path(tmp) / "home"), "WASMRUN_LOAD_PLUGINS": ""}
        rows.append(first_page_load(wasmrun, Path(tmp), env, runs))
        rows += connection_rows(wasmrun, Path(tmp), env, runs)
    if args.no_browser:
        return report("server", rows)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return report("server", [*rows, *(skipped(n, y, "tool missing (playwright)") for n, y in names)])
    if not Path(CHROMIUM).is_file():
        return report("server", [*rows, *(skipped(n, y, f"tool missing ({CHROMIUM})") for n, y in names)])
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-server-") as tmp, sync_playwright() as pw:
        env = {**os.environ, "WASMRUN_HOME": str(Path(tmp) / "home"), "WASMRUN_LOAD_PLUGINS": ""}
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            # a load takes a tenth of a second and varies by a tenth of that: even --quick takes
            # enough of them for the median to mean something at a 10% target
            row, trace = navigation(browser, wasmrun, Path(tmp), env, max(runs, NAVIGATION_MIN_RUNS))
            rows.append(row)
            if trace:
                extra["navigation_trace"] = trace
            rows.append(live_reload(browser, wasmrun, Path(tmp), env, runs, "wat-hello", "main.wat"))
            if shutil.which("clang"):
                rows.append(live_reload(browser, wasmrun, Path(tmp), env, runs, "c-hello", "main.c"))
            else:
                rows.append(skipped(*names[2], "tool missing (clang)"))
        finally:
            browser.close()
    status = report("server", rows, chromium=CHROMIUM, **extra)
    for name, trace in extra.get("navigation_trace", {}).items():
        print(f"\n{name}: response {trace['responseEnd_ms']:.1f} ms, DOMContentLoaded "
              f"{trace['domContentLoaded_ms']:.1f} ms, output shown {trace['shown_ms']:.1f} ms, "
              f"HTML {trace['html_bytes']} bytes")
        for request in trace["requests"]:
            print(f"  {request['start_ms']:7.1f} -> {request['end_ms']:7.1f} ms  {request['bytes']:>7} B  "
                  f"{request['type']:<10} {request['url']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
