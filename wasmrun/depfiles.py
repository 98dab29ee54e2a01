"""Dependency files in make's syntax, as clang, emcc and zig write for ``-MD``/``-M`` and cargo
writes beside its outputs: the files a toolchain actually read, for the build cache.

A plugin passes what :func:`read_depfile` (or :func:`parse_make_deps`) gives into
:class:`wasmrun.models.BuildInputs` ``files``.
"""

from __future__ import annotations

import os
from pathlib import Path


def parse_make_deps(text: str, cwd: Path | str) -> list[Path]:
    """The prerequisites of every rule in ``text`` (targets left out), absolute (relative ones are
    taken from ``cwd``), without duplicates, in order. Handles line continuations, ``\\ `` and
    ``$$`` escapes, and Windows drive letters."""
    joined = text.replace("\\\r\n", " ").replace("\\\n", " ")
    found: dict[str, None] = {}
    for line in joined.splitlines():
        tokens = _split(line)
        colon = next((i for i, token in enumerate(tokens) if token.endswith(":") and not _is_drive(token)), None)
        if colon is None:
            continue
        for token in tokens[colon + 1:]:
            if token and token != "\\":
                path = token if os.path.isabs(token) else os.path.join(cwd, token)
                found[os.path.normpath(path)] = None
    return [Path(p) for p in found]


def read_depfile(path: Path, cwd: Path | str) -> list[Path]:
    """The prerequisites listed in a dependency file; none when it is missing or unreadable."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return []
    return parse_make_deps(text, cwd)


def _split(line: str) -> list[str]:
    """Words of a rule line: whitespace separates, ``\\`` escapes a space, ``$$`` is ``$``; a
    target's colon stays on its word (``out.o:``), or is a word of its own (``out.o :``)."""
    words: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line) and line[i + 1] in " #":
            current.append(line[i + 1])
            i += 2
            continue
        if char == "$" and line[i + 1:i + 2] == "$":
            current.append("$")
            i += 2
            continue
        if char.isspace():
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
        i += 1
    if current:
        words.append("".join(current))
    merged: list[str] = []
    for word in words:
        if word == ":" and merged:
            merged[-1] += ":"
        elif ":" in word and not word.endswith(":") and not _is_drive(word) and "://" not in word:
            head, _, tail = word.partition(":")  # "out.o:main.c"
            merged += [head + ":", tail] if head and not _is_drive(head + ":") else [word]
        else:
            merged.append(word)
    return merged


def _is_drive(token: str) -> bool:
    return len(token) == 2 and token[1] == ":" and token[0].isalpha()
