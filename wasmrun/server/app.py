"""The dev server: what is served (:class:`Site`), how (:class:`Handler`), and its lifetime
(:class:`DevServer`, :func:`open_server`).

Standard library only (``http.server``'s request handling), nothing to install; connections are
handled by :mod:`wasmrun.server.connections`, so that no client can starve the server.

URL layout:

``/``
    the project's own page when there is one (the build's HTML, else the project's ``index.html``),
    otherwise wasmrun's page for the module.
``/__wasmrun/``
    wasmrun's page, always (for a web app too, to inspect its module).
``/__wasmrun/static/...``, ``info.json``, ``inspect.json``, ``status.json``, ``events``, ``ping``
    the page's files, what it needs to know, the module report, the build state, the live-reload
    stream, and the token ``wasmrun stop`` checks.
``/__wasmrun/component/DIGEST/...``
    a component served: the served component transpiled by jco and bundled with the WASI 0.2
    browser shim (:mod:`wasmrun.server.component_js`), from wasmrun's own files (no CDN).
anything else
    a file from the output directory, then the project directory (see :mod:`wasmrun.server.paths`).
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import mimetypes
import os
import shutil
import signal
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from wasmrun.errors import UsageError
from wasmrun.models import BuildResult, GlueKind
from wasmrun.server.connections import LISTEN_BACKLOG, Connection, ConnectionLoop
from wasmrun.server.paths import is_inside, request_segments, resolve_in_roots
from wasmrun.server.reload import (
    Builder,
    BuildState,
    InputsWatcher,
    Watcher,
    build_error_text,
    change_needs_rebuild,
    ignored,
    own_dirs,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8420
#: How many ports after the default are tried when it is taken.
PORT_TRIES = 50
INTERNAL = "/__wasmrun/"
STATIC_DIR = Path(__file__).parent / "static"
LIVE_SCRIPT = "/__wasmrun/static/live.js"
#: Seconds between the comments that keep an event stream open.
KEEPALIVE_S = 15.0
#: Every response says this: a reload always fetches the current build.
NO_CACHE = "no-store, no-cache, must-revalidate, max-age=0"

_CONTENT_TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".wat": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".data": "application/octet-stream",
}


def content_type(path: Path) -> str:
    """The Content-Type for a served file (``.wasm`` is ``application/wasm``, for streaming compilation)."""
    suffix = path.suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def loopback_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` names when it is a numeric address in any form the system accepts
    (``127.0.0.1``, ``127.1``, ``0x7f.1``, ``[::1]``, ``::ffff:127.0.0.1``), else None."""
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if not name or any(c.isspace() for c in name):
        return None
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        if ":" in name:
            return None
        try:  # the shorthand forms inet_aton (and so bind and connect) accept
            address = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address in any form, or ``localhost``) is this machine's loopback."""
    if host.strip().rstrip(".").lower() == "localhost":
        return True
    address = loopback_address(host)
    return address is not None and address.is_loopback


@dataclass
class ServeOptions:
    """How to serve: address, live reload, and the module's argv and environment on the page."""

    host: str = DEFAULT_HOST
    port: int | None = None  # None: DEFAULT_PORT, or the next free one after it
    watch: bool = False
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    log_requests: bool = False
    log: Callable[[str], None] = field(default=lambda line: None)


@dataclass
class Site:
    """What is served: a built project, a ``.wasm`` file, or a directory with an ``index.html``."""

    name: str
    state: BuildState
    project_dir: Path | None = None
    output_dir: Path | None = None
    wasm_file: Path | None = None
    plugin: str | None = None
    plugins: Any = None  # the Plugins that build it, to ask which files are sources (None: not loaded yet)
    invocation: dict[str, Any] | None = None  # its builds' compile invocation (wasmrun.manifests)

    def roots(self) -> list[Path]:
        roots: list[Path] = []
        result = self.state.result
        for root in (self.output_dir, result.wasm_path.parent if result else None, self.project_dir,
                     self.wasm_file.parent if self.wasm_file else None):
            if root is not None and root not in roots:
                roots.append(root)
        return roots

    def find(self, raw_path: str) -> Path | None:
        """The file a request names: from the first root that has it, except that in the output
        directory only the current build's files count (one an earlier build left there, a
        ``--debug-info`` build's ``.wat`` say, is stale: it is not served, from any root)."""
        result = self.state.result
        output = self.output_dir.resolve() if self.output_dir is not None else None
        built = {p.resolve() for p in result.files()} if result is not None else set()
        for root in self.roots():
            found = resolve_in_roots(raw_path, [root])
            if found is None:
                continue
            if output is not None and is_inside(output, found) and found not in built:
                continue
            return found
        return None

    @property
    def result(self) -> BuildResult | None:
        return self.state.result

    def wasm_path(self) -> Path | None:
        result = self.state.result
        return result.wasm_path if result is not None else self.wasm_file

    def glue(self) -> GlueKind:
        result = self.state.result
        return result.glue if result is not None else GlueKind.WASI

    def app_page(self) -> Path | None:
        """The page that runs a web app: the build's HTML, else the project's ``index.html``."""
        result = self.state.result
        if result is not None and result.html_path is not None and result.html_path.is_file():
            return result.html_path
        if self.project_dir is not None and (self.project_dir / "index.html").is_file():
            return self.project_dir / "index.html"
        return None

    def url_for(self, path: Path | None) -> str | None:
        if path is None:
            return None
        resolved = path.resolve()
        for root in self.roots():
            base = root.resolve()
            if is_inside(base, resolved):
                return "/" + quote(resolved.relative_to(base).as_posix())
        return None

    def page_mode(self) -> str:
        """How wasmrun's page runs the module: ``module`` (WASI shim), ``go``, ``emscripten``, ``esm``
        or ``component`` (transpiled by jco, with the WASI 0.2 shim)."""
        result = self.state.result
        glue = self.glue()
        if glue is GlueKind.COMPONENT:
            return "component"
        if result is None or result.js_path is None or not result.js_path.is_file():
            return "module"
        if glue is GlueKind.GO:
            return "go"
        if glue is GlueKind.EMSCRIPTEN:
            return "emscripten"
        if glue in (GlueKind.WASM_BINDGEN, GlueKind.ASSEMBLYSCRIPT):
            return "esm"
        return "module"


