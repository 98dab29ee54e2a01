"""The output directory: builds land there through a staging directory, and a manifest records
what wasmrun wrote, so that ``clean`` deletes exactly that and a build never overwrites a file
wasmrun did not make.

The manifest (``.wasmrun-manifest.json`` in the output directory) records each file wasmrun
wrote with its content hash (a symlink with its target), and the directories it created (``"."``
for the output directory itself). A file is wasmrun's only while it still matches what was
recorded: a file the user changed since is kept by ``clean`` and never overwritten by a build.

Each build stages its files in ``.staging-PID-XXXX`` inside the output directory; a staging
directory whose process is gone (a build killed outright) is swept by the next build or ``clean``
there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from wasmrun.atomic import atomic_write
from wasmrun.errors import UsageError
from wasmrun.paths import is_inside, remove_tree

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the cache-hit road
if TYPE_CHECKING:
    from typing import Any

    from wasmrun.project_config import ProjectConfig

DEFAULT_OUTPUT_DIRNAME = "wasmrun-out"
MANIFEST_NAME = ".wasmrun-manifest.json"
MANIFEST_VERSION = 2
STAGING_PREFIX = ".staging-"
#: A staging directory older than this is swept even when its pid is alive (the pid was reused).
STALE_STAGING_S = 24 * 3600
#: The output directory itself, in the manifest's list of directories wasmrun created.
OUTPUT_DIR_ENTRY = "."

#: Why ``clean`` kept something (the ``reason`` of a :class:`Kept`), and how the CLI says it.
KEPT_REASONS = {
    "changed": "changed since wasmrun wrote it",
    "no-hash": "recorded by an older wasmrun without a content hash; rebuild, or delete it",
    "not-wasmrun": "not made by wasmrun",
    "not-removable": "wasmrun's, but it could not be removed",
    "in-progress": "a build in progress",
    "pre-existing": "existed before wasmrun wrote into it",
    "symlink": "a symlink, not followed",
}


def default_output_dir(project_dir: Path) -> Path:
    return project_dir / DEFAULT_OUTPUT_DIRNAME


def configured_output_dir(project_dir: Path, settings: ProjectConfig) -> Path:
    """Where the project's builds go when no output directory is given: its ``wasmrun.toml``'s
    ``output_dir``, else ``PROJECT/wasmrun-out`` (``compile`` and ``run`` both key builds by it)."""
    return settings.output_path(project_dir) or default_output_dir(project_dir)


# -- the manifest ----------------------------------------------------------------------------------

#: A recorded file: ``{"sha256": HEX, "size": N}``, ``{"symlink": TARGET}``, or None when an older
#: wasmrun recorded the name only.
if TYPE_CHECKING:
    Entry = dict[str, Any] | None


class Manifest:
    """What wasmrun wrote into one output directory (output-relative POSIX paths). A plain class:
    this module is on the typer-free road to a cached build, which imports no dataclasses."""

    def __init__(self, files: dict[str, Entry] | None = None, dirs: set[str] | None = None) -> None:
        self.files: dict[str, Entry] = {} if files is None else files
        self.dirs: set[str] = set() if dirs is None else dirs


def load_manifest(output_dir: Path) -> Manifest:
    """The manifest of ``output_dir``; an unreadable one counts as empty, and entries that would
    leave the directory (or pass through a symlink) are dropped."""
    try:
        data = json.loads((output_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Manifest()
    if not isinstance(data, dict):
        return Manifest()
    files = data.get("files", {})
    if isinstance(files, list):  # version 1: names only
        files = dict.fromkeys(files)
    manifest = Manifest()
    if isinstance(files, dict):
        manifest.files = {rel: entry if isinstance(entry, dict) else None for rel, entry in files.items()
                          if isinstance(rel, str) and _safe_entry(output_dir, rel)}
    dirs = data.get("dirs", [])
    if isinstance(dirs, list):
        manifest.dirs = {d for d in dirs if isinstance(d, str)
                         and (d == OUTPUT_DIR_ENTRY or _safe_entry(output_dir, d))}
    return manifest


def read_manifest(output_dir: Path) -> list[str]:
    """Output-relative paths of the files wasmrun wrote; an unreadable manifest counts as empty."""
    return sorted(load_manifest(output_dir).files)


def _write_manifest(output_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (a temporary file of a unique name, then a rename), or
    remove it when it records nothing."""
    path = output_dir / MANIFEST_NAME
    if not manifest.files and not manifest.dirs:
        path.unlink(missing_ok=True)
        return
    data = {"version": MANIFEST_VERSION, "files": dict(sorted(manifest.files.items())), "dirs": sorted(manifest.dirs)}
    atomic_write(path, json.dumps(data, indent=1))


