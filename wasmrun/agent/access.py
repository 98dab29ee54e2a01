"""Who is calling: the Bearer key check, the tenant's request rate, and the limit on failed
authentications per client address (so keys cannot be guessed at speed).

Without an auth file every caller is the one tenant ``local`` (the server then listens on
loopback only). ``GET /health`` and ``GET /ready`` need no key; everything else does, ``/metrics``
and ``/mcp`` included. The tenant is put in ``scope["state"]["tenant"]`` for the routes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from wasmrun.agent.auth import LOCAL_TENANT, AuthConfig, Tenant
from wasmrun.agent.errors import LimitExceeded, Unauthorized
from wasmrun.agent.guard import error_response
from wasmrun.agent.metrics import AgentMetrics
from wasmrun.agent.ratelimit import Buckets, TokenBucket

PUBLIC_PATHS = {"/health", "/ready", "/api/v1/health", "/api/v1/ready"}


@dataclass(frozen=True)
class FailedAuthLimit:
    """Failed authentications one address may make: ``burst`` at once, then one per
    ``60 / per_min`` seconds; past that even a right key is refused (429) until the bucket refills."""

    per_min: float = 10.0
    burst: float = 10.0


class Access:
    """ASGI middleware: authenticate, then rate-limit, then pass on with the tenant in the scope."""

    def __init__(self, app: ASGIApp, auth: AuthConfig | None, metrics: AgentMetrics,
                 failed: FailedAuthLimit = FailedAuthLimit()) -> None:
        self.app = app
        self.auth = auth
        self.metrics = metrics
        self.failures = Buckets(lambda _address: TokenBucket(failed.per_min / 60.0, failed.burst))
        self.tenant_rates = Buckets(self._tenant_bucket)

    def _tenant_bucket(self, tenant_id: str) -> TokenBucket | None:
        tenant = self.auth.tenant(tenant_id) if self.auth else None
        if tenant is None or tenant.rate.max_requests_per_min is None:
            return None
        return TokenBucket(tenant.rate.max_requests_per_min / 60.0, tenant.rate.burst or 1.0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if self.auth is None:
            state["tenant"] = LOCAL_TENANT
            state["tenant_config"] = None
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        wait = self.failures.wait_s(address)
        if wait > 0:
            self.metrics.refused.labels("failed_auth_rate").inc()
            await _refuse(send, LimitExceeded("too many failed authentications from this address; "
                                              f"retry in {math.ceil(wait)} s"), wait)
            return
        headers = dict(scope["headers"])
        tenant: Tenant | None = self.auth.resolve(headers.get(b"authorization", b"").decode("latin-1"))
        if tenant is None:
            self.failures.take(address)
            self.metrics.auth_failures.inc()
            await _refuse(send, Unauthorized("missing or invalid API key (expected 'Authorization: Bearer KEY')"))
            return
        wait = self.tenant_rates.take(tenant.id)
        if wait > 0:
            self.metrics.refused.labels("tenant_rate").inc()
            await _refuse(send, LimitExceeded(f"request rate of tenant '{tenant.id}' exceeded; "
                                              f"retry in {math.ceil(wait)} s"), wait)
            return
        state["tenant"] = tenant.id
        state["tenant_config"] = tenant
        await self.app(scope, receive, send)


async def _refuse(send: Send, exc: LimitExceeded | Unauthorized, retry_after: float | None = None) -> None:
    status, headers, body = error_response(exc)
    if retry_after is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(retry_after))).encode()))
    if isinstance(exc, Unauthorized):
        headers.append((b"www-authenticate", b'Bearer realm="wasmrun agent"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