# ---------------------------------------------------------------------------------------------
# Module information


def module_summary(module: Any) -> dict[str, Any]:
    """What wasmrun's page needs of a module: exports with their types, imports, size, kind, and
    whether it uses a shared memory."""
    functions: list[dict[str, Any]] = []
    imports: list[dict[str, Any]] = []
    if not module.is_component:
        for exp in module.exports:
            entry: dict[str, Any] = {"name": exp.name, "kind": exp.kind}
            if exp.kind == "func":
                func_type = module.function_type(exp.index)
                entry["params"] = list(func_type.params) if func_type else []
                entry["results"] = list(func_type.results) if func_type else []
            functions.append(entry)
        imports = [_import_entry(i) for i in module.imports]
    return {"exports": functions, "imports": imports, "size": len(module.data), "kind": module.kind,
            "shared_memory": uses_shared_memory(module)}


class ModuleFacts:
    """What the server says about the module it serves, worked out once per build.

    Every response needs the summary (a shared memory decides the isolation headers), so the
    first request after a build reads the module and the requests that arrive meanwhile wait for
    that one reading instead of each doing it again; the ``inspect`` report, which only
    ``inspect.json`` needs, is made once, on its first request. A new build (a different
    :class:`BuildResult`), or a changed ``.wasm`` file when one is served as it is, starts over.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._report_lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._module: Any = None
        self._summary: dict[str, Any] | None = None
        self._report: dict[str, Any] | None = None
        self._error: Exception | None = None

    @staticmethod
    def key(path: Path, build: BuildResult | None) -> tuple[Any, ...]:
        """A build is its result object (kept, so its identity is not reused); a file served as it
        is, its path and stat."""
        if build is not None:
            return ("build", build)
        stat = path.stat()
        return ("file", str(path), stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)

    def summary(self, path: Path, build: BuildResult | None) -> dict[str, Any]:
        """The page's summary of the module at ``path``; raises what reading it raised."""
        key = self.key(path, build)
        with self._lock:
            if self._key is None or not _same_key(self._key, key):
                self._key, self._module, self._summary, self._report, self._error = key, None, None, None, None
                try:
                    from wasmrun.wasm.reader import WasmModule

                    self._module = WasmModule.from_file(path)
                    self._summary = module_summary(self._module)
                except Exception as exc:  # noqa: BLE001  (kept, and raised to each caller until the next build)
                    self._error = exc
            if self._error is not None:
                raise self._error
            assert self._summary is not None
            return self._summary

    def report(self, path: Path, build: BuildResult | None) -> dict[str, Any]:
        """The ``wasmrun inspect --json`` report of the module at ``path``."""
        with self._report_lock:
            summary = self.summary(path, build)
            with self._lock:
                key, module, report = self._key, self._module, self._report
            if report is not None:
                return report
            report = _inspect_report(path, module, summary)
            with self._lock:
                if self._key is key:
                    self._report = report
            return report


