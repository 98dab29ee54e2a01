"""What a C/C++ project looks like: its sources, its Makefile and which targets it has, its
CMakeLists.txt, and the project's own settings for them (``wasmrun.toml``)."""

from __future__ import annotations

import re
from pathlib import Path

C_EXTENSIONS = (".c",)
CXX_EXTENSIONS = (".cc", ".cpp", ".cxx", ".c++")
SOURCE_EXTENSIONS = C_EXTENSIONS + CXX_EXTENSIONS
HEADER_EXTENSIONS = (".h", ".hh", ".hpp", ".hxx")
MAKEFILE_NAMES = ("GNUmakefile", "Makefile", "makefile")
CMAKE_LISTS = "CMakeLists.txt"
#: The Makefile target run unless ``make_target`` in wasmrun.toml names another.
DEFAULT_MAKE_TARGET = "wasm"

_MAIN = re.compile(r"\bmain\s*\(")


def sources(project_dir: Path) -> list[Path]:
    from wasmrun.building import walk_sources

    return walk_sources(project_dir, SOURCE_EXTENSIONS)


def makefile(project_dir: Path) -> Path | None:
    for name in MAKEFILE_NAMES:
        path = project_dir / name
        if path.is_file():
            return path
    return None


def cmake_lists(project_dir: Path) -> Path | None:
    path = project_dir / CMAKE_LISTS
    return path if path.is_file() else None


def has_make_target(path: Path | None, target: str) -> bool:
    """Whether the Makefile defines a rule for ``target`` (``target:``, not ``target:=``)."""
    if path is None:
        return False
    rule = re.compile(rf"^{re.escape(target)}\s*:(?!=)", re.MULTILINE)
    try:
        return bool(rule.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def make_target(project_dir: Path) -> str:
    """The Makefile target to run: ``make_target`` from the project's settings, else ``wasm``."""
    from wasmrun.project_config import load_project_config

    return load_project_config(project_dir).make_target or DEFAULT_MAKE_TARGET


def chosen_module(project_dir: Path) -> str | None:
    """``module`` from the project's settings: which of several modules a build delivers."""
    from wasmrun.project_config import load_project_config

    return load_project_config(project_dir).module


def is_cxx(files: list[Path]) -> bool:
    return any(p.suffix in CXX_EXTENSIONS for p in files)


def defines_main(files: list[Path]) -> bool:
    for path in files:
        try:
            if _MAIN.search(path.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False
