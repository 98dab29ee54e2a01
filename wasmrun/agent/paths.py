"""A client's path, checked and split into the names it walks inside a session root.

The client speaks in paths relative to the session root (a leading ``/`` means the root).
:func:`parts` refuses what could leave the root or confuse a file system: ``..``, NUL bytes,
overlong names; it never touches the disk. Symbolic links are refused while walking
(:mod:`wasmrun.agent.files` opens every component with ``O_NOFOLLOW`` relative to its parent's
descriptor), so a link planted by sandboxed code cannot redirect a file call either.
"""

from __future__ import annotations

from wasmrun.agent.errors import BadRequest

MAX_PATH = 4096
MAX_NAME = 255


def parts(path: str) -> list[str]:
    """The names ``path`` walks from the session root (``[]`` for the root itself)."""
    if not isinstance(path, str):
        raise BadRequest("path must be a string")
    if "\0" in path:
        raise BadRequest("path contains a NUL byte")
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH:
        raise BadRequest(f"path is longer than {MAX_PATH} bytes")
    names: list[str] = []
    for name in path.split("/"):
        if name in ("", "."):
            continue
        if name == "..":
            raise BadRequest(f"path {path!r} leaves the session directory ('..' is not allowed)")
        if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME:
            raise BadRequest(f"a name in path {path!r} is longer than {MAX_NAME} bytes")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(f"path {path!r} is not valid UTF-8") from None
        names.append(name)
    return names


def shown(names: list[str]) -> str:
    """How a path is shown back to the client: relative, forward slashes, ``.`` for the root."""
    return "/".join(names) or "."
