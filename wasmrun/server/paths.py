"""Turning a request path into a file inside one of the served roots, or nothing.

The rules are strict on purpose, because the request line is untrusted: the raw path (before any
decoding) and the decoded path must both be free of ``..`` and ``.`` segments, backslashes, NUL
bytes and encoded slashes; hidden names (a segment starting with ``.``) are never served; the
resolved file (symlinks followed) must still lie inside the root it was found in; and only regular
files are answered, never a directory listing. Anything else is "not found".
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

from wasmrun import paths

#: Percent-encodings refused before decoding: slash, backslash and NUL.
_FORBIDDEN_ENCODED = ("%2f", "%5c", "%00")


def request_segments(raw_path: str) -> list[str] | None:
    """The decoded path segments of a request target, or None when it is not acceptable.

    ``raw_path`` is the target as sent (query and fragment are dropped here).
    """
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        return None
    lowered = path.lower()
    if any(code in lowered for code in _FORBIDDEN_ENCODED) or "\\" in path:
        return None
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\\" in decoded or "\x00" in decoded or ("%" in decoded and _still_encoded(decoded)):
        return None
    segments = [s for s in decoded.split("/") if s != ""]
    for segment in segments:
        if segment in (".", "..") or segment.startswith(".") or ":" in segment:
            return None
    return segments


def _still_encoded(decoded: str) -> bool:
    """A path that still holds percent-escapes after one decoding was double-encoded: refuse it."""
    return unquote(decoded) != decoded


def resolve_in_roots(raw_path: str, roots: Sequence[Path]) -> Path | None:
    """The regular file ``raw_path`` names in the first root that has it, or None.

    A directory answers with its ``index.html`` when it has one; there are no listings.
    """
    segments = request_segments(raw_path)
    if segments is None:
        return None
    relative = posixpath.join(*segments) if segments else ""
    for root in roots:
        found = _file_in(root, relative)
        if found is not None:
            return found
    return None


def _file_in(root: Path, relative: str) -> Path | None:
    try:
        base = root.resolve(strict=True)
    except OSError:
        return None
    candidate = base / relative if relative else base
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    if resolved.is_dir():
        resolved = resolved / "index.html"
        if not resolved.is_file():
            return None
        resolved = resolved.resolve()
    if not is_inside(base, resolved) or not resolved.is_file():
        return None
    return resolved


def is_inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (already resolved) lies inside ``root`` (already resolved)."""
    return paths.is_inside(root, path, resolve=False)