def _safe_entry(output_dir: Path, rel: str) -> bool:
    """A manifest entry that names a path in ``output_dir`` without leaving it: relative, no
    ``..``, and no directory on the way a symlink. The entry itself may be a symlink wasmrun
    wrote: it is the link that is replaced or removed, never what it points to."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        return False
    return not any((output_dir.joinpath(*parts[:depth])).is_symlink() for depth in range(1, len(parts)))


def _fingerprint(path: Path) -> Entry:
    """What the manifest records for a file wasmrun writes: its content hash, or a link's target."""
    if path.is_symlink():
        return {"symlink": os.readlink(path)}
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def _matches(path: Path, entry: Entry) -> bool:
    """Whether ``path`` is still what wasmrun recorded (False for a name-only record)."""
    if entry is None:
        return False
    try:
        if "symlink" in entry:
            return path.is_symlink() and os.readlink(path) == entry["symlink"]
        if path.is_symlink() or not path.is_file() or path.stat().st_size != entry.get("size"):
            return False
        return _fingerprint(path) == entry
    except OSError:
        return False


@contextlib.contextmanager
def _locked(output_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output directory (flock on the directory itself, so no lock
    file is left behind) while its manifest is read, changed and written back."""
    if sys.platform == "win32":  # pragma: no cover - wasmrun's CI is Linux
        yield
        return
    import fcntl

    fd = os.open(output_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# -- staging ---------------------------------------------------------------------------------------

def _staging_pid(name: str) -> int | None:
    """The pid in a staging directory's name (``.staging-PID-XXXX``), None for an older name."""
    parts = name[len(STAGING_PREFIX):].split("-")
    return int(parts[0]) if len(parts) == 2 and parts[0].isdigit() else None


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - os.kill would end the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _live_staging(path: Path) -> bool:
    """Whether a staging directory may belong to a build still running: its process is alive
    (this one included) and it is younger than :data:`STALE_STAGING_S`."""
    pid = _staging_pid(path.name)
    if pid is not None and pid != os.getpid() and not _pid_alive(pid):
        return False
    try:
        return time.time() - path.stat().st_mtime < STALE_STAGING_S
    except OSError:
        return False


def _staging_dirs(output_dir: Path) -> list[Path]:
    try:
        return sorted(p for p in output_dir.glob(f"{STAGING_PREFIX}*") if p.is_dir() and not p.is_symlink())
    except OSError:
        return []


def sweep_staging(output_dir: Path) -> list[Path]:
    """Remove the staging directories of builds that are gone; returns them."""
    swept = [p for p in _staging_dirs(output_dir) if not _live_staging(p)]
    for path in swept:
        remove_tree(path)
    return swept


def _make_unique_dir(parent: Path, prefix: str) -> Path:
    """A new directory of a unique name in ``parent``, as ``tempfile.mkdtemp`` makes one (mode
    0o700), without importing tempfile on the cache-hit road."""
    for _ in range(100):
        path = parent / f"{prefix}{os.urandom(6).hex()}"
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no unused name for a directory in {parent}")


class Staging:
    """A scratch directory inside the output directory for one build.

    ``commit`` moves everything built into the output directory: a file already there is replaced
    only when an earlier build of wasmrun wrote it and it is unchanged since. ``discard`` (always
    call it, in ``finally``) removes what is left, and the output directory too when this build
    created it and left it empty.
    """

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        if output_dir.exists() and not output_dir.is_dir():
            raise UsageError(f"output path {output_dir} exists and is not a directory")
        if output_dir.is_symlink() and not output_dir.exists():
            raise UsageError(f"output directory {output_dir} is a symlink to {os.readlink(output_dir)}, "
                             "which does not exist")
        self._created_output_dir = not output_dir.exists() and not output_dir.is_symlink()
        for attempt in range(3):  # another build may remove the directory it had just created
            output_dir.mkdir(parents=True, exist_ok=True)
            sweep_staging(output_dir)
            try:
                self.path = _make_unique_dir(output_dir, f"{STAGING_PREFIX}{os.getpid()}-")
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise

    def commit(self, built: list[Path], *, replace_previous: bool = False) -> dict[Path, Path]:
        """Move the staged files into place; returns staged path -> final path. With
        ``replace_previous``, what earlier commits wrote and this one does not is removed (see
        :meth:`_drop_stale`): the output directory then holds one build."""
        with _locked(self.output_dir):
            manifest = load_manifest(self.output_dir)
            moves: dict[Path, Path] = {}
            for staged in sorted(p for p in self.path.rglob("*") if p.is_file() or p.is_symlink()):
                rel = staged.relative_to(self.path).as_posix()
                final = self.output_dir / rel
                if not _safe_entry(self.output_dir, rel):
                    raise UsageError(f"a directory on the way to {final} is a symlink; "
                                     "wasmrun does not write through it")
                for parent in final.relative_to(self.output_dir).parents[:-1]:
                    if os.path.lexists(self.output_dir / parent) and not (self.output_dir / parent).is_dir():
                        raise UsageError(f"{self.output_dir / parent} is in the way of {final} and was not "
                                         "built by wasmrun; move it away or choose another output directory with -o")
                if os.path.lexists(final):
                    if rel not in manifest.files:
                        raise UsageError(
                            f"{final} already exists and was not built by wasmrun; "
                            "move it away or choose another output directory with -o")
                    entry = manifest.files[rel]
                    if entry is not None and not _matches(final, entry):
                        raise UsageError(
                            f"{final} was changed since wasmrun wrote it; "
                            "move it away or choose another output directory with -o")
                moves[staged] = final
            staged_paths = {s.resolve() for s in moves}
            for path in built:
                if path.resolve() not in staged_paths and not is_inside(self.output_dir, path):
                    raise UsageError(f"build reported {path}, outside the output directory")
            if self._created_output_dir:
                manifest.dirs.add(OUTPUT_DIR_ENTRY)
            try:
                for staged, final in moves.items():
                    manifest.dirs.update(self._make_parents(final.parent))
                    recorded = _fingerprint(staged)
                    os.replace(staged, final)
                    manifest.files[final.relative_to(self.output_dir).as_posix()] = recorded
                if replace_previous:
                    self._drop_stale(manifest, {final.relative_to(self.output_dir).as_posix()
                                                for final in moves.values()})
            finally:  # what was moved is recorded, even when a later move failed
                _write_manifest(self.output_dir, manifest)
        return moves

    def _drop_stale(self, manifest: Manifest, current: set[str]) -> None:
        """Remove what an earlier build wrote and this one did not (a ``--debug-info`` build's
        ``.wat`` beside a later plain build's module): the output directory holds one build.
        Only files still as wasmrun wrote them go; a changed one stays, and stays recorded."""
        for rel, entry in list(manifest.files.items()):
            if rel in current:
                continue
            path = self.output_dir / rel
            if not os.path.lexists(path):
                del manifest.files[rel]
            elif _matches(path, entry):
                with contextlib.suppress(OSError):
                    path.unlink()
                    del manifest.files[rel]

    def _make_parents(self, directory: Path) -> list[str]:
        """Create ``directory`` (inside the output directory); returns the ones created."""
        missing: list[Path] = []
        current = directory
        while current != self.output_dir and not current.exists():
            missing.append(current)
            current = current.parent
        directory.mkdir(parents=True, exist_ok=True)
        return [d.relative_to(self.output_dir).as_posix() for d in missing]

    def discard(self) -> None:
        remove_tree(self.path)
        if self._created_output_dir:
            with contextlib.suppress(OSError):
                self.output_dir.rmdir()  # only when this build left it empty


# -- clean -----------------------------------------------------------------------------------------

class Kept:
    """Something ``clean`` left in the output directory, and why (a key of :data:`KEPT_REASONS`)."""

    __slots__ = ("path", "reason")

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Kept) and (self.path, self.reason) == (other.path, other.reason)

    def __hash__(self) -> int:
        return hash((self.path, self.reason))

    def __repr__(self) -> str:
        return f"Kept({self.path!r}, {self.reason!r})"

    @property
    def message(self) -> str:
        return KEPT_REASONS[self.reason]


