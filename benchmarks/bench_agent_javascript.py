"""Agent mode (issue 20), the JavaScript/TypeScript runtime through :class:`Sandbox` (no HTTP),
beside spawning ``node -e 'console.log(1)'`` on the host, in the same run (interleaved).

* **warm JavaScript exec**: ``console.log(1)`` in a session that already ran code. Target: at most
  1.0x the node spawn (the same bar as Python's warm exec against ``python3 -c``).
* **warm TypeScript exec**: ``const n: number = 1; console.log(n)``: the same plus esbuild on the
  host for every exec. Target: at most 1.0x the node spawn.
* **new session**: ``create_session`` and its first ``console.log(1)``. Target: at most 5x.
* **warm exec with an npm package**: ``require('ms')`` then ``console.log(1)`` with
  ``packages: ["ms@2.1.3"]``, already installed (the first, untimed exec installs it into wasmrun's
  package cache from the npm registry): the cache look-up plus the bundle, loaded once per
  interpreter. Target: at most 1.0x the node spawn.
* **first subpath require** (reported, no target): a new session's ``require('lodash/chunk')``
  with ``packages: ["lodash@4.17.21"]``: the interpreter parses lodash's whole bundle of subpaths
  (1 MB, made at install time). **A later subpath** (``lodash/fp/map``) in that session: the bundle
  is loaded, only that subpath's modules run.

The sandbox serves JavaScript only here (the Python runtime is bench_agent_sandbox.py's); the
runtime is built (once) into wasmrun's cache of the current home, the state directory is temporary.

    python benchmarks/bench_agent_javascript.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Row, Target, add_runs_arguments, chosen_runs, measured, report, skipped

from wasmrun.agent import runtimes
from wasmrun.agent import sandbox as sandbox_module
from wasmrun.agent.models import ExecRequest, ServerLimits

WARM = Target(1.0)
NEW_SESSION = Target(5.0)
SPAWN_SHOWN = "node -e 'console.log(1)'"


def spawn(node: str) -> float:
    started = time.perf_counter()
    subprocess.run([node, "-e", "console.log(1)"], check=True, capture_output=True)
    return time.perf_counter() - started


async def measure(runs: int, node: str) -> list[Row]:
    # Only the JavaScript runtime: Sandbox.start prepares what runtimes.available() lists.
    sandbox_module.available = lambda: {k: v for k, v in runtimes.available().items()  # type: ignore[attr-defined]
                                        if v.language == "javascript"}
    with tempfile.TemporaryDirectory(prefix="bench-agent-js-") as state:
        box = sandbox_module.Sandbox(Path(state), ServerLimits(max_sessions=10_000), workers=1)
        await box.start()
        await box.wait_ready(1800)
        try:
            return await rows(box, runs, node)
        finally:
            await box.stop(5)


async def rows(box: Any, runs: int, node: str) -> list[Row]:
    async def timed(session: str, language: str, source: str, packages: tuple[str, ...] = ()) -> float:
        started = time.perf_counter()
        result = await box.exec("bench", session, ExecRequest(language=language, source=source,
                                                              packages=list(packages)))
        elapsed = time.perf_counter() - started
        assert (result.stdout, result.exit_code) == ("1\n", 0), result
        return elapsed

    session = box.create_session("bench").session_id
    for _ in range(5):
        await timed(session, "javascript", "console.log(1)")
        await timed(session, "typescript", "const n: number = 1; console.log(n)")
    js, ts, spawns_js, spawns_ts = [], [], [], []
    for _ in range(runs * 10):
        js.append(await timed(session, "javascript", "console.log(1)"))
        spawns_js.append(spawn(node))
        ts.append(await timed(session, "typescript", "const n: number = 1; console.log(n)"))
        spawns_ts.append(spawn(node))
    with_package = ("javascript", "require('ms'); console.log(1)", ("ms@2.1.3",))
    await timed(session, *with_package)  # installs it (once per machine)
    npm, spawns_npm = [], []
    for _ in range(runs * 10):
        npm.append(await timed(session, *with_package))
        spawns_npm.append(spawn(node))
    await asyncio.sleep(0.5)  # the spare instance is made again after each new session
    new, new_spawns = [], []
    for _ in range(runs * 3):
        started = time.perf_counter()
        fresh = box.create_session("bench").session_id
        await timed(fresh, "javascript", "console.log(1)")
        new.append(time.perf_counter() - started)
        new_spawns.append(spawn(node))
        await box.destroy_session("bench", fresh)
        await asyncio.sleep(0.3)
    subpath = ("javascript", "require('lodash/chunk'); console.log(1)", ("lodash@4.17.21",))
    await timed(session, *subpath)  # installs it (once per machine)
    first_subpath, later_subpath, spawns_subpath = [], [], []
    for _ in range(runs * 3):
        fresh = box.create_session("bench").session_id
        first_subpath.append(await timed(fresh, *subpath))
        later_subpath.append(await timed(fresh, "javascript", "require('lodash/fp/map'); console.log(1)"))
        spawns_subpath.append(spawn(node))
        await box.destroy_session("bench", fresh)
        await asyncio.sleep(0.3)
    return [
        measured("new session: first subpath require (lodash/chunk)", "Sandbox.exec (in-process)", "node spawn",
                 SPAWN_SHOWN, first_subpath, spawns_subpath),
        measured("then another subpath (lodash/fp/map)", "Sandbox.exec (in-process)", "node spawn",
                 SPAWN_SHOWN, later_subpath, spawns_subpath),
        measured("warm JavaScript exec console.log(1)", "Sandbox.exec (in-process)", "node spawn", SPAWN_SHOWN,
                 js, spawns_js, target=WARM),
        measured("warm TypeScript exec (esbuild per exec)", "Sandbox.exec (in-process)", "node spawn", SPAWN_SHOWN,
                 ts, spawns_ts, target=WARM),
        measured("warm JavaScript exec with an installed npm package", "Sandbox.exec (in-process)", "node spawn",
                 SPAWN_SHOWN, npm, spawns_npm, target=WARM),
        measured("new session + first console.log(1)", "create_session + Sandbox.exec", "node spawn", SPAWN_SHOWN,
                 new, new_spawns, target=NEW_SESSION),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_runs_arguments(parser, default=10)
    args = parser.parse_args()
    node = shutil.which("node")
    if node is None:
        return report("agent_javascript", [skipped("warm JavaScript exec", "node spawn", "node not installed")])
    return report("agent_javascript", asyncio.run(measure(chosen_runs(args), node)))


if __name__ == "__main__":
    sys.exit(main())
