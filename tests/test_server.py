"""The dev server without a browser: path safety over raw sockets, content types and cache
headers, port selection, live-reload events, records and ``wasmrun stop``, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wasmrun.server import app as server_app
from wasmrun.server.app import (
    BuildOptions,
    DevServer,
    ServeOptions,
    Site,
    bind,
    content_type,
    is_loopback,
    open_server,
)
from wasmrun.server.paths import request_segments, resolve_in_roots
from wasmrun.server.records import ServerRecord, read_records
from wasmrun.server.reload import BuildState


def raw_get(port: int, target: str, host: str = "127.0.0.1", method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send a request line exactly as given (no client normalisation) and read the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        request = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/ with files, a subdirectory, hidden files and symlinks pointing out; secret.txt outside."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "app.wasm").write_bytes(b"\0asm\1\0\0\0")
    (root / "app.js").write_text("console.log(1)")
    (root / "style.css").write_text("body{}")
    (root / "data.json").write_text("{}")
    (root / "sub" / "page.html").write_text("<p>sub page</p>")
    (root / ".hidden").write_text("hidden")
    (root / "name with space.txt").write_text("spaced")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("TOP SECRET")
    (root / "link-out").symlink_to(tmp_path / "outside", target_is_directory=True)
    (root / "file-link").symlink_to(tmp_path / "secret.txt")
    (root / "inner-link.css").symlink_to(root / "style.css")
    return root


@pytest.fixture
def static_server(tree: Path) -> Iterator[DevServer]:
    site = Site("tree", BuildState(), project_dir=tree)
    server = DevServer(site, ServeOptions(port=0))
    server.start()
    try:
        yield server
    finally:
        server.close()


TRAVERSALS = [
    "/../secret.txt",
    "/../../secret.txt",
    "/sub/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/%252e%252e/secret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "/sub\\..\\..\\secret.txt",
    "/%5c..%5c..%5csecret.txt",
    "/./../secret.txt",
    "//../secret.txt",
    "/link-out/secret.txt",
    "/file-link",
    "/.hidden",
    "/%2ehidden",
    "/app.wasm%00.txt",
    "/C:/secret.txt",
    "secret.txt",
    "http://evil/../secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_is_not_found(static_server: DevServer, target: str) -> None:
    status, _, body = raw_get(static_server.port, target)
    assert status in (400, 404), (target, status)
    assert b"SECRET" not in body


def test_files_inside_the_root_are_served(static_server: DevServer) -> None:
    assert raw_get(static_server.port, "/sub/page.html")[0] == 200
    assert raw_get(static_server.port, "/name%20with%20space.txt")[2] == b"spaced"
    assert raw_get(static_server.port, "/inner-link.css")[2] == b"body{}"  # a symlink that stays inside
    assert raw_get(static_server.port, "/app.js?v=3#x")[2] == b"console.log(1)"


@pytest.mark.parametrize("target", ["/sub", "/sub/", "/link-out/", "/nope/"])
def test_no_directory_listings(static_server: DevServer, target: str) -> None:
    status, _, body = raw_get(static_server.port, target)
    assert status == 404
    assert b"page.html" not in body


@pytest.mark.parametrize(("name", "expected"), [
    ("app.wasm", "application/wasm"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("data.json", "application/json"),
    ("sub/page.html", "text/html; charset=utf-8"),
])
def test_content_types_and_no_cache(static_server: DevServer, name: str, expected: str) -> None:
    status, headers, _ = raw_get(static_server.port, f"/{name}")
    assert status == 200
    assert headers["content-type"] == expected
    assert "no-store" in headers["cache-control"]
    assert headers["x-content-type-options"] == "nosniff"


def test_head_and_not_found_headers(static_server: DevServer) -> None:
    status, headers, body = raw_get(static_server.port, "/app.wasm", method="HEAD")
    assert (status, headers["content-length"], body) == (200, "8", b"")
    status, headers, _ = raw_get(static_server.port, "/missing.wasm")
    assert status == 404
    assert "no-store" in headers["cache-control"]


def test_foreign_host_header_is_refused_on_loopback(static_server: DevServer) -> None:
    assert raw_get(static_server.port, "/app.js", host="evil.example")[0] == 403
    assert raw_get(static_server.port, "/app.js", host="localhost")[0] == 200
    assert raw_get(static_server.port, "/app.js", host="[::1]")[0] == 200


def test_request_segments_rules() -> None:
    assert request_segments("/a/b%20c.txt?q=1") == ["a", "b c.txt"]
    assert request_segments("/") == []
    for bad in ("/a/../b", "/%2e%2e", "/a%2fb", "/a\\b", "/%00", "/.git/config", "/%252e%252e", "/%ff"):
        assert request_segments(bad) is None, bad


def test_resolve_in_roots_prefers_the_first_root(tmp_path: Path) -> None:
    first, second = tmp_path / "out", tmp_path / "project"
    first.mkdir()
    second.mkdir()
    (first / "a.txt").write_text("out")
    (second / "a.txt").write_text("project")
    (second / "b.txt").write_text("b")
    assert resolve_in_roots("/a.txt", [first, second]) == (first / "a.txt").resolve()
    assert resolve_in_roots("/b.txt", [first, second]) == (second / "b.txt").resolve()
    assert resolve_in_roots("/c.txt", [first, second]) is None


def test_content_type_of_wasm() -> None:
    assert content_type(Path("x.WASM")) == "application/wasm"
    assert content_type(Path("x.unknownext")) == "application/octet-stream"


def test_is_loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.5"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.2", "example.com", "::"))


# -- ports ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def occupied() -> Iterator[int]:
    """A port something else listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def test_default_port_taken_uses_the_next_free(monkeypatch: pytest.MonkeyPatch, occupied: int) -> None:
    monkeypatch.setattr(server_app, "DEFAULT_PORT", occupied)
    httpd = bind("127.0.0.1", None)
    try:
        assert httpd.server_port > occupied
        assert httpd.server_port < occupied + server_app.PORT_TRIES
    finally:
        httpd.server_close()


