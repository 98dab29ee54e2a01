"""The pool of sandbox worker processes, seen from the server (asyncio).

Each worker is ``python -m wasmrun.agent.worker`` speaking JSON lines (see that module). Sessions
are pinned to a worker (the one with the fewest sessions when the session is made), since their
interpreter instance lives there; a worker runs one exec at a time (its own asyncio lock), so
two cores run two execs at once. A worker that dies (killed, crashed, or an exec that does not
return well after its time-out) is replaced at once: the exec it was running gets
``error = "crash: ..."`` and its sessions' next execs say ``state_lost``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

#: Output callback: (stream name, text).
OnOutput = Callable[[str, str], Awaitable[None]]
#: How long past its time-out an exec may take before its worker is killed and replaced.
HANG_GRACE_S = 10.0
#: How long a finished exec waits for its streamed output to reach a client that reads slowly.
DELIVERY_GRACE_S = 30.0
#: A reply line may be this long (output is sent in pieces far below it).
LINE_LIMIT = 1 << 24


class WorkerCrashed(Exception):
    pass


@dataclass
class Pending:
    future: asyncio.Future[dict[str, Any]]
    on_output: OnOutput | None
    started: bool = False
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    #: output on its way to ``on_output``: the worker's replies are never held up by a slow client
    #: (the worker would block in the middle of the exec, out of its time-out's reach)
    outbox: asyncio.Queue[tuple[str, str] | None] = field(default_factory=asyncio.Queue)
    forwarder: asyncio.Task[None] | None = None

    def start_forwarding(self) -> None:
        if self.on_output is not None:
            self.forwarder = asyncio.create_task(self._forward(self.on_output))

    async def _forward(self, on_output: OnOutput) -> None:
        while (item := await self.outbox.get()) is not None:
            with contextlib.suppress(Exception):  # a client gone away does not stop the exec
                await on_output(*item)

    async def finish_forwarding(self) -> None:
        """Every chunk delivered (the result comes after its output), or given up after
        :data:`DELIVERY_GRACE_S` for a client that stopped reading."""
        if self.forwarder is None:
            return
        self.outbox.put_nowait(None)
        try:
            await asyncio.wait_for(self.forwarder, DELIVERY_GRACE_S)
        except (TimeoutError, asyncio.CancelledError):
            self.forwarder.cancel()


class WorkerProcess:
    """One worker: its process, the reader of its replies, and its lock (one exec at a time)."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: asyncio.subprocess.Process | None = None
        self.lock = asyncio.Lock()
        self.pending: dict[str, Pending] = {}
        self.loads: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.generation = 0
        self.sessions = 0
        self.busy = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def spawn(self) -> None:
        # this server's own import path (never the working directory: -P, and cwd "/")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and os.path.isabs(p)),
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
        for name in ("HOME", "WASMRUN_HOME", "XDG_CACHE_HOME", "TMPDIR", "LANG"):
            if name in os.environ:
                env[name] = os.environ[name]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-P", "-m", "wasmrun.agent.worker", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env=env, limit=LINE_LIMIT, start_new_session=True, cwd="/")
        self.generation += 1
        self.reader = asyncio.create_task(self._read(self.process))

    async def send(self, message: dict[str, Any]) -> None:
        process = self.process
        if process is None or process.stdin is None or process.returncode is not None:
            raise WorkerCrashed("the worker process is not running")
        try:
            process.stdin.write(json.dumps(message).encode() + b"\n")
            await process.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise WorkerCrashed(f"the worker process is gone ({exc})") from None

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while True:
                line = await process.stdout.readline()
                if not line:
                    break
                message = json.loads(line)
                await self._dispatch(message)
        except (ValueError, asyncio.LimitOverrunError):
            pass
        finally:
            code = await process.wait() if process.returncode is None else process.returncode
            if process is self.process:
                self._fail_all(WorkerCrashed(f"the worker process ended (exit status {code})"))

    async def _dispatch(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "started":
            started = self.pending.get(message["id"])
            if started is not None:
                started.started = True
        elif op == "output":
            pending = self.pending.get(message["id"])
            if pending is not None:
                (pending.stdout if message["stream"] == "stdout" else pending.stderr).append(message["text"])
                if pending.on_output is not None:
                    pending.outbox.put_nowait((message["stream"], message["text"]))
        elif op == "result":
            pending = self.pending.pop(message["id"], None)
            if pending is not None and not pending.future.done():
                message["stdout"], message["stderr"] = "".join(pending.stdout), "".join(pending.stderr)
                pending.future.set_result(message)
        elif op in ("loaded", "failed"):
            future = self.loads.pop(message["language"], None)
            if future is not None and not future.done():
                future.set_result(message)

    def _fail_all(self, error: Exception) -> None:
        for pending in self.pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self.pending.clear()
        for future in self.loads.values():
            if not future.done():
                future.set_exception(error)
        self.loads.clear()

    async def kill(self) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


class WorkerPool:
    def __init__(self, count: int) -> None:
        self.workers = [WorkerProcess(index) for index in range(max(1, count))]
        self._ids = itertools.count()
        self.loaded: dict[str, dict[str, Any]] = {}  # language -> load message (replayed on respawn)
        self.crashes = 0
        self.stopping = False

    async def start(self) -> None:
        await asyncio.gather(*(worker.spawn() for worker in self.workers))

    def pick(self) -> int:
        """The worker a new session is pinned to: the one with the fewest sessions."""
        worker = min(self.workers, key=lambda w: (w.sessions, w.index))
        worker.sessions += 1
        return worker.index

    def unpin(self, index: int) -> None:
        self.workers[index].sessions = max(0, self.workers[index].sessions - 1)

    async def load(self, language: str, component: str, compiled_cache: str | None) -> None:
        """Load a runtime in every worker: the first compiles it (into the compiled-code cache),
        the others then read it from there. Raises RuntimeError with the worker's reason."""
        message = {"op": "load", "language": language, "component": component, "compiled_cache": compiled_cache}
        first, *rest = self.workers
        await self._load_on(first, message)
        await asyncio.gather(*(self._load_on(worker, message) for worker in rest))
        self.loaded[language] = message

    async def _load_on(self, worker: WorkerProcess, message: dict[str, Any]) -> None:
        async with worker.lock:
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            worker.loads[message["language"]] = future
            await worker.send(message)
            reply = await future
        if reply["op"] == "failed":
            raise RuntimeError(f"cannot load the {message['language']} runtime: {reply['error']}")

    async def exec(self, index: int, message: dict[str, Any], timeout_s: float,
                   on_output: OnOutput | None) -> dict[str, Any]:
        """Run an exec on worker ``index``; the worker's reply with ``stdout`` and ``stderr``
        (returned once its streamed output was delivered, after the worker is free again)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        pending = Pending(future, on_output)
        pending.start_forwarding()
        try:
            return await self._exec(self.workers[index], pending, message, timeout_s)
        finally:
            await pending.finish_forwarding()

    async def _exec(self, worker: WorkerProcess, pending: Pending, message: dict[str, Any],
                    timeout_s: float) -> dict[str, Any]:
        async with worker.lock:
            if self.stopping:
                raise WorkerCrashed("the server is shutting down")
            if worker.process is None or worker.process.returncode is not None:
                await self._replace(worker)
            exec_id = f"{worker.generation}-{next(self._ids)}"
            future = pending.future
            worker.pending[exec_id] = pending
            worker.busy = True
            started = time.perf_counter()
            try:
                for attempt in (1, 2):
                    try:
                        await worker.send({**message, "op": "exec", "id": exec_id})
                        return await asyncio.wait_for(asyncio.shield(future), timeout_s + HANG_GRACE_S)
                    except WorkerCrashed:
                        if pending.started or attempt == 2:
                            raise
                    # it died before the exec started (killed while idle): run it on its replacement
                    await self._replace(worker)
                    future = asyncio.get_running_loop().create_future()
                    pending.future = future
                    worker.pending[exec_id] = pending
                raise WorkerCrashed("unreachable")
            except (TimeoutError, WorkerCrashed) as exc:
                reason = str(exc) or "it did not answer after the exec's time-out"
                if self.stopping:
                    error = "crash: the server stopped before the exec finished"
                else:
                    error = f"crash: the worker process died ({reason}); the interpreter state is lost"
                    with contextlib.suppress(Exception):  # else the next exec tries again
                        await self._replace(worker)
                return {"exit_code": -1, "stdout": "".join(pending.stdout), "stderr": "".join(pending.stderr),
                        "output_truncated": False, "state_lost": False, "error": error,
                        "duration_ms": (time.perf_counter() - started) * 1000}
            finally:
                worker.busy = False
                worker.pending.pop(exec_id, None)

    async def drop(self, index: int, session_id: str) -> None:
        worker = self.workers[index]
        with contextlib.suppress(WorkerCrashed):
            await worker.send({"op": "drop", "session": session_id})

    async def _replace(self, worker: WorkerProcess) -> None:
        """A new process in the place of a dead (or hung) one, with the runtimes loaded."""
        self.crashes += 1
        old = worker.process
        worker.process = None
        if old is not None and old.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                old.kill()
            await old.wait()
        await worker.spawn()
        for message in self.loaded.values():
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            worker.loads[message["language"]] = future
            await worker.send(message)
            await future

    async def stop(self, grace_s: float) -> None:
        """Wait up to ``grace_s`` for running execs (each holds its worker's lock), then end
        every worker."""
        self.stopping = True

        async def drained(worker: WorkerProcess) -> None:
            async with worker.lock:
                pass

        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(drained(w) for w in self.workers)), grace_s)
        for worker in self.workers:
            process = worker.process
            worker.process = None
            if process is not None and process.returncode is None:
                if process.stdin is not None:
                    process.stdin.close()
                try:
                    await asyncio.wait_for(process.wait(), 2.0)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
            worker._fail_all(WorkerCrashed("the server stopped"))
            if worker.reader is not None:
                worker.reader.cancel()

    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.pid is not None]

    def running(self) -> int:
        return sum(1 for w in self.workers if w.busy)
