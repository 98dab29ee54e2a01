"""Running agent mode: the API server on uvicorn, or MCP on stdio.

The listening socket is bound here first (so a taken port or a refused address is one clear line,
and ``--port 0`` has a real port to announce); the sandbox starts before the server and stops
after it. uvicorn closes idle keep-alive connections after a few seconds, caps header size and
the number of open connections, and a request's headers must arrive within 10 s
(:mod:`wasmrun.agent.connections`). SIGTERM (or Ctrl-C) starts a drain: the server still answers,
but ``/ready``, new sessions and new execs say 503 "shutting down", until the running execs are
done or the grace period is over; then it stops accepting, lets the open requests finish within
what is left of the grace period, and stops the sandbox's workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import uvicorn

from wasmrun.agent.auth import AuthConfig, load_auth
from wasmrun.agent.connections import DeadlineH11Protocol
from wasmrun.agent.models import ServerLimits
from wasmrun.errors import EXIT_INTERRUPTED, EXIT_OK, UsageError

DEFAULT_PORT = 8430
READY_WAIT_S = 900.0  # MCP on stdio: an exec waits this long for the runtimes (the first build)


@dataclass
class AgentOptions:
    """The flags of ``wasmrun agent``."""

    state_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    auth_file: Path | None = None
    limits: ServerLimits = field(default_factory=ServerLimits)
    workers: int | None = None
    grace_s: float = 10.0
    allow_hosts: list[str] = field(default_factory=list)
    max_connections: int = 1000
    keep_alive_s: int = 5


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, with_auth: bool) -> None:
    """Anything but loopback runs other people's code for whoever reaches the port: only with keys."""
    if not is_loopback(host) and not with_auth:
        raise UsageError(f"--host {host} is not a loopback address: agent mode runs code for whoever can reach "
                         "it, so it listens elsewhere only with --auth FILE (API keys)")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket. Made with ``IPPROTO_TCP`` named (not ``socket.create_server``'s 0),
    since asyncio sets ``TCP_NODELAY`` only on connections of such sockets: without it a response's
    headers and body wait on the client's delayed ACK, 40 ms a request."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP,
                                   flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"cannot listen on {host}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def prepare_state_dir(path: Path) -> None:
    """Make ``--state-dir`` (and check it is a writable directory) before anything starts."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "not writable")
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise UsageError(f"cannot use --state-dir {path}: {reason}") from None


def _load_auth(options: AgentOptions) -> AuthConfig | None:
    return None if options.auth_file is None else load_auth(options.auth_file, options.limits.session)


def serve(options: AgentOptions, announce: Callable[[str], None]) -> int:
    """Serve until SIGTERM (exit code 0) or Ctrl-C (130); ``announce`` gets the line saying where."""
    auth = _load_auth(options)
    check_bind(options.host, auth is not None)
    prepare_state_dir(options.state_dir)
    sock = bind(options.host, options.port)
    try:
        return _serve_on(sock, options, auth, announce)
    finally:
        sock.close()


def _serve_on(sock: socket.socket, options: AgentOptions, auth: AuthConfig | None,
              announce: Callable[[str], None]) -> int:
    from wasmrun.agent.guard import allowed_hosts
    from wasmrun.agent.sandbox import Sandbox
    from wasmrun.agent.server import ServerOptions, create_app

    port = sock.getsockname()[1]
    shown_host = f"[{options.host}]" if ":" in options.host and not options.host.startswith("[") else options.host
    sandbox = Sandbox(options.state_dir, options.limits, options.workers)
    server_options = ServerOptions(
        allowed_hosts=allowed_hosts(options.host, port, options.allow_hosts), auth=auth,
        max_body_bytes=options.limits.max_request_bytes,
        stream_max_s=options.limits.session.timeout_s + 60.0,
    )

    async def started() -> None:
        where = "no keys, loopback only" if auth is None else f"{len(auth.tenants)} tenant(s)"
        announce(f"wasmrun agent: serving http://{shown_host}:{port}/api/v1 ({where}); "
                 f"MCP at /mcp; press Ctrl-C to stop")

    app = create_app(sandbox, server_options, on_started=started)
    config = uvicorn.Config(
        app, http=DeadlineH11Protocol, log_level="warning", access_log=False, server_header=False, lifespan="on",
        timeout_keep_alive=options.keep_alive_s, timeout_graceful_shutdown=max(1, round(options.grace_s)),
        h11_max_incomplete_event_size=64 * 1024, limit_concurrency=options.max_connections,
    )

    def draining() -> None:
        app.state.agent.shutting_down = True
        sandbox.begin_stop()

    server = _Server(config, on_exit=draining, busy=sandbox.busy, grace_s=options.grace_s)
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _CutOffRequests) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(_CutOffRequests())

    async def main() -> None:
        await sandbox.start()
        try:
            await server.serve(sockets=[sock])
        finally:
            spent = time.monotonic() - server.exit_requested_at if server.exit_requested_at else 0.0
            with _signals_end_workers(sandbox.pool.pids):
                await sandbox.stop(max(0.0, options.grace_s - spent))

    asyncio.run(main())
    return EXIT_INTERRUPTED if server.exit_signal == signal.SIGINT else EXIT_OK


class _Server(uvicorn.Server):
    """uvicorn's server, with a drain before its shutdown and the signal that stopped it kept (and
    not raised again afterwards, as uvicorn does: SIGTERM is how agent mode is meant to stop, so it
    ends with exit code 0).

    On the first SIGTERM or Ctrl-C the server goes on listening while it drains: ``on_exit`` makes
    ``/ready`` and new sessions and execs answer 503 (so a load balancer sees the instance leave
    and clients get a reason, not a refused connection), and running execs go on. Once
    ``busy()`` is false, or ``grace_s`` has passed, uvicorn's own shutdown follows (it stops
    listening and waits for the open requests with what is left of the grace period). A second
    signal stops draining at once (a second Ctrl-C: without waiting for anything)."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None], busy: Callable[[], bool],
                 grace_s: float) -> None:
        super().__init__(config)
        self.exit_signal: int | None = None
        self.exit_requested_at: float | None = None
        self._on_exit = on_exit
        self._busy = busy
        self._grace_s = grace_s

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.exit_signal is None:
            self.exit_signal = sig
            self.exit_requested_at = time.monotonic()
            self._on_exit()
            print("wasmrun agent: stopping; running execs may finish (Ctrl-C again: stop now)",
                  file=sys.stderr, flush=True)
            return  # drain first: see on_tick
        self._end_drain()  # a second signal: stop draining
        if sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: nor wait for open requests

    async def on_tick(self, counter: int) -> bool:
        """Every 0.1 s: while draining, end the drain once no exec runs or the grace is over."""
        if self.exit_requested_at is not None and not self.should_exit and (
                not self._busy() or time.monotonic() - self.exit_requested_at >= self._grace_s):
            self._end_drain()
        return await super().on_tick(counter)

    def _end_drain(self) -> None:
        if self.exit_requested_at is not None:  # uvicorn waits for open requests with what is left
            left = self._grace_s - (time.monotonic() - self.exit_requested_at)
            self.config.timeout_graceful_shutdown = max(1, math.ceil(left))
        self.should_exit = True


