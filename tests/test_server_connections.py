"""The dev server under hostile or careless clients, over real sockets: bursts of connections,
connections that send nothing, slow senders, clients that stop reading, and many open pages."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wasmrun.server import connections
from wasmrun.server.app import DevServer, ServeOptions, Site
from wasmrun.server.reload import BuildState

#: A deadline for what must happen "soon"; never a figure asserted on.
SOON = 20.0


@pytest.fixture
def site(tmp_path: Path) -> Site:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "small.txt").write_text("small")
    return Site("site", BuildState(), project_dir=root)


@pytest.fixture
def server(site: Site) -> Iterator[DevServer]:
    dev = DevServer(site, ServeOptions(port=0))
    try:
        yield dev
    finally:
        dev.close()


def get(port: int, path: str = "/small.txt", timeout: float = SOON) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def closed_by_server(sock: socket.socket, within: float = SOON) -> bytes:
    """Read until the server closes the connection; what it sent. Fails if it stays open."""
    sock.settimeout(within)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open for {within} s") from None
    except ConnectionResetError:
        pass
    return data


def test_a_burst_of_connections_is_queued_while_the_server_is_busy(server: DevServer) -> None:
    """200 clients connect before the server gets to accept any: the kernel completes every
    handshake (a real backlog, not 5), and every one is answered once the server runs."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(200):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", server.port))
        sel.register(sock, selectors.EVENT_WRITE)
        socks.append(sock)
    connected: set[socket.socket] = set()
    deadline = time.monotonic() + 3.0  # SYNs dropped by a full backlog are retried after 1 s, 3 s, ...
    while len(connected) < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(0.1):
            ready = key.fileobj
            assert isinstance(ready, socket.socket)
            if ready.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected.add(ready)
            sel.unregister(ready)
    assert len(connected) == len(socks)
    server.start()
    try:
        for sock in socks:
            sock.setblocking(True)
            sock.sendall(b"GET /small.txt HTTP/1.0\r\nHost: localhost\r\n\r\n")
        for sock in socks:
            reply = closed_by_server(sock)
            assert reply.startswith(b"HTTP/1.0 200") and reply.endswith(b"small")
    finally:
        for sock in socks:
            sock.close()


def test_connections_that_send_nothing_are_closed_and_do_not_starve_others(server: DevServer) -> None:
    server.httpd.loop.head_timeout = 1.0
    server.start()
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=SOON) for _ in range(300)]
    try:
        assert get(server.port) == (200, b"small")
        assert closed_by_server(idle[0]) == b""  # an idle client is told nothing, just closed
        assert closed_by_server(idle[-1]) == b""
    finally:
        for sock in idle:
            sock.close()


def test_beyond_the_waiting_limit_the_longest_waiting_is_closed(server: DevServer) -> None:
    server.httpd.loop.max_waiting = 10
    server.start()
    first = socket.create_connection(("127.0.0.1", server.port), timeout=SOON)
    others = [socket.create_connection(("127.0.0.1", server.port), timeout=SOON) for _ in range(10)]
    try:
        assert closed_by_server(first) == b""
        assert get(server.port) == (200, b"small")
    finally:
        for sock in [first, *others]:
            sock.close()


def test_a_slow_sender_is_cut_off_with_408(server: DevServer) -> None:
    """A client dribbling its request head (slowloris) gets a deadline for the whole head, not
    a fresh timeout per byte."""
    server.httpd.loop.head_timeout = 1.0
    server.start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=SOON) as sock:
        request = b"GET /small.txt HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"a" * 400
        sent = 0
        deadline = time.monotonic() + SOON
        try:
            while sent < len(request) and time.monotonic() < deadline:
                sock.sendall(request[sent:sent + 1])
                sent += 1
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < len(request), "the server waited for the whole slow request"
        reply = closed_by_server(sock)
    assert reply.startswith(b"HTTP/1.0 408")


def test_an_oversized_request_head_is_refused(server: DevServer) -> None:
    server.start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=SOON) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * (connections.MAX_HEAD + 1024))
        reply = closed_by_server(sock)
    assert reply == b"" or reply.startswith(b"HTTP/1.0 431")  # a reset may overtake the reply


