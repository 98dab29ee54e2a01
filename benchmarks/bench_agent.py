"""Agent mode (issue 20): the sandbox API's speed beside spawning ``python3 -c 'print(1)'`` on the
host, in the same run. The server is ``wasmrun agent`` in its own process (its runtimes ready
before anything is timed); the clients are this process, over HTTP on loopback.

* **warm exec**: ``print(1)`` in a session that already ran code, one request on a kept-alive
  connection, beside one spawn of ``python3 -c 'print(1)'``. Target: at most 1.0x.
* **new session**: ``POST /sessions`` and the session's first ``print(1)``, beside the same spawn.
  Target: at most 5x.
* **20 clients**: 20 clients at once, each in its own session, each running ``sum(range(300000))``
  over and over, beside one client doing the same alone: execs per second. Target: at least 1.5x
  one client's (the figure shown is seconds per exec, so the target is at most 1/1.5 = 0.67x).

The server uses wasmrun's usual home (the runtimes built there once, then cached) and a
temporary state directory.

    python benchmarks/bench_agent.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import Row, Target, add_runs_arguments, chosen_runs, measured, report

WARM = Target(1.0)
NEW_SESSION = Target(5.0)
THROUGHPUT = Target(1 / 1.5)
CLIENTS = 20
SUM = "print(sum(range(300000)))"
PYTHON3 = shutil.which("python3") or sys.executable
SPAWN = f"{PYTHON3} -c 'print(1)'"


def start_server(state_dir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "wasmrun", "agent", "--port", "0", "--state-dir", str(state_dir),
                                "--max-sessions", "200", "--max-concurrent-execs", "64"],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    line = process.stdout.readline() if selector.select(timeout=120) else ""
    match = re.search(r"serving (http://\S+)/api/v1", line)
    if not match:
        process.kill()
        raise SystemExit(f"wasmrun agent did not start: {line!r}")
    return process, match[1]


def wait_ready(http: object, url: str) -> None:
    import httpx

    assert isinstance(http, httpx.Client)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        response = http.get(f"{url}/ready")
        if response.status_code == 200:
            return
        reason = response.json().get("reason", "")
        if "failed" in reason:
            raise SystemExit(f"the agent's runtimes failed: {reason}")
        time.sleep(0.5)
    raise SystemExit("the agent was not ready after 900 s")


def spawn_once() -> float:
    started = time.perf_counter()
    subprocess.run([PYTHON3, "-c", "print(1)"], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def exec_ok(http: object, url: str, session: str, source: str) -> None:
    import httpx

    assert isinstance(http, httpx.Client)
    response = http.post(f"{url}/sessions/{session}/exec", json={"language": "python", "source": source})
    body = response.json()
    if response.status_code != 200 or body.get("exit_code") != 0:
        raise SystemExit(f"exec failed: {response.status_code} {body}")


def create(http: object, url: str) -> str:
    import httpx

    assert isinstance(http, httpx.Client)
    response = http.post(f"{url}/sessions")
    if response.status_code != 200:
        raise SystemExit(f"POST /sessions failed: {response.status_code} {response.text}")
    session: str = response.json()["session_id"]
    return session


def warm_and_new(http: object, url: str, runs: int) -> tuple[Row, Row]:
    import httpx

    assert isinstance(http, httpx.Client)
    warm_session = create(http, url)
    exec_ok(http, url, warm_session, "x = 1")
    warm, new, spawn = [], [], []
    for round_no in range(runs + 1):
        steps = ["warm", "new", "spawn"]
        for step in steps if round_no % 2 == 0 else steps[::-1]:
            if step == "spawn":
                took = spawn_once()
            elif step == "warm":
                started = time.perf_counter()
                exec_ok(http, url, warm_session, "print(1)")
                took = time.perf_counter() - started
            else:
                started = time.perf_counter()
                session = create(http, url)
                exec_ok(http, url, session, "print(1)")
                took = time.perf_counter() - started
                http.delete(f"{url}/sessions/{session}")  # untimed: keeps the session count flat
            if round_no:  # the first round warms up
                {"warm": warm, "new": new, "spawn": spawn}[step].append(took)
    endpoint = f"POST {url}/sessions/ID/exec {{print(1)}}"
    return (measured("warm session: print(1) over HTTP", endpoint, "spawn python3", SPAWN, warm, spawn,
                     target=WARM),
            measured("new session + first print(1)", f"POST {url}/sessions; {endpoint}", "spawn python3", SPAWN,
                     new, spawn, target=NEW_SESSION))


async def _clients(url: str, sessions: list[str], seconds: float) -> tuple[int, float]:
    """Execs completed, and the seconds taken, by len(sessions) clients at once, each in its own
    session, for ``seconds`` (then the execs under way finish). The clients' HTTP connections are
    made and used once before the clock starts: making 20 clients (TLS contexts and all) is the
    client's cost, not the server's."""
    import httpx

    limits = httpx.Limits(max_connections=len(sessions), max_keepalive_connections=len(sessions))
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(*(http.get(f"{url}/sessions/{s}") for s in sessions))  # one connection each
        deadline = time.monotonic() + seconds
        done = 0

        async def one(session: str) -> None:
            nonlocal done
            while time.monotonic() < deadline:
                response = await http.post(f"{url}/sessions/{session}/exec", json={"language": "python", "source": SUM})
                if response.status_code != 200 or response.json().get("exit_code") != 0:
                    raise SystemExit(f"exec failed: {response.status_code} {response.text}")
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(s) for s in sessions))
        return done, time.perf_counter() - started


def throughput(http: object, url: str, runs: int) -> Row:
    sessions = [create(http, url) for _ in range(CLIENTS)]
    for session in sessions:
        exec_ok(http, url, session, SUM)
    seconds = 4.0
    many, single = [], []
    for round_no in range(max(3, runs // 3)):
        order = ["many", "one"] if round_no % 2 == 0 else ["one", "many"]
        for which in order:
            count, took = asyncio.run(_clients(url, sessions if which == "many" else sessions[:1], seconds))
            (many if which == "many" else single).append(took / count)
    row = measured(f"{CLIENTS} clients, sum(range(300000)): seconds per exec", f"{CLIENTS} clients at once",
                   "1 client alone", "the same exec, one client", many, single, target=THROUGHPUT)
    rate_many, rate_one = 1 / statistics.median(many), 1 / statistics.median(single)
    row.note = (f"{rate_many:.1f} execs/s with {CLIENTS} clients, {rate_one:.1f} with one: "
                f"{rate_many / rate_one:.2f}x (target >= 1.5x)")
    print(row.note, flush=True)
    return row


def main(argv: list[str]) -> int:
    import httpx

    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, default=30, quick=8)
    runs = chosen_runs(parser.parse_args(argv))
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-agent-") as scratch:
        process, url = start_server(Path(scratch) / "state")
        try:
            with httpx.Client(timeout=300) as http:
                wait_ready(http, url)
                warm, new = warm_and_new(http, f"{url}/api/v1", runs)
                rows = [warm, new, throughput(http, f"{url}/api/v1", runs)]
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
    return report("agent", rows, cpus=os.cpu_count())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
