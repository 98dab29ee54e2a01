"""The one rule for a plugin's name, whatever kind of plugin it is.

Built-in, entry-point (pip or ``wasmrun plugin install``), executable (``--command``) and
scaffolded plugins are all named by it, and so are the keys of the config file's plugin tables:
lowercase letters and digits, words joined by ``-`` or ``_``, starting with a letter, at most
:data:`MAX_LENGTH` characters. A name is a word on a command line, a key in ``config.toml`` and a
line in ``plugin list``, so nothing else (no dot, space, quote or newline) is allowed in one.

Standard library only: ``wasmrun --version`` may use it.
"""

from __future__ import annotations

import re

MAX_LENGTH = 40
_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
RULE = (f"lowercase letters and digits, words joined by - or _, starting with a letter "
        f"(at most {MAX_LENGTH} characters), e.g. 'mylang'")


def problem(name: str) -> str | None:
    """Why ``name`` is not a valid plugin name, or ``None`` when it is."""
    if len(name) > MAX_LENGTH or not _PATTERN.fullmatch(name):
        return f"invalid plugin name {shown(name)}: use {RULE}"
    return None


def is_valid(name: str) -> bool:
    return problem(name) is None


def shown(name: str) -> str:
    """``name`` quoted for a one-line message, whatever it holds (a newline shows as ``\\n``)."""
    if name.isprintable() and "'" not in name and len(name) <= 80:
        return f"'{name}'"
    text = repr(name[:80])
    return text[:-1] + "...'" if len(name) > 80 else text