def test_a_client_that_stops_reading_is_disconnected(server: DevServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that asks for a large file and reads nothing frees its worker: the server gives
    up on it instead of waiting forever."""
    monkeypatch.setattr(connections, "SEND_TIMEOUT", 0.5)
    assert server.site.project_dir is not None
    (server.site.project_dir / "big.bin").write_bytes(b"x" * (64 * 1024 * 1024))
    server.start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=SOON) as sock:
        sock.sendall(b"GET /big.bin HTTP/1.0\r\nHost: localhost\r\n\r\n")
        time.sleep(3)  # read nothing for a while: long enough for a few send timeouts
        received = len(closed_by_server(sock))
    assert received < 64 * 1024 * 1024  # cut off, not the whole file
    assert get(server.port) == (200, b"small")


def test_threads_stay_bounded(server: DevServer) -> None:
    server.start()
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=SOON) for _ in range(200)]
    results: list[int] = []

    def client() -> None:
        results.append(get(server.port)[0])

    clients = [threading.Thread(target=client) for _ in range(100)]
    try:
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(SOON)
        assert results == [200] * 100
        assert server.httpd.loop.threads <= connections.WORKERS
        assert threading.active_count() <= before + connections.WORKERS
    finally:
        for sock in idle:
            sock.close()


def open_stream(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=SOON)
    sock.sendall(f"GET /__wasmrun/events HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
    return sock


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"closed before {marker!r}: {data!r}")
        data += chunk
    return data


def test_open_pages_hold_no_thread_and_all_hear_a_reload(server: DevServer) -> None:
    server.start()
    before = threading.active_count()
    streams = [open_stream(server.port) for _ in range(60)]
    try:
        for sock in streams:
            read_until(sock, b"event: hello")
        assert threading.active_count() <= before + connections.WORKERS
        assert get(server.port) == (200, b"small")  # the workers are free
        server.state.succeeded(None)  # what a finished build publishes
        for sock in streams:
            read_until(sock, b"event: reload")
    finally:
        for sock in streams:
            sock.close()


def test_a_page_that_goes_away_is_forgotten(server: DevServer) -> None:
    server.start()
    sock = open_stream(server.port)
    read_until(sock, b"event: hello")
    assert len(server.httpd.loop.streams) == 1
    sock.close()
    deadline = time.monotonic() + SOON
    while len(server.httpd.loop.streams) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(server.httpd.loop.streams) == 0


def test_too_many_event_streams_get_503(server: DevServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.httpd.loop.streams._limit = 2
    server.start()
    streams = [open_stream(server.port) for _ in range(2)]
    try:
        for sock in streams:
            read_until(sock, b"event: hello")
        with open_stream(server.port) as third:
            assert closed_by_server(third).startswith(b"HTTP/1.0 503")
    finally:
        for sock in streams:
            sock.close()


def test_closing_the_server_closes_the_streams(site: Site) -> None:
    dev = DevServer(site, ServeOptions(port=0))
    dev.start()
    sock = open_stream(dev.port)
    try:
        read_until(sock, b"event: hello")
        dev.close()
        closed_by_server(sock)
    finally:
        sock.close()
        dev.close()


def test_a_bug_while_reading_a_request_is_one_line_and_the_server_carries_on(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    dev = DevServer(site, ServeOptions(port=0, log=lines.append))
    real_head_end = connections.head_end

    def head_end(data: bytes | bytearray) -> int:
        if b"/boom" in data:
            raise ValueError("a bug")
        return real_head_end(data)

    monkeypatch.setattr(connections, "head_end", head_end)
    dev.start()
    try:
        with socket.create_connection(("127.0.0.1", dev.port), timeout=SOON) as sock:
            sock.sendall(b"GET /boom HTTP/1.0\r\n\r\n")
            assert closed_by_server(sock) == b""
        assert get(dev.port) == (200, b"small")
    finally:
        dev.close()
    assert lines == ["error: internal error while answering 127.0.0.1: ValueError: a bug"]
