"""Agent mode's HTTP API end to end: ``wasmrun agent`` as its own process on a free loopback port,
over the real sandbox (worker processes, the Python runtime as a WebAssembly component), driven by
httpx, and by the ``mcp`` package's own client over HTTP and stdio."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AgentRuntimes
from wasmrun.agent.auth import hash_key

KEYS = {"a": "sk-agent-test-a-4f1d9c", "b": "sk-agent-test-b-8e2a7b", "limited": "sk-agent-test-limited-1c",
        "capped": "sk-agent-test-capped-5d"}
READY_TIMEOUT_S = 900.0  # the first run builds the Python runtime (componentize-py) and compiles it
ANNOUNCE = re.compile(r"serving (http://\S+)/api/v1")
T = TypeVar("T")


def _auth_file(path: Path) -> Path:
    lines = []
    for tenant, key in KEYS.items():
        lines += ["[[tenants]]", f'id = "{tenant}"', f'key_sha256 = "{hash_key(key)}"']
        if tenant == "limited":
            lines += ["[tenants.rate]", "max_requests_per_min = 30", "burst = 5"]
        if tenant == "capped":
            lines += ["[tenants.limits]", "timeout_s = 5", "[tenants.rate]", "max_concurrent_exec = 1"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class AgentProcess:
    process: subprocess.Popen[str]
    url: str

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read()


def start_agent(args: list[str], env: dict[str, str], *, wait_ready: bool = True) -> AgentProcess:
    """Start ``wasmrun agent --port 0 ARGS``; return once it announced its URL (and, with
    ``wait_ready``, once ``/ready`` says 200)."""
    process = subprocess.Popen([sys.executable, "-m", "wasmrun", "agent", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    line = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not line:
        if selector.select(timeout=1):
            line = process.stdout.readline()
            if not line:
                break
    match = ANNOUNCE.search(line)
    if not match:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"wasmrun agent did not start: {line!r}\n{err}")
    agent = AgentProcess(process, match[1])
    if wait_ready:
        deadline = time.monotonic() + READY_TIMEOUT_S
        reason = ""
        while time.monotonic() < deadline:
            response = httpx.get(f"{agent.url}/ready", timeout=10)
            if response.status_code == 200:
                break
            reason = response.json().get("reason", "")
            assert "failed" not in reason, reason
            time.sleep(0.5)
        else:
            agent.stop(signal.SIGKILL)
            raise AssertionError(f"not ready after {READY_TIMEOUT_S} s: {reason}")
    return agent


@pytest.fixture(scope="module")
def agent_env(tmp_path_factory: pytest.TempPathFactory, agent_runtimes: AgentRuntimes) -> dict[str, str]:
    """The environment of every server here: a wasmrun home of this module's, sharing only the
    runtimes of the test run (built once for every agent test) and the managed tools."""
    return agent_runtimes.env(tmp_path_factory.mktemp("agent-home"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, agent_env: dict[str, str]) -> Iterator[AgentProcess]:
    base = tmp_path_factory.mktemp("agent")
    agent = start_agent(["--auth", str(_auth_file(base / "auth.toml")), "--state-dir", str(base / "state"),
                         "--max-sessions", "80", "--max-concurrent-execs", "64"], agent_env)
    yield agent
    assert agent.stop() == 0


@pytest.fixture
def api(server: AgentProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {KEYS['a']}"},
                      timeout=120) as client:
        yield client


def new_session(client: httpx.Client, **limits: Any) -> str:
    response = client.post("/sessions", json={"limits": limits} if limits else None)
    assert response.status_code == 200, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def run(client: httpx.Client, session_id: str, source: str, **fields: Any) -> dict[str, Any]:
    response = client.post(f"/sessions/{session_id}/exec", json={"language": "python", "source": source, **fields})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# -- health, sessions, execs -------------------------------------------------------------------

def test_health_and_ready_need_no_key_and_the_rest_does(server: AgentProcess) -> None:
    for path in ("/health", "/api/v1/health", "/ready", "/api/v1/ready"):
        response = httpx.get(server.url + path)
        assert response.status_code == 200, path
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    for path in ("/sessions", "/api/v1/sessions", "/metrics", "/tools", "/api/v1/tools"):
        response = httpx.get(server.url + path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_wrong_key_is_401(server: AgentProcess) -> None:
    for header in (f"Bearer {KEYS['a']}x", "Bearer nope", f"Basic {KEYS['a']}", KEYS["a"]):
        response = httpx.get(server.url + "/api/v1/sessions", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_python_keeps_its_state_between_execs_like_a_notebook(api: httpx.Client) -> None:
    session = new_session(api)
    assert run(api, session, "x = 41\ndef double(n):\n    return 2 * n")["exit_code"] == 0
    result = run(api, session, "print(x + 1, double(x))")
    assert result["stdout"] == "42 82\n"
    assert result["exit_code"] == 0 and result["state_lost"] is False
    fresh = run(api, session, "print('x' in globals())", fresh=True)
    assert fresh["stdout"] == "False\n"


def test_javascript_and_typescript_keep_their_state_beside_python(api: httpx.Client) -> None:
    session = new_session(api)

    def js(language: str, source: str, **fields: Any) -> dict[str, Any]:
        return run(api, session, source, language=language, **fields)

    run(api, session, "x = 'python'")
    assert js("js", "let x = 41\nfunction double(n) { return 2 * n }")["exit_code"] == 0
    assert js("javascript", "console.log(x + 1, double(x), process.argv.slice(2))", args=["a"])["stdout"] == \
        "42 82 [ 'a' ]\n"
    typed = js("ts", "const n: number = 21\nconsole.log(n * 2, typeof x)")
    assert typed["stdout"] == "42 number\n" and typed["exit_code"] == 0
    assert run(api, session, "print(x)")["stdout"] == "python\n"  # each language keeps its own state
    failed = js("js", "throw new Error('boom')")
    assert failed["exit_code"] == 1 and "boom" in failed["stderr"]


def test_javascript_and_typescript_execs_use_npm_packages_and_hostile_ones_are_400(api: httpx.Client) -> None:
    session = new_session(api)
    result = run(api, session, "console.log(require('ms')('2 days'))", language="js", packages=["ms@2.1.3"])
    assert (result["stdout"], result["stderr"], result["exit_code"]) == ("172800000\n", "", 0), result
    result = run(api, session, "import camelCase from 'camelcase';\nconst s: string = camelCase('a-b');\n"
                               "console.log(s)", language="ts", packages=["camelcase@8"])
    assert (result["stdout"], result["stderr"], result["exit_code"]) == ("aB\n", "", 0), result
    for spec in ("file:../x", "lodash@latest", "npm:ms@2.1.3"):
        response = api.post(f"/sessions/{session}/exec", json={"language": "js", "source": "1", "packages": [spec]})
        assert response.status_code == 400, spec
        assert response.json()["code"] == "bad_request" and "is refused" in response.json()["error"]


def test_stdin_args_and_env_are_per_exec(api: httpx.Client) -> None:
    session = new_session(api)
    source = "import os, sys\nprint(sys.stdin.read().upper(), sys.argv[1:], os.environ.get('GREETING'))"
    first = run(api, session, source, stdin="hello", args=["a", "b"], env={"GREETING": "hi"})
    assert first["stdout"] == "HELLO ['a', 'b'] hi\n"
    second = run(api, session, source)
    assert second["stdout"] == " [] None\n"


def test_exit_codes_and_uncaught_exceptions(api: httpx.Client) -> None:
    session = new_session(api)
    assert run(api, session, "import sys\nsys.exit(3)")["exit_code"] == 3
    failed = run(api, session, "1 / 0")
    assert failed["exit_code"] == 1
    assert "ZeroDivisionError" in failed["stderr"]


def test_a_limit_stops_an_endless_loop_and_the_next_exec_says_state_lost(api: httpx.Client) -> None:
    session = new_session(api, timeout_s=2)
    run(api, session, "x = 1\nopen('kept.txt', 'w').write('kept')")
    started = time.monotonic()
    stopped = run(api, session, "while True:\n    pass")
    assert stopped["error"] == "timeout" and stopped["exit_code"] != 0
    assert time.monotonic() - started < 15
    after = run(api, session, "print(open('kept.txt').read(), 'x' in globals())")
    assert after["state_lost"] is True and after["stdout"] == "kept False\n"
    assert run(api, session, "print('again')")["state_lost"] is False


def test_an_exec_from_files_and_entry_runs_in_the_session_root(api: httpx.Client) -> None:
    session = new_session(api)
    main = "import os\nfrom pkg.helper import VALUE\nprint(VALUE, os.getcwd())"
    result = run(api, session, None, files={"pkg/helper.py": "VALUE = 7\n", "main.py": main}, entry="main.py")
    assert result["stdout"] == "7 /\n", result


def test_sessions_are_created_listed_shown_and_destroyed(api: httpx.Client) -> None:
    session = new_session(api, timeout_s=3)
    shown = api.get(f"/sessions/{session}").json()
    assert shown["session_id"] == session and shown["limits"]["timeout_s"] == 3
    listed = api.get("/sessions").json()
    assert session in [s["session_id"] for s in listed["sessions"]] and listed["count"] == len(listed["sessions"])
    without_prefix = httpx.get(str(api.base_url).replace("/api/v1", "") + f"sessions/{session}", headers=api.headers)
    assert without_prefix.status_code == 200 and without_prefix.json()["session_id"] == session
    deleted = api.delete(f"/sessions/{session}")
    assert deleted.status_code == 200
    for response in (api.get(f"/sessions/{session}"), api.delete(f"/sessions/{session}"),
                     api.post(f"/sessions/{session}/exec", json={"language": "python", "source": "1"})):
        assert response.status_code in (404, 410), response.text
    assert api.get("/sessions/not-a-session").status_code == 404


def test_an_idle_session_expires_with_410_and_its_id_stays_unknown_to_others(api: httpx.Client,
                                                                             server: AgentProcess) -> None:
    session = new_session(api, idle_timeout_s=1)
    time.sleep(1.5)
    for response in (api.get(f"/sessions/{session}"),
                     api.post(f"/sessions/{session}/exec", json={"language": "python", "source": "1"})):
        assert response.status_code == 410, response.text
        assert response.json()["code"] == "session_expired"
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {KEYS['b']}"}) as other:
        assert other.get(f"/sessions/{session}").status_code == 404


# -- files and environment ---------------------------------------------------------------------

def test_files_are_written_read_listed_and_deleted(api: httpx.Client) -> None:
    session = new_session(api)
    written = api.post(f"/sessions/{session}/files", json={"path": "deep/er/notes.txt", "content": "héllo"})
    assert written.status_code == 200, written.text
    assert written.json()["size"] == len("héllo".encode())
    read = api.get(f"/sessions/{session}/files", params={"path": "/deep/er/notes.txt"}).json()
    assert read == {"path": "/deep/er/notes.txt", "content": "héllo", "encoding": "utf-8"}
    listed = api.get(f"/sessions/{session}/files", params={"list": "true", "path": "deep/er"}).json()
    assert [e["name"] for e in listed["entries"]] == ["notes.txt"]
    assert run(api, session, "print(open('deep/er/notes.txt').read())")["stdout"] == "héllo\n"
    run(api, session, "open('made.txt', 'w').write('by code')")
    assert api.get(f"/sessions/{session}/files", params={"path": "made.txt"}).json()["content"] == "by code"
    assert api.delete(f"/sessions/{session}/files", params={"path": "deep"}).status_code == 200
    assert api.get(f"/sessions/{session}/files", params={"path": "deep/er/notes.txt"}).status_code == 404


@pytest.mark.parametrize("path", ["../outside.txt", "a/../../outside.txt", "/../../etc/passwd"])
def test_file_paths_cannot_leave_the_session(api: httpx.Client, server: AgentProcess, path: str) -> None:
    session = new_session(api)
    response = api.post(f"/sessions/{session}/files", json={"path": path, "content": "x"})
    assert response.status_code in (400, 403, 404), response.text
    assert response.json()["code"] in ("bad_request", "forbidden", "not_found")


def test_the_session_root_cannot_be_deleted(api: httpx.Client) -> None:
    session = new_session(api)
    for path in ("/", "", "."):
        response = api.delete(f"/sessions/{session}/files", params={"path": path})
        assert response.status_code == 400, (path, response.text)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=4096))
def test_binary_files_round_trip_byte_for_byte(api: httpx.Client, data: bytes) -> None:
    session = _shared_session(api)
    encoded = base64.b64encode(data).decode()
    written = api.post(f"/sessions/{session}/files",
                       json={"path": "blob.bin", "content": encoded, "encoding": "base64"})
    assert written.status_code == 200 and written.json()["size"] == len(data)
    read = api.get(f"/sessions/{session}/files", params={"path": "blob.bin", "encoding": "base64"}).json()
    assert read["encoding"] == "base64" and base64.b64decode(read["content"]) == data
    seen = run(api, session, "import hashlib\nprint(hashlib.sha256(open('blob.bin', 'rb').read()).hexdigest())")
    assert seen["stdout"].strip() == hashlib.sha256(data).hexdigest()


_SHARED: dict[str, str] = {}


def _shared_session(api: httpx.Client) -> str:
    if "id" not in _SHARED:
        _SHARED["id"] = new_session(api)
    return _SHARED["id"]


def test_bytes_written_by_code_are_read_back_as_base64(api: httpx.Client) -> None:
    session = new_session(api)
    run(api, session, "open('b.bin', 'wb').write(bytes(range(256)))")
    read = api.get(f"/sessions/{session}/files", params={"path": "b.bin"}).json()
    assert read["encoding"] == "base64" and base64.b64decode(read["content"]) == bytes(range(256))


def test_env_is_set_read_and_seen_by_execs(api: httpx.Client) -> None:
    session = new_session(api)
    assert api.post(f"/sessions/{session}/env", json={"env": {"MODE": "test"}}).json()["env"] == {"MODE": "test"}
    assert api.post(f"/sessions/{session}/env", json={"LEVEL": "2"}).json()["env"] == {"MODE": "test", "LEVEL": "2"}
    assert api.get(f"/sessions/{session}/env").json() == {"env": {"MODE": "test", "LEVEL": "2"}}
    result = run(api, session, "import os\nprint(os.environ['MODE'], os.environ['LEVEL'], 'HOME' in os.environ)")
    assert result["stdout"] == "test 2 False\n"


# -- streaming ---------------------------------------------------------------------------------

def test_streamed_output_arrives_before_the_exec_ends(api: httpx.Client) -> None:
    session = new_session(api)
    source = "import time\nprint('first', flush=True)\ntime.sleep(2)\nprint('second')"
    events: list[tuple[float, str, dict[str, Any]]] = []
    started = time.monotonic()
    with api.stream("POST", f"/sessions/{session}/exec",
                    json={"language": "python", "source": source, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((time.monotonic() - started, event, json.loads(line.split(":", 1)[1])))
    outputs = [(t, data) for t, name, data in events if name == "output"]
    assert outputs and outputs[0][1]["stdout"].startswith("first")
    assert outputs[0][0] < 2.0, f"the first chunk came {outputs[0][0]:.2f} s after the request"
    assert "".join(d["stdout"] for _, d in outputs) == "first\nsecond\n"
    name, result = events[-1][1], events[-1][2]
    assert name == "result" and result["stdout"] == "first\nsecond\n" and result["exit_code"] == 0
    assert events[-1][0] >= 2.0


def test_a_stream_for_an_unknown_session_is_a_plain_404(api: httpx.Client) -> None:
    response = api.post("/sessions/nope/exec", json={"language": "python", "source": "1", "stream": True})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# -- tenants, limits, the edge -----------------------------------------------------------------

def test_another_tenants_session_is_404(api: httpx.Client, server: AgentProcess) -> None:
    session = new_session(api)
    api.post(f"/sessions/{session}/files", json={"path": "secret.txt", "content": "a's"})
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {KEYS['b']}"}) as other:
        for response in (other.get(f"/sessions/{session}"),
                         other.post(f"/sessions/{session}/exec", json={"language": "python", "source": "1"}),
                         other.get(f"/sessions/{session}/files", params={"path": "secret.txt"}),
                         other.get(f"/sessions/{session}/env"),
                         other.delete(f"/sessions/{session}")):
            assert response.status_code == 404, response.text
        assert session not in [s["session_id"] for s in other.get("/sessions").json()["sessions"]]
    assert api.get(f"/sessions/{session}").status_code == 200


def test_limits_above_the_caps_are_400(api: httpx.Client, server: AgentProcess) -> None:
    response = api.post("/sessions", json={"limits": {"timeout_s": 10**5}})
    assert response.status_code == 400 and "timeout_s" in response.json()["error"]
    response = api.post("/sessions", json={"limits": {"timeout_s": 3600}})
    assert response.status_code == 400 and "timeout_s" in response.json()["error"]
    response = api.post("/sessions", json={"limits": {"no_such_limit": 1}})
    assert response.status_code == 400 and "no_such_limit" in response.json()["error"]
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {KEYS['capped']}"}) as capped:
        response = capped.post("/sessions", json={"limits": {"timeout_s": 6}})
        assert response.status_code == 400, response.text  # over the tenant's 5 s
        made = capped.post("/sessions")
        assert made.status_code == 200 and made.json()["limits"]["timeout_s"] == 5


def test_a_tenants_concurrent_execs_are_capped_with_429(server: AgentProcess) -> None:
    headers = {"Authorization": f"Bearer {KEYS['capped']}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers) as capped:
        sessions = [new_session(capped), new_session(capped)]

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", headers=headers, timeout=60) as http:
            slow = asyncio.create_task(http.post(f"/sessions/{sessions[0]}/exec", json={
                "language": "python", "source": "import time\ntime.sleep(1.5)\nprint('slow')"}))
            await asyncio.sleep(0.5)
            second = await http.post(f"/sessions/{sessions[1]}/exec", json={"language": "python", "source": "1"})
            return [await slow, second]

    slow, second = asyncio.run(both())
    assert slow.status_code == 200 and slow.json()["stdout"] == "slow\n"
    assert second.status_code == 429 and "at once" in second.json()["error"]


def test_bad_bodies_are_400_naming_the_field(api: httpx.Client) -> None:
    session = new_session(api)
    response = api.post(f"/sessions/{session}/exec", json={"language": "cobol", "source": "x"})
    assert response.status_code == 400 and response.json()["error"].startswith("language:")
    response = api.post(f"/sessions/{session}/exec", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON" in response.json()["error"]
    response = api.post(f"/sessions/{session}/files", json={"path": "x", "content": "***", "encoding": "base64"})
    assert response.status_code == 400 and "base64" in response.json()["error"]


def test_requests_from_web_pages_are_refused(api: httpx.Client, server: AgentProcess) -> None:
    cross = api.get("/sessions", headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403 and cross.json()["code"] == "forbidden"
    rebinding = api.get("/sessions", headers={"Host": f"evil.example:{server.url.rsplit(':', 1)[1]}"})
    assert rebinding.status_code == 403
    form = api.post("/sessions", content=b"limits=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    assert "access-control-allow-origin" not in {k.lower() for k in api.get("/sessions").headers}


def test_a_huge_upload_is_413(api: httpx.Client) -> None:
    session = new_session(api)
    body = json.dumps({"path": "big.bin", "content": "A" * (17 * 1024 * 1024)}).encode()
    response = api.post(f"/sessions/{session}/files", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert api.get(f"/sessions/{session}/files", params={"path": "big.bin"}).status_code == 404
    huge_source = json.dumps({"language": "python", "source": "#" * (17 * 1024 * 1024)}).encode()
    response = api.post(f"/sessions/{session}/exec", content=huge_source, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert run(api, session, "print('still usable')")["stdout"] == "still usable\n"


def _while_others_are_answered(server: AgentProcess, work: Callable[[], T]) -> tuple[T, list[float]]:
    """``work()`` on a thread while another client asks ``/health`` every 0.1 s: its result, and
    how long each of those answers took (all of them 200, or the test fails)."""
    from concurrent.futures import ThreadPoolExecutor

    took: list[float] = []
    with ThreadPoolExecutor(1) as pool, httpx.Client(base_url=server.url, timeout=30) as other:
        running = pool.submit(work)
        while not running.done() or len(took) < 3:
            started = time.monotonic()
            assert other.get("/health").status_code == 200
            took.append(time.monotonic() - started)
            time.sleep(0.1)
        return running.result(), took


def test_memory_grown_past_the_sessions_limit_stops_that_exec_and_keeps_the_session(api: httpx.Client) -> None:
    session = new_session(api, memory_bytes=128 * 1024 * 1024)
    run(api, session, "kept = 'yes'")
    grown = run(api, session, "blocks = []\nwhile True:\n    blocks.append(bytearray(8 * 1024 * 1024))")
    assert grown["exit_code"] != 0 and grown["error"] == "memory", grown
    assert "MemoryError" in grown["stderr"]
    after = run(api, session, "blocks = None\nprint(kept)")
    assert (after["stdout"], after["state_lost"]) == ("yes\n", False)  # the interpreter survived it


def test_an_output_flood_is_truncated_in_a_bounded_response_and_others_are_answered(
        api: httpx.Client, server: AgentProcess) -> None:
    limit = 200_000
    session = new_session(api, output_bytes=limit)

    def flood() -> httpx.Response:
        source = "import sys\nwhile True:\n    print('y' * 999)\n    sys.stderr.write('e' * 99)"
        return api.post(f"/sessions/{session}/exec", json={"language": "python", "source": source})

    response, took = _while_others_are_answered(server, flood)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["output_truncated"] is True and result["error"] == "output", result["error"]
    assert limit - 2_000 <= len(result["stdout"]) + len(result["stderr"]) <= limit
    assert set(result["stdout"]) == {"y", "\n"}
    assert len(response.content) < limit + 4096  # the response is bounded by the limit, not by the flood
    assert max(took) < 5, took
    assert run(api, session, "print('ok')")["stdout"] == "ok\n"


def test_a_million_empty_files_from_code_are_stopped_by_the_file_quota(api: httpx.Client,
                                                                       server: AgentProcess) -> None:
    session = new_session(api, max_files=20)  # overshot many times over before the watcher sees it
    code = "for i in range(1_000_000):\n    open(f'f{i}', 'w').close()"
    flood, took = _while_others_are_answered(server, lambda: run(api, session, code))
    assert flood["exit_code"] == -1 and flood["error"].startswith("files:"), flood
    assert max(took) < 5, took
    # over its quota, the session says why: file writes are refused, execs say so
    refused = api.post(f"/sessions/{session}/files", json={"path": "one-more.txt", "content": "x"})
    assert refused.status_code == 429 and refused.json()["code"] == "limit_exceeded", refused.text
    told = run(api, session, "print('runs')")
    assert told["stdout"] == "runs\n" and told["error"].startswith("files:")
    # code may still clean up, and then the session is usable again
    cleanup = run(api, session, "import os\nfor name in os.listdir('/'):\n    os.remove(name)\n"
                                "print(len(os.listdir('/')))")
    assert (cleanup["stdout"], cleanup["error"]) == ("0\n", None)
    assert api.post(f"/sessions/{session}/files", json={"path": "one-more.txt", "content": "x"}).status_code == 200


def test_a_session_expiring_during_an_exec_lets_it_finish_then_is_410(api: httpx.Client,
                                                                     server: AgentProcess) -> None:
    session = new_session(api, idle_timeout_s=1)

    def long_exec() -> dict[str, Any]:
        return run(api, session, "import time\ntime.sleep(2.5)\nprint('done')")

    def looked_at_meanwhile() -> int:
        time.sleep(1.8)  # idle for longer than its timeout, but an exec runs
        with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {KEYS['a']}"}) as other:
            return other.get(f"/sessions/{session}").status_code

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        running, meanwhile = pool.submit(long_exec), pool.submit(looked_at_meanwhile)
        assert meanwhile.result() == 200
        result = running.result()
    assert (result["stdout"], result["error"]) == ("done\n", None)
    time.sleep(1.5)
    expired = api.post(f"/sessions/{session}/exec", json={"language": "python", "source": "print(1)"})
    assert expired.status_code == 410 and expired.json()["code"] == "session_expired", expired.text


def test_a_tenants_request_rate_is_limited_with_429(server: AgentProcess) -> None:
    limited = {"Authorization": f"Bearer {KEYS['limited']}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=limited) as client:
        statuses = [client.get("/sessions").status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
        refused = client.get("/sessions")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.json()["code"] == "limit_exceeded"
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {KEYS['b']}"}) as other:
        assert other.get("/sessions").status_code == 200  # another tenant is not slowed


def test_tools_in_openai_and_anthropic_format(api: httpx.Client) -> None:
    names = ["create_session", "execute_code", "write_file", "read_file", "list_files", "list_sessions",
             "destroy_session"]
    openai = api.get("/tools").json()
    assert [t["function"]["name"] for t in openai] == names and {t["type"] for t in openai} == {"function"}
    anthropic = api.get("/tools", params={"format": "anthropic"}).json()
    assert [t["name"] for t in anthropic] == names
    assert anthropic[1]["input_schema"] == openai[1]["function"]["parameters"]
    assert api.get("/tools", params={"format": "xml"}).status_code == 400


def test_metrics_count_requests_and_execs(api: httpx.Client, server: AgentProcess) -> None:
    session = new_session(api)
    run(api, session, "print(1)")
    text = api.get("/metrics").text
    exec_route = r'wasmrun_agent_requests_total\{method="POST",route="/sessions/\{id\}/exec",status="200"\} \d'
    assert re.search(exec_route, text)
    assert re.search(r'wasmrun_agent_execs_total\{language="python",outcome="ok"\} \d', text)
    assert re.search(r"^wasmrun_agent_sessions \d", text, re.MULTILINE)
    assert session not in text


# -- concurrency -------------------------------------------------------------------------------

def test_50_concurrent_clients_on_20_sessions_lose_nothing(api: httpx.Client, server: AgentProcess) -> None:
    sessions = [new_session(api) for _ in range(20)]
    for session in sessions:
        run(api, session, "seen = []")

    async def client(number: int) -> list[tuple[int, dict[str, Any]]]:
        results = []
        async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=300,
                                     headers={"Authorization": f"Bearer {KEYS['a']}"}) as http:
            for turn in range(3):
                token = f"c{number}t{turn}"
                response = await http.post(f"/sessions/{sessions[number % 20]}/exec", json={
                    "language": "python", "source": f"seen.append({token!r})\nprint({token!r}, sum(range(5000)))"})
                results.append((response.status_code, response.json()))
        return results

    async def everyone() -> list[list[tuple[int, dict[str, Any]]]]:
        return await asyncio.gather(*(client(n) for n in range(50)))

    results = asyncio.run(everyone())
    for number, mine in enumerate(results):
        for turn, (status, body) in enumerate(mine):
            assert status == 200, body
            assert body["stdout"] == f"c{number}t{turn} {sum(range(5000))}\n", body
            assert body["exit_code"] == 0 and not body["state_lost"]
    for index, session in enumerate(sessions):
        seen = run(api, session, "print(sorted(seen))")["stdout"]
        expected = sorted(f"c{n}t{t}" for n in range(index, 50, 20) for t in range(3))
        assert seen == f"{expected}\n"


# -- MCP ---------------------------------------------------------------------------------------

async def _mcp_round(read: Any, write: Any) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    from mcp import ClientSession

    async with ClientSession(read, write) as session:
        await session.initialize()
        tools = [t.name for t in (await session.list_tools()).tools]
        created = await session.call_tool("create_session", {})
        session_id = json.loads(created.content[0].text)["session_id"]
        await session.call_tool("execute_code", {"session_id": session_id, "language": "python", "source": "x = 6"})
        ran = await session.call_tool("execute_code", {"session_id": session_id, "language": "python",
                                                       "source": "print(x * 7)"})
        refused = await session.call_tool("read_file", {"session_id": "no-such-session", "path": "x"})
        assert refused.is_error
        return tools, json.loads(ran.content[0].text), json.loads(refused.content[0].text)


def test_an_mcp_client_lists_and_calls_the_tools_over_http(server: AgentProcess) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async def main() -> tuple[list[str], dict[str, Any], dict[str, Any]]:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEYS['b']}"}, timeout=120) as http, \
                streamable_http_client(f"{server.url}/mcp", http_client=http) as streams:
            return await _mcp_round(streams[0], streams[1])

    tools, ran, refused = asyncio.run(main())
    assert "execute_code" in tools and len(tools) == 7
    assert ran["stdout"] == "42\n"
    assert refused["code"] == "not_found"
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {KEYS['b']}"}) as b:
        assert len(b.get("/sessions").json()["sessions"]) >= 1  # the tool made it as tenant b
    unauthenticated = httpx.post(f"{server.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                 headers={"Accept": "application/json, text/event-stream"})
    assert unauthenticated.status_code == 401


def test_an_mcp_client_lists_and_calls_the_tools_over_stdio(tmp_path: Path, agent_env: dict[str, str]) -> None:
    from mcp import StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, env=agent_env,
                                   args=["-m", "wasmrun", "agent", "--mcp", "--workers", "1",
                                         "--state-dir", str(tmp_path / "state")])

    async def main() -> tuple[list[str], dict[str, Any], dict[str, Any]]:
        async with stdio_client(params) as streams:
            return await _mcp_round(streams[0], streams[1])

    tools, ran, refused = asyncio.run(main())
    assert len(tools) == 7 and ran["stdout"] == "42\n" and refused["code"] == "not_found"


# -- start-up and shutdown ---------------------------------------------------------------------

def test_failed_authentications_are_limited_and_silent_connections_closed(tmp_path: Path,
                                                                          agent_env: dict[str, str]) -> None:
    # waits for /ready: a stop during the first runtime build waits for the build to end
    agent = start_agent(["--auth", str(_auth_file(tmp_path / "auth.toml")), "--workers", "1",
                         "--state-dir", str(tmp_path / "state")], agent_env)
    host, port = agent.url.removeprefix("http://").rsplit(":", 1)
    silent = socket.create_connection((host, int(port)))  # a client that never sends its request
    opened = time.monotonic()
    try:
        statuses = [httpx.get(f"{agent.url}/sessions", headers={"Authorization": "Bearer guess"}).status_code
                    for _ in range(12)]
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
        right_key = httpx.get(f"{agent.url}/sessions", headers={"Authorization": f"Bearer {KEYS['a']}"})
        assert right_key.status_code == 429 and "failed authentications" in right_key.json()["error"]
        assert httpx.get(f"{agent.url}/health").status_code == 200
        silent.settimeout(30)
        assert silent.recv(100) == b""  # closed by the server: its headers did not come in 10 s
        assert 9 < time.monotonic() - opened < 20
    finally:
        silent.close()
        assert agent.stop(signal.SIGINT) == 130  # Ctrl-C: stopped as gracefully, exit code 130


def test_sigterm_lets_a_running_exec_finish_while_ready_and_new_work_say_503(tmp_path: Path,
                                                                            agent_env: dict[str, str]) -> None:
    """After SIGTERM the server still answers while it drains: /ready, a new session and a new exec
    are 503 "shutting down", the running exec's result arrives, then the process exits 0 well
    within its grace period."""
    agent = start_agent(["--workers", "1", "--grace", "20", "--state-dir", str(tmp_path / "state"),
                         "--max-sessions", "3"], agent_env)
    try:
        with httpx.Client(base_url=agent.url, timeout=60) as client:
            session, other = new_session(client), new_session(client)
            new_session(client)
            full = client.post("/sessions")
            assert full.status_code == 429 and full.json()["code"] == "limit_exceeded"

            async def slow_exec() -> httpx.Response:
                async with httpx.AsyncClient(base_url=agent.url, timeout=60) as http:
                    return await http.post(f"/sessions/{session}/exec", json={
                        "language": "python", "source": "import time\ntime.sleep(4)\nprint('finished')"})

            async def during_shutdown() -> tuple[httpx.Response, list[httpx.Response], float]:
                task = asyncio.create_task(slow_exec())
                await asyncio.sleep(1.0)
                agent.process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                await asyncio.sleep(0.3)
                async with httpx.AsyncClient(base_url=agent.url, timeout=10) as http:  # new connections
                    refused = [await http.get("/ready"), await http.post("/sessions"),
                               await http.post(f"/sessions/{other}/exec", json={"language": "python",
                                                                                "source": "print(1)"})]
                assert not task.done(), "the slow exec ended before the checks: they proved nothing"
                return await task, refused, signalled

            response, refused, signalled = asyncio.run(during_shutdown())
        for answer in refused:
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "unavailable" and "shutting down" in answer.json()["error"]
        assert refused[0].json()["reason"] == "the server is shutting down"
        assert response.status_code == 200 and response.json()["stdout"] == "finished\n"
        code = agent.process.wait(20)
        assert time.monotonic() - signalled < 20  # the grace period, not more
    finally:
        code = agent.stop()
    assert code == 0
    assert "stopping" in agent.stderr()


def test_an_exec_outliving_the_grace_period_is_cut_off_in_one_line_and_a_second_sigterm_exits_0(
        tmp_path: Path, agent_env: dict[str, str]) -> None:
    """An exec outlives the grace period: the server says in one line that it cut the request off
    (uvicorn printed an ERROR and a CancelledError traceback), and a second SIGTERM as it stops
    still ends it with exit code 0, the first signal's."""
    agent = start_agent(["--workers", "1", "--grace", "2", "--state-dir", str(tmp_path / "state")], agent_env)
    assert agent.process.stderr is not None
    try:
        with httpx.Client(base_url=agent.url, timeout=60) as client:
            session = new_session(client)

            def endless() -> None:
                with contextlib.suppress(httpx.HTTPError):
                    client.post(f"/sessions/{session}/exec", json={"language": "python",
                                                                   "source": "import time\ntime.sleep(25)"})

            caller = threading.Thread(target=endless, daemon=True)
            caller.start()
            time.sleep(1.0)
            agent.process.send_signal(signal.SIGTERM)
            selector = selectors.DefaultSelector()
            selector.register(agent.process.stderr, selectors.EVENT_READ)
            said, deadline = "", time.monotonic() + 30
            while "cut off" not in said and time.monotonic() < deadline:
                if selector.select(timeout=0.5):
                    said += agent.process.stderr.readline()
            assert "wasmrun agent: the grace period is over: 1 open request(s) cut off\n" in said, said
            agent.process.send_signal(signal.SIGTERM)  # the worker is still in its exec: stopped now
            code = agent.process.wait(20)
            caller.join(10)
    finally:
        agent.stop(signal.SIGKILL)
    rest = agent.stderr()
    assert "Traceback" not in said + rest and "ERROR" not in said + rest, said + rest
    assert code == 0


