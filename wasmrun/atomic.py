"""Replacing a file atomically: the one helper every writer of wasmrun's own files uses.

Standard library only, and importing nothing of wasmrun's, so every layer may use it.
"""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path: Path, data: str | bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) through a temporary file of a
    unique name in the same directory, then a rename: a reader sees the old file or the new one,
    never half of one, and concurrent writers never share a temporary file. A failure removes the
    temporary file and leaves ``path`` as it was.

    :param durable: flush the data to disk before the rename, so a crash cannot leave an empty
        file behind; ``False`` for files that can be rebuilt (caches).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _create_beside(path: Path) -> tuple[int, str]:
    """A new file of a unique name beside ``path``, open for writing, as ``tempfile.mkstemp``
    makes one (mode 0o600, never an existing file), without importing tempfile: a cache hit on
    the typer-free road writes through here and imports as little as it can."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = str(path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused temporary name beside {path}")