class CleanReport:
    """What ``clean`` removed from an output directory, and what it kept there."""

    def __init__(self, output_dir: Path, removed: list[Path] | None = None, kept: list[Kept] | None = None) -> None:
        self.output_dir = output_dir
        self.removed: list[Path] = [] if removed is None else removed
        self.kept: list[Kept] = [] if kept is None else kept


def resolve_output_dir(project_dir: Path, output_dir: Path | None = None) -> Path:
    """The project's output directory: ``output_dir`` when given, else its ``wasmrun.toml``'s,
    else ``PROJECT/wasmrun-out``; absolute."""
    from wasmrun.project_config import load_project_config  # pydantic: not for the typer-free routes

    return (output_dir or configured_output_dir(project_dir, load_project_config(project_dir))).absolute()


def remove_outputs(output_dir: Path) -> list[Path]:
    """Delete the files wasmrun wrote that are unchanged since (and directories it created, when
    left empty); nothing else. Returns the files removed; :func:`kept_outputs` says what stayed.

    No symlink is followed: a recorded symlink is removed itself (its target stays), a directory
    that is a symlink is neither entered nor removed, and files the user put there stay.
    """
    return clean_outputs(output_dir).removed


def clean_outputs(output_dir: Path) -> CleanReport:
    """:func:`remove_outputs`, with what was kept and why."""
    report = CleanReport(output_dir)
    if output_dir.is_symlink() or not output_dir.is_dir():
        report.kept = kept_outputs(output_dir)
        return report
    with _locked(output_dir):
        manifest = load_manifest(output_dir)
        sweep_staging(output_dir)
        for rel, entry in sorted(manifest.files.items()):
            path = output_dir / rel
            if not os.path.lexists(path):
                del manifest.files[rel]
            elif _matches(path, entry):
                try:
                    path.unlink()
                except OSError:
                    continue  # reported as kept: could not be removed
                del manifest.files[rel]
                report.removed.append(path)
        for rel in sorted(manifest.dirs - {OUTPUT_DIR_ENTRY}, key=lambda d: (-d.count("/"), d)):
            directory = output_dir / rel
            if not directory.is_dir() or directory.is_symlink():
                manifest.dirs.discard(rel)  # gone, or no longer the directory wasmrun made
                continue
            with contextlib.suppress(OSError):
                directory.rmdir()  # fails when not empty: the user's files stay
                manifest.dirs.discard(rel)
        _write_manifest(output_dir, manifest)  # what stays recorded: kept files, directories in use
        if manifest.dirs == {OUTPUT_DIR_ENTRY} and not manifest.files:
            (output_dir / MANIFEST_NAME).unlink(missing_ok=True)
            try:
                output_dir.rmdir()
            except OSError:  # the user's files are in it: still wasmrun's directory, for a later clean
                _write_manifest(output_dir, manifest)
        report.kept = _kept(output_dir, manifest)
    return report


