"""What a build depended on, recorded after it ran, and checked before the next one.

An :class:`InputRecord` lists every input of one build by content:

* ``files``: path -> its stamp and SHA-256, or ``None`` for a path that must stay absent (a
  probed location where a toolchain was looked for and not found);
* ``dirs``: path -> its stamp and a digest of the names in it (a new file in the project, a tool
  installed on ``PATH``, a plugin installed on ``sys.path``), or ``None`` for an absent one;
* ``env``: variable -> value (``None``: unset) for the variables the build's tools read, or
  ``env_all``: a digest of the whole environment when the plugin could not say which.

:func:`first_difference` is the whole of the hit test: it answers with the first input that is not
as recorded, in words (``main.c changed``), or ``None`` when every one matches. It reads only the
stat of each input, plus the content of any file whose stat moved.

:func:`record_inputs` takes the record after the build, and refuses ("too new") when an input
changed after the build began: the build may have seen it half-written, or before the change, so
what it produced is used once and not stored (ccache's rule).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from wasmrun.fingerprints import (
    DigestMemo,
    changed_since,
    env_digest,
    fs_clock_ns,
    listing_digest,
    special_digest,
    stamp_of,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the cache-hit road
if TYPE_CHECKING:
    from typing import Any

#: Directories no build reads as input: version control.
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".jj", ".bzr"})
#: Directories toolchains write to inside a project (their contents are not sources; a build that
#: reports its inputs does not need them listed).
BUILD_DIRS = frozenset({"node_modules", "target", "wasmrun-out", "__pycache__", "zig-cache", "zig-out",
                        ".zig-cache", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
#: Shell bookkeeping that changes without changing any build (for the whole-environment case).
VOLATILE_VARIABLES = frozenset({"_", "OLDPWD", "PWD", "SHLVL", "COLUMNS", "LINES", "TERM", "TERM_PROGRAM",
                                "TERM_SESSION_ID", "WINDOWID", "SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY",
                                "DISPLAY", "XAUTHORITY", "SSH_AUTH_SOCK"})

if TYPE_CHECKING:
    Record = dict[str, Any]
else:
    Record = dict


class ProjectTree:
    """The directories of a project with the names in each, and its files, as a build sees it.
    (Plain classes here: the typer-free road to a cached build imports no dataclasses.)"""

    def __init__(self, root: str) -> None:
        self.root = root
        self.dirs: dict[str, frozenset[str]] = {}
        self.files: list[str] = []

    def changes_since(self, before: ProjectTree, allowed: set[str]) -> str | None:
        """What a build (or someone else) added or removed since ``before``, other than what the
        build says it wrote (``allowed``) and toolchain build directories; None when nothing."""
        for path, names in self.dirs.items():
            old = before.dirs.get(path)
            if old is None:
                continue  # a directory the build made: its parent's new name is checked below
            for name in sorted(old - names):
                return f"{os.path.join(path, name)} was removed while the build ran"
            for name in sorted(names - old):
                full = os.path.join(path, name)
                if name not in BUILD_DIRS and full not in allowed:
                    return f"{full} appeared while the build ran"
        return None

    def touched_since(self, started_ns: int, allowed: set[str]) -> str | None:
        """A file or directory of the project (outside the toolchains' build directories) written,
        re-created or renamed at or after ``started_ns``, a reading of :func:`fs_clock_ns`, other
        than what the build says it wrote (``allowed``: files, and the output directory) and the
        directories those are in; None when none was. The names before and after a build cannot
        tell a source or a directory renamed away and back while it ran, which the build did not
        see and so did not report among its inputs; their change times tell."""
        explained = {os.path.dirname(p) for p in allowed}
        for path, names in self.dirs.items():
            # the top of a build directory is checked too (its listing is an input), not below it
            top = os.path.basename(path) in BUILD_DIRS and not self._in_build_dir(os.path.dirname(path))
            if path in explained or ((self._in_build_dir(path) or not BUILD_DIRS.isdisjoint(names)) and not top):
                continue  # the build (or its toolchain, making a build directory) wrote there
            try:
                st = os.lstat(path)
            except OSError:
                return f"{path} was removed while the build ran"
            if changed_since([0, st.st_mtime_ns, st.st_ctime_ns], started_ns):
                return f"files were added, removed or renamed in {path} while the build ran"
        for path in self.files:
            if path in allowed or self._in_build_dir(os.path.dirname(path)):
                continue
            try:
                st = os.lstat(path)
            except OSError:
                return f"{path} was removed while the build ran"
            if changed_since(stamp_of(st), started_ns):
                return f"{path} changed while the build ran"
        return None

    def _in_build_dir(self, directory: str) -> bool:
        return not BUILD_DIRS.isdisjoint(os.path.relpath(directory, self.root).split(os.sep))


def walk_project(project_dir: Path, *, skip: Iterable[str | os.PathLike[str]] = (),
                 everything: bool = False) -> ProjectTree:
    """The project's directories (with the names in each) and files, leaving out version control,
    ``skip`` (wasmrun's output directory) and, unless ``everything``, the toolchains' build
    directories. Symlinked directories are listed, not entered; names that are not valid text
    are kept as the file system gave them."""
    root = str(project_dir)
    skipped = {os.path.abspath(p) for p in skip}
    tree = ProjectTree(root)
    for current, dirs, files in os.walk(root):
        left_out = set(_ignored_in(current, skipped))
        tree.dirs[current] = frozenset(n for n in (*dirs, *files) if n not in left_out)
        dirs[:] = sorted(name for name in dirs if name not in left_out
                         and (everything or name not in BUILD_DIRS)
                         and not os.path.islink(os.path.join(current, name)))
        tree.files += sorted(os.path.join(current, name) for name in files if name not in left_out)
    return tree


def _ignored_in(path: str, skipped: Iterable[str]) -> list[str]:
    """Names a directory's listing leaves out: wasmrun's output directory and version control."""
    names = [name for name in VCS_DIRS if os.path.lexists(os.path.join(path, name))]
    names += [os.path.basename(s) for s in skipped if os.path.dirname(s) == path]
    return sorted(set(names))


class InputSpec:
    """What to record for one build (paths absolute)."""

    def __init__(self, env: list[str] | None = None) -> None:
        self.files: set[str] = set()
        self.dirs: set[str] = set()
        self.env = env  # None: the whole environment
        self.listing_skips: set[str] = set()  # paths left out of their parent's listing
        self.own_dirs: set[str] = set()  # the project's: the build may add files there

    def add_files(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        self.files.update(os.path.abspath(p) for p in paths)

    def add_dirs(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        self.dirs.update(os.path.abspath(p) for p in paths)


def record_inputs(spec: InputSpec, *, started_ns: int, memo: DigestMemo,
                  environ: Mapping[str, str] | None = None) -> tuple[Record, str | None]:
    """(the record, why it must not be stored or None). Taken after the build: a file whose last
    change is not safely before ``started_ns`` may not be what the build read."""
    env = os.environ if environ is None else environ
    settled_ns = fs_clock_ns(memo.clock_dir)  # before any stamp is taken: stamps before it are trusted
    files: dict[str, list[Any] | None] = {}
    too_new: str | None = None
    for path in sorted(spec.files):
        stamp, digest = memo.digest(path)
        if stamp is None or digest is None:
            files[path] = None
            continue
        files[path] = [*stamp, digest]
        if too_new is None and changed_since(stamp, started_ns):
            too_new = f"{path} changed while the build ran"
    dirs: dict[str, list[Any] | None] = {}
    for path in sorted(spec.dirs):
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            dirs[path] = None
            continue
        ignored = _ignored_in(path, spec.listing_skips)
        dirs[path] = [st.st_mtime_ns, st.st_ctime_ns, st.st_ino, listing_digest(path, ignored), ignored]
        if too_new is None and path not in spec.own_dirs and changed_since([0, st.st_mtime_ns, st.st_ctime_ns],
                                                                            started_ns):
            too_new = f"files were added to or removed from {path} while the build ran"
    record: Record = {"files": files, "dirs": dirs, "settled_ns": settled_ns}
    if spec.env is None:
        record["env_all"] = whole_environment(env)
    else:
        record["env"] = {name: env_value(env, name) for name in sorted(set(spec.env))}
    memo.save()
    return record, too_new


def env_value(env: Mapping[str, str], name: str) -> str | None:
    """A variable's value (None: unset); for ``PREFIX*``, every variable with that prefix."""
    if not name.endswith("*"):
        return env.get(name)
    prefix = name[:-1]
    matching = sorted((k, v) for k, v in env.items() if k.startswith(prefix))
    return env_digest(matching) if matching else None


def whole_environment(env: Mapping[str, str]) -> str:
    return env_digest((k, v) for k, v in env.items() if k not in VOLATILE_VARIABLES)


def first_difference(record: Record, *, memo: DigestMemo | None = None, project_dir: str | None = None,
                     environ: Mapping[str, str] | None = None) -> str | None:
    """The first input not as ``record`` has it, in words; None when all match. Malformed
    records raise (KeyError, TypeError, ValueError, IndexError): callers treat that as a miss."""
    env = os.environ if environ is None else environ
    if "env_all" in record:
        if record["env_all"] != whole_environment(env):
            return "the environment changed"
    else:
        for name, value in record["env"].items():
            if env_value(env, name) != value:
                return f"environment variable {name} changed"
    settled = int(record["settled_ns"])
    for path, known in record["files"].items():
        problem = _file_difference(path, known, settled, memo)
        if problem:
            return problem.format(path=_shown(path, project_dir))
    for path, known in record["dirs"].items():
        problem = _dir_difference(path, known, settled)
        if problem:
            return problem.format(path=_shown(path, project_dir))
    return None


def _presence(path: str, known: list[Any] | None) -> tuple[os.stat_result | None, str | None]:
    """(the path's stat, or None; the difference when it appeared or went away)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None, None if known is None else "{path} was removed"
    return st, "{path} appeared" if known is None else None


def _file_difference(path: str, known: list[Any] | None, settled_ns: int, memo: DigestMemo | None) -> str | None:
    st, problem = _presence(path, known)
    if st is None or known is None or problem:
        return problem
    stamp = stamp_of(st)
    if stamp == known[:4] and not changed_since(stamp, settled_ns):
        return None  # unchanged since it was hashed, and it had settled then
    digest = special_digest(st)
    if digest is None:
        if memo is not None:
            digest = memo.digest(path)[1]
        else:
            from wasmrun.fingerprints import hash_file

            try:
                digest = hash_file(path)
            except OSError:
                return "{path} cannot be read"
    return None if digest == known[4] else "{path} changed"


def _dir_difference(path: str, known: list[Any] | None, settled_ns: int) -> str | None:
    st, problem = _presence(path, known)
    if st is None or known is None or problem:
        return problem
    if [st.st_mtime_ns, st.st_ctime_ns, st.st_ino] == known[:3] and \
            not changed_since([0, st.st_mtime_ns, st.st_ctime_ns], settled_ns):
        return None
    return None if listing_digest(path, known[4]) == known[3] else "files were added, removed or renamed in {path}"


def _shown(path: str, project_dir: str | None) -> str:
    if project_dir and (path + os.sep).startswith(project_dir + os.sep):
        return os.path.relpath(path, project_dir)
    return path
