"""The digest of a module file already seen, recalled from its identity instead of its bytes.

A whole-language component is tens of MB (componentize-py's CPython is 40 MB): reading and
hashing it to find its compiled artifact costs more than running a hello program. As ccache's
direct mode and git's index do, wasmrun keeps, per file path, what the file was when it was
last read whole (device, inode, size, modification and change times in nanoseconds) with the
SHA-256 of its bytes and what the runner found in them. A later ``exec`` whose ``stat`` matches
uses that digest without reading the file; any change to the file (a rebuild, an edit, even one
that keeps the size and sets the old modification time back) changes its change time, which no
program can set, so the entry no longer matches and the file is read and hashed again.

A file changed again within the clock's resolution of being read could keep its change time
(git calls it "racily clean"): an entry is therefore only written for a file whose change time
is at least :data:`SETTLED_S` older than the moment it was read. Entries live in the compiled
cache's index (``index/files/``), and whoever can write there can change what runs anyway (as
with the artifacts' digests, see :mod:`wasmrun.wasm.compile_cache`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from wasmrun.atomic import atomic_write

FORMAT = 1
SETTLED_S = 2.0
_FIELDS = ("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")


def identity(stat: os.stat_result) -> list[int]:
    """What a file's ``stat`` says about its contents: device, inode, size, mtime and ctime (ns)."""
    return [int(getattr(stat, name)) for name in _FIELDS]


def _entry_path(cache_dir: Path, path: Path) -> Path:
    name = hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()
    return cache_dir / "index" / "files" / f"{name}.json"


def recall(cache_dir: Path, path: Path) -> tuple[str, dict[str, Any]] | None:
    """(digest, facts) remembered for ``path`` when the file is still what it was then, else None."""
    try:
        entry = json.loads(_entry_path(cache_dir, path).read_text(encoding="utf-8"))
        now = identity(os.stat(path))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("path") != os.path.abspath(path):
        return None
    if entry.get("identity") != now or not isinstance(entry.get("sha256"), str):
        return None
    if not isinstance(entry.get("facts"), dict):
        return None
    return entry["sha256"], entry["facts"]


class Reading:
    """The ``stat`` of a file, and the time, just before it is read whole (:func:`remember` then
    checks that nothing changed while it was read)."""

    def __init__(self, path: Path) -> None:
        self.started_ns = time.time_ns()
        self.before = os.stat(path)


def remember(cache_dir: Path, path: Path, reading: Reading, digest: str, facts: dict[str, Any]) -> None:
    """Keep ``digest`` and ``facts`` for ``path``, read whole since ``reading``; nothing is kept
    when the file changed meanwhile or had changed too recently to be sure of (its change time
    within :data:`SETTLED_S` before the read)."""
    try:
        after = os.stat(path)
    except OSError:
        return
    if identity(reading.before) != identity(after) or reading.started_ns - after.st_ctime_ns < SETTLED_S * 1e9:
        return
    entry = {"format": FORMAT, "path": os.path.abspath(path), "identity": identity(after), "sha256": digest,
             "facts": facts}
    with contextlib.suppress(OSError):  # a cache that cannot be written is no reason to fail the run
        atomic_write(_entry_path(cache_dir, path), json.dumps(entry), durable=False)
