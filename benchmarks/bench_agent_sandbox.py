"""Agent mode (issue 20), the sandbox alone (no HTTP): an exec through :class:`Sandbox` in this
process, beside spawning ``python3 -c 'print(1)'`` on the host, in the same run (interleaved).

* **warm exec**: ``print(1)`` in a session that already ran code. Target: at most 1.0x the spawn
  (the HTTP figure in bench_agent.py adds the server's own cost to this one).
* **new session**: ``create_session`` and the session's first ``print(1)``. Target: at most 5x.
* **2 sessions at once**: ``sum(range(300000))`` in two sessions pinned to two workers, beside one
  session alone: seconds per exec (the pool's use of both cores). Target: at most 0.67x.

The runtime is built (once) into wasmrun's cache of the current home, and the state directory is
temporary.

    python benchmarks/bench_agent_sandbox.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import Row, Target, add_runs_arguments, chosen_runs, measured, report

from wasmrun.agent.models import ExecRequest, ServerLimits
from wasmrun.agent.sandbox import Sandbox

WARM = Target(1.0)
NEW_SESSION = Target(5.0)
PARALLEL = Target(1 / 1.5)
SPAWN = [sys.executable, "-c", "print(1)"]
SPAWN_SHOWN = "python3 -c 'print(1)'"


def spawn() -> float:
    started = time.perf_counter()
    subprocess.run(SPAWN, check=True, capture_output=True)
    return time.perf_counter() - started


async def measure(runs: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as state:
        box = Sandbox(Path(state), ServerLimits(max_sessions=10_000), workers=2, languages=("python",))
        await box.start()
        await box.wait_ready(1800)
        try:
            return await rows(box, runs)
        finally:
            await box.stop(5)


async def rows(box: Sandbox, runs: int) -> list[Row]:
    def request(source: str) -> ExecRequest:
        return ExecRequest(language="python", source=source)

    session = box.create_session("bench").session_id
    for _ in range(5):
        await box.exec("bench", session, request("print(1)"))
    warm, new, spawns = [], [], []
    for _ in range(runs * 10):
        started = time.perf_counter()
        result = await box.exec("bench", session, request("print(1)"))
        warm.append(time.perf_counter() - started)
        assert result.stdout == "1\n", result
        spawns.append(spawn())
    await asyncio.sleep(0.5)  # the spare instances are made again after each new session
    new_spawns = []
    for _ in range(runs * 3):
        started = time.perf_counter()
        fresh = box.create_session("bench").session_id
        result = await box.exec("bench", fresh, request("print(1)"))
        new.append(time.perf_counter() - started)
        assert result.stdout == "1\n", result
        new_spawns.append(spawn())
        await box.destroy_session("bench", fresh)
        await asyncio.sleep(0.3)
    work = request("print(sum(range(300000)))")
    pair = [box.create_session("bench").session_id for _ in range(2)]
    for sid in pair:
        await box.exec("bench", sid, work)
    alone, together = [], []
    for _ in range(runs * 3):
        started = time.perf_counter()
        await box.exec("bench", pair[0], work)
        alone.append(time.perf_counter() - started)
        started = time.perf_counter()
        await asyncio.gather(*(box.exec("bench", sid, work) for sid in pair))
        together.append((time.perf_counter() - started) / 2)
    return [
        measured("warm exec print(1)", "Sandbox.exec (in-process)", "spawn", SPAWN_SHOWN, warm, spawns, target=WARM),
        measured("new session + first print(1)", "create_session + Sandbox.exec", "spawn", SPAWN_SHOWN, new,
                 new_spawns, target=NEW_SESSION),
        measured("sum(range(300000)), 2 sessions at once (s per exec)", "2 x Sandbox.exec together",
                 "1 session alone", "Sandbox.exec", together, alone, target=PARALLEL),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_runs_arguments(parser, default=10)
    args = parser.parse_args()
    return report("agent_sandbox", asyncio.run(measure(chosen_runs(args))))


if __name__ == "__main__":
    sys.exit(main())
