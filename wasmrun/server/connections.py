"""The dev server's connections, handled so that no client can starve it.

``http.server``'s ThreadingHTTPServer listens with a backlog of 5 and gives every connection a
thread of its own for as long as the client keeps it open: a burst of connections overflows the
backlog (the kernel drops SYNs, and clients wait a second or more to retry), and connections that
send nothing hold a thread each, forever. Here instead:

- the listening socket has a real backlog (:data:`LISTEN_BACKLOG`);
- one loop thread (:class:`ConnectionLoop`, the thread that serves) accepts connections and reads
  each request head without blocking; a connection must send its whole head within
  :data:`HEAD_TIMEOUT` seconds (idle and slow clients alike are closed, with ``408`` when they
  had started), and at most :data:`MAX_WAITING` may be waiting at once (the oldest is closed to
  make room);
- a complete request goes to a fixed pool of :data:`WORKERS` threads, which only write: every
  write must progress within :data:`SEND_TIMEOUT` seconds and a whole response must be taken
  within :data:`RESPONSE_TIMEOUT`, so a client that stops reading frees its worker;
- long-lived responses (live reload's event stream) are handed to :class:`Streams` after their
  first bytes: they hold no thread, are written to without blocking, and are closed when the
  client goes (at most :data:`MAX_STREAMS`).
"""

from __future__ import annotations

import contextlib
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BufferedIOBase
from typing import Any

#: The listen queue: connections the kernel completes while the loop is busy.
LISTEN_BACKLOG = 1024
#: Threads that write responses.
WORKERS = 16
#: Seconds a client has, from connecting, to send its whole request head.
HEAD_TIMEOUT = 15.0
#: The largest request head accepted (as ``http.server``'s line limit).
MAX_HEAD = 64 * 1024
#: Connections waiting for their request head; beyond it the one waiting longest is closed.
MAX_WAITING = 512
#: Complete requests queued for a worker; beyond it no more connections are accepted for now.
MAX_QUEUED = 1024
#: Seconds one write to a client may take.
SEND_TIMEOUT = 10.0
#: Seconds a whole response may take to be written.
RESPONSE_TIMEOUT = 120.0
#: Open event streams (one per open page with live reload).
MAX_STREAMS = 256


@dataclass(eq=False)
class Connection:
    """One client connection: its socket, and the request head once it has arrived."""

    sock: socket.socket
    address: Any
    deadline: float
    head: bytearray = field(default_factory=bytearray)
    #: Taken over by :class:`Streams`: the worker must not close it.
    detached: bool = False

    def writer(self) -> DeadlineWriter:
        return DeadlineWriter(self.sock, time.monotonic() + RESPONSE_TIMEOUT)


