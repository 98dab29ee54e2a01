"""Prometheus metrics of one agent server (``GET /metrics``), on a registry of its own so that two
servers in one process (tests) do not mix their counts.

Counters and histograms are kept here as requests go by; gauges (sessions, running execs,
workers, ...) are read from :meth:`Sandbox.stats` at each scrape. Labels are bounded: a route is
its template (``/sessions/{id}/exec``), never a session id.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_PREFIX = "/api/v1"
_SESSION_PATH = re.compile(r"^/sessions/[^/]+(/(exec|files|env))?/?$")
_FIXED_ROUTES = {"/health", "/ready", "/metrics", "/sessions", "/tools", "/mcp"}


def route_label(path: str) -> str:
    """The route template of a request path (``/api/v1/sessions/abc/exec`` -> ``/sessions/{id}/exec``)."""
    if path.startswith(_PREFIX):
        path = path[len(_PREFIX):] or "/"
    path = path.rstrip("/") or "/"
    if path in _FIXED_ROUTES:
        return path
    match = _SESSION_PATH.match(path)
    if match:
        return "/sessions/{id}" + (match.group(1) or "")
    return "other"


class _StatsCollector(Collector):
    def __init__(self, stats: Callable[[], dict[str, float]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, value in sorted(self._stats().items()):
            safe = re.sub(r"[^a-zA-Z0-9_]", "_", name)
            yield GaugeMetricFamily(f"wasmrun_agent_{safe}", f"sandbox gauge {name}", value=float(value))


class AgentMetrics:
    def __init__(self, stats: Callable[[], dict[str, float]]) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` twin of every counter: noise for a scrape
        self.registry = CollectorRegistry()
        self.requests = Counter("wasmrun_agent_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.request_seconds = Histogram("wasmrun_agent_request_seconds", "time to answer a request",
                                         ["route"], registry=self.registry)
        self.execs = Counter("wasmrun_agent_execs", "execs finished", ["language", "outcome"],
                             registry=self.registry)
        self.exec_seconds = Histogram("wasmrun_agent_exec_seconds", "wall time of execs", ["language"],
                                      buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
                                      registry=self.registry)
        self.auth_failures = Counter("wasmrun_agent_auth_failures", "requests with a missing or wrong key",
                                     registry=self.registry)
        self.refused = Counter("wasmrun_agent_refused", "requests refused at the edge or by a cap",
                               ["reason"], registry=self.registry)
        self.registry.register(_StatsCollector(stats))

    def exec_done(self, language: str, seconds: float, exit_code: int, error: str | None) -> None:
        # the error's kind only ("crash: <message>" -> "crash"): a label takes few values
        kind = re.split(r"[:;]", error, maxsplit=1)[0].strip()[:16] if error else ""
        outcome = kind or ("ok" if exit_code == 0 else "exit_nonzero")
        self.execs.labels(language, outcome).inc()
        self.exec_seconds.labels(language).observe(seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP response by method, route template and status, and times it."""

    def __init__(self, app: ASGIApp, metrics: AgentMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = route_label(scope["path"])
            self.metrics.requests.labels(scope["method"], route, str(status[0])).inc()
            self.metrics.request_seconds.labels(route).observe(time.perf_counter() - started)
