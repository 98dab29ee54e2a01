"""Records of running dev servers, so that ``wasmrun stop`` can find and stop them.

Each server writes ``<state_dir>/servers/<pid>-<port>.json`` when it starts and removes it when it
stops. A record carries a random token that the server answers at ``/__wasmrun/ping``: ``stop``
signals a process only when its pid is alive *and* the server on the recorded port answers with the
same token, so a record left by a crash (or a pid since reused) is deleted, never trusted.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PING_PATH = "/__wasmrun/ping"


def servers_dir() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().state_dir / "servers"


@dataclass
class ServerRecord:
    """One running server."""

    pid: int
    host: str
    port: int
    url: str
    project: str
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    started: float = field(default_factory=time.time)

    @property
    def path(self) -> Path:
        return servers_dir() / f"{self.pid}-{self.port}.json"

    def write(self) -> Path:
        from wasmrun.atomic import atomic_write

        path = self.path
        atomic_write(path, json.dumps(asdict(self), indent=1), durable=False)  # a unique temporary file
        return path

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def read_records() -> list[ServerRecord]:
    """Every record on disk; unreadable ones are deleted."""
    directory = servers_dir()
    if not directory.is_dir():
        return []
    records: list[ServerRecord] = []
    for path in sorted(directory.glob("*.json")):
        try:
            record = ServerRecord(**json.loads(path.read_text(encoding="utf-8")))
            if not _well_formed(record):
                raise ValueError(path)
            records.append(record)
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)
    return records


_FIELD_TYPES = {"pid": int, "host": str, "port": int, "url": str, "project": str, "token": str, "started": float}


def _well_formed(record: ServerRecord) -> bool:
    """Every field of the type a server writes (a record is a file anyone could have edited)."""
    for name, kind in _FIELD_TYPES.items():
        value = getattr(record, name)
        if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else kind):
            return False
    return 0 <= record.port <= 65535


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def answers(record: ServerRecord, timeout: float = 1.0) -> bool:
    """Whether the server on the record's port is the one that wrote the record."""
    import http.client

    host = _connect_host(record.host)
    try:
        conn = http.client.HTTPConnection(host, record.port, timeout=timeout)
        try:
            conn.request("GET", PING_PATH)
            response = conn.getresponse()
            body = response.read(200).decode("ascii", "replace").strip()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException):
        return False
    return response.status == 200 and body == record.token


def _connect_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def is_live(record: ServerRecord) -> bool:
    return pid_alive(record.pid) and answers(record)


@dataclass
class StopOutcome:
    stopped: list[ServerRecord] = field(default_factory=list)
    stale: list[ServerRecord] = field(default_factory=list)


def stop_servers(records: list[ServerRecord], *, wait: float = 5.0) -> StopOutcome:
    """Stop each live server (SIGTERM, then wait for it to go); delete stale records."""
    outcome = StopOutcome()
    for record in records:
        if not is_live(record):
            record.remove()
            outcome.stale.append(record)
            continue
        try:
            os.kill(record.pid, signal.SIGTERM)
        except OSError:
            record.remove()
            outcome.stale.append(record)
            continue
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and pid_alive(record.pid) and answers(record, timeout=0.2):
            time.sleep(0.05)
        record.remove()
        outcome.stopped.append(record)
    return outcome


def live_records() -> list[ServerRecord]:
    """The records whose server is really running; stale ones are deleted on the way."""
    live: list[ServerRecord] = []
    for record in read_records():
        if is_live(record):
            live.append(record)
        else:
            record.remove()
    return live
