"""The HTTP API of agent mode: a Starlette app over the :class:`~wasmrun.agent.sandbox.Sandbox`.

Every route answers under ``/api/v1`` and without the prefix. The layers a request passes, outside
in: metrics (counts every answer), the guard (Host, Origin, content type, body cap: see
:mod:`wasmrun.agent.guard`), access (key, tenant rate: :mod:`wasmrun.agent.access`), then the route,
which parses its body with pydantic and calls :class:`~wasmrun.agent.operations.Operations`.
Errors are ``{"error": message, "code": code}`` with the status of their
:class:`~wasmrun.agent.errors.AgentError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from wasmrun.agent.access import Access, FailedAuthLimit
from wasmrun.agent.auth import AuthConfig
from wasmrun.agent.bodies import CreateSessionBody, EnvBody, PathBody, WriteFileBody
from wasmrun.agent.errors import AgentError, BadRequest, NotFound, Unavailable
from wasmrun.agent.guard import Guard, GuardOptions
from wasmrun.agent.metrics import CONTENT_TYPE, AgentMetrics, MetricsMiddleware
from wasmrun.agent.models import ExecRequest
from wasmrun.agent.operations import Operations
from wasmrun.agent.tools import anthropic_tools, openai_tools, validation_message

if TYPE_CHECKING:
    from wasmrun.agent.sandbox import Sandbox

API_PREFIX = "/api/v1"


@dataclass
class ServerOptions:
    """What the app needs from ``wasmrun agent``'s flags."""

    allowed_hosts: frozenset[str] | None  # see wasmrun.agent.guard.allowed_hosts
    auth: AuthConfig | None = None
    max_body_bytes: int = 16 * 1024 * 1024
    body_timeout_s: float = 30.0
    stream_max_s: float = 600.0  # a streamed exec's response ends after this, whatever the exec does
    heartbeat_s: float = 15.0  # an SSE comment this often keeps proxies from closing a quiet stream
    failed_auth: FailedAuthLimit = field(default_factory=FailedAuthLimit)
    mcp: bool = True  # serve MCP (streamable HTTP) at /mcp


class AgentState:
    """What the routes share: the sandbox, the operations over it, metrics, and the life cycle."""

    def __init__(self, sandbox: Sandbox, options: ServerOptions) -> None:
        self.sandbox = sandbox
        self.options = options
        self.metrics = AgentMetrics(sandbox.stats)
        self.ops = Operations(sandbox, self.metrics, options.auth)
        self.started = time.monotonic()
        self.shutting_down = False
        self.background: set[asyncio.Task[Any]] = set()


def _state(request: Request) -> AgentState:
    state: AgentState = request.app.state.agent
    return state


def _tenant(request: Request) -> str:
    tenant: str = request.scope["state"]["tenant"]
    return tenant


async def _json_body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise BadRequest("the request needs a JSON body")
        return {}
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


