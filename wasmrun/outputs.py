"""The output directory: builds land there through a staging directory, and a manifest records
what wasmrun wrote, so that ``clean`` deletes exactly that and a build never overwrites a file
wasmrun did not make.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from wasmrun.errors import UsageError

DEFAULT_OUTPUT_DIRNAME = "wasmrun-out"
MANIFEST_NAME = ".wasmrun-manifest.json"


def default_output_dir(project_dir: Path) -> Path:
    return project_dir / DEFAULT_OUTPUT_DIRNAME


def read_manifest(output_dir: Path) -> list[str]:
    """Output-relative paths wasmrun wrote; an unreadable manifest counts as empty."""
    try:
        data = json.loads((output_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    files = data.get("files", []) if isinstance(data, dict) else []
    return [f for f in files if isinstance(f, str) and _safe_entry(output_dir, f)]


def _safe_entry(output_dir: Path, rel: str) -> bool:
    """A manifest entry that names a path in ``output_dir`` without leaving it: relative, no
    ``..``, and no directory on the way a symlink. The entry itself may be a symlink wasmrun
    wrote: it is the link that is replaced or removed, never what it points to."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        return False
    return not any((output_dir.joinpath(*parts[:depth])).is_symlink() for depth in range(1, len(parts)))


def _write_manifest(output_dir: Path, files: list[str]) -> None:
    path = output_dir / MANIFEST_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"files": sorted(set(files))}, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _is_inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


class Staging:
    """A scratch directory inside the output directory for one build.

    ``commit`` moves everything built into the output directory: a file already there is replaced
    only when an earlier build of wasmrun wrote it.
    """

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        if output_dir.exists() and not output_dir.is_dir():
            raise UsageError(f"output path {output_dir} exists and is not a directory")
        output_dir.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=".staging-", dir=output_dir))

    def commit(self, built: list[Path]) -> dict[Path, Path]:
        """Move the staged files into place; returns staged path -> final path."""
        ours = set(read_manifest(self.output_dir))
        moves: dict[Path, Path] = {}
        for staged in sorted(p for p in self.path.rglob("*") if p.is_file() or p.is_symlink()):
            rel = staged.relative_to(self.path)
            final = self.output_dir / rel
            if final.exists() and rel.as_posix() not in ours:
                raise UsageError(
                    f"{final} already exists and was not built by wasmrun; "
                    "move it away or choose another output directory with -o")
            moves[staged] = final
        for path in built:
            if path.resolve() not in {s.resolve() for s in moves} and not _is_inside(self.output_dir, path):
                raise UsageError(f"build reported {path}, outside the output directory")
        for staged, final in moves.items():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
        _write_manifest(self.output_dir, [*ours, *(f.relative_to(self.output_dir).as_posix() for f in moves.values())])
        return moves

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def remove_outputs(output_dir: Path) -> list[Path]:
    """Delete the files the manifest lists (and directories left empty); nothing else.

    No symlink is followed: a listed symlink is removed itself (its target stays), a directory
    that is a symlink is neither entered nor removed, and files the user put there stay.
    """
    removed: list[Path] = []
    if output_dir.is_symlink() or not output_dir.is_dir():
        return removed
    for rel in read_manifest(output_dir):
        path = output_dir / rel
        if path.is_symlink() or path.is_file():
            path.unlink()
            removed.append(path)
    for staging in output_dir.glob(".staging-*"):
        if staging.is_dir() and not staging.is_symlink():
            shutil.rmtree(staging, ignore_errors=True)
    (output_dir / MANIFEST_NAME).unlink(missing_ok=True)
    _remove_empty_dirs(output_dir)
    return removed


def _remove_empty_dirs(root: Path) -> None:
    """Remove directories under ``root`` (and ``root``) left empty, deepest first; symlinks to
    directories are left alone and not entered."""
    for current, dirs, _files in os.walk(root, topdown=False, followlinks=False):
        for name in dirs:
            directory = Path(current) / name
            if not directory.is_symlink():
                with contextlib.suppress(OSError):
                    directory.rmdir()  # fails when not empty: the user's files stay
    with contextlib.suppress(OSError):
        root.rmdir()