def test_explicit_port_taken_is_an_error(occupied: int) -> None:
    from wasmrun.errors import UsageError

    with pytest.raises(UsageError, match=f"port {occupied} on 127.0.0.1 is already in use"):
        bind("127.0.0.1", occupied)


def test_unknown_host_is_an_error() -> None:
    from wasmrun.errors import UsageError

    with pytest.raises(UsageError, match="cannot serve on host"):
        bind("no-such-host.invalid", 0)


# -- the built project, info and live reload ----------------------------------------------------


@pytest.fixture
def wat_server(example: Callable[[str], Path]) -> Iterator[DevServer]:
    server = open_server(example("wat-hello"), ServeOptions(port=0, watch=True, args=["a1"], env={"K": "V"}))
    server.start()
    try:
        yield server
    finally:
        server.close()


def test_info_and_inspect_json(wat_server: DevServer) -> None:
    status, headers, body = raw_get(wat_server.port, "/__wasmrun/info.json")
    assert status == 200 and headers["content-type"] == "application/json"
    info = json.loads(body)
    assert info["wasm"] == "/main.wasm"
    assert info["mode"] == "module"
    assert info["args"] == ["main.wasm", "a1"]
    assert info["env"] == {"K": "V"}
    add = next(e for e in info["exports"] if e["name"] == "add")
    assert (add["params"], add["results"]) == (["i32", "i32"], ["i32"])
    status, _, body = raw_get(wat_server.port, "/__wasmrun/inspect.json")
    report = json.loads(body)
    assert status == 200 and "exports" in report
    page = raw_get(wat_server.port, "/")[2].decode()
    assert "wasmrun-info" in page and "class WASI" in page  # info, shim and page script inlined
    assert "/__wasmrun/static/live.js" in page  # --watch injects live reload
    assert raw_get(wat_server.port, "/__wasmrun/static/wasi.js")[1]["content-type"].startswith("text/javascript")
    assert raw_get(wat_server.port, "/__wasmrun/static/../app.py")[0] == 404


