"""What a zig build read, for wasmrun's build cache (:class:`wasmrun.models.BuildInputs`).

zig writes no dependency file for ``build-exe`` (its cache manifests are a binary format of its
own that changes between releases), so the files are found the way zig finds them:

* ``build-exe``: every file of the project (outside zig's and wasmrun's output directories), plus
  the closure of ``@import("x.zig")`` and ``@embedFile("...")`` from the entry file and any file
  named on the command line: a file imported from outside the project, or from a directory the
  project walk leaves out, counts too. Variables: ``ZIG_*``.
* ``zig build``: build.zig may read anything (it runs as a program), so every project file and the
  whole environment count; besides those, every file of each ``build.zig.zon`` dependency with a
  ``.path`` (followed into their own ``build.zig.zon``), and every file or directory outside the
  project that a string in a ``build.zig`` names (``b.path("../shared/x.zig")`` for an anonymous
  import, a ``cwd_relative`` path), each with its import closure.

The compiler itself is known by its files (``zig`` on PATH, or the ``ziglang`` package that
``python -m ziglang`` runs), which wasmrun records for every program a build runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from wasmrun.build_inputs import walk_project
from wasmrun.models import BuildInputs
from wasmrun.outputs import STAGING_PREFIX

#: What zig reads from the environment (``ZIG_LIB_DIR``, ``ZIG_GLOBAL_CACHE_DIR``, ...), and the
#: interpreter's own settings for ``python -m ziglang``.
ENVIRONMENT = ["ZIG_*", "PYTHONHOME"]
#: Directories zig writes into a project: never sources.
ZIG_OUTPUT_DIRS = frozenset({".zig-cache", "zig-cache", "zig-out"})

_STRING = r'"((?:[^"\\\n]|\\.)*)"'
_REFERENCE = re.compile(r"@(import|embedFile)\s*\(\s*" + _STRING + r"\s*\)")
_ZON_PATH = re.compile(r"\.path\s*=\s*" + _STRING)
_ANY_STRING = re.compile(_STRING)


def build_exe_inputs(project_dir: Path, output_dir: Path, roots: Iterable[Path]) -> BuildInputs:
    """The inputs of ``zig build-exe`` of ``roots`` (the entry file and files named in arguments)."""
    files = set(project_files(project_dir, output_dir))
    files.update(reachable(roots))
    return BuildInputs(files=sorted(files), environment=ENVIRONMENT)


def build_zig_inputs(project_dir: Path, output_dir: Path) -> BuildInputs:
    """The inputs of ``zig build``: the project, its path dependencies, and what build.zig names
    outside it; the whole environment (build.zig may read any variable)."""
    files = set(project_files(project_dir, output_dir))
    probed: set[Path] = set()
    seen: set[Path] = set()
    pending = [project_dir]
    while pending:
        package = pending.pop()
        if package in seen:
            continue
        seen.add(package)
        if package != project_dir:
            files.update(project_files(package, output_dir))
        for target in _outside_references(package / "build.zig", package):
            if target.is_dir():
                # a directory beside the package (an include path, assets) is read in full; a
                # system one (an absolute path) or one holding the package only by its names
                if os.path.isabs(target) or _inside(package, target):
                    probed.add(target)
                else:
                    files.update(project_files(target, output_dir))
            else:
                files.add(target)
                files.update(reachable([target]))
        for dependency in _zon_path_dependencies(package / "build.zig.zon"):
            pending.append(dependency)
            files.add(dependency / "build.zig.zon")  # absent at first, it must stay so
    return BuildInputs(files=sorted(files), probed=sorted(probed), environment=None)


def project_files(root: Path, output_dir: Path) -> list[Path]:
    """Every file under ``root``, leaving out version control, wasmrun's output directory and the
    directories zig writes (a file in one that the build reads is found by :func:`reachable`)."""
    tree = walk_project(root, skip=[output_root(output_dir)], everything=True)
    return [Path(p) for p in tree.files if not ZIG_OUTPUT_DIRS.intersection(Path(p).relative_to(root).parts[:-1])]


def output_root(output_dir: Path) -> Path:
    """wasmrun's output directory (with the earlier build's modules in it) of a build's output
    directory, which is a staging directory inside it."""
    return output_dir.parent if output_dir.name.startswith(STAGING_PREFIX) else output_dir


def reachable(roots: Iterable[Path]) -> set[Path]:
    """The files ``roots`` import (``@import("x.zig")``, ``@import("x.zon")``) or embed
    (``@embedFile``), transitively, as paths relative to the file that names them. A path that
    does not exist is kept: it must stay absent."""
    found: set[Path] = set()
    pending = [Path(os.path.normpath(root)) for root in roots]
    while pending:
        path = pending.pop()
        if path in found:
            continue
        found.add(path)
        if path.suffix not in (".zig", ".zon"):
            continue
        for kind, name in _REFERENCE.findall(_read(path)):
            if kind == "import" and not name.endswith((".zig", ".zon")):
                continue  # a module by name: std, builtin, root, or one given with -M/--dep
            pending.append(Path(os.path.normpath(path.parent / _unescape(name))))
    return found


def argument_files(args: Iterable[str], cwd: Path) -> list[Path]:
    """Files named by arguments (``FILE``, ``-Mname=FILE``, ``-femit-...`` aside): those that exist."""
    found = []
    for arg in args:
        if arg.startswith("-femit") or arg.startswith("-fno-emit"):
            continue
        for candidate in {arg, arg.rpartition("=")[2]}:
            if candidate and not candidate.startswith("-"):
                path = Path(os.path.normpath(cwd / candidate))
                if path.is_file():
                    found.append(path)
    return found


def _outside_references(build_zig: Path, package: Path) -> list[Path]:
    """Existing files and directories outside ``package`` that a string in its build.zig names."""
    targets = []
    for text in _ANY_STRING.findall(_read(build_zig)):
        name = _unescape(text)
        if not name or "\n" in name or not (name.startswith("..") or os.path.isabs(name)):
            continue
        path = Path(os.path.normpath(package / name))
        if not _inside(path, package) and path.exists():
            targets.append(path if not os.path.isabs(name) else Path(name))
    return targets


def _zon_path_dependencies(zon: Path) -> list[Path]:
    return [Path(os.path.normpath(zon.parent / _unescape(p))) for p in _ZON_PATH.findall(_read(zon))]


def _inside(path: Path, root: Path) -> bool:
    return (str(path) + os.sep).startswith(str(root) + os.sep)


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