def _same_key(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if a[0] == "build" and b[0] == "build":
        return a[1] is b[1]
    return a == b


def _import_entry(item: Any) -> dict[str, Any]:
    """An import as the page needs it: a memory's limits too, so the page can create it."""
    from wasmrun.wasm.reader import Limits

    entry: dict[str, Any] = {"module": item.module, "name": item.name, "kind": item.kind}
    if isinstance(item.type, Limits):
        entry["limits"] = item.type.as_dict()
    return entry


def uses_shared_memory(module: Any) -> bool:
    """Whether the module defines or imports a shared memory (threads: emscripten's ``-pthread``),
    which a browser gives only to a cross-origin isolated page."""
    return not module.is_component and any(memory.shared for memory in module.all_memories)


def _inspect_report(path: Path, module: Any, summary: dict[str, Any]) -> dict[str, Any]:
    try:
        from wasmrun.wasm.inspect import inspect_module
    except ImportError:  # an older wasmrun without ``inspect``: the short form
        return {"file": str(path), **summary}
    report: dict[str, Any] = inspect_module(module, str(path))
    return report


# ---------------------------------------------------------------------------------------------
# HTTP


class DevHTTPServer(HTTPServer):
    """The listening socket and its :class:`~wasmrun.server.connections.ConnectionLoop`: a real
    backlog, request heads read without a thread, a fixed pool of workers, event streams without
    one (see :mod:`wasmrun.server.connections`)."""

    request_queue_size = LISTEN_BACKLOG
    allow_reuse_address = os.name != "nt"  # on Windows it would let two servers share a port
    dev: DevServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.loop = ConnectionLoop(self.socket, self._answer, on_error=self._report)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up with getfqdn, which can take seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self.loop.serve(poll_interval)

    def shutdown(self) -> None:
        self.loop.stop()

    def server_close(self) -> None:
        loop = getattr(self, "loop", None)  # a failed bind closes before the loop exists
        if loop is not None:
            loop.close()
        super().server_close()

    def _answer(self, conn: Connection) -> None:
        # typeshed expects a socket; the handler's own setup() takes the Connection apart
        Handler(conn, conn.address, self)  # type: ignore[arg-type]

    def _report(self, address: Any, exc: BaseException) -> None:
        """An error no response could report: one line in the terminal, never a traceback."""
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # the client went away or was too slow: nothing to say
        where = f"while answering {address[0]}" if address else "in the connection loop"
        self.dev.log_error(f"error: internal error {where}: {type(exc).__name__}: {exc}")


class DevHTTPServer6(DevHTTPServer):
    address_family = socket.AF_INET6


class Handler(BaseHTTPRequestHandler):
    server: DevHTTPServer
    server_version = "wasmrun"
    # Headers and body go out in separate writes: with Nagle's algorithm the body would wait
    # for the browser's delayed ACK (40 ms a request on Linux). (Set in ``setup``.)

    request: Connection

    def setup(self) -> None:
        """The request head has already been read (by the connection loop); this only writes."""
        conn = self.request
        self.connection = conn.sock
        with contextlib.suppress(OSError):
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self.rfile = io.BytesIO(bytes(conn.head))
        self.wfile = conn.writer()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.dev.options.log_requests:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    # -- responses ------------------------------------------------------------------------------

    _began = False  # the status line has been written

    def _headers(self, status: int, ctype: str, length: int | None) -> None:
        self._began = True
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", NO_CACHE)
        self.send_header("Pragma", "no-cache")
        self.send_header("Expires", "0")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.server.dev.cross_origin_isolated():
            # SharedArrayBuffer, so a threaded build runs; only then, as it stops the page loading
            # cross-origin resources that do not opt in, and cuts its link to pages it opens
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str, head: bool) -> None:
        self._headers(status, ctype, len(body))
        if not head:
            self.wfile.write(body)

    def _json(self, data: Any, head: bool) -> None:
        self._send(200, json.dumps(data).encode(), "application/json", head)

    def _not_found(self, head: bool) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)

    def _html(self, text: str, head: bool) -> None:
        self._send(200, self.server.dev.inject_live(text).encode(), "text/html; charset=utf-8", head)

    def _file(self, path: Path, head: bool) -> None:
        if path.suffix.lower() in (".html", ".htm"):
            self._html(path.read_text(encoding="utf-8", errors="replace"), head)
            return
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            self._headers(200, content_type(path), size)
            if not head:
                shutil.copyfileobj(handle, self.wfile)

    # -- routing --------------------------------------------------------------------------------

    def _handle(self, head: bool) -> None:
        """Answer the request; whatever goes wrong ends as an HTTP status and at most one line in
        the terminal, never an empty reply and a traceback."""
        try:
            self._route(head)
        except (ConnectionError, TimeoutError):
            pass  # the client went away, or was too slow to read
        except OSError as exc:  # a file the server may serve but cannot read
            where = exc.filename or self.path
            self.server.dev.log_error(f"error: cannot read {where}: {exc.strerror or exc}")
            status = HTTPStatus.FORBIDDEN if isinstance(exc, PermissionError) else HTTPStatus.NOT_FOUND
            self._fail(status, f"cannot read {self.path}: {exc.strerror or type(exc).__name__}\n", head)
        except Exception as exc:  # noqa: BLE001  (a bug: said once, answered 500, the server stays up)
            self.server.dev.log_error(f"error: internal error answering {self.command} {self.path}: "
                                      f"{type(exc).__name__}: {exc}")
            self._fail(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error\n", head)

    def _fail(self, status: int, text: str, head: bool) -> None:
        """An error status, unless the response had already begun (then the connection just ends)."""
        if self._began:
            return
        with contextlib.suppress(OSError):
            self._send(status, text.encode(), "text/plain; charset=utf-8", head)

    def _route(self, head: bool) -> None:
        dev = self.server.dev
        if not dev.host_allowed(self.headers.get("Host")):
            self._send(HTTPStatus.FORBIDDEN, b"forbidden host\n", "text/plain; charset=utf-8", head)
            return
        segments = request_segments(self.path)
        if segments is None:
            self._not_found(head)
            return
        if segments[:1] == ["__wasmrun"]:
            self._internal(segments[1:], head)
            return
        site = dev.site
        if not segments or segments == ["index.html"]:
            page = site.app_page()
            if page is not None:
                self._file(page, head)
            else:
                self._html(dev.page_html(), head)
            return
        found = site.find(self.path)
        if found is None:
            self._not_found(head)
        else:
            self._file(found, head)

    def _internal(self, rest: list[str], head: bool) -> None:
        dev = self.server.dev
        name = "/".join(rest)
        if name in ("", "index.html"):
            self._html(dev.page_html(), head)
        elif name == "ping":
            self._send(200, dev.token.encode(), "text/plain; charset=utf-8", head)
        elif name == "info.json":
            self._json(dev.info(), head)
        elif name == "inspect.json":
            report = dev.inspect_report()
            if report is None:
                self._not_found(head)
            else:
                self._json(report, head)
        elif name == "status.json":
            self._json(dev.state.snapshot(), head)
        elif name == "events":
            self._events(head)
        elif rest[:1] == ["static"]:
            found = resolve_in_roots("/" + "/".join(quote(s) for s in rest[1:]), [STATIC_DIR])
            if found is None:
                self._not_found(head)
            else:
                self._file(found, head)
        elif rest[:1] == ["component"]:
            root = dev.component_root(rest[:2])
            found = resolve_in_roots("/" + "/".join(quote(s) for s in rest[2:]), [root]) if root else None
            if found is None:
                self._not_found(head)
            else:
                self._file(found, head)
        else:
            self._not_found(head)

    def _events(self, head: bool) -> None:
        """Server-Sent Events: ``hello`` with the current state, then ``building``, ``reload`` and
        ``build-failed`` as they happen (written by :meth:`DevServer.follow_events`, which also
        sends a comment every 15 s). The stream holds no thread: it is handed to the
        connection loop's :class:`~wasmrun.server.connections.Streams`."""
        dev = self.server.dev
        streams = self.server.loop.streams
        with streams.lock:
            if not streams.has_room():
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"too many live-reload streams are open\n",
                           "text/plain; charset=utf-8", head)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            if head or dev.closing.is_set():
                return
            state = dev.state
            seen = state.seq
            hello = {"server": dev.instance, **state.snapshot()}
            self.wfile.write(f"retry: 500\nevent: hello\ndata: {json.dumps(hello)}\n\n".encode())
            self.wfile.flush()
            streams.adopt(self.request, seen)


