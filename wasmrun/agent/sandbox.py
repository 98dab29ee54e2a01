"""The sandbox: sessions, their files and execs, with every limit; no HTTP. The server
(:mod:`wasmrun.agent.server`) and the MCP tools call only this class.

Under it: :mod:`~wasmrun.agent.sessions` (records on disk, expiry), :mod:`~wasmrun.agent.paths`
and :mod:`~wasmrun.agent.files` (the file API inside a session root, quotas),
:mod:`~wasmrun.agent.workers` (the pool, server side) and :mod:`~wasmrun.agent.worker` (one worker
process), and :mod:`wasmrun.agent.runtimes` (the runtime protocol; one module per language).

Threading model: every method runs on the server's asyncio loop (the file calls are synchronous
and short); execs run in worker processes (:mod:`wasmrun.agent.workers`). Execs on one session
run one after another (the session's lock), each worker runs one exec at a time, and at most
``max_concurrent_execs`` execs are accepted at once (running or queued): more is a
:class:`LimitExceeded`.

Quotas: a file call that would take the session past ``disk_bytes`` or ``max_files`` is refused
(429). An exec is stopped while it runs when a watcher in its worker sees the session past a
quota (``error`` "files" or "disk"); what it wrote stays, and until the session is back under its
quotas (delete files through the file API, or run code that does) every file write is refused
and every exec result's ``error`` says the session is over its quota.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from wasmrun.agent import files
from wasmrun.agent.errors import AgentError, BadRequest, LimitExceeded, Unavailable
from wasmrun.agent.models import ExecRequest, ExecResult, FileEntry, Limits, ServerLimits, SessionInfo
from wasmrun.agent.paths import parts
from wasmrun.agent.runtimes import Runtime, available
from wasmrun.agent.sessions import Session, SessionStore
from wasmrun.agent.workers import WorkerCrashed, WorkerPool

#: How often idle sessions are looked for and removed.
REAP_INTERVAL_S = 5.0
#: The largest file the file API reads back in one call.
MAX_READ_BYTES = 64 * 1024 * 1024
MAX_ENV = 256
MAX_ENV_BYTES = 64 * 1024
#: A runtime that failed to build or load is tried again after this many seconds, then after
#: twice as long each time, up to :data:`RETRY_MAX_S`.
RETRY_FIRST_S = 5.0
RETRY_MAX_S = 60.0


def retry_delay(attempt: int, first_s: float = RETRY_FIRST_S, max_s: float = RETRY_MAX_S) -> float:
    """The wait before try ``attempt + 2`` of a failed runtime: 5, 10, 20, 40, 60, 60, ... s."""
    return float(min(max_s, first_s * 2 ** min(attempt, 32)))


class Sandbox:
    def __init__(self, state_dir: Path, limits: ServerLimits, workers: int | None = None, *,
                 cache_dir: Path | None = None, package_cache: Path | None = None,
                 languages: tuple[str, ...] | None = None, retry_first_s: float = RETRY_FIRST_S,
                 retry_max_s: float = RETRY_MAX_S) -> None:
        """:param cache_dir: where runtimes are built and compiled (default: wasmrun's cache).
        :param package_cache: the READ-ONLY package cache shown to Python at ``/.packages``.
        :param languages: the runtimes to prepare (default: every one installed), by language.
        :param retry_first_s: a runtime that failed to build or load is tried again after this,
            then after twice as long each time, up to ``retry_max_s``."""
        self.state_dir = Path(state_dir)
        self.limits = limits
        self.cache_dir = cache_dir
        self.package_cache = package_cache
        self.sessions = SessionStore(self.state_dir, limits.max_sessions)
        self.pool = WorkerPool(workers or os.cpu_count() or 1)
        self.runtimes: dict[str, Runtime] = {}
        self.languages = languages
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self._ready: set[str] = set()  # runtime languages loaded in every worker
        self._failed: dict[str, str] = {}
        self._preparing: asyncio.Task[None] | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._retry_at = 0.0
        self._inflight = 0
        self._stopping = False
        self._started = False

    # -- life -----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the workers; build and load the runtimes in the background (see :meth:`not_ready`)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for session in self.sessions.load():
            session.worker = self.pool.pick()
            session.usage = files.usage(session.root)
        self.runtimes = {served: runtime for served, runtime in available().items()
                         if self.languages is None or runtime.language in self.languages}
        await self.pool.start()
        self._started = True
        self._preparing = asyncio.create_task(self._prepare())
        self._reaper = asyncio.create_task(self._reap())

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Wait for :meth:`start`'s background preparation (tests, benchmarks, the CLI's
        ``--wait``); raises :class:`Unavailable` as soon as a runtime failed (it is retried in the
        background meanwhile) or the sandbox stops."""

        async def settled() -> None:
            while not self._failed and not self._stopping and self.not_ready() is not None:
                if self._preparing is not None and self._preparing.done():
                    break
                await asyncio.sleep(0.05)

        await asyncio.wait_for(settled(), timeout_s)
        reason = self.not_ready()
        if reason is not None:
            raise Unavailable(reason)

    async def _prepare(self) -> None:
        """Build and load every runtime; one that fails is tried again after :func:`retry_delay`
        (a tool install or a build can fail for a passing reason: the network, a full disk), so
        the server becomes ready without a restart once the cause is gone."""
        cache = self.cache_dir or _default_cache()
        pending = list({id(r): r for r in self.runtimes.values()}.values())
        for attempt in itertools.count():
            failed = []
            for runtime in pending:
                try:
                    component = await _in_daemon_thread(runtime.build, cache)
                    await self.pool.load(runtime.language, str(component), str(cache / "agent" / "compiled"))
                except Exception as exc:  # noqa: BLE001 - reported by not_ready and /ready, then retried
                    self._failed[runtime.language] = f"{type(exc).__name__}: {exc}".splitlines()[0]
                    failed.append(runtime)
                else:
                    self._failed.pop(runtime.language, None)
                    self._ready.add(runtime.language)
            if not failed:
                return
            delay = retry_delay(attempt, self.retry_first_s, self.retry_max_s)
            self._retry_at = time.monotonic() + delay
            await asyncio.sleep(delay)
            pending = failed

    def not_ready(self, language: str | None = None) -> str | None:
        """Why the sandbox (or ``language``'s runtime) cannot run execs now; None when it can."""
        if self._stopping:
            return "the server is shutting down"
        if not self._started:
            return "the sandbox has not started"
        wanted = [language] if language is not None else sorted({r.language for r in self.runtimes.values()})
        for name in wanted:
            if name in self._failed:
                left = math.ceil(self._retry_at - time.monotonic())
                when = f"in {left} s" if left > 0 else "now"
                return f"the {name} runtime failed to load: {self._failed[name]} (trying again {when})"
            if name not in self._ready:
                return f"the {name} runtime is being prepared"
        return None

    def begin_stop(self) -> None:
        """Refuse new sessions and execs (503) from now on; running and queued execs go on.
        :meth:`stop` follows once they are done or the grace period is over."""
        self._stopping = True

    def busy(self) -> bool:
        """Whether execs are still accepted and not finished (running or waiting for their session)."""
        return self._inflight > 0

    async def stop(self, grace_s: float) -> None:
        """Refuse new execs; let running ones finish within ``grace_s``; end the workers."""
        self._stopping = True
        for task in (self._reaper, self._preparing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for session in self.sessions.all():
            with contextlib.suppress(OSError):
                session.save()
        await self.pool.stop(grace_s)

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL_S)
            for session in self.sessions.expired():
                await self._remove(session)

    # -- sessions -------------------------------------------------------------------------------

    def create_session(self, tenant: str, limits: dict[str, Any] | None = None,
                       tenant_ceiling: Limits | None = None) -> SessionInfo:
        """A new session; ``limits`` may only lower the server's (and the tenant's) limits."""
        if self._stopping:
            raise Unavailable("the server is shutting down")
        base = self.limits.session
        if tenant_ceiling is not None:  # the lower of the server's and the tenant's, field by field
            base = Limits(**{name: min(getattr(base, name), getattr(tenant_ceiling, name))
                             for name in Limits.model_fields})
        try:
            chosen = base.within(base, limits)
        except AgentError:
            raise
        except ValueError as exc:  # pydantic: a wrong type or a value out of range
            raise BadRequest(f"invalid limits: {_first_error(exc)}") from None
        session = self.sessions.create(tenant, chosen, self.pool.pick())
        return session.info()

    def list_sessions(self, tenant: str) -> list[SessionInfo]:
        return [s.info() for s in self.sessions.of_tenant(tenant)]

    def get_session(self, tenant: str, session_id: str) -> SessionInfo:
        return self.sessions.get(tenant, session_id).info()

    async def destroy_session(self, tenant: str, session_id: str) -> None:
        session = self.sessions.get(tenant, session_id)
        async with session.lock:  # a running exec finishes first
            await self._remove(session)

    async def _remove(self, session: Session) -> None:
        self.sessions.remove(session)
        self.pool.unpin(session.worker)
        await self.pool.drop(session.worker, session.id)

    # -- env ------------------------------------------------------------------------------------

    def get_env(self, tenant: str, session_id: str) -> dict[str, str]:
        return dict(self.sessions.get(tenant, session_id).env)

    def set_env(self, tenant: str, session_id: str, env: dict[str, str]) -> dict[str, str]:
        """Replace the session's env (merged under every exec's own ``env``)."""
        session = self.sessions.get(tenant, session_id)
        session.env = _checked_env(env)
        session.touch()
        session.save()
        return dict(session.env)

    # -- files ----------------------------------------------------------------------------------

    def write_file(self, tenant: str, session_id: str, path: str, data: bytes) -> FileEntry:
        session = self.sessions.get(tenant, session_id)
        if len(data) > self.limits.max_request_bytes:
            raise _too_large(len(data), self.limits)
        entry = files.write(session.root, path, data, session.usage, max_bytes=session.limits.disk_bytes,
                            max_entries=session.limits.max_files)
        session.touch()
        return entry

    def read_file(self, tenant: str, session_id: str, path: str) -> bytes:
        session = self.sessions.get(tenant, session_id)
        session.touch()
        return files.read(session.root, path, max_bytes=MAX_READ_BYTES)

    def list_files(self, tenant: str, session_id: str, path: str = "/") -> list[FileEntry]:
        session = self.sessions.get(tenant, session_id)
        session.touch()
        return files.listing(session.root, path, max_entries=session.limits.max_files + 1000)

    def delete_file(self, tenant: str, session_id: str, path: str) -> None:
        session = self.sessions.get(tenant, session_id)
        files.delete(session.root, path)
        session.usage = files.usage(session.root)
        session.touch()

    # -- execs ----------------------------------------------------------------------------------

    async def exec(self, tenant: str, session_id: str, request: ExecRequest,
                   on_output: Callable[[str, str], Awaitable[None]] | None = None) -> ExecResult:
        """Run ``request`` in the session; ``on_output(stream, text)`` as output arrives."""
        session = self.sessions.get(tenant, session_id)
        if self._stopping:
            raise Unavailable("the server is shutting down")
        runtime = self.runtimes.get(request.language)
        if runtime is None:
            raise BadRequest(f"{request.language} is not supported by this server")
        if runtime.language not in self._ready:
            raise Unavailable(self.not_ready(runtime.language) or f"the {runtime.language} runtime is not ready")
        if request.packages and runtime.installer is None:
            raise BadRequest(f"packages are not offered for {request.language}")
        if request.source is None and request.entry is None:
            raise BadRequest("give source, or files and entry")
        timeout = min(request.timeout or session.limits.timeout_s, session.limits.timeout_s)
        env = _checked_env({**session.env, **request.env})
        if self._inflight >= self.limits.max_concurrent_execs:
            raise LimitExceeded(f"the server runs its maximum of {self.limits.max_concurrent_execs} execs at once")
        self._inflight += 1
        session.running += 1
        try:
            async with session.lock:
                self.sessions.get(tenant, session_id)  # destroyed while it waited: 410
                return await self._run(session, runtime, request, timeout, env, on_output)
        finally:
            self._inflight -= 1
            session.running -= 1
            session.touch()

    async def _run(self, session: Session, runtime: Runtime, request: ExecRequest, timeout: float,
                   env: dict[str, str], on_output: Callable[[str, str], Awaitable[None]] | None) -> ExecResult:
        for path, text in (request.files or {}).items():
            files.write(session.root, path, text.encode("utf-8"), session.usage,
                        max_bytes=session.limits.disk_bytes, max_entries=session.limits.max_files)
        if request.source is not None:
            code, filename = request.source, runtime.default_filename
        else:
            assert request.entry is not None
            code = files.read(session.root, request.entry, max_bytes=MAX_READ_BYTES).decode("utf-8", "replace")
            filename = "/" + "/".join(parts(request.entry))
        if runtime.transform is not None:
            code = await asyncio.to_thread(runtime.transform, request.language, code, filename)
        search_path = await self._install_packages(runtime, request.packages) if request.packages else []
        limits = session.limits.model_dump()
        limits.update(timeout_s=timeout, used_entries=session.usage.entries, used_bytes=session.usage.bytes)
        message = {"session": session.id, "language": runtime.language, "root": str(session.root),
                   "packages": str(self._package_cache()) if runtime.package_cache else None,
                   "has_state": runtime.language in session.languages, "fresh": request.fresh, "limits": limits,
                   "memory_status": runtime.out_of_memory_status,
                   "idle_memory_bytes": self.limits.idle_memory_bytes // len(self.pool.workers),
                   "request": {"code": _text(code), "filename": filename, "stdin": _text(request.stdin),
                               "args": [_text(arg) for arg in request.args],
                               "env": {_text(k): _text(v) for k, v in env.items()}, "paths": search_path}}
        try:
            reply = await self.pool.exec(session.worker, message, timeout, on_output)
        except WorkerCrashed:  # only when the pool is stopping, before the exec started
            raise Unavailable("the server is shutting down") from None
        session.execs += 1
        session.languages.add(runtime.language)
        # counted to the end: the worker's quota watcher lets a session already over its quota
        # shrink (and not grow) from this count, so a short count would stop its clean-up at once
        session.usage = files.usage(session.root)
        error = reply.get("error")
        over = _over_quota(session)
        if over and error in (None, "files", "disk"):
            error = over
        elif over:
            error = f"{error}; {over}"
        elif error is None and reply["exit_code"] != 0 and _last_line(reply["stderr"]).startswith("MemoryError"):
            error = "memory"  # the interpreter survived it: its state is kept
        result = ExecResult(stdout=reply["stdout"], stderr=reply["stderr"], exit_code=int(reply["exit_code"]),
                            duration_ms=float(reply["duration_ms"]), output_truncated=bool(reply["output_truncated"]),
                            error=error, state_lost=bool(reply["state_lost"]))
        with contextlib.suppress(OSError):
            session.save()
        return result

    def _package_cache(self) -> Path:
        if self.package_cache is None:
            self.package_cache = (self.cache_dir or _default_cache()) / "agent" / "packages"
        self.package_cache.mkdir(parents=True, exist_ok=True)
        return self.package_cache

    async def _install_packages(self, runtime: Runtime, specs: list[str]) -> list[str]:
        """The guest directories (under ``/.packages``) of the packages, installed on the host by
        the runtime's installer (hostile input: :mod:`wasmrun.agent.packages` for Python wheels,
        :mod:`wasmrun.agent.npm_packages` for npm packages)."""
        import importlib

        assert runtime.installer is not None
        installer: Any = importlib.import_module(runtime.installer)
        paths: list[str] = await asyncio.to_thread(installer.install, list(specs), self._package_cache())
        return [str(path) for path in paths]

    # -- metrics --------------------------------------------------------------------------------

    def stats(self) -> dict[str, float]:
        every = self.sessions.all()
        return {
            "sessions": float(len(every)),
            "execs_in_flight": float(self._inflight),
            "execs_running": float(self.pool.running()),
            "workers": float(len(self.pool.pids())),
            "worker_restarts": float(self.pool.crashes),
            "session_disk_bytes": float(sum(s.usage.bytes for s in every)),
            "session_files": float(sum(s.usage.entries for s in every)),
            "runtimes_ready": float(len(self._ready)),
        }


async def _in_daemon_thread(work: Callable[[Path], Path], argument: Path) -> Path:
    """``work(argument)`` on a daemon thread: a first build takes minutes, and a server stopped
    meanwhile must not wait for it (``asyncio.to_thread``'s pool is joined at exit)."""
    import threading

    loop = asyncio.get_running_loop()
    done: asyncio.Future[Path] = loop.create_future()

    def settle(result: Path | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            assert result is not None
            done.set_result(result)

    def run() -> None:
        try:
            outcome: tuple[Path | None, BaseException | None] = (work(argument), None)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # the loop is gone: the server stopped meanwhile
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, daemon=True, name="wasmrun-agent-runtime-build").start()
    return await done


def _default_cache() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir


def _over_quota(session: Session) -> str | None:
    used, limits = session.usage, session.limits
    if used.entries > limits.max_files:
        return (f"files: the session holds more than its limit of {limits.max_files} files; "
                "delete some before writing more")
    if used.bytes > limits.disk_bytes:
        return (f"disk: the session holds {used.bytes} bytes, more than its quota of {limits.disk_bytes}; "
                "delete some before writing more")
    return None


def _text(text: str) -> str:
    """``text`` as valid Unicode: a JSON client can send lone surrogates (``"\\ud800"``), which
    no interpreter can take; they become U+FFFD (a surrogate pair becomes its character)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _last_line(text: str) -> str:
    lines = text.rstrip().splitlines()
    return lines[-1] if lines else ""


def _too_large(size: int, limits: ServerLimits) -> AgentError:
    from wasmrun.agent.errors import TooLarge

    return TooLarge(f"{size} bytes is more than the {limits.max_request_bytes} bytes a request may carry")


def _checked_env(env: dict[str, str]) -> dict[str, str]:
    if len(env) > MAX_ENV:
        raise BadRequest(f"at most {MAX_ENV} environment variables")
    if sum(len(k) + len(v) for k, v in env.items()) > MAX_ENV_BYTES:
        raise BadRequest(f"the environment is larger than {MAX_ENV_BYTES} bytes")
    for name, value in env.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise BadRequest("environment names and values must be strings")
        if not name or "=" in name or "\0" in name or "\0" in value:
            raise BadRequest(f"invalid environment variable name {name!r}")
    return dict(env)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', '')}"
    return str(exc).splitlines()[0]
