"""The edge checks every request passes before any route sees it, so that a web page the user
visits cannot drive the API (DNS rebinding, cross-site forms and fetches) and a client cannot make
the server buffer more than it allows:

- the ``Host`` header must name this server (its loopback name or address and port, or a name given
  with ``--allow-host``): a rebinding page's requests carry its own host name;
- an ``Origin`` header other than the server's own, or ``Sec-Fetch-Site: cross-site``, is refused:
  the API serves no pages, so any browser origin is a foreign page;
- a request with a body must say ``Content-Type: application/json`` (415 otherwise): a form or a
  "simple" cross-site request cannot;
- a body over the cap is refused (413) from its ``Content-Length`` before it is read, or as soon as
  the bytes read pass the cap; a body that stalls is cut after ``body_timeout_s`` (408).

Each refusal is ``{"error", "code"}`` JSON with its status, the same as the routes' errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wasmrun.agent.errors import AgentError, Forbidden, SlowRequest, TooLarge, UnsupportedMediaType

_BODY_METHODS = {b"POST", b"PUT", b"PATCH", b"DELETE"}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class GuardOptions:
    #: Host header values accepted ("name:port", lower case); None accepts any (a wildcard bind
    #: behind a proxy, where --auth is required anyway).
    allowed_hosts: frozenset[str] | None
    max_body_bytes: int
    body_timeout_s: float = 30.0


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The Host values a server bound to ``host:port`` answers: every loopback spelling for a
    loopback bind, the address itself otherwise, plus ``extra`` names (with or without a port);
    None for a wildcard bind (0.0.0.0, ::) without ``extra``."""
    names: set[str] = set()
    for name in extra:
        name = name.lower().strip()
        names.add(name if _has_port(name) else f"{name}:{port}")
        if not _has_port(name) and port in (80, 443):
            names.add(name)
    if host in ("0.0.0.0", "::", ""):
        return frozenset(names) if names else None
    spelled = f"[{host}]" if ":" in host and not host.startswith("[") else host
    if spelled in LOOPBACK_NAMES:
        names.update(f"{n}:{port}" for n in LOOPBACK_NAMES)
    else:
        names.add(f"{spelled.lower()}:{port}")
    return frozenset(names)


def _has_port(name: str) -> bool:
    return name.rsplit(":", 1)[-1].isdigit() and not name.endswith("]")


def error_response(exc: AgentError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(exc.body()).encode()
    return exc.status, [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())], body


async def send_error(send: Send, exc: AgentError) -> None:
    status, headers, body = error_response(exc)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware applying the checks above to every HTTP request."""

    def __init__(self, app: ASGIApp, options: GuardOptions) -> None:
        self.app = app
        self.options = options

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            declared = self.check(scope)
        except AgentError as exc:  # answered before the body is read: a huge upload is not taken in
            await send_error(send, exc)
            return
        await self.app(scope, self._bounded(receive, declared), send)

    def check(self, scope: Scope) -> int | None:
        """Raise the refusal for this request's headers; return its Content-Length (or None)."""
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.lower(), value)
        host = headers.get(b"host", b"").decode("latin-1").lower()
        allowed = self.options.allowed_hosts
        if allowed is not None and host not in allowed:
            raise Forbidden(f"the Host header '{host[:100]}' is not this server's (see --allow-host)")
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1").lower() != f"http://{host}":
            raise Forbidden("requests from web pages are refused (the Origin header is not this server's)")
        if headers.get(b"sec-fetch-site", b"").lower() in (b"cross-site", b"same-site"):
            raise Forbidden("requests from web pages are refused (Sec-Fetch-Site: cross-site)")
        length: int | None = None
        raw_length = headers.get(b"content-length")
        if raw_length is not None:
            try:
                length = int(raw_length)
            except ValueError:
                raise TooLarge("the Content-Length header is not a number") from None
            if length > self.options.max_body_bytes:
                raise TooLarge(f"the request body of {length} bytes is over the cap of "
                               f"{self.options.max_body_bytes} bytes")
        has_body = (length or 0) > 0 or b"transfer-encoding" in headers
        if scope["method"].encode() in _BODY_METHODS and has_body:
            media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if media != b"application/json":
                raise UnsupportedMediaType("a request body must be sent with Content-Type: application/json")
        return length

    def _bounded(self, receive: Receive, declared: int | None) -> Receive:
        """``receive`` that counts body bytes against the cap and times out a stalled body; once the
        body is complete it waits without limit (a streamed response listens for the disconnect)."""
        cap, timeout = self.options.max_body_bytes, self.options.body_timeout_s
        state = {"read": 0, "done": declared == 0}

        async def bounded() -> Message:
            if state["done"]:
                return await receive()
            try:
                with anyio.fail_after(timeout):
                    message = await receive()
            except TimeoutError:
                raise SlowRequest(f"the request body did not arrive within {timeout:g} s") from None
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > cap:
                    raise TooLarge(f"the request body is over the cap of {cap} bytes")
                if not message.get("more_body", False):
                    state["done"] = True
            else:
                state["done"] = True
            return message

        return bounded

