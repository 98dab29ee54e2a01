"""What makes a directory a JavaScript or TypeScript project, and where its program starts.

A project is JavaScript when it has a ``package.json`` that is not AssemblyScript's (the
AssemblyScript plugin's own rule decides that, so the two plugins never both claim a project), no
Rust, Go or Zig manifest beside it, and an entry file: ``package.json``'s ``main`` (or ``module``)
when it names a ``.js``/``.mjs``/``.ts``/``.mts`` file, else the first of :data:`CONVENTIONAL_ENTRIES`.
A ``wit/`` directory makes it a library exporting that world; otherwise it is a command.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmrun.errors import UsageError

FOREIGN_MANIFESTS = ("Cargo.toml", "go.mod", "build.zig")
SCRIPT_SUFFIXES = (".js", ".mjs", ".ts", ".mts")
TYPESCRIPT_SUFFIXES = (".ts", ".mts")
CONVENTIONAL_ENTRIES = ("src/main.ts", "src/index.ts", "main.ts", "index.ts",
                        "src/main.js", "src/index.js", "main.js", "index.js", "main.mjs", "index.mjs")
WIT_DIR = "wit"


@dataclass(frozen=True)
class JsProject:
    """A JavaScript or TypeScript project as wasmrun builds it."""

    root: Path
    entry: Path  # absolute
    name: str  # the output's stem
    library: bool  # a wit/ world to export, not a command

    @property
    def typescript(self) -> bool:
        return self.entry.suffix in TYPESCRIPT_SUFFIXES

    @property
    def entry_name(self) -> str:
        return self.entry.relative_to(self.root).as_posix()


def read_package_json(root: Path) -> dict[str, Any]:
    """``package.json`` as a dict ({} when absent); a :class:`UsageError` when it is unreadable."""
    path = root / "package.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"package.json is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError("package.json must hold a JSON object")
    return data


def is_assemblyscript(root: Path) -> bool:
    """The AssemblyScript plugin's claim, so both plugins follow one rule."""
    from wasmrun.languages import assemblyscript

    return assemblyscript.can_handle_project(root) is not None


def find_entry(root: Path, package: dict[str, Any]) -> Path | None:
    """The program's first file: ``main``/``module`` of package.json, else a conventional name.
    Never a path outside the project."""
    for field in ("main", "module"):
        named = package.get(field)
        if isinstance(named, str) and named.endswith(SCRIPT_SUFFIXES):
            candidate = (root / named).resolve()
            if candidate.is_relative_to(root.resolve()) and candidate.is_file():
                return root / candidate.relative_to(root.resolve())
    for name in CONVENTIONAL_ENTRIES:
        if (root / name).is_file():
            return root / name
    return None


def output_name(root: Path, package: dict[str, Any]) -> str:
    """package.json's ``name`` without its scope, made file-name safe; else the directory's."""
    name = package.get("name")
    stem = name.rsplit("/", 1)[-1] if isinstance(name, str) and name else root.resolve().name
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem) or "program"


def load(root: Path) -> JsProject:
    """The project at ``root``; a :class:`UsageError` when it has no entry file."""
    package = read_package_json(root)
    entry = find_entry(root, package)
    if entry is None:
        raise UsageError(f"no entry file in {root}: set \"main\" in package.json, or add one of "
                         f"{', '.join(CONVENTIONAL_ENTRIES[:4])}, ...")
    return JsProject(root=root, entry=entry, name=output_name(root, package),
                     library=(root / WIT_DIR).is_dir())
