"""Agent mode's edge, without a sandbox: the auth file, key checks, token buckets, the Host/Origin/
content-type/body-size guard (over a two-line echo app), and ``wasmrun agent`` refusing bad
start-ups with one line and exit code 2. The API over a real sandbox is tests/test_agent_api.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from wasmrun.agent.auth import AuthConfig, hash_key, load_auth, parse_auth
from wasmrun.agent.guard import Guard, GuardOptions, allowed_hosts
from wasmrun.agent.metrics import route_label
from wasmrun.agent.models import Limits
from wasmrun.agent.ratelimit import Buckets, TokenBucket
from wasmrun.errors import ConfigError

CEILING = Limits()
KEY_A, KEY_B = "sk-tenant-a-0123456789", "sk-tenant-b-9876543210"


def _auth_text(extra: str = "") -> str:
    return (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key(KEY_A)}"\n{extra}\n'
            f'[[tenants]]\nid = "b"\nkey_sha256 = "{hash_key(KEY_B)}"\n')


# -- the auth file -----------------------------------------------------------------------------

def test_hash_key_is_sha256_hex() -> None:
    assert hash_key("foo") == "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"


def test_auth_file_resolves_each_tenant_by_its_key(tmp_path: Path) -> None:
    path = tmp_path / "auth.toml"
    path.write_text(_auth_text('[tenants.limits]\ntimeout_s = 5\n[tenants.rate]\nmax_requests_per_min = 60\n'))
    auth = load_auth(path, CEILING)
    a = auth.resolve(f"Bearer {KEY_A}")
    assert a is not None and a.id == "a" and a.limits.timeout_s == 5 and a.rate.max_requests_per_min == 60
    assert a.rate.burst == 60
    b = auth.resolve(f"bearer {KEY_B}")
    assert b is not None and b.id == "b" and b.limits == CEILING and b.rate.max_requests_per_min is None
    for header in (None, "", "Bearer", f"Basic {KEY_A}", f"Bearer {KEY_A}x", KEY_A, "Bearer  "):
        assert auth.resolve(header) is None, header


@pytest.mark.parametrize(("text", "message"), [
    ("", "no [[tenants]]"),
    ("tenants = 3", "no [[tenants]]"),
    ("not toml = = =", "not valid TOML"),
    ('[[tenants]]\nid = "a"\nkey_sha256 = "abc"\n', "64 hex digits"),
    (f'[[tenants]]\nkey_sha256 = "{hash_key("x")}"\n', "'id' must be"),
    (f'[[tenants]]\nid = "a b"\nkey_sha256 = "{hash_key("x")}"\n', "'id' must be"),
    (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("x")}"\n[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("y")}"\n',
     "duplicate tenant id"),
    (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("x")}"\n[[tenants]]\nid = "b"\nkey_sha256 = "{hash_key("x")}"\n',
     "duplicate key_sha256"),
    (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("x")}"\nkey = "plain"\n', "unknown key 'key'"),
    (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("x")}"\n[tenants.limits]\ntimeout_s = 99\n',
     "above the server's cap"),
    (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("x")}"\n[tenants.limits]\nfuel = -1\n', "limits.fuel"),
    (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("x")}"\n[tenants.limits]\nspeed = 1\n', "limits.speed"),
    (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("x")}"\n[tenants.rate]\nmax_requests_per_min = 0\n',
     "above 0"),
    (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("x")}"\n[tenants.rate]\nburst = 5\n', "needs rate.max"),
    (f'[[tenants]]\nid = "a"\nkey_sha256 = "{hash_key("x")}"\n[tenants.rate]\nper_hour = 5\n', "rate.per_hour"),
])
def test_a_bad_auth_file_is_one_config_error_naming_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "auth.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_auth(path, CEILING)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_missing_auth_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_auth(tmp_path / "nope.toml", CEILING)
    with pytest.raises(ConfigError, match="is a directory"):
        load_auth(tmp_path, CEILING)


_toml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**12) | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


_sub_tables = st.dictionaries(
    st.sampled_from(["timeout_s", "fuel", "burst", "max_requests_per_min", "max_concurrent_exec", "x"]),
    st.integers(-5, 10**12) | st.floats(allow_nan=False) | st.booleans() | st.text(max_size=3),
    max_size=3,
)
_tenant_values = _toml_values | st.just(hash_key("k")) | st.just("t1") | _sub_tables
_tenant_tables = st.lists(
    st.dictionaries(st.sampled_from(["id", "key_sha256", "limits", "rate", "other"]), _tenant_values, max_size=4),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["tenants", "x"]), _toml_values | _tenant_tables, max_size=2))
@example({"tenants": [{"\n": None}]})  # found by it: a key with a newline broke the one-line message
@example({"x\n": 1})
def test_parse_auth_refuses_any_malformed_data_with_a_config_error(data: dict[str, Any]) -> None:
    try:
        auth = parse_auth(data, CEILING)
    except ConfigError as exc:
        assert exc.message and "\n" not in exc.message
    else:
        assert isinstance(auth, AuthConfig) and auth.tenants


# -- token buckets -----------------------------------------------------------------------------

def test_a_bucket_grants_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=3.0, updated=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) == pytest.approx(0.5)
    assert bucket.take(100.5) == 0.0
    assert bucket.take(100.5) > 0


@settings(max_examples=200, deadline=None)
@given(rate=st.floats(0.1, 100), burst=st.integers(1, 50),
       gaps=st.lists(st.floats(0, 5), min_size=1, max_size=200))
def test_a_bucket_never_grants_more_than_burst_plus_rate_times_time(rate: float, burst: int,
                                                                    gaps: list[float]) -> None:
    bucket = TokenBucket(rate_per_s=rate, burst=float(burst), updated=0.0)
    now, granted = 0.0, 0
    for gap in gaps:
        now += gap
        granted += bucket.take(now) == 0.0
    assert granted <= burst + rate * now + 1e-6


def test_buckets_keep_a_bounded_number_of_keys() -> None:
    buckets = Buckets(lambda key: TokenBucket(1.0, 1.0) if key != "free" else None, max_keys=3)
    assert buckets.take("free") == 0.0 and buckets.take("free") == 0.0
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    for key in "bcde":
        buckets.take(key)
    assert buckets.take("a") == 0.0  # "a" was dropped as least recently used: a full bucket again
    assert len(buckets._buckets) == 3


# -- the guard ---------------------------------------------------------------------------------

async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps({"read": len(body)}).encode()})


async def _reading_app(scope: Scope, receive: Receive, send: Send) -> None:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from wasmrun.agent.errors import AgentError

    try:
        body = await Request(scope, receive).body()
        response = JSONResponse({"read": len(body)})
    except AgentError as exc:
        response = JSONResponse(exc.body(), status_code=exc.status)
    await response(scope, receive, send)


def _client(app: Any = _echo, hosts: frozenset[str] | None = None, cap: int = 1000) -> TestClient:
    hosts = allowed_hosts("127.0.0.1", 8430) if hosts is None else hosts
    return TestClient(Guard(app, GuardOptions(hosts, cap)), base_url="http://127.0.0.1:8430")


def test_allowed_hosts_of_each_kind_of_bind() -> None:
    assert allowed_hosts("127.0.0.1", 9) == {"127.0.0.1:9", "localhost:9", "[::1]:9"}
    assert allowed_hosts("::1", 9) == {"127.0.0.1:9", "localhost:9", "[::1]:9"}
    assert allowed_hosts("10.0.0.5", 9) == {"10.0.0.5:9"}
    assert allowed_hosts("0.0.0.0", 9) is None
    assert allowed_hosts("0.0.0.0", 9, ["Sandbox.example.com"]) == {"sandbox.example.com:9"}
    assert allowed_hosts("0.0.0.0", 443, ["api.example.com", "lb:8080"]) == {
        "api.example.com:443", "api.example.com", "lb:8080"}


def test_the_guard_passes_a_plain_client() -> None:
    client = _client()
    assert client.get("/sessions").status_code == 200
    response = client.post("/sessions", json={"limits": {}})
    assert response.status_code == 200 and response.json() == {"read": len(b'{"limits":{}}')}
    assert client.post("/sessions").status_code == 200  # no body: no content type needed
    assert client.get("/x", headers={"Origin": "http://127.0.0.1:8430"}).status_code == 200


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example:8430"},  # DNS rebinding: the page's own name
    {"Host": "127.0.0.1:9999"},
    {"Host": ""},
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://localhost:8431"},
    {"Sec-Fetch-Site": "cross-site"},
])
def test_the_guard_refuses_requests_from_web_pages_with_403(headers: dict[str, str]) -> None:
    response = _client().get("/sessions", headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx"])
def test_a_body_that_is_not_json_is_refused_with_415(content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = _client().post("/sessions", content=b'{"limits": {}}', headers=headers)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    ok = _client().post("/sessions", content=b"{}", headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 200


def test_a_body_over_the_cap_is_refused_with_413_before_it_is_read() -> None:
    response = _client(cap=100).post("/x", content=b"x" * 101, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_a_chunked_body_over_the_cap_is_refused_with_413_while_read() -> None:
    def chunks() -> Any:
        for _ in range(10):
            yield b"y" * 50

    response = _client(_reading_app, cap=100).post("/x", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_a_stalled_body_is_refused_with_408() -> None:
    import anyio

    sent: list[dict[str, Any]] = []

    async def stalling_receive() -> dict[str, Any]:
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b'{"a"', "more_body": True}
        await anyio.sleep(5)
        return {"type": "http.request", "body": b"}", "more_body": False}

    async def capture(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/sessions", "headers": [
        (b"host", b"127.0.0.1:8430"), (b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]}
    guard = Guard(_reading_app, GuardOptions(allowed_hosts("127.0.0.1", 8430), 1000, body_timeout_s=0.3))
    started = time.monotonic()
    anyio.run(guard, scope, stalling_receive, capture)
    assert time.monotonic() - started < 3
    start = next(m for m in sent if m.get("type") == "http.response.start")
    body = next(m for m in sent if m.get("type") == "http.response.body")
    assert start["status"] == 408 and json.loads(body["body"])["code"] == "request_timeout"


def test_wildcard_bind_without_names_accepts_any_host_but_still_checks_origin() -> None:
    client = TestClient(Guard(_echo, GuardOptions(None, 1000)), base_url="http://sandbox.example:8430")
    assert client.get("/sessions").status_code == 200
    assert client.get("/sessions", headers={"Origin": "http://sandbox.example:8430"}).status_code == 200
    assert client.get("/sessions", headers={"Origin": "http://evil.example"}).status_code == 403


def test_route_labels_never_carry_session_ids() -> None:
    assert route_label("/api/v1/sessions/abc123/exec") == "/sessions/{id}/exec"
    assert route_label("/sessions/abc123") == "/sessions/{id}"
    assert route_label("/sessions/abc/files/") == "/sessions/{id}/files"
    assert route_label("/api/v1/health") == "/health"
    assert route_label("/sessions/a/b/c/d") == "other"
    assert route_label("/../etc/passwd") == "other"


# -- the command -------------------------------------------------------------------------------

def _agent(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasmrun", "agent", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_hash_key_prints_the_sha256_of_the_key() -> None:
    done = _agent("--hash-key", "foo")
    assert done.returncode == 0
    assert done.stdout.strip() == hash_key("foo")


def test_a_non_loopback_host_without_auth_is_refused_with_one_line(tmp_path: Path) -> None:
    done = _agent("--host", "0.0.0.0", "--port", "0", "--state-dir", str(tmp_path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --host 0.0.0.0 is not a loopback address")
    assert "--auth" in lines[0]


def test_a_bad_auth_file_stops_start_up_with_one_line(tmp_path: Path) -> None:
    auth = tmp_path / "auth.toml"
    auth.write_text('[[tenants]]\nid = "a"\nkey_sha256 = "not a hash"\n')
    done = _agent("--auth", str(auth), "--port", "0", "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: {auth}: tenant 1 ('a'): 'key_sha256' must be 64 hex digits "
                     "(wasmrun agent --hash-key KEY prints it)"]
    assert not (tmp_path / "state").exists()


def test_a_taken_port_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = _agent("--port", str(port), "--state-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]


def test_a_state_dir_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    done = _agent("--port", "0", "--state-dir", str(a_file / "state"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: cannot use --state-dir {a_file / 'state'}: Not a directory"]


def test_without_the_agent_extra_the_command_names_the_install(cli: Callable[..., Any], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    result = cli("agent", "--port", "0", "--state-dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: agent mode needs the agent extra (uvicorn not installed): pip install 'wasmrun[agent]'"]


def _stream_client(exec_coroutine: Callable[..., Any], max_s: float) -> TestClient:
    """A one-route app answering with the server's SSE helper over a stand-in ``ops.exec``."""
    from types import SimpleNamespace

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    from wasmrun.agent.models import ExecRequest
    from wasmrun.agent.server import _stream

    state = SimpleNamespace(ops=SimpleNamespace(exec=exec_coroutine), background=set(),
                            options=SimpleNamespace(stream_max_s=max_s, heartbeat_s=0.2))

    async def route(request: Request) -> Any:
        return _stream(state, "t", "s", ExecRequest(language="python", source="x", stream=True))  # type: ignore[arg-type]

    return TestClient(Starlette(routes=[Route("/", route, methods=["POST"])]))


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_a_stream_sends_output_then_the_result_and_heartbeats_while_quiet() -> None:
    import asyncio

    async def exec_(tenant: str, session: str, request: Any, on_output: Any) -> dict[str, Any]:
        await on_output("stdout", "a")
        await asyncio.sleep(0.5)  # quiet: heartbeats come
        await on_output("stderr", "b\n")
        return {"stdout": "a", "stderr": "b\n", "exit_code": 0}

    response = _stream_client(exec_, 30).post("/")
    assert response.status_code == 200
    assert _events(response.text) == [("output", {"stdout": "a", "stderr": ""}),
                                      ("output", {"stdout": "", "stderr": "b\n"}),
                                      ("result", {"stdout": "a", "stderr": "b\n", "exit_code": 0})]
    assert ": ping" in response.text


def test_a_stream_ends_at_its_maximum_duration_with_an_error_event() -> None:
    import asyncio

    async def endless(tenant: str, session: str, request: Any, on_output: Any) -> dict[str, Any]:
        await asyncio.sleep(30)
        return {}

    started = time.monotonic()
    response = _stream_client(endless, 0.5).post("/")
    assert time.monotonic() - started < 10
    assert [(name, data["code"]) for name, data in _events(response.text)] == [("error", "stream_timeout")]


def test_a_refusal_after_the_stream_started_is_an_error_event() -> None:
    from wasmrun.agent.errors import LimitExceeded

    async def refused(tenant: str, session: str, request: Any, on_output: Any) -> dict[str, Any]:
        raise LimitExceeded("too many execs")

    assert _events(_stream_client(refused, 5).post("/").text) == [
        ("error", {"error": "too many execs", "code": "limit_exceeded"})]