# ---------------------------------------------------------------------------------------------
# The server


def bind(host: str, port: int | None) -> DevHTTPServer:
    """A server bound to ``host``: on ``port`` (an error when taken), or on the default port or
    the next free one after it when ``port`` is None."""
    family_class = DevHTTPServer6 if ":" in host.strip("[]") else DevHTTPServer
    address = host.strip("[]")
    candidates = [port] if port is not None else list(range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES))
    last: OSError | None = None
    for candidate in candidates:
        try:
            return family_class((address, candidate), Handler)
        except socket.gaierror as exc:
            raise UsageError(f"cannot serve on host '{host}': {exc.strerror or exc}") from None
        except PermissionError:
            raise UsageError(f"not allowed to listen on {host}:{candidate} (ports below 1024 need privileges)",
                             hint="choose another with --port") from None
        except OSError as exc:
            import errno

            if exc.errno == errno.EADDRNOTAVAIL:
                raise UsageError(f"cannot serve on host '{host}': it is not an address of this machine") from None
            if exc.errno != errno.EADDRINUSE:
                raise UsageError(f"cannot listen on {host}:{candidate}: {exc.strerror or exc}") from None
            last = exc
    if port is not None:
        raise UsageError(f"port {port} on {host} is already in use",
                         hint="choose another with --port, leave --port out to take the next free one, "
                              "or stop a wasmrun server with `wasmrun stop`")
    raise UsageError(f"ports {DEFAULT_PORT}-{DEFAULT_PORT + PORT_TRIES - 1} on {host} are all in use ({last})",
                     hint="choose one with --port")