class SSE:
    """A raw Server-Sent Events reader with a deadline on every read."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(f"GET /__wasmrun/events HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        self.buffer = b""

    def next(self, kind: str, timeout: float = 15.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\n\n" in self.buffer:
                block, self.buffer = self.buffer.split(b"\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.decode().splitlines() if ": " in line)
                if fields.get("event") == kind:
                    data: dict[str, object] = json.loads(fields["data"])
                    return data
            self.buffer += self.sock.recv(65536)
        raise AssertionError(f"no {kind} event within {timeout} s")

    def close(self) -> None:
        self.sock.close()


def test_watch_rebuilds_and_a_failed_build_keeps_the_last_good_one(wat_server: DevServer) -> None:
    project = wat_server.site.project_dir
    assert project is not None
    old_wasm = raw_get(wat_server.port, "/main.wasm")[2]
    sse = SSE(wat_server.port)
    try:
        hello = sse.next("hello")
        assert hello["error"] is None
        source = project / "main.wat"
        source.write_text(source.read_text().replace("hello from WebAssembly text", "HELLO from WebAssembly text"))
        reload = sse.next("reload")
        assert int(reload["generation"]) > int(hello["generation"])  # type: ignore[call-overload]
        new_wasm = raw_get(wat_server.port, "/main.wasm")[2]
        assert b"HELLO" in new_wasm and new_wasm != old_wasm
        source.write_text("(module (func $broken (unknown-instruction)))")
        failed = sse.next("build-failed")
        assert "unknown" in str(failed["error"])
        assert raw_get(wat_server.port, "/main.wasm")[2] == new_wasm
        status = json.loads(raw_get(wat_server.port, "/__wasmrun/status.json")[2])
        assert status["error"]
        source.write_text(source.read_text().replace("(unknown-instruction)", ""))
        sse.next("reload")
        assert json.loads(raw_get(wat_server.port, "/__wasmrun/status.json")[2])["error"] is None
    finally:
        sse.close()


def test_a_cached_first_build_serves_before_any_plugin_loads_and_still_rebuilds(
        example: Callable[[str], Path]) -> None:
    """The second server of a project restores its build from the cache's manifest without
    loading a plugin (as ``compile`` does); a source edited under --watch then loads them and
    rebuilds as ever."""
    project = example("wat-hello")
    open_server(project, ServeOptions(port=0)).close()  # builds and stores it
    server = open_server(project, ServeOptions(port=0, watch=True))
    assert server.site.result is not None and server.site.result.cached
    assert (server.site.plugin, server.site.plugins) == ("wat", None)
    server.start()
    sse = SSE(server.port)
    try:
        sse.next("hello")
        assert b"hello from WebAssembly text" in raw_get(server.port, "/main.wasm")[2]
        source = project / "main.wat"
        source.write_text(source.read_text().replace("hello from WebAssembly text", "HELLO from WebAssembly text"))
        sse.next("reload")
        assert b"HELLO from WebAssembly text" in raw_get(server.port, "/main.wasm")[2]
        assert server.site.plugins is not None and server.site.result is not None
        assert not server.site.result.cached
    finally:
        sse.close()
        server.close()


def test_editing_a_web_file_reloads_without_a_build(make_project: Callable[..., Path]) -> None:
    project = make_project({"index.html": "<h1>one</h1>"})
    server = open_server(project, ServeOptions(port=0, watch=True))
    server.start()
    sse = SSE(server.port)
    try:
        sse.next("hello")
        assert b"<h1>one</h1>" in raw_get(server.port, "/")[2]
        (project / "index.html").write_text("<h1>two</h1>")
        sse.next("reload")
        assert b"<h1>two</h1>" in raw_get(server.port, "/")[2]
    finally:
        sse.close()
        server.close()


def test_project_index_html_is_the_page(make_project: Callable[..., Path], example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    (project / "index.html").write_text("<html><body><h1>my app</h1></body></html>")
    server = open_server(project, ServeOptions(port=0))
    server.start()
    try:
        body = raw_get(server.port, "/")[2]
        assert b"my app" in body and b"live.js" not in body  # no --watch, no injection
        assert b"class WASI" in raw_get(server.port, "/__wasmrun/")[2]  # wasmrun's page stays reachable
        assert raw_get(server.port, "/main.wasm")[0] == 200
    finally:
        server.close()


def test_a_wasm_file_is_served_on_the_page(tmp_path: Path) -> None:
    wasm = tmp_path / "copy.wasm"
    wasm.write_bytes(_assemble_hello())
    with open_server(wasm, ServeOptions(port=0)) as server:
        server.start()
        info = json.loads(raw_get(server.port, "/__wasmrun/info.json")[2])
        assert info["wasm"] == "/copy.wasm"
        assert raw_get(server.port, "/copy.wasm")[0] == 200


def _assemble_hello() -> bytes:
    import wasmtime

    source = (Path(__file__).resolve().parents[1] / "examples/wat-hello/main.wat").read_text()
    return bytes(wasmtime.wat2wasm(source))


def test_failed_first_build_without_watch_raises(make_project: Callable[..., Path]) -> None:
    from wasmrun.errors import BuildError

    project = make_project({"main.wat": "(module (func (bogus)))"})
    with pytest.raises(BuildError):
        open_server(project, ServeOptions(port=0), BuildOptions())


def test_failed_first_build_with_watch_serves_the_error(make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": "(module (func (bogus)))"})
    with open_server(project, ServeOptions(port=0, watch=True)) as server:
        server.start()
        info = json.loads(raw_get(server.port, "/__wasmrun/info.json")[2])
        assert info["wasm"] is None and "bogus" in info["error"]


# -- records and `wasmrun stop` -----------------------------------------------------------------


def test_stale_records_are_removed_not_trusted(cli: Callable[..., object]) -> None:
    dead = ServerRecord(pid=2**22 + 12345, host="127.0.0.1", port=_free_port(), url="http://x/", project="/nowhere")
    # A live pid (ours) whose port does not answer with the token: also stale.
    reused = ServerRecord(pid=os.getpid(), host="127.0.0.1", port=_free_port(), url="http://y/", project="/nowhere")
    dead.write()
    reused.write()
    (dead.path.parent / "garbage.json").write_text("{not json")
    result = cli("stop", "--all")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert "stale" in result.stdout  # type: ignore[attr-defined]
    assert read_records() == []
    assert list(dead.path.parent.iterdir()) == []


@pytest.mark.parametrize("data", [{"pid": "x"}, {"port": "80"}, {"port": 70000}, {"pid": True}, {"host": None},
                                  {"started": "now"}])
def test_records_of_the_wrong_shape_are_removed(cli: Callable[..., object], data: dict[str, object]) -> None:
    good = ServerRecord(pid=2**22 + 1, host="127.0.0.1", port=_free_port(), url="http://x/", project="/nowhere")
    good.write()
    good.path.write_text(json.dumps({**json.loads(good.path.read_text()), **data}))
    result = cli("stop", "--all")
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert "internal error" not in result.stderr  # type: ignore[attr-defined]
    assert not good.path.exists()


def test_stop_with_nothing_running(cli: Callable[..., object], tmp_path: Path) -> None:
    result = cli("stop", str(tmp_path))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "no running wasmrun server" in result.stderr  # type: ignore[attr-defined]


def _start_cli(args: list[str], cwd: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """``python -m wasmrun ARGS`` in the background; returns it and its URL once it serves."""
    proc = subprocess.Popen([sys.executable, "-m", "wasmrun", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=os.environ.copy())
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("serving "):
            return proc, line.split(" at ", 1)[1].split()[0].rstrip(";")
    proc.kill()
    _, stderr = proc.communicate(timeout=10)
    raise AssertionError(f"the server did not start: {stderr}")


def test_cli_run_stop_and_records(example: Callable[[str], Path], cli: Callable[..., object]) -> None:
    project = example("wat-hello")
    proc, url = _start_cli(["run", str(project), "--port", "0"])
    try:
        records = read_records()
        assert len(records) == 1 and records[0].url == url and records[0].pid == proc.pid
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert raw_get(port, "/main.wasm")[1]["content-type"] == "application/wasm"
        result = cli("stop", str(project))
        assert result.exit_code == 0, result  # type: ignore[attr-defined]
        assert f"stopped {url}" in result.stdout  # type: ignore[attr-defined]
        assert proc.wait(timeout=10) == 0
        assert read_records() == []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_bare_path_runs_and_ctrl_c_stops_cleanly(example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    proc, _url = _start_cli([str(project), "--port", "0"])  # `wasmrun PATH` is `wasmrun run PATH`
    try:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
        _, stderr = proc.communicate(timeout=10)
        assert code == 130, stderr  # interrupted, as docs/reference/exit-codes.md says of every command
        assert "Traceback" not in stderr and "stopped" in stderr
        assert read_records() == []
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_explicit_port_taken(example: Callable[[str], Path], cli: Callable[..., object], occupied: int) -> None:
    result = cli("run", str(example("wat-hello")), "--port", str(occupied))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert f"port {occupied} on 127.0.0.1 is already in use" in result.stderr  # type: ignore[attr-defined]


def test_cli_failed_build_is_one_line(make_project: Callable[..., Path], cli: Callable[..., object]) -> None:
    result = cli("run", str(make_project({"main.wat": "(module (func (bogus)))"})), "--port", "0")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "error:" in result.stderr and "Traceback" not in result.stderr  # type: ignore[attr-defined]


def test_cli_bad_env_and_missing_path(cli: Callable[..., object], tmp_path: Path) -> None:
    result = cli("run", str(tmp_path / "missing"))
    assert result.exit_code == 2 and "no such file" in result.stderr  # type: ignore[attr-defined]
    result = cli("run", str(tmp_path), "--env", "NOEQUALS")
    assert result.exit_code == 2 and "KEY=VALUE" in result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.1", False)])
def test_cli_warns_for_a_host_that_is_not_loopback(example: Callable[[str], Path], host: str, warned: bool) -> None:
    """``--host 127.1`` is loopback in another spelling: no warning; ``0.0.0.0`` gets one."""
    proc, url = _start_cli(["run", str(example("wat-hello")), "--host", host, "--port", "0"])
    try:
        assert url.startswith("http://127.0.0.1:")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        _, stderr = proc.communicate(timeout=10)
        assert ("warning: listening on" in stderr) is warned
    finally:
        if proc.poll() is None:
            proc.kill()


def test_command_names_win_over_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from wasmrun.cli import main

    (tmp_path / "stop").mkdir()
    (tmp_path / "proj").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["stop", "--help"])
    assert exc.value.code == 0
    assert "Stop dev servers" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["proj", "--help"])  # an existing path that is not a command: `run proj --help`
    assert exc.value.code == 0
    assert "Build a project (or take a .wasm file)" in capsys.readouterr().out


@pytest.mark.parametrize(("memory", "isolated"), [("(memory 1)", False), ("(memory 1 1 shared)", True),
                                                  ('(import "env" "memory" (memory 1 1 shared))', True)])
def test_cross_origin_isolation_only_for_a_shared_memory(tmp_path: Path, memory: str, isolated: bool) -> None:
    """COOP + COEP (for SharedArrayBuffer) only when the module needs them: they also stop a page
    loading cross-origin resources that do not opt in."""
    import wasmtime

    from wasmrun.server.app import open_server

    wasm = tmp_path / "module.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(f"(module {memory})"))
    server = open_server(wasm, ServeOptions(port=0))
    server.start()
    try:
        for target in ("/", "/module.wasm"):
            _, headers, _ = raw_get(server.port, target)
            assert headers.get("cross-origin-opener-policy") == ("same-origin" if isolated else None)
            assert headers.get("cross-origin-embedder-policy") == ("require-corp" if isolated else None)
    finally:
        server.close()


# -- the module report: once per build ------------------------------------------------------------


def _concurrent_gets(port: int, targets: list[str]) -> list[int]:
    import threading

    statuses: list[int] = []

    def one(target: str) -> None:
        statuses.append(raw_get(port, target)[0])

    threads = [threading.Thread(target=one, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


def test_the_module_is_read_once_per_build(example: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A page load asks for the page, the module, the info and the report at once: the server
    reads the module once for all of them (a slow reader makes the requests overlap), and again
    only after a rebuild, whose exports it then reports."""
    import wasmrun.wasm.inspect as inspect_mod
    from wasmrun.wasm.reader import WasmModule

    project = example("wat-hello")
    server = open_server(project, ServeOptions(port=0))
    summaries: list[str] = []
    reports: list[str] = []
    read = WasmModule.from_file.__func__  # type: ignore[attr-defined]
    summarise = server_app.module_summary
    report = inspect_mod.inspect_module

    def slow_read(cls: type[WasmModule], path: str | Path) -> WasmModule:
        time.sleep(0.3)
        module: WasmModule = read(cls, path)
        return module

    def counted_summary(module: WasmModule) -> dict[str, object]:
        summaries.append("summary")
        return summarise(module)

    def counted_report(*args: object, **kwargs: object) -> object:
        reports.append("report")
        return report(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(WasmModule, "from_file", classmethod(slow_read))
    monkeypatch.setattr(server_app, "module_summary", counted_summary)
    monkeypatch.setattr(inspect_mod, "inspect_module", counted_report)
    targets = ["/", "/main.wasm", "/main.wat", "/__wasmrun/info.json", "/__wasmrun/inspect.json",
               "/__wasmrun/inspect.json", "/__wasmrun/static/page.js"] * 2
    server.start()
    try:
        assert _concurrent_gets(server.port, targets) == [200] * len(targets)
        assert (len(summaries), len(reports)) == (1, 1)
        source = project / "main.wat"
        source.write_text(source.read_text().replace('(func (export "add")', '(func (export "plus")'))
        assert server.builder is not None and server.builder.rebuild()
        assert _concurrent_gets(server.port, targets) == [200] * len(targets)
        assert (len(summaries), len(reports)) == (2, 2)
        names = [e["name"] for e in json.loads(raw_get(server.port, "/__wasmrun/info.json")[2])["exports"]]
        assert "plus" in names and "add" not in names
    finally:
        server.close()


# -- files the server cannot read ---------------------------------------------------------------


def _unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``path`` unreadable: by its mode, or (as root, whom modes do not stop) by having the
    open the operating system would refuse refuse here."""
    path.chmod(0)
    if os.geteuid() != 0:
        return
    real_open = Path.open

    def refusing_open(self: Path, *args: object, **kwargs: object) -> object:
        if self.resolve() == path.resolve():
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refusing_open)


@pytest.mark.parametrize("name", ["data.bin", "page.html"])
def test_an_unreadable_file_is_403_and_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str], name: str) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<p>ok</p>")
    (root / name).write_text("secret")
    _unreadable(root / name, monkeypatch)
    lines: list[str] = []
    server = DevServer(Site("site", BuildState(), project_dir=root), ServeOptions(port=0, log=lines.append))
    server.start()
    try:
        status, _, body = raw_get(server.port, f"/{name}")
        assert status == 403 and b"cannot read" in body
        assert raw_get(server.port, "/")[0] == 200  # the server carries on
    finally:
        server.close()
    assert len(lines) == 1 and lines[0].startswith("error: cannot read") and name in lines[0]
    assert "Traceback" not in capsys.readouterr().err


def test_an_error_while_answering_is_500_and_one_line(static_server: DevServer, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    static_server.options.log = lines.append

    def broken(*args: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(server_app, "resolve_in_roots", broken)
    status, _, _ = raw_get(static_server.port, "/app.js")
    assert status == 500
    assert lines == ["error: internal error answering GET /app.js: ValueError: a bug"]
    assert "Traceback" not in capsys.readouterr().err


# -- the watcher and wasmrun's own writes --------------------------------------------------------


class BuildLog:
    """The server's log lines, with a wait for the next ``built`` one."""

    def __init__(self) -> None:
        import threading

        self.lines: list[str] = []
        self.changed = threading.Condition()

    def __call__(self, line: str) -> None:
        with self.changed:
            self.lines.append(line)
            self.changed.notify_all()

    def builds(self) -> int:
        return sum(line.startswith(("built ", "build failed")) for line in self.lines)

    def wait_for_builds(self, count: int, timeout: float) -> int:
        with self.changed:
            self.changed.wait_for(lambda: self.builds() >= count, timeout=timeout)
            return self.builds()


def test_a_symlink_to_an_ancestor_does_not_make_the_server_rebuild_from_its_own_writes(
        example: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a link to a directory above the project (and wasmrun's home in it), the output
    directory, the build's staging directory and the server's records are all reachable a second
    way: one edit is still one build."""
    monkeypatch.setenv("WASMRUN_HOME", str(tmp_path / "home"))
    project = example("wat-hello")
    (project / "up").symlink_to("..", target_is_directory=True)
    log = BuildLog()
    server = open_server(project, ServeOptions(port=0, watch=True, log=log))
    server.start()
    try:
        time.sleep(0.5)  # the watcher's first scan
        source = project / "main.wat"
        source.write_text(source.read_text().replace("hello from", "HELLO from"))
        assert log.wait_for_builds(1, timeout=30) == 1
        # a loop would build again within a debounce period or two; give it several
        assert log.wait_for_builds(2, timeout=6) == 1, log.lines
    finally:
        server.close()
    assert b"HELLO" in (project / "wasmrun-out" / "main.wasm").read_bytes()


def test_wasmrun_s_own_directories_are_ignored_however_reached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wasmrun.server.reload import ignored, own_dirs

    monkeypatch.setenv("WASMRUN_HOME", str(tmp_path / "home"))
    project = tmp_path / "project"
    (project / "out").mkdir(parents=True)
    (project / "up").symlink_to("..", target_is_directory=True)
    (project / "out-link").symlink_to("out", target_is_directory=True)
    root = project.resolve()
    own = own_dirs(project / "out")
    assert ignored(root / "out" / "main.wasm", root, own)
    assert ignored(root / "out-link" / "main.wasm", root, own)
    assert ignored(root / "up" / "project" / "out" / ".staging-x" / "main.wasm", root, own)
    assert ignored(root / "up" / "home" / "state" / "servers" / "1-2.json", root, own)
    assert ignored(root / "up" / "project" / ".git" / "index", root, own)
    assert not ignored(root / "main.wat", root, own)
    assert not ignored(root / "up" / "project" / "main.wat", root, own)


# -- loopback in every form ----------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.1", "0x7f.0.0.1", "2130706433", "127.0.0.1", "localhost"])
def test_loopback_in_any_form_keeps_the_host_check(host: str) -> None:
    """``--host 127.1`` binds loopback: the DNS-rebinding check must stay on."""
    server = DevServer(Site("x", BuildState(), project_dir=Path(__file__).parent), ServeOptions(host=host, port=0))
    server.start()
    try:
        assert raw_get(server.port, "/__wasmrun/ping", host="evil.example")[0] == 403
        assert server.url.startswith(("http://127.0.0.1:", "http://localhost:"))
        assert raw_get(server.port, "/__wasmrun/ping", host="127.1")[0] == 200
        assert raw_get(server.port, "/__wasmrun/ping", host="localhost")[0] == 200
    finally:
        server.close()


def test_loopback_forms() -> None:
    for host in ("127.1", "0x7f.1", "2130706433", "[::ffff:127.0.0.1]", "::ffff:127.0.0.1", "localhost.",
                 "LOCALHOST", "[::1]", "127.255.255.254"):
        assert is_loopback(host), host
    for host in ("127.0.0.1.evil.example", "0.0.0.0", "::", "1", "10.0.0.1", "127.0.0.1 x", "", "[]",
                 "evil.localhost.example"):
        assert not is_loopback(host), host


# -- the project's own settings, and only the current build's outputs ------------------------------


def test_cli_run_honours_the_project_s_target(example: Callable[[str], Path]) -> None:
    """``target = "web"`` in wasmrun.toml: `run` builds emscripten's page, as `compile` would."""
    from wasmrun.testing import require_tool

    require_tool("emcc", found=shutil.which("emcc") is not None)
    project = example("c-hello")
    (project / "wasmrun.toml").write_text('target = "web"\n')
    proc, url = _start_cli(["run", str(project), "--port", "0"])
    try:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        status, headers, body = raw_get(port, "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b"c-hello.js" in body and b"wasmrun-info" not in body  # emscripten's page, not wasmrun's
        assert (project / "wasmrun-out" / "c-hello.html").is_file()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_run_honours_the_project_s_output_dir(example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    (project / "wasmrun.toml").write_text('output_dir = "build"\n')
    with open_server(project, ServeOptions(port=0)) as server:
        server.start()
        assert server.site.output_dir == (project / "build").absolute()
        assert json.loads(raw_get(server.port, "/__wasmrun/info.json")[2])["wasm"] == "/main.wasm"
        assert raw_get(server.port, "/main.wasm")[0] == 200
    assert (project / "build" / "main.wasm").is_file() and not (project / "wasmrun-out").exists()


def test_an_earlier_build_s_files_are_not_served(example: Callable[[str], Path]) -> None:
    """`compile --debug-info` leaves a .wat beside the module; the server's own build does not
    make one, so the old one is stale: not served, from the output directory or through the
    project directory."""
    from wasmrun.building import compile_project, default_plugins

    project = example("python-hello")
    debug = compile_project(project, default_plugins(), debug_info=True)
    wat = [p for p in debug.additional_files if p.suffix == ".wat"]
    assert wat and wat[0].is_file()
    with open_server(project, ServeOptions(port=0)) as server:
        server.start()
        leftover = project / "wasmrun-out" / "older.wat"  # whether or not the build swept the old one
        leftover.write_text("(module)")
        for stale in (wat[0].name, leftover.name):
            assert raw_get(server.port, f"/{stale}")[0] == 404
            assert raw_get(server.port, f"/wasmrun-out/{stale}")[0] == 404
        assert raw_get(server.port, f"/{wat[0].name}")[0] == 404
        assert raw_get(server.port, f"/wasmrun-out/{wat[0].name}")[0] == 404
        assert raw_get(server.port, f"/{debug.wasm_path.name}")[0] == 200
        assert raw_get(server.port, f"/wasmrun-out/{debug.wasm_path.name}")[0] == 200


# -- what needs a rebuild -------------------------------------------------------------------------


def test_a_text_file_the_build_includes_rebuilds(make_project: Callable[..., Path]) -> None:
    """A ``.txt`` looks like a static file, but this C program #includes it: editing it must
    rebuild, not just reload the page with the old module."""
    from wasmrun.testing import require_tool

    require_tool("clang", found=shutil.which("clang") is not None)
    project = make_project({
        "main.c": '#include <stdio.h>\nstatic const char *msg =\n#include "msg.txt"\n;\n'
                  'int main(void) { puts(msg); return 0; }\n',
        "msg.txt": '"message one"\n',
    })
    server = open_server(project, ServeOptions(port=0, watch=True))
    server.start()
    sse = SSE(server.port)
    try:
        sse.next("hello")
        wasm = json.loads(raw_get(server.port, "/__wasmrun/info.json")[2])["wasm"]
        assert b"message one" in raw_get(server.port, wasm)[2]
        (project / "msg.txt").write_text('"message two"\n')
        sse.next("reload")  # after a build, or (the defect) after nothing at all
        assert b"message two" in raw_get(server.port, wasm)[2]
    finally:
        sse.close()
        server.close()


def test_change_needs_rebuild(tmp_path: Path) -> None:
    from wasmrun.server.reload import change_needs_rebuild

    main, page, out = tmp_path / "main.c", tmp_path / "index.html", tmp_path / "main.wasm"
    # nothing recorded: any change may be an input, except what the build produced
    assert change_needs_rebuild({page})
    assert not change_needs_rebuild({out}, outputs=[out])
    assert change_needs_rebuild({out, page}, outputs=[out])
    # recorded inputs: those, and the plugin's sources, decide
    assert not change_needs_rebuild({page}, recorded_inputs=[main])
    assert not change_needs_rebuild({main}, recorded_inputs=[])
    assert change_needs_rebuild({main}, recorded_inputs=[], sources=lambda: [main])


def test_a_header_outside_the_project_the_build_read_rebuilds(make_project: Callable[..., Path],
                                                              tmp_path: Path) -> None:
    """``#include "../shared/msg.h"``: the watch covers what the build read from outside the
    project (the build cache's record of its inputs), so editing it rebuilds."""
    from wasmrun.testing import require_tool

    require_tool("clang", found=shutil.which("clang") is not None)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "msg.h").write_text('#define MSG "outside one"\n')
    project = make_project({"main.c": '#include <stdio.h>\n#include "../shared/msg.h"\n'
                                      'int main(void) { puts(MSG); return 0; }\n'})
    time.sleep(0.05)  # files written in the tick a build starts in are too new to be stored
    server = open_server(project, ServeOptions(port=0, watch=True))
    server.start()
    sse = SSE(server.port)
    try:
        sse.next("hello")
        wasm = json.loads(raw_get(server.port, "/__wasmrun/info.json")[2])["wasm"]
        assert b"outside one" in raw_get(server.port, wasm)[2]
        assert server.inputs_watcher is not None and shared / "msg.h" in server.inputs_watcher.inputs
        (shared / "msg.h").write_text('#define MSG "outside two"\n')
        sse.next("reload")
        assert b"outside two" in raw_get(server.port, wasm)[2]
    finally:
        sse.close()
        server.close()
