"""Session records: who owns a session, its limits, env and clock, kept on disk so that a server
restart keeps sessions and their files (the interpreters are gone: the next exec says
``state_lost``).

Layout under the sandbox's state directory: ``sessions/<id>/meta.json`` (the record) and
``sessions/<id>/root/`` (the files the session sees as ``/``). Ids are
``secrets.token_urlsafe(18)``. A session unused for its ``idle_timeout_s`` expires (never while an
exec runs); an expired or destroyed id answers 410 for a while (:data:`TOMBSTONES` are
remembered), an unknown one or another tenant's 404.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from wasmrun.agent.errors import Gone, LimitExceeded, NotFound
from wasmrun.agent.files import Usage
from wasmrun.agent.models import Limits, SessionInfo
from wasmrun.atomic import atomic_write

#: How many expired or destroyed ids are remembered (410 instead of 404).
TOMBSTONES = 10_000


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Session:
    id: str
    tenant: str
    limits: Limits
    directory: Path
    created: float
    last_used: float
    env: dict[str, str] = field(default_factory=dict)
    worker: int = 0
    #: execs run so far
    execs: int = 0
    #: runtimes this session has run code in (a new interpreter of one of them has lost state)
    languages: set[str] = field(default_factory=set)
    running: int = 0
    usage: Usage = field(default_factory=Usage)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def root(self) -> Path:
        return self.directory / "root"

    def expired(self, now: float) -> bool:
        return self.running == 0 and now - self.last_used > self.limits.idle_timeout_s

    def touch(self) -> None:
        self.last_used = time.time()

    def info(self) -> SessionInfo:
        return SessionInfo(session_id=self.id, created_at=_iso(self.created), last_used_at=_iso(self.last_used),
                           expires_at=_iso(self.last_used + self.limits.idle_timeout_s), limits=self.limits,
                           disk_bytes=self.usage.bytes, file_count=self.usage.entries)

    def save(self) -> None:
        record = {"id": self.id, "tenant": self.tenant, "limits": self.limits.model_dump(), "env": self.env,
                  "created": self.created, "last_used": self.last_used, "execs": self.execs,
                  "languages": sorted(self.languages)}
        atomic_write(self.directory / "meta.json", json.dumps(record), durable=False)


class SessionStore:
    """Every live session, by id, with the tenant checks every lookup makes."""

    def __init__(self, state_dir: Path, max_sessions: int) -> None:
        self.directory = state_dir / "sessions"
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}
        self._gone: OrderedDict[str, str] = OrderedDict()  # id -> tenant

    def load(self) -> list[Session]:
        """Sessions a previous server left on disk (unreadable records are removed)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for meta in sorted(self.directory.glob("*/meta.json")):
            try:
                record = json.loads(meta.read_text(encoding="utf-8"))
                session = Session(id=record["id"], tenant=record["tenant"], limits=Limits(**record["limits"]),
                                  directory=meta.parent, created=record["created"], last_used=record["last_used"],
                                  env=dict(record.get("env", {})), execs=int(record.get("execs", 0)),
                                  languages={str(name) for name in record.get("languages", [])})
            except (OSError, ValueError, KeyError, TypeError):
                shutil.rmtree(meta.parent, ignore_errors=True)
                continue
            if session.id != meta.parent.name:
                continue
            self._sessions[session.id] = session
        for stray in self.directory.iterdir():  # a session dir whose record was never written
            if stray.is_dir() and stray.name not in self._sessions:
                shutil.rmtree(stray, ignore_errors=True)
        return list(self._sessions.values())

    def create(self, tenant: str, limits: Limits, worker: int) -> Session:
        if len(self._sessions) >= self.max_sessions:
            raise LimitExceeded(f"the server holds its maximum of {self.max_sessions} sessions")
        session_id = secrets.token_urlsafe(18)
        now = time.time()
        session = Session(id=session_id, tenant=tenant, limits=limits, directory=self.directory / session_id,
                          created=now, last_used=now, worker=worker)
        session.root.mkdir(parents=True, mode=0o700)
        session.save()
        self._sessions[session_id] = session
        return session

    def get(self, tenant: str, session_id: str) -> Session:
        """The tenant's session: :class:`NotFound` for an unknown id or another tenant's,
        :class:`Gone` for one that expired or was destroyed."""
        session = self._sessions.get(session_id)
        if session is None or session.tenant != tenant:
            if self._gone.get(session_id) == tenant:
                raise Gone(f"session {session_id} has expired or was destroyed")
            raise NotFound(f"no session {session_id}")
        if session.expired(time.time()):  # removed by the sandbox's sweep (which also frees its interpreter)
            raise Gone(f"session {session_id} has expired (idle for more than {session.limits.idle_timeout_s:g} s)")
        return session

    def of_tenant(self, tenant: str) -> list[Session]:
        now = time.time()
        return [s for s in self._sessions.values() if s.tenant == tenant and not s.expired(now)]

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    def expired(self) -> list[Session]:
        now = time.time()
        return [s for s in self._sessions.values() if s.expired(now)]

    def remove(self, session: Session) -> None:
        """Forget the session and delete its directory (what it holds is wasmrun's own)."""
        self._sessions.pop(session.id, None)
        self._gone[session.id] = session.tenant
        while len(self._gone) > TOMBSTONES:
            self._gone.popitem(last=False)
        shutil.rmtree(session.directory, ignore_errors=True)
