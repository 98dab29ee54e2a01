"""The output directory: builds land there through a staging directory, and a manifest records
what wasmrun wrote, so that ``clean`` deletes exactly that and a build never overwrites a file
wasmrun did not make.
"""

from __future__ import annotations

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
    return [f for f in files if isinstance(f, str) and _is_inside(output_dir, output_dir / f)]


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
    """Delete the files the manifest lists (and directories left empty); nothing else."""
    removed: list[Path] = []
    if not output_dir.is_dir():
        return removed
    for rel in read_manifest(output_dir):
        path = output_dir / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    for staging in output_dir.glob(".staging-*"):
        shutil.rmtree(staging, ignore_errors=True)
    (output_dir / MANIFEST_NAME).unlink(missing_ok=True)
    for directory in sorted((p for p in output_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(directory.iterdir()):
            directory.rmdir()
    if not any(output_dir.iterdir()):
        output_dir.rmdir()
    return removed
