"""Replacing a file atomically: the one helper every writer of wasmrun's own files uses.

Standard library only, and importing nothing of wasmrun's, so every layer may use it.
"""

from __future__ import annotations

import os
import tempfile
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
