"""Whether a Go module's ``main`` package can only run in a browser: it imports ``syscall/js``,
directly or through packages of the same module, in files a ``GOOS=wasip1`` build would compile.

Such a program cannot build for WASI (``syscall/js`` exists only for ``GOOS=js``), so the plugin's
claim names ``web`` as the project's target (:attr:`wasmrun.models.Claim.target`). Only the
sources are read (claiming must not run tools): imports by a small scanner, build constraints
(``//go:build`` lines and ``_GOOS``/``_GOARCH`` file names) evaluated for wasip1/wasm.
"""

from __future__ import annotations

import re
from pathlib import Path

JS_PACKAGE = "syscall/js"
#: Build tags true in a ``GOOS=wasip1 GOARCH=wasm`` build (``go1.N`` tags are all taken as true).
WASIP1_TAGS = frozenset({"wasip1", "wasm", "gc"})
#: How much of each source is read: its build constraint, package clause and imports.
HEADER_BYTES = 256 * 1024
_KNOWN_OS = frozenset({"aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js", "linux",
                       "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos"})
_KNOWN_ARCH = frozenset({"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle",
                         "ppc64", "ppc64le", "riscv64", "s390x", "wasm"})
_BUILD_LINE = re.compile(r"^//go:build\s+(.+)$", re.MULTILINE)
_PACKAGE = re.compile(r"^package\s+(\w+)", re.MULTILINE)
_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_IMPORT_LINE = re.compile(r"^import\s+(?:[\w.]+\s+)?\"([^\"]+)\"", re.MULTILINE)
_QUOTED = re.compile(r"\"([^\"]+)\"")
_TOKEN = re.compile(r"\s*(\(|\)|!|&&|\|\||[\w.]+)")
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _constraint_holds(expression: str, tags: frozenset[str]) -> bool:
    """``//go:build`` ``expression`` for ``tags``; an expression it cannot read counts as true."""
    tokens: list[str] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            return True
        tokens.append(match.group(1))
        position = match.end()
        if not expression[position:].strip():
            break
    index = 0

    def peek() -> str | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> str:
        nonlocal index
        index += 1
        return tokens[index - 1]

    def either() -> bool:
        value = both()
        while peek() == "||":
            take()
            value = both() or value
        return value

    def both() -> bool:
        value = unary()
        while peek() == "&&":
            take()
            value = unary() and value
        return value

    def unary() -> bool:
        token = take()
        if token == "!":
            return not unary()
        if token == "(":
            value = either()
            if take() != ")":
                raise ValueError(expression)
            return value
        return token in tags or token.startswith("go1.")

    try:
        value = either()
    except (IndexError, ValueError):
        return True
    return value if index == len(tokens) else True


def _name_allows(name: str, tags: frozenset[str]) -> bool:
    """A file named ``x_GOOS.go``, ``x_GOARCH.go`` or ``x_GOOS_GOARCH.go`` builds only there."""
    parts = name.removesuffix(".go").split("_")[1:]
    if parts and parts[-1] == "test":
        return False
    if len(parts) >= 2 and parts[-2] in _KNOWN_OS and parts[-1] in _KNOWN_ARCH:
        return parts[-2] in tags and parts[-1] in tags
    if parts and (parts[-1] in _KNOWN_OS or parts[-1] in _KNOWN_ARCH):
        return parts[-1] in tags
    return True


def imports(source: str) -> list[str]:
    """The import paths of one Go source file (from its header: up to the first declaration)."""
    header = _COMMENT.sub("", source)
    end = re.search(r"^(?:func|type|var|const)\b", header, re.MULTILINE)
    header = header[:end.start()] if end else header
    found = [m.group(1) for m in _IMPORT_LINE.finditer(header)]
    for block in _IMPORT_BLOCK.finditer(header):
        lines = [line.split("//", 1)[0] for line in block.group(1).splitlines()]
        found += _QUOTED.findall("\n".join(lines))
    return found


def _package_files(directory: Path, tags: frozenset[str]) -> list[tuple[str, str]]:
    """(file name, text) of the package's files a build for ``tags`` compiles."""
    files = []
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    for path in entries:
        if path.suffix != ".go" or path.name.startswith((".", "_")) or not path.is_file():
            continue
        if not _name_allows(path.name, tags):
            continue
        try:
            with path.open("rb") as source:  # imports come first: a huge generated file is not read whole
                text = source.read(HEADER_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        constraint = _BUILD_LINE.search(text.split("\npackage ", 1)[0])
        if constraint and not _constraint_holds(constraint.group(1).strip(), tags):
            continue
        files.append((path.name, text))
    return files


def js_import_chain(root: Path, module_path: str | None, tags: frozenset[str] = WASIP1_TAGS) -> list[str] | None:
    """How the ``main`` package at ``root`` reaches ``syscall/js`` in a build for ``tags``: the
    chain of packages (``["main.go", "example.com/app/dom", "syscall/js"]``), or None when it
    does not (or ``root`` holds no ``main`` package)."""
    files = _package_files(root, tags)
    if not any((m := _PACKAGE.search(text)) and m.group(1) == "main" for _, text in files):
        return None
    seen: set[str] = set()
    queue: list[tuple[Path, list[str]]] = [(root, [])]  # breadth first over the module's own packages
    while queue:
        directory, chain = queue.pop(0)
        for name, text in files if directory == root else _package_files(directory, tags):
            via = chain or [name]  # in the main package: the file that imports
            for path in imports(text):
                if path == JS_PACKAGE:
                    return [*via, path]
                if module_path and path.startswith(module_path + "/") and path not in seen:
                    seen.add(path)
                    local = (root / path[len(module_path) + 1:]).resolve()
                    if local.is_dir() and local.is_relative_to(root.resolve()):  # never outside the module
                        queue.append((local, [*via, path]))
    return None


def describe(chain: list[str]) -> str:
    """``main.go imports example.com/app/dom, which imports syscall/js``."""
    first, *rest = chain
    return f"{first} imports " + ", which imports ".join(rest)
