"""Errors a client of the agent API can cause: each carries the HTTP status and the stable
``code`` string that the API returns as ``{"error": message, "code": code}``."""

from __future__ import annotations


class AgentError(Exception):
    """A refusal the client can act on; never a server fault."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error": self.message, "code": self.code}


class BadRequest(AgentError):
    status, code = 400, "bad_request"


class Unauthorized(AgentError):
    status, code = 401, "unauthorized"


class Forbidden(AgentError):
    """A request from a web page (Host or Origin not the server's own): refused so that a site
    the user visits cannot drive the API."""

    status, code = 403, "forbidden"


class NotFound(AgentError):
    """An unknown session id, another tenant's session, or a missing file."""

    status, code = 404, "not_found"


class Gone(AgentError):
    """A session that expired (idle too long) or was destroyed."""

    status, code = 410, "session_expired"


class TooLarge(AgentError):
    """A request body, upload or file over its size cap."""

    status, code = 413, "too_large"


class LimitExceeded(AgentError):
    """A cap was reached: sessions, concurrent execs, disk quota, file count, request rate."""

    status, code = 429, "limit_exceeded"


class Unavailable(AgentError):
    """Not ready yet (language runtimes still being prepared) or shutting down."""

    status, code = 503, "unavailable"


class SlowRequest(AgentError):
    """A request body that did not arrive in time (a slow or stalled client)."""

    status, code = 408, "request_timeout"


class UnsupportedMediaType(AgentError):
    """A request body that is not ``application/json``: what a plain HTML form or a "simple"
    cross-site request would send, so refusing it keeps web pages from driving the API."""

    status, code = 415, "unsupported_media_type"
