"""Fingerprints of files, directories and programs: what the build cache compares.

A file is known by its content (SHA-256). Reading every input on every lookup would make a hit as
slow as hashing the project, so a content digest is kept beside the file's *stat stamp* (size,
modification and change times, inode) and trusted again while the stamp is unchanged, as git's
index and ccache's manifests do. A stamp is trusted only when the file last changed before the
tick of the file-system clock at which the digest was taken (:func:`fs_clock_ns`): a later write
always gets a later time, while a second write within the same tick could leave the stamp equal.
A directory is known by the names in it, with its own stamp as the shortcut.

Only regular files are read: a FIFO or device named like a source is fingerprinted by its kind
and never opened, so it cannot hang a build's bookkeeping or feed it endless bytes.

This module is the bottom layer of the cache (no pydantic, no plugins): the typer-free ``compile``
route uses it before anything else is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the cache-hit road
if TYPE_CHECKING:
    from typing import Any

#: How long after its last change a stamp is not trusted on file systems that keep whole seconds
#: (FAT keeps two), whose times are rounded down.
COARSE_MARGIN_NS = 2_000_000_000

Stamp = list[int]


def stamp_of(st: os.stat_result) -> Stamp:
    """What identifies a file's content without reading it: size, times, inode."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def changed_since(stamp: Stamp, moment_ns: int) -> bool:
    """Whether a file with ``stamp`` may have changed at or after ``moment_ns``, a reading of
    :func:`fs_clock_ns` (its last change is not safely before it): ccache's "too new" test.
    Times of whole seconds are taken as rounded down (FAT, some network file systems)."""
    whole = stamp[1] % 1_000_000_000 == 0 and stamp[2] % 1_000_000_000 == 0
    return max(stamp[1], stamp[2]) + (COARSE_MARGIN_NS if whole else 0) >= moment_ns


def fs_clock_ns(directory: Path) -> int:
    """The file system's clock now: the time a file written now is stamped with. The kernel
    stamps files from a clock that lags the system time by up to a tick, so ``time.time_ns()``
    could be later than a write that happens after it."""
    try:
        import tempfile

        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix=".clock-")
    except OSError:
        return time.time_ns() - 20_000_000  # no writable directory: allow for a 20 ms tick
    try:
        st = os.fstat(fd)
        return max(st.st_mtime_ns, st.st_ctime_ns)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)


def hash_file(path: str | Path) -> str:
    """SHA-256 of a file's content, read in large chunks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def special_digest(st: os.stat_result) -> str | None:
    """The digest of something that is not a regular file (never read), None for a file."""
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    return f"special:{stat.S_IFMT(st.st_mode):o}"


def listing_digest(path: str, ignored: Iterable[str] = ()) -> str | None:
    """SHA-256 of the sorted names in a directory, leaving out ``ignored``; None when it is not a
    readable directory. Names are hashed as bytes, so any name a file system allows works."""
    try:
        names = os.listdir(path)
    except OSError:
        return None
    skip = set(ignored)
    digest = hashlib.sha256()
    for name in sorted(n for n in names if n not in skip):
        digest.update(os.fsencode(name) + b"\0")
    return digest.hexdigest()


def env_digest(items: Iterable[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(sorted(items)).encode("utf-8", "surrogateescape")).hexdigest()


class DigestMemo:
    """Content digests remembered by path and stamp, so unchanged files are hashed once.

    Kept in one JSON file; a damaged or missing memo only costs hashing again. A digest is reused
    only when the stamp is unchanged and was taken safely after the file's last change."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            self.clock_dir = path.parent / "tmp"
        else:
            import tempfile

            self.clock_dir = Path(tempfile.gettempdir())
        self._now: int | None = None
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        if path is not None:
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(path.read_bytes())
                if isinstance(data, dict) and isinstance(data.get("files"), dict):
                    self.entries = data["files"]

    def digest(self, path: str) -> tuple[Stamp | None, str | None]:
        """(stamp, digest) of ``path``: (None, None) when nothing is there. The stamp is the one
        taken before reading, so a change during the read shows as a changed stamp later."""
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None, None
        stamp = stamp_of(st)
        special = special_digest(st)
        if special is not None:
            return stamp, special
        known = self.entries.get(path)
        if (isinstance(known, list) and len(known) == 3 and known[0] == stamp
                and not changed_since(stamp, int(known[2]))):
            return stamp, str(known[1])
        if self._now is None:  # one clock reading for the memo's life: earlier is only stricter
            self._now = fs_clock_ns(self.clock_dir)
        now = self._now
        try:
            digest = hash_file(path)
        except OSError:
            return None, None
        self.entries[path] = [stamp, digest, now]
        self.changed = True
        return stamp, digest

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        if len(self.entries) > 50_000:  # forget the oldest half: a memo, not a record
            ordered = sorted(self.entries.items(), key=lambda item: item[1][2] if len(item[1]) == 3 else 0)
            self.entries = dict(ordered[len(ordered) // 2:])
        with contextlib.suppress(OSError):
            write_json(self.path, {"files": self.entries})
        self.changed = False


def write_json(path: Path, data: object) -> None:
    """Write JSON atomically (:func:`wasmrun.atomic.atomic_write`; not fsynced: what it holds can
    be computed again)."""
    from wasmrun.atomic import atomic_write

    atomic_write(path, json.dumps(data, separators=(",", ":")), durable=False)