class _CutOffRequests(logging.Filter):
    """uvicorn's words when the grace period ends with requests still open: its line about
    cancelling them said as wasmrun says things, and no traceback for each cancelled request (an
    exec cut off by the stop, not an error of the server)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Cancel %s running task(s)"):
            count = record.args[0] if isinstance(record.args, tuple) and record.args else "the"
            print(f"wasmrun agent: the grace period is over: {count} open request(s) cut off",
                  file=sys.stderr, flush=True)
            return False
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


@contextlib.contextmanager
def _signals_end_workers(pids: Callable[[], list[int]]) -> Iterator[None]:
    """While the workers are stopped, after the server: a further SIGTERM or Ctrl-C ends them at
    once, and the exit code stays the first signal's (Python's own handling would end wasmrun
    with 143, or a KeyboardInterrupt, with the workers left behind)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def end_now(sig: int, frame: FrameType | None) -> None:
        for pid in pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    previous = {sig: signal.signal(sig, end_now) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_mcp_stdio(options: AgentOptions) -> int:
    """``wasmrun agent --mcp``: MCP on stdin/stdout as the local tenant, until stdin closes."""
    from wasmrun.agent.mcp_server import serve_stdio
    from wasmrun.agent.metrics import AgentMetrics
    from wasmrun.agent.operations import Operations
    from wasmrun.agent.sandbox import Sandbox

    prepare_state_dir(options.state_dir)
    sandbox = Sandbox(options.state_dir, options.limits, options.workers)

    async def main() -> None:
        await sandbox.start()
        try:
            await serve_stdio(Operations(sandbox, AgentMetrics(sandbox.stats), None, wait_ready_s=READY_WAIT_S))
        finally:
            await sandbox.stop(options.grace_s)

    asyncio.run(main())
    return EXIT_OK
