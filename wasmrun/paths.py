"""Path checks used across wasmrun: one home, so a fix lands once."""

from __future__ import annotations

import os
import re
from pathlib import Path


def is_inside(root: Path, path: Path, *, resolve: bool = True) -> bool:
    """Whether ``path`` lies inside ``root`` (or is it), symlinks followed unless ``resolve`` is
    False (then both must already be resolved)."""
    if resolve:
        root, path = root.resolve(), path.resolve()
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def output_stem(project_dir: Path) -> str:
    """The name a project's module is built under: its directory's name, made safe for a file
    name (``my app`` -> ``my_app``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", project_dir.name) or "main"


def remove_tree(path: Path) -> None:
    """Remove a directory and everything in it, ignoring errors, as ``shutil.rmtree(path,
    ignore_errors=True)`` does; an empty one (what a cache hit leaves) without importing shutil."""
    try:
        os.rmdir(path)
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    import shutil

    shutil.rmtree(path, ignore_errors=True)
