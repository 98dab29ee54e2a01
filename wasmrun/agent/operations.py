"""What each API call does, once, for the HTTP routes and the tools (``/tools`` and MCP) alike:
the tenant's limits and exec cap applied, files encoded, results shaped as JSON-ready dicts.

The sandbox work itself is :class:`wasmrun.agent.sandbox.Sandbox`'s; this layer adds only what the
edge knows (who the tenant is, its limits and caps from the auth file, metrics).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from wasmrun.agent.auth import AuthConfig
from wasmrun.agent.bodies import WriteFileBody
from wasmrun.agent.errors import BadRequest, LimitExceeded
from wasmrun.agent.metrics import AgentMetrics
from wasmrun.agent.models import ExecRequest, FileEntry, SessionInfo

if TYPE_CHECKING:
    from wasmrun.agent.sandbox import Sandbox

OnOutput = Callable[[str, str], Awaitable[None]]


def session_json(info: SessionInfo) -> dict[str, Any]:
    return {**info.model_dump(mode="json"), "state": "active"}


def entry_json(entry: FileEntry) -> dict[str, Any]:
    return {"name": entry.path.rstrip("/").rsplit("/", 1)[-1], **entry.model_dump(mode="json")}


class Operations:
    def __init__(self, sandbox: Sandbox, metrics: AgentMetrics, auth: AuthConfig | None,
                 wait_ready_s: float | None = None) -> None:
        """:param wait_ready_s: an exec that comes while the runtimes are still prepared waits up
        to this long for them (MCP on stdio, whose client cannot see ``/ready``); None: it is
        refused at once with 503 (HTTP, whose clients poll ``/ready``)."""
        self.sandbox = sandbox
        self.metrics = metrics
        self.auth = auth
        self.wait_ready_s = wait_ready_s
        self._running: Counter[str] = Counter()  # execs running per tenant

    # sessions
    def create_session(self, tenant: str, limits: dict[str, Any] | None) -> dict[str, Any]:
        config = self.auth.tenant(tenant) if self.auth else None
        if config is None:
            info = self.sandbox.create_session(tenant, limits)
        else:
            info = self.sandbox.create_session(tenant, limits, tenant_ceiling=config.limits)
        return session_json(info)

    def list_sessions(self, tenant: str) -> dict[str, Any]:
        sessions = [session_json(s) for s in self.sandbox.list_sessions(tenant)]
        return {"count": len(sessions), "sessions": sessions}

    def get_session(self, tenant: str, session_id: str) -> dict[str, Any]:
        return session_json(self.sandbox.get_session(tenant, session_id))

    async def destroy_session(self, tenant: str, session_id: str) -> dict[str, Any]:
        await self.sandbox.destroy_session(tenant, session_id)
        return {"message": f"Session {session_id} destroyed", "session_id": session_id}

    # execs
    async def exec(self, tenant: str, session_id: str, request: ExecRequest,
                   on_output: OnOutput | None = None) -> dict[str, Any]:
        if request.source is None and not request.files:
            raise BadRequest("give 'source', or 'files' and 'entry'")
        if request.files and request.source is None and not request.entry:
            raise BadRequest("'files' needs 'entry': the file to run")
        if self.wait_ready_s is not None and self.sandbox.not_ready() is not None:
            await self.sandbox.wait_ready(self.wait_ready_s)
        config = self.auth.tenant(tenant) if self.auth else None
        cap = config.rate.max_concurrent_exec if config else None
        if cap is not None and self._running[tenant] >= cap:
            self.metrics.refused.labels("tenant_execs").inc()
            raise LimitExceeded(f"tenant '{tenant}' already runs {cap} exec(s) at once, its cap")
        self._running[tenant] += 1
        started = time.perf_counter()
        try:
            result = await self.sandbox.exec(tenant, session_id, request, on_output)
        finally:
            self._running[tenant] -= 1
            if not self._running[tenant]:
                del self._running[tenant]
        self.metrics.exec_done(request.language, time.perf_counter() - started, result.exit_code, result.error)
        dumped: dict[str, Any] = result.model_dump(mode="json")
        return dumped

    # files
    def write_file(self, tenant: str, session_id: str, body: WriteFileBody) -> dict[str, Any]:
        if body.encoding == "base64":
            try:
                data = base64.b64decode(body.content, validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest("content is not valid base64") from None
        else:
            data = body.content.encode("utf-8")
        entry = self.sandbox.write_file(tenant, session_id, body.path, data)
        return {"message": f"Written: {body.path}", **entry_json(entry)}

    def read_file(self, tenant: str, session_id: str, path: str, encoding: str | None = None) -> dict[str, Any]:
        """The file's text when it is UTF-8 (and base64 was not asked for), else base64."""
        if encoding not in (None, "utf-8", "base64"):
            raise BadRequest("encoding must be 'utf-8' or 'base64'")
        data = self.sandbox.read_file(tenant, session_id, path)
        if encoding != "base64":
            try:
                return {"path": path, "content": data.decode("utf-8"), "encoding": "utf-8"}
            except UnicodeDecodeError:
                if encoding == "utf-8":
                    raise BadRequest(f"{path} is not UTF-8 text: read it with encoding=base64") from None
        return {"path": path, "content": base64.b64encode(data).decode("ascii"), "encoding": "base64"}

    def list_files(self, tenant: str, session_id: str, path: str = "/") -> dict[str, Any]:
        entries = [entry_json(e) for e in self.sandbox.list_files(tenant, session_id, path)]
        return {"path": path, "entries": entries}

    def delete_file(self, tenant: str, session_id: str, path: str) -> dict[str, Any]:
        self.sandbox.delete_file(tenant, session_id, path)
        return {"message": f"Deleted: {path}", "path": path}

    # environment
    def get_env(self, tenant: str, session_id: str) -> dict[str, Any]:
        return {"env": self.sandbox.get_env(tenant, session_id)}

    def set_env(self, tenant: str, session_id: str, env: dict[str, str]) -> dict[str, Any]:
        """Add or overwrite variables; the others stay (as the Rust wasmrun's ``POST /env``)."""
        merged = self.sandbox.set_env(tenant, session_id, {**self.sandbox.get_env(tenant, session_id), **env})
        return {"message": f"Set {len(env)} environment variable(s)", "env": merged}