def _validated(model: Any, data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from None


# -- routes -----------------------------------------------------------------------------------

async def health(request: Request) -> Response:
    from wasmrun import __version__

    state = _state(request)
    return JSONResponse({"status": "ok", "version": __version__,
                         "uptime_seconds": round(time.monotonic() - state.started, 1)})


async def ready(request: Request) -> Response:
    state = _state(request)
    reason = "the server is shutting down" if state.shutting_down else state.sandbox.not_ready()
    if reason is None:
        return JSONResponse({"status": "ready"})
    body = {**Unavailable(f"not ready: {reason}").body(), "status": "unready", "reason": reason}
    return JSONResponse(body, status_code=503)


async def metrics(request: Request) -> Response:
    return Response(_state(request).metrics.text(), media_type=CONTENT_TYPE)


async def tools(request: Request) -> Response:
    fmt = request.query_params.get("format", "openai")
    if fmt not in ("openai", "anthropic"):
        raise BadRequest("format must be 'openai' or 'anthropic'")
    return JSONResponse(anthropic_tools() if fmt == "anthropic" else openai_tools())


async def sessions(request: Request) -> Response:
    state, tenant = _state(request), _tenant(request)
    if request.method == "GET":
        return JSONResponse(state.ops.list_sessions(tenant))
    if state.shutting_down:
        raise Unavailable("the server is shutting down")
    body = _validated(CreateSessionBody, await _json_body(request, required=False))
    return JSONResponse(state.ops.create_session(tenant, body.limits))


async def session(request: Request) -> Response:
    state, tenant, session_id = _state(request), _tenant(request), request.path_params["session_id"]
    if request.method == "GET":
        return JSONResponse(state.ops.get_session(tenant, session_id))
    return JSONResponse(await state.ops.destroy_session(tenant, session_id))


async def execute(request: Request) -> Response:
    state, tenant, session_id = _state(request), _tenant(request), request.path_params["session_id"]
    if state.shutting_down:
        raise Unavailable("the server is shutting down")
    exec_request: ExecRequest = _validated(ExecRequest, await _json_body(request))
    if not exec_request.stream:
        return JSONResponse(await state.ops.exec(tenant, session_id, exec_request))
    state.sandbox.get_session(tenant, session_id)  # an unknown or expired session: a plain 404/410
    return _stream(state, tenant, session_id, exec_request)


def _stream(state: AgentState, tenant: str, session_id: str, exec_request: ExecRequest) -> Response:
    """Server-Sent Events: ``output`` events (``{"stdout": text, "stderr": text}``, the Rust
    wasmrun's) as the program writes, then one ``result`` event with the exec's result, or one
    ``error`` event (``{"error", "code"}``) when the exec was refused or the stream ran past its
    maximum duration. The exec is never cancelled by a client going away: it ends by its limits."""
    from sse_starlette import EventSourceResponse

    queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()

    async def on_output(stream: str, text: str) -> None:
        queue.put_nowait((stream, text))

    task = asyncio.create_task(state.ops.exec(tenant, session_id, exec_request, on_output))
    state.background.add(task)
    task.add_done_callback(state.background.discard)
    task.add_done_callback(lambda _task: queue.put_nowait(None))

    async def events() -> AsyncIterator[dict[str, str]]:
        deadline = time.monotonic() + state.options.stream_max_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                body = {"error": f"the stream ended after its maximum of {state.options.stream_max_s:g} s "
                                 "(the exec goes on within its own limits)", "code": "stream_timeout"}
                yield {"event": "error", "data": json.dumps(body)}
                return
            try:
                item = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError:
                continue
            if item is None:
                break
            stream, text = item
            yield {"event": "output", "data": json.dumps({"stdout": text if stream == "stdout" else "",
                                                          "stderr": text if stream == "stderr" else ""})}
        error = task.exception()
        if isinstance(error, AgentError):
            yield {"event": "error", "data": json.dumps(error.body())}
        elif error is not None:
            yield {"event": "error", "data": json.dumps({"error": "internal error", "code": "internal"})}
        else:
            yield {"event": "result", "data": json.dumps(task.result())}

    return EventSourceResponse(events(), ping=state.options.heartbeat_s,
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def files(request: Request) -> Response:
    state, tenant, session_id = _state(request), _tenant(request), request.path_params["session_id"]
    ops, query = state.ops, request.query_params
    if request.method == "POST":
        body = _validated(WriteFileBody, await _json_body(request))
        return JSONResponse(ops.write_file(tenant, session_id, body))
    if request.method == "DELETE":
        path = query.get("path")
        if path is None:
            path = _validated(PathBody, await _json_body(request)).path
        return JSONResponse(ops.delete_file(tenant, session_id, path))
    if query.get("list", "").lower() in ("true", "1", "yes"):
        return JSONResponse(ops.list_files(tenant, session_id, query.get("path", "/")))
    path = query.get("path")
    if not path:
        raise BadRequest("give ?path=FILE to read, or ?list=true to list")
    return JSONResponse(ops.read_file(tenant, session_id, path, query.get("encoding")))


async def env(request: Request) -> Response:
    state, tenant, session_id = _state(request), _tenant(request), request.path_params["session_id"]
    if request.method == "GET":
        return JSONResponse(state.ops.get_env(tenant, session_id))
    try:
        body = EnvBody.parse(await _json_body(request))
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from None
    return JSONResponse(state.ops.set_env(tenant, session_id, body.env))


def _routes(extra: list[BaseRoute]) -> list[BaseRoute]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/tools", tools, methods=["GET"]),
        Route("/sessions", sessions, methods=["GET", "POST"]),
        Route("/sessions/{session_id}", session, methods=["GET", "DELETE"]),
        Route("/sessions/{session_id}/exec", execute, methods=["POST"]),
        Route("/sessions/{session_id}/files", files, methods=["GET", "POST", "DELETE"]),
        Route("/sessions/{session_id}/env", env, methods=["GET", "POST"]),
        *extra,
    ]


# -- errors -----------------------------------------------------------------------------------

async def _agent_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AgentError)
    headers = {"Retry-After": "1"} if exc.status == 429 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return JSONResponse(NotFound(f"no such endpoint: {request.method} {request.url.path}").body(), status_code=404)
    code = "method_not_allowed" if exc.status_code == 405 else "bad_request"
    return JSONResponse({"error": str(exc.detail), "code": code}, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    print(f"wasmrun agent: internal error on {request.method} {request.url.path}: "
          f"{type(exc).__name__}: {exc}", file=sys.stderr)
    return JSONResponse({"error": "internal error", "code": "internal"}, status_code=500)


# -- the app ----------------------------------------------------------------------------------

def create_app(sandbox: Sandbox, options: ServerOptions,
               on_started: Callable[[], Awaitable[None]] | None = None) -> Starlette:
    """The ASGI app over a sandbox the caller starts before serving and stops after (see
    :func:`wasmrun.agent.serve.serve`); ``on_started`` runs once the app is up."""
    state = AgentState(sandbox, options)
    extra: list[BaseRoute] = []
    mcp_manager = None
    if options.mcp:
        from wasmrun.agent.mcp_server import http_endpoint

        mcp_manager, endpoint = http_endpoint(state.ops, options.max_body_bytes)
        extra.append(Route("/mcp", endpoint, methods=["GET", "POST", "DELETE"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if mcp_manager is not None:
                await stack.enter_async_context(mcp_manager.run())
            if on_started is not None:
                await on_started()
            try:
                yield
            finally:
                state.shutting_down = True

    routes = _routes(extra)
    app = Starlette(
        routes=[*routes, Mount(API_PREFIX, routes=_routes(list(extra)))],
        middleware=[
            Middleware(MetricsMiddleware, metrics=state.metrics),
            Middleware(Guard, options=GuardOptions(options.allowed_hosts, options.max_body_bytes,
                                                   options.body_timeout_s)),
            Middleware(Access, auth=options.auth, metrics=state.metrics, failed=options.failed_auth),
        ],
        exception_handlers={AgentError: _agent_error, HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.agent = state
    return app