def test_a_signal_while_the_workers_stop_ends_them_at_once() -> None:
    """After the server has stopped, a further SIGTERM or Ctrl-C kills the workers still running
    and returns (Python's own handling, back by then, ended wasmrun with 143 and left them)."""
    from wasmrun.agent.serve import _signals_end_workers

    for sig in (signal.SIGTERM, signal.SIGINT):
        before = signal.getsignal(sig)
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            with _signals_end_workers(lambda pid=worker.pid: [pid]):
                os.kill(os.getpid(), sig)
                assert worker.wait(10) == -signal.SIGKILL
        finally:
            worker.kill()
            worker.wait()
        assert signal.getsignal(sig) == before  # the previous handler is back


def test_a_failed_runtime_build_is_retried_until_ready_without_a_restart(tmp_path: Path, agent_runtimes: AgentRuntimes,
                                                                          python_runtime: Path) -> None:
    """The runtimes cannot be built at first (their cache directory is a file): /ready and an exec
    say 503 with that reason; once the cause is gone the next try (5 s later) succeeds, with no
    restart."""
    env = agent_runtimes.env(tmp_path / "home")
    blocked = tmp_path / "home" / "cache" / "agent"
    blocked.unlink()
    blocked.write_text("not a directory\n", encoding="utf-8")
    agent = start_agent(["--workers", "1", "--state-dir", str(tmp_path / "state")], env, wait_ready=False)
    try:
        with httpx.Client(base_url=agent.url, timeout=30) as client:
            deadline, reason = time.monotonic() + 120, ""
            while "failed to load" not in reason and time.monotonic() < deadline:
                ready = client.get("/ready")
                reason = ready.json().get("reason", "")
                time.sleep(0.1)
            assert ready.status_code == 503 and ready.json()["code"] == "unavailable", ready.text
            assert "FileExistsError" in reason and "trying again" in reason, reason
            session = new_session(client)
            refused = client.post(f"/sessions/{session}/exec", json={"language": "python", "source": "print(1)"})
            assert refused.status_code == 503 and refused.json()["code"] == "unavailable"
            assert "the python runtime failed to load: FileExistsError" in refused.json()["error"]

            blocked.unlink()
            agent_runtimes.home(tmp_path / "home")  # the cause is gone
            deadline = time.monotonic() + READY_TIMEOUT_S
            while (ready := client.get("/ready")).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert ready.status_code == 200, ready.text
            assert run(client, session, "print(6 * 7)")["stdout"] == "42\n"
    finally:
        assert agent.stop() == 0