def kept_outputs(output_dir: Path) -> list[Kept]:
    """What is in the output directory that ``clean`` does not remove, and why: files the user
    put there or changed, files that could not be removed, builds in progress. A directory
    wasmrun did not make is one entry (not entered); the output directory is an entry of its own
    only when it stays empty because it existed before wasmrun wrote into it."""
    return _kept(output_dir, load_manifest(output_dir))


def _kept(output_dir: Path, manifest: Manifest) -> list[Kept]:
    if output_dir.is_symlink():
        return [Kept(output_dir, "symlink")]
    if not output_dir.is_dir():
        return []
    kept: list[Kept] = []
    kept += [Kept(staging, "in-progress") for staging in _staging_dirs(output_dir) if _live_staging(staging)]
    kept += _kept_under(output_dir, output_dir, manifest)
    if not kept and OUTPUT_DIR_ENTRY not in manifest.dirs:
        kept.append(Kept(output_dir, "pre-existing"))
    return kept


def _kept_under(output_dir: Path, directory: Path, manifest: Manifest) -> list[Kept]:
    kept: list[Kept] = []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return kept
    for entry in entries:
        path = Path(entry.path)
        rel = path.relative_to(output_dir).as_posix()
        is_dir = entry.is_dir(follow_symlinks=False)
        top = directory == output_dir
        if top and (entry.name == MANIFEST_NAME or (is_dir and entry.name.startswith(STAGING_PREFIX))):
            continue  # the manifest, and staging directories (reported on their own)
        if is_dir:
            if rel in manifest.dirs or any(f.startswith(rel + "/") for f in manifest.files):
                inside = _kept_under(output_dir, path, manifest)
                kept += inside or [Kept(path, "not-removable" if rel in manifest.dirs else "pre-existing")]
            else:
                kept.append(Kept(path, "not-wasmrun"))
        elif rel not in manifest.files:
            kept.append(Kept(path, "not-wasmrun"))
        else:
            recorded = manifest.files[rel]
            kept.append(Kept(path, "no-hash" if recorded is None else
                             "not-removable" if _matches(path, recorded) else "changed"))
    return kept