class DevServer:
    """A bound server for one site. ``start()`` serves from a background thread (tests);
    ``serve()`` serves in the calling thread until Ctrl-C or SIGTERM (the CLI)."""

    def __init__(self, site: Site, options: ServeOptions, builder: Builder | None = None) -> None:
        import secrets

        self.site = site
        self.state = site.state
        self.options = options
        self.builder = builder
        if builder is not None:
            builder.before_publish = self._built
        self.token = secrets.token_hex(16)
        self.instance = secrets.token_hex(6)
        self.closing = threading.Event()
        self.facts = ModuleFacts()
        self._component_lock = threading.Lock()
        self._component: Any = None  # the served component transpiled (component_js.Transpiled)
        self.httpd = bind(options.host, options.port)
        self.httpd.dev = self
        self.watcher: Watcher | None = None
        self.inputs_watcher: InputsWatcher | None = None
        self._thread: threading.Thread | None = None
        self._follower: threading.Thread | None = None
        self._closed = False

    # -- what it serves -------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self.options.host

    @property
    def port(self) -> int:
        return self.httpd.server_port

    @property
    def loopback(self) -> bool:
        """Whether the server listens on loopback only: decided by the address it is bound to,
        whatever form ``--host`` gave it in."""
        return is_loopback(str(self.httpd.server_address[0]))

    @property
    def url(self) -> str:
        host = self.options.host.strip("[]")
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        elif loopback_address(host) is not None:  # any numeric form: the address as bound
            host = str(self.httpd.server_address[0])
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def host_allowed(self, header: str | None) -> bool:
        """On a loopback address, only requests naming a loopback host (this stops DNS rebinding)."""
        if not self.loopback:
            return True
        if not header:
            return False
        if header.startswith("["):
            name = header[1:].split("]", 1)[0]
        else:
            name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
        return is_loopback(name)

    def inject_live(self, html: str) -> str:
        """With --watch, an HTML page gets the live-reload script (before ``</body>``, or at the
        end), deferred: it never holds up the page's own scripts."""
        if not self.options.watch:
            return html
        tag = f'<script src="{LIVE_SCRIPT}" data-generation="{self.state.generation}" defer></script>'
        index = html.lower().rfind("</body>")
        return html + tag if index < 0 else html[:index] + tag + html[index:]

    def page_html(self) -> str:
        """wasmrun's page, built so that a plain module's output shows as early as on a minimal
        hand-written page: the module's download starts from the head (a preload, before any
        script runs), the info is inlined, and a classic script right after the console (the
        WASI shim and ``boot.js``) instantiates the response and runs ``_start`` at once. Only
        then does it import ``page.js`` (export forms, module information, JS glue)."""
        info = self.info()
        inline = self._inline_component(info)
        if inline is None and isinstance(info.get("component"), dict) and info["component"].get("inline"):
            info["component"]["inline"] = False  # rebuilt meanwhile: the page imports the bundle's URL
        data = json.dumps(info).replace("</", "<\\/")
        head = f'<script id="wasmrun-info" type="application/json">{data}</script>'
        for url, kind in info.get("preload", []):  # a component's bundle (and large core modules), at once
            head += (f'<link rel="modulepreload" href="{escape(url)}">' if kind == "module" else
                     f'<link rel="preload" href="{escape(url)}" as="fetch" type="application/wasm" crossorigin>')
        if info["wasm"] and info["mode"] == "module":
            url = escape(info["wasm"])
            head += f'<link rel="preload" href="{url}" as="fetch" type="application/wasm" crossorigin>'
        boot = f"<script>\n{_boot_script()}</script>"
        if inline is not None:  # after the boot script, which is listening for its exports
            boot += f'<script type="module">\n{inline}</script>'
        return (_static_text("index.html")
                .replace("<!--wasmrun:head-->", f"{head}<style>\n{_static_text('page.css')}</style>", 1)
                .replace("<!--wasmrun:boot-->", boot, 1))

    def _inline_component(self, info: dict[str, Any]) -> str | None:
        """The bundle of the component ``info`` describes, when the page holds it inline."""
        component = info.get("component") or {}
        if not component.get("inline"):
            return None
        with self._component_lock:
            transpiled = self._component
        if transpiled is None or transpiled.js_url != component.get("js"):
            return None  # rebuilt meanwhile
        text: str | None = transpiled.inline_script
        return text

    def info(self) -> dict[str, Any]:
        """What wasmrun's page needs: where the module and its glue are, argv, environment, exports."""
        site = self.site
        wasm, result = self._served_module()
        data: dict[str, Any] = {
            "name": site.name,
            "plugin": site.plugin,
            "mode": site.page_mode(),
            "glue": site.glue().value,
            "wasm": site.url_for(wasm),
            "js": site.url_for(result.js_path) if result is not None else None,
            "app": site.url_for(site.app_page()),
            "args": [wasm.name if wasm is not None else site.name, *self.options.args],
            "env": dict(self.options.env),
            "watch": self.options.watch,
            **self.state.snapshot(),
            "exports": [],
            "imports": [],
            "info_error": None,
        }
        if wasm is not None:
            try:
                summary = self.facts.summary(wasm, result)
                data["exports"] = summary["exports"]
                data["imports"] = summary["imports"]
                data["size"] = summary["size"]
                if summary["kind"] == "component":
                    data["mode"] = "component"
                    data.update(self._component_info(wasm))
            except Exception as exc:  # noqa: BLE001  (a malformed module: the page says why)
                data["info_error"] = build_error_text(exc)
        return data

    def _component_info(self, wasm: Path) -> dict[str, Any]:
        """The served component transpiled for the page: its ES module, typed functions and the
        import map of its shim modules; or why it could not be (the page shows it)."""
        from wasmrun.server import component_js

        try:
            transpiled = component_js.transpile(wasm)
        except Exception as exc:  # noqa: BLE001  (no node, no network for the first install: on the page)
            return {"component": {"error": build_error_text(exc)}}
        with self._component_lock:
            self._component = transpiled
        return {"component": transpiled.page_info(), "preload": transpiled.preloads()}

    def component_root(self, prefix: list[str]) -> Path | None:
        """The directory a ``/__wasmrun/component/DIGEST/`` URL serves from: the served
        component's transpiled files (the bundle and its large core modules)."""
        with self._component_lock:
            transpiled = self._component
        if transpiled is None:
            return None
        if prefix == ["component", transpiled.digest]:
            return Path(transpiled.directory)
        return None

    def cross_origin_isolated(self) -> bool:
        """Serve with COOP and COEP: the module served uses a shared memory."""
        try:
            return bool(self.served_summary().get("shared_memory"))
        except Exception:  # noqa: BLE001  (a malformed module is the page's to explain)
            return False

    def _served_module(self) -> tuple[Path | None, BuildResult | None]:
        """The module served and the build it came from, read together (a rebuild may land
        between two reads)."""
        result = self.site.result
        wasm = result.wasm_path if result is not None else self.site.wasm_file
        return (wasm if wasm is not None and wasm.is_file() else None), result

    def served_summary(self) -> dict[str, Any]:
        """The served module's summary (empty when there is none yet); raises what reading it raised."""
        wasm, result = self._served_module()
        return self.facts.summary(wasm, result) if wasm is not None else {}

    def inspect_report(self) -> dict[str, Any] | None:
        """The served module's ``inspect`` report, or None when there is no module yet."""
        wasm, result = self._served_module()
        if wasm is None:
            return None
        try:
            return self.facts.report(wasm, result)
        except Exception as exc:  # noqa: BLE001
            return {"file": str(wasm), "error": build_error_text(exc)}

    # -- live reload ----------------------------------------------------------------------------

    def on_change(self, changes: set[Path]) -> None:
        if self.builder is not None and self.needs_rebuild(changes):
            self.builder.rebuild()
        else:
            names = ", ".join(sorted(p.name for p in changes)[:3])
            self.options.log(f"changed: {names}; reloading")
            self.state.succeeded(None)

    def needs_rebuild(self, changes: set[Path]) -> bool:
        """A site without a build (a ``.wasm`` file, a static directory) only reloads; a project
        asks :func:`~wasmrun.server.reload.change_needs_rebuild` with what its last build produced.
        Any other change rebuilds: the build cache answers a rebuild whose inputs did not change
        at once, with the same module, so a page asset edited costs a lookup, never a stale build."""
        if self.builder is None:
            return False
        result = self.site.result
        return change_needs_rebuild(changes, outputs=result.files() if result is not None else (),
                                    sources=self._sources)

    def _sources(self) -> list[Path]:
        """The plugin's source files and the evidence of its claim on the project."""
        project, plugin = self.site.project_dir, self.site.plugin
        if project is None or plugin is None:
            return []
        from wasmrun.building import default_plugins, source_files

        found: list[Path] = []
        with contextlib.suppress(Exception):  # a plugin failing here must not stop live reload
            plugins = self.site.plugins or default_plugins()
            found += source_files(project, plugins, plugin)
            for name, claim in plugins.claims(project):
                if name == plugin:
                    found += [project / e for e in claim.evidence if (project / e).is_file()]
        return found

    def start_watching(self) -> None:
        root = self.site.project_dir or (self.site.wasm_file.parent if self.site.wasm_file else None)
        if root is None or self.watcher is not None:
            return
        own = own_dirs(self.site.output_dir)
        resolved_root = root.resolve()
        self.watcher = Watcher(resolved_root, lambda p: ignored(p, resolved_root, own), self.on_change)
        self.watcher.start()
        self.watch_recorded_inputs()

    def watch_recorded_inputs(self) -> None:
        """Watch what the last build read from outside the project (the build cache's record of
        it), restarting the watch when that changes; nothing without ``--watch``."""
        if self.watcher is None or self.site.invocation is None:
            return
        from wasmrun.cache import BuildCache
        from wasmrun.manifests import recorded_outside

        outside = tuple(recorded_outside(BuildCache.default(), self.site.invocation))
        current = self.inputs_watcher.inputs if self.inputs_watcher is not None else ()
        if outside == current:
            return
        if self.inputs_watcher is not None:
            self.inputs_watcher.stop()
            self.inputs_watcher = None
        if outside:
            self.inputs_watcher = InputsWatcher(self.watcher.root, lambda p: False, self.on_change, inputs=outside)
            self.inputs_watcher.start()

    def _built(self, result: BuildResult) -> None:
        """A good build, before pages hear of it: read the new module, follow its inputs."""
        self._read_module(result)
        self.watch_recorded_inputs()

    # -- lifetime -------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve from a daemon thread (and watch, with --watch)."""
        self._start_helpers()
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="wasmrun-server", daemon=True)
        self._thread.start()

    def serve(self) -> bool:
        """Serve in this thread until Ctrl-C or SIGTERM, then close. Returns True when Ctrl-C
        ended it (the CLI then exits 130), False for SIGTERM (``wasmrun stop``)."""
        self._start_helpers()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _raise_terminated)
        interrupted = False
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            interrupted = True
        except _Terminated:
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            self.close()
        return interrupted

    def prepare_page(self) -> None:
        """Do now what the page's first request would otherwise wait for: read the module served
        and transpile it when it is a component (tens of seconds for a whole language's runtime
        the first time). A driver calls this before it navigates (``run --headless``)."""
        self._read_module()

    def _read_module(self, result: BuildResult | None = None) -> None:
        """Read the module served (of ``result``, or the current one) ahead of the requests."""
        with contextlib.suppress(Exception):  # a malformed module is for the page to explain
            if result is None:
                summary, wasm = self.served_summary(), self._served_module()[0]
            elif result.wasm_path.is_file():
                summary, wasm = self.facts.summary(result.wasm_path, result), result.wasm_path
            else:
                return
            if summary.get("kind") == "component" and wasm is not None:
                self._component_info(wasm)  # transpiled ahead of the page's request

    def _start_helpers(self) -> None:
        threading.Thread(target=self._read_module, name="wasmrun-read-module", daemon=True).start()
        if self.options.watch:
            self.start_watching()
        self._follower = threading.Thread(target=self.follow_events, name="wasmrun-events", daemon=True)
        self._follower.start()

    def follow_events(self) -> None:
        """Write each build event to the open event streams, and a comment every 15 s (which
        also finds the streams whose page has gone)."""
        streams = self.httpd.loop.streams
        seen = self.state.seq
        while not self.closing.is_set():
            event = self.state.wait(seen, timeout=KEEPALIVE_S)
            if self.closing.is_set():
                break
            if event is None:
                streams.broadcast(b": keep-alive\n\n")
            else:
                seen = event.seq
                streams.broadcast(f"event: {event.kind}\ndata: {json.dumps(event.data)}\n\n".encode(), event.seq)

    def log_error(self, line: str) -> None:
        """One line in the terminal for something that went wrong while serving."""
        with contextlib.suppress(Exception):
            self.options.log(line)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.closing.set()
        self.state.close()
        if self.watcher is not None:
            self.watcher.stop()
        if self.inputs_watcher is not None:
            self.inputs_watcher.stop()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
        self.httpd.server_close()
        if self._follower is not None:
            self._follower.join(2)

    def __enter__(self) -> DevServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _static_text(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def _boot_script() -> str:
    """The page's inline script: the WASI shim (``wasi.js`` without its ``export``s) and
    ``boot.js``, one classic script that runs as the parser reaches it. The files stay separate
    in the package; ``wasi.js`` is also served as an ES module, for reuse."""
    import re

    wasi = re.sub(r"^export ", "", _static_text("wasi.js"), flags=re.M)
    return f"{wasi}\n{_static_text('boot.js')}".replace("</script", "<\\/script")


class _Terminated(BaseException):
    """SIGTERM while serving: stop as asked (``wasmrun stop``)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


# ---------------------------------------------------------------------------------------------
# From a path to a server


@dataclass
class BuildOptions:
    """The ``compile`` options ``run`` passes on."""

    output_dir: Path | None = None
    optimization: str | None = None  # None: the project's wasmrun.toml, else release
    target: str | None = None  # None: the project's wasmrun.toml, else wasm
    language: str | None = None
    toolchain: str | None = None
    extra_args: list[str] = field(default_factory=list)
    optimize: bool = True  # wasm-opt over release and size builds; False: --no-opt


def prepare_site(path: str | Path, options: ServeOptions, build: BuildOptions | None = None,
                 plugins: Any = None) -> tuple[Site, Builder | None]:
    """Build the project at ``path`` (or take the ``.wasm`` file, or the directory with an
    ``index.html``) and return what to serve. A failed first build raises, unless watching: then
    the page shows the error until a build succeeds.

    A first build the build cache's manifest has (every input unchanged) is restored before any
    plugin is loaded, as ``compile`` does (:mod:`wasmrun.manifests`): the plugins load when a
    rebuild or live reload needs them."""
    from wasmrun.manifests import invocation
    from wasmrun.outputs import configured_output_dir
    from wasmrun.project_config import load_project_config

    build = build or BuildOptions()
    given = Path(path).expanduser()
    if not given.exists():
        raise UsageError(f"no such file or directory: {path}")
    given = given.resolve()
    state = BuildState()
    if given.is_file():
        if given.suffix.lower() != ".wasm":
            raise UsageError(f"not a project directory or a .wasm file: {path}")
        return Site(given.stem, state, wasm_file=given), None
    # what `compile` would take from the project's wasmrun.toml: the server needs the plugin and
    # the output directory before the first build (to serve and to ignore it); compile_project
    # reads the rest (target, optimization, toolchain, extra arguments) at every build
    settings = load_project_config(given)
    default_output = configured_output_dir(given, settings)
    output_dir = (build.output_dir or default_output).absolute()
    compile_options = invocation(given, output_dir=output_dir, optimization=build.optimization, target=build.target,
                                 language=build.language, toolchain=build.toolchain,
                                 extra_args=list(build.extra_args or []), optimize=build.optimize,
                                 default_output=default_output)
    site = Site(given.name, state, project_dir=given, output_dir=output_dir, plugins=plugins,
                invocation=compile_options)

    def the_plugins() -> Any:
        if site.plugins is None:
            from wasmrun.building import default_plugins

            site.plugins = default_plugins()
        return site.plugins

    restored = None if build.target == "component" else _restored_build(compile_options, output_dir)
    if restored is not None:
        site.plugin = restored.plugin
    else:
        from wasmrun.building import choose_plugin
        from wasmrun.errors import NoPluginError

        try:
            site.plugin = choose_plugin(given, the_plugins(), build.language or settings.language)
        except NoPluginError:
            if (given / "index.html").is_file():
                return Site(given.name, state, project_dir=given), None
            raise

    def run_build() -> BuildResult:
        from wasmrun.building import compile_project
        from wasmrun.models import Optimization, Target

        before = _placed_files(output_dir)
        result = compile_project(given, the_plugins(), output_dir=output_dir,
                                 optimization=Optimization(build.optimization) if build.optimization else None,
                                 target=Target(build.target) if build.target else None, language=build.language,
                                 toolchain_name=build.toolchain, extra_args=build.extra_args,
                                 optimize=build.optimize)
        return with_placed_files(result, before, _placed_files(output_dir))

    def report(result: BuildResult | None, error: str | None) -> None:
        if result is not None:
            options.log(f"built {result.wasm_path.name} in {result.duration_s:.2f} s; reloading")
        else:
            options.log(f"build failed; still serving the last good build\n{error}")

    builder = Builder(state, run_build, report)
    if restored is not None:
        state.result = restored
        return site, builder
    try:
        state.result = run_build()
    except Exception as exc:
        if not options.watch:
            raise
        state.failed(build_error_text(exc))
        options.log(f"build failed; watching for changes\n{state.error}")
    return site, builder


def _restored_build(compile_options: dict[str, Any], output_dir: Path) -> BuildResult | None:
    """The first build, restored from the build cache as ``compile_project`` would restore it
    (the same manifest lookup, before it loads a plugin), or None: build."""
    from wasmrun.manifests import restore

    before = _placed_files(output_dir)
    restored, _ = restore(compile_options)
    if restored is None:
        return None
    return with_placed_files(BuildResult.model_validate(restored), before, _placed_files(output_dir))


def _placed_files(output_dir: Path) -> dict[Path, tuple[int, int]]:
    """Every file in the output directory (hidden ones aside), with its inode and mtime."""
    found: dict[Path, tuple[int, int]] = {}
    for current, dirs, files in os.walk(output_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            path = Path(current, name)
            with contextlib.suppress(OSError):
                st = path.lstat()
                found[path.resolve()] = (st.st_ino, st.st_mtime_ns)
    return found


def with_placed_files(result: BuildResult, before: dict[Path, tuple[int, int]],
                      after: dict[Path, tuple[int, int]]) -> BuildResult:
    """``result`` with every file the build placed in the output directory (each one moved into
    place is a new file) among its files, reported or not (emscripten's side files, say), so
    that :meth:`Site.find` serves them and nothing an earlier build left."""
    reported = {p.resolve() for p in result.files()}
    placed = sorted(p for p, stamp in after.items() if before.get(p) != stamp and p not in reported)
    if not placed:
        return result
    return result.model_copy(update={"additional_files": [*result.additional_files, *placed]})


def open_server(path: str | Path, options: ServeOptions | None = None, build: BuildOptions | None = None,
                plugins: Any = None) -> DevServer:
    """Build (or take) what ``path`` names and bind a server for it; call ``start()`` or ``serve()``."""
    options = options or ServeOptions()
    site, builder = prepare_site(path, options, build, plugins)
    return DevServer(site, options, builder)
