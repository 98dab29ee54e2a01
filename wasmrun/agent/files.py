"""The session file API on the host: binary-safe reads, writes, listings and deletes that never
leave the session root, and the usage (bytes, entries) that quotas are checked against.

Every call walks from a descriptor of the root, one name at a time, opening each directory with
``O_NOFOLLOW | O_DIRECTORY`` relative to its parent (``openat``): a symbolic link anywhere in the
path is refused (:class:`BadRequest`), and sandboxed code swapping a directory for a link while
the call runs cannot redirect it. The final file is opened with ``O_NOFOLLOW`` too.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wasmrun.agent.errors import BadRequest, LimitExceeded, NotFound, TooLarge
from wasmrun.agent.models import FileEntry
from wasmrun.agent.paths import parts, shown

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class Usage:
    """What a session's directory holds: bytes of its files, and its files plus directories."""

    bytes: int = 0
    entries: int = 0


@contextlib.contextmanager
def _directory(root: Path, names: list[str], *, create: bool = False) -> Iterator[int]:
    """A descriptor of the directory ``names`` under ``root`` (made when ``create``)."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for index, name in enumerate(names):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=fd)
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ENOTDIR and _is_link(name, fd):  # O_DIRECTORY answers first
                    exc = OSError(errno.ELOOP, "symbolic link")
                raise _refusal(exc, names[:index + 1]) from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _refusal(exc: OSError, names: list[str]) -> Exception:
    where = shown(names)
    if exc.errno == errno.ELOOP:
        return BadRequest(f"{where} is a symbolic link: the file API does not follow links")
    if exc.errno == errno.ENOTDIR:
        return BadRequest(f"{where} is not a directory")
    if exc.errno == errno.ENOENT:
        return NotFound(f"{where} does not exist")
    if exc.errno == errno.EISDIR:
        return BadRequest(f"{where} is a directory")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return LimitExceeded(f"no space left for {where}")
    if exc.errno == errno.ENAMETOOLONG:
        return BadRequest(f"{where}: name too long")
    return BadRequest(f"{where}: {exc.strerror or exc}")


def write(root: Path, path: str, data: bytes, used: Usage, *, max_bytes: int, max_entries: int) -> FileEntry:
    """Write ``data`` to ``path`` (parents made inside the root), within the quotas given the
    session's current ``used``; a file replaced counts only for its growth."""
    names = parts(path)
    if not names:
        raise BadRequest("cannot write the session root itself")
    if len(data) > max_bytes:
        raise TooLarge(f"{len(data)} bytes is more than the session's disk quota of {max_bytes} bytes")
    new_dirs, old_size = _missing_dirs(root, names)
    if used.bytes - old_size + len(data) > max_bytes:
        raise LimitExceeded(f"writing {shown(names)} would take the session past its disk quota of {max_bytes} bytes")
    if used.entries + new_dirs + (old_size < 0) > max_entries:
        raise LimitExceeded(f"writing {shown(names)} would take the session past its limit of {max_entries} files")
    with _directory(root, names[:-1], create=True) as parent:
        try:
            fd = os.open(names[-1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                         dir_fd=parent)
        except OSError as exc:
            raise _refusal(exc, names) from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    used.bytes += len(data) - max(old_size, 0)
    used.entries += new_dirs + (old_size < 0)
    return FileEntry(path=shown(names), size=len(data), is_dir=False)


def _missing_dirs(root: Path, names: list[str]) -> tuple[int, int]:
    """How many of ``names``' parent directories do not exist yet, and the size of the file
    there now (-1: none). Refuses links and non-directories on the way."""
    try:
        with _directory(root, names[:-1]):
            pass
    except NotFound:
        missing = 0
        for depth in range(len(names) - 1, 0, -1):
            try:
                with _directory(root, names[:depth]):
                    break
            except NotFound:
                missing += 1
        return missing, -1
    with _directory(root, names[:-1]) as parent:
        try:
            info = os.stat(names[-1], dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return 0, -1
    if stat.S_ISLNK(info.st_mode):
        raise BadRequest(f"{shown(names)} is a symbolic link: the file API does not follow links")
    if stat.S_ISDIR(info.st_mode):
        raise BadRequest(f"{shown(names)} is a directory")
    return 0, info.st_size


def read(root: Path, path: str, *, max_bytes: int) -> bytes:
    """The bytes of the file at ``path``."""
    names = parts(path)
    if not names:
        raise BadRequest("the session root is a directory: list it instead")
    with _directory(root, names[:-1]) as parent:
        try:
            fd = os.open(names[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=parent)
        except OSError as exc:
            raise _refusal(exc, names) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "is a directory: list it instead" if stat.S_ISDIR(info.st_mode) else "is not a regular file"
        raise BadRequest(f"{shown(names)} {kind}")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise TooLarge(f"{shown(names)} is {info.st_size} bytes, more than {max_bytes}")
        return handle.read(max_bytes + 1)[:max_bytes]


def listing(root: Path, path: str = "/", *, max_entries: int) -> list[FileEntry]:
    """Every file and directory under ``path`` (recursively, links shown but not followed),
    sorted by path; at most ``max_entries``."""
    names = parts(path)
    entries: list[FileEntry] = []
    with _directory(root, names) as fd:
        _walk(fd, names, entries, max_entries)
    return sorted(entries, key=lambda e: e.path)


def _walk(fd: int, names: list[str], out: list[FileEntry], limit: int) -> None:
    with os.scandir(fd) as scan:
        children = list(scan)
    for child in children:
        if len(out) >= limit:
            return
        info = child.stat(follow_symlinks=False)
        is_dir = stat.S_ISDIR(info.st_mode)
        out.append(FileEntry(path=shown([*names, child.name]), size=0 if is_dir else info.st_size, is_dir=is_dir))
        if is_dir:
            try:
                sub = os.open(child.name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue
            try:
                _walk(sub, [*names, child.name], out, limit)
            finally:
                os.close(sub)


def delete(root: Path, path: str) -> None:
    """Delete the file or directory (with what it holds) at ``path``; never the root itself."""
    import shutil

    names = parts(path)
    if not names:
        raise BadRequest("cannot delete the session root itself")
    with _directory(root, names[:-1]) as parent:
        try:
            info = os.stat(names[-1], dir_fd=parent, follow_symlinks=False)
        except OSError as exc:
            raise _refusal(exc, names) from None
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(names[-1], dir_fd=parent)  # never follows links
        else:
            os.unlink(names[-1], dir_fd=parent)


def usage(root: Path, *, stop_after: int | None = None) -> Usage:
    """The bytes and entries under ``root`` (links counted, never followed); stops counting past
    ``stop_after`` entries (a quota already exceeded need not be counted to the end)."""
    used = Usage()
    pending = [str(root)]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as scan:
                for entry in scan:
                    used.entries += 1
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                        else:
                            used.bytes += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
                    if stop_after is not None and used.entries > stop_after:
                        return used
        except OSError:
            continue
    return used
