"""Which modules a whole-Python program needs, found statically.

componentize-py bundles only the modules imported while the component is built, so every module
the program imports by name, wherever the ``import`` statement is (inside functions, ``try``
blocks, ``if`` branches), must be imported at build time. This walks the entry module and,
transitively, every module of the project it imports, with :mod:`ast`: nothing of the user's is
run on the host.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from wasmrun.errors import BuildError


@dataclass
class ProgramModules:
    """The project's own modules (by dotted name, to their files) and every other module name
    they import (standard library and dependencies)."""

    local: dict[str, Path] = field(default_factory=dict)
    external: set[str] = field(default_factory=set)


def imported_names(tree: ast.AST, package: str = "") -> set[str]:
    """Every absolute module name an ``import`` or ``from ... import`` in ``tree`` names, with its
    parents, and for ``from X import Y`` also ``X.Y`` (which may be a submodule). Relative imports
    are resolved against ``package``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.update(_with_parents(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, package)
            if base is None:
                continue
            if base:
                names.update(_with_parents(base))
            for alias in node.names:
                if alias.name != "*":
                    names.add(f"{base}.{alias.name}" if base else alias.name)
    return names


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _absolute(module: str, level: int, package: str) -> str | None:
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None  # beyond the top: an ImportError at run time, as under CPython
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def local_module(root: Path, name: str) -> Path | None:
    """The file of module ``name`` inside ``root`` (``a/b.py`` or ``a/b/__init__.py``), if any."""
    relative = Path(*name.split("."))
    for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def parse(path: Path, shown: str) -> ast.Module:
    """The module's syntax tree; a syntax error is one line naming the file and line."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(f"cannot read {shown}: {exc}") from None
    try:
        return ast.parse(source, filename=shown)
    except SyntaxError as exc:
        raise BuildError(f"{shown}:{exc.lineno}:{exc.offset}: {exc.msg}") from None


def find_modules(root: Path, entry: Path, extra: list[str] | None = None) -> ProgramModules:
    """The entry module's imports, followed through the project's own modules under ``root``.
    ``extra`` names modules imported by computed name (``importlib.import_module(name)``), which
    no static walk can see: ``python_modules`` in ``wasmrun.toml``."""
    found = ProgramModules()
    pending: list[tuple[str, Path]] = [("__main__", entry)]
    for name in extra or []:
        for parent in _with_parents(name):  # a module of a package needs its package first
            pending += _local_or_external(root, parent, found)
    seen: set[Path] = set()
    while pending:
        name, path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        if name != "__main__":
            found.local[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = parse(path, path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name)
        for imported in sorted(imported_names(tree, "" if name == "__main__" else package)):
            pending += _local_or_external(root, imported, found)
    # ``from pkg.mod import name``: ``pkg.mod.name`` is an attribute of a local module, not a module
    found.external = {name for name in found.external
                      if not any(parent in found.local for parent in _with_parents(name))}
    return found


def _local_or_external(root: Path, name: str, found: ProgramModules) -> list[tuple[str, Path]]:
    path = local_module(root, name)
    if path is None:
        found.external.add(name)
        return []
    return [(name, path)]