class DeadlineWriter(BufferedIOBase):
    """A socket's write side where every write must progress within :data:`SEND_TIMEOUT` and
    all of them must end before ``deadline``; a client too slow to read gets ``TimeoutError``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the client took too long to read the response")
        self._sock.settimeout(min(SEND_TIMEOUT, remaining))
        self._sock.sendall(data)
        with memoryview(data) as view:
            return view.nbytes

    def fileno(self) -> int:
        return self._sock.fileno()


def head_end(data: bytes | bytearray) -> int:
    """Where a request head ends (after its blank line), or -1 while it is incomplete."""
    ends = [i + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (i := data.find(mark)) >= 0]
    return min(ends) if ends else -1


def _close(sock: socket.socket, reply: bytes = b"") -> None:
    with contextlib.suppress(OSError):
        if reply:
            sock.setblocking(False)
            sock.send(reply)
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _status_reply(code: int, reason: str) -> bytes:
    body = f"{reason.lower()}\n".encode()
    return (f"HTTP/1.0 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class Streams:
    """Open event streams: sockets that stay open to receive what :meth:`broadcast` sends.

    A stream is written without blocking: a client that does not take what it is sent (its
    socket buffer full) is closed, and reconnects (EventSource does) to be told the current state.
    """

    def __init__(self, loop: ConnectionLoop, limit: int = MAX_STREAMS) -> None:
        self._loop = loop
        self._limit = limit
        self.lock = threading.RLock()
        self._seen: dict[socket.socket, int] = {}

    def __len__(self) -> int:
        with self.lock:
            return len(self._seen)

    def has_room(self) -> bool:
        with self.lock:
            return len(self._seen) < self._limit

    def adopt(self, conn: Connection, seen: int) -> None:
        """Keep ``conn`` open as a stream. Call with :attr:`lock` held since before its first bytes
        were written (after :meth:`has_room`), ``seen`` being the last event those bytes covered,
        so that no event falls between them and the stream."""
        with self.lock:
            conn.detached = True
            self._seen[conn.sock] = seen
        self._loop.watch_stream(conn.sock)

    def broadcast(self, data: bytes, seq: int | None = None) -> None:
        """Send ``data`` to every stream that has not seen event ``seq`` (None: to all)."""
        with self.lock:
            for sock, seen in list(self._seen.items()):
                if seq is not None and seen >= seq:
                    continue
                if self._send(sock, data):
                    if seq is not None:
                        self._seen[sock] = seq
                else:
                    self.drop(sock)

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> bool:
        try:
            sock.setblocking(False)
            sent = sock.send(data)
            if sent < len(data):  # a long message (a compiler's output): a moment for the rest
                sock.settimeout(1.0)
                sock.sendall(data[sent:])
        except OSError:
            return False
        return True

    def drop(self, sock: socket.socket) -> None:
        with self.lock:
            if self._seen.pop(sock, None) is None:
                return
        self._loop.discard(sock)

    def close_all(self) -> None:
        with self.lock:
            socks = list(self._seen)
            self._seen.clear()
        for sock in socks:
            self._loop.discard(sock)


class ConnectionLoop:
    """Accepts on ``listener``, reads request heads, and hands each complete request to
    ``handle`` on a worker thread (``handle`` answers it; the socket is closed afterwards unless
    the request was adopted by :attr:`streams`). ``on_error`` hears of what went wrong with the
    client's address (None: in the loop itself); the server carries on."""

    def __init__(self, listener: socket.socket, handle: Callable[[Connection], None], *,
                 workers: int = WORKERS, head_timeout: float = HEAD_TIMEOUT, max_waiting: int = MAX_WAITING,
                 on_error: Callable[[Any, BaseException], None] = lambda address, exc: None) -> None:
        self.listener = listener
        self.handle = handle
        self.on_error = on_error
        self.head_timeout = head_timeout
        self.max_waiting = max_waiting
        self.max_workers = workers
        self.streams = Streams(self)
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._waiting: dict[socket.socket, Connection] = {}  # oldest first
        self._watched: set[socket.socket] = set()  # streams, watched for the client going away
        self._inbox: queue.SimpleQueue[tuple[str, socket.socket]] = queue.SimpleQueue()
        self._work: queue.Queue[Connection | None] = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._idle_workers = 0
        self._workers_lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self._paused_until = 0.0
        self._closed = False

    # -- from other threads -------------------------------------------------------------------

    def watch_stream(self, sock: socket.socket) -> None:
        self._post("stream", sock)

    def discard(self, sock: socket.socket) -> None:
        self._post("close", sock)

    def _post(self, kind: str, sock: socket.socket) -> None:
        if self._done.is_set() and self._stop.is_set():
            if kind == "close":
                _close(sock)
            return
        self._inbox.put((kind, sock))
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def stop(self) -> None:
        """Stop serving (from another thread) and wait for the loop to end."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")
        self._done.wait()

    def close(self) -> None:
        """Close every connection and end the workers (after :meth:`stop`, or when never started)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self.streams.close_all()
        self._drain_inbox()
        for sock in [*self._waiting, *self._watched]:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            _close(sock)
        self._waiting.clear()
        self._watched.clear()
        with self._workers_lock:
            for _ in self._workers:
                self._work.put(None)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- the loop -----------------------------------------------------------------------------

    def serve(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`stop` (or an exception, such as KeyboardInterrupt, in this thread)."""
        self._stop.clear()
        self._done.clear()
        self.listener.setblocking(False)
        self._selector.register(self.listener, selectors.EVENT_READ, "listen")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                self._pause_accepting(now)
                timeout = poll_interval
                if self._waiting:
                    oldest = next(iter(self._waiting.values()))
                    timeout = max(0.0, min(timeout, oldest.deadline - now))
                for key, _events in self._selector.select(timeout):
                    try:
                        self._ready(key)
                    except Exception as exc:  # noqa: BLE001  (a bug must not stop the server: said, and that connection closed)
                        self._failed(key, exc)
                self._expire(time.monotonic())
        finally:
            for sock in (self.listener, self._wake_r):
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(sock)
            self._done.set()

    def _ready(self, key: selectors.SelectorKey) -> None:
        if key.data == "listen":
            self._accept()
        elif key.data == "wake":
            self._drain_inbox()
        elif key.data == "stream":
            self._stream_readable(key.fileobj)  # type: ignore[arg-type]
        else:
            self._readable(key.data)

    def _failed(self, key: selectors.SelectorKey, exc: Exception) -> None:
        if isinstance(key.data, Connection):
            with contextlib.suppress(Exception):
                self.on_error(key.data.address, exc)
            self._close_waiting(key.data.sock)
        elif key.data == "stream":
            self.streams.drop(key.fileobj)  # type: ignore[arg-type]
        else:
            with contextlib.suppress(Exception):
                self.on_error(None, exc)
            self._paused_until = time.monotonic() + 0.1  # never a busy loop over the same failure

    def _pause_accepting(self, now: float) -> None:
        """Stop accepting while the workers are far behind (or out of descriptors) and resume after."""
        listening = self.listener in self._selector.get_map()
        wanted = now >= self._paused_until and self._work.qsize() < MAX_QUEUED
        if wanted and not listening:
            self._selector.register(self.listener, selectors.EVENT_READ, "listen")
        elif not wanted and listening:
            self._selector.unregister(self.listener)
            if self._paused_until <= now:
                self._paused_until = now + 0.05

    def _accept(self) -> None:
        for _ in range(64):
            try:
                sock, address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of file descriptors (EMFILE) or similar: make room, wait a little
                if self._waiting:
                    self._close_waiting(next(iter(self._waiting)))
                self._paused_until = time.monotonic() + 0.1
                return
            if len(self._waiting) >= self.max_waiting:
                self._close_waiting(next(iter(self._waiting)))
            sock.setblocking(False)
            conn = Connection(sock, address, time.monotonic() + self.head_timeout)
            self._waiting[sock] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _readable(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_waiting(conn.sock)
            return
        conn.head += data
        end = head_end(conn.head)
        if end < 0:
            if len(conn.head) > MAX_HEAD:
                self._close_waiting(conn.sock, _status_reply(431, "Request Header Fields Too Large"))
            return
        del conn.head[end:]
        self._selector.unregister(conn.sock)
        del self._waiting[conn.sock]
        conn.sock.setblocking(True)
        self._dispatch(conn)

    def _expire(self, now: float) -> None:
        for sock, conn in list(self._waiting.items()):
            if conn.deadline > now:
                break  # oldest first: the rest are younger
            self._close_waiting(sock, _status_reply(408, "Request Timeout") if conn.head else b"")

    def _close_waiting(self, sock: socket.socket, reply: bytes = b"") -> None:
        self._waiting.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        _close(sock, reply)

    def _drain_inbox(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        while True:
            try:
                kind, sock = self._inbox.get_nowait()
            except queue.Empty:
                return
            if kind == "stream" and not self._closed and sock.fileno() >= 0:
                sock.setblocking(False)
                self._watched.add(sock)
                self._selector.register(sock, selectors.EVENT_READ, "stream")
            elif kind == "close":
                if sock in self._watched:
                    self._watched.discard(sock)
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.unregister(sock)
                _close(sock)

    def _stream_readable(self, sock: socket.socket) -> None:
        """A stream's client sent something: it went away (or misbehaves). Either way, close it."""
        self.streams.drop(sock)
        self._drain_inbox()

    # -- workers ------------------------------------------------------------------------------

    def _dispatch(self, conn: Connection) -> None:
        with self._workers_lock:
            if self._idle_workers == 0 and len(self._workers) < self.max_workers:
                thread = threading.Thread(target=self._work_loop, name=f"wasmrun-worker-{len(self._workers)}",
                                          daemon=True)
                self._workers.append(thread)
                self._idle_workers += 1
                thread.start()
        self._work.put(conn)

    def _work_loop(self) -> None:
        while True:
            conn = self._work.get()
            if conn is None:
                return
            with self._workers_lock:
                self._idle_workers -= 1
            try:
                self.handle(conn)
            except BaseException as exc:  # noqa: BLE001  (reported; the worker carries on)
                with contextlib.suppress(Exception):
                    self.on_error(conn.address, exc)
            finally:
                if not conn.detached:
                    _close(conn.sock)
                with self._workers_lock:
                    self._idle_workers += 1

    @property
    def threads(self) -> int:
        """Worker threads started so far (at most ``max_workers``)."""
        with self._workers_lock:
            return len(self._workers)
