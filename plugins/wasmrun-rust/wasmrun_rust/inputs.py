"""What a cargo build read, for wasmrun's build cache (:class:`wasmrun.models.BuildInputs`).

cargo writes a dependency file beside each artefact (``<target dir>/<triple>/<profile>/<name>.d``,
make's syntax) naming every source file that went into it: the crate's modules, ``include_str!``
and ``include_bytes!`` files wherever they are, the sources of path dependencies outside the
crate, registry sources, and the ``rerun-if-changed`` files of build scripts. To those this module
adds what cargo reads without listing it:

* ``Cargo.toml`` and ``Cargo.lock`` of every local package in the build, the ``Cargo.toml`` of
  every directory above one (a workspace root found there changes the build), and every file of a
  package with a build script (a build script without ``rerun-if-changed`` may read any of them);
* ``.cargo/config.toml`` and ``.cargo/config`` in the directory cargo runs in, every directory
  above it and ``CARGO_HOME``, and ``rust-toolchain(.toml)`` beside the crate and above it, found or
  not (one that appears later changes the build);
* the variables rustc recorded for ``env!``/``option_env!`` (``# env-dep:`` in its own dependency
  files) and those build scripts declared (``cargo:rerun-if-env-changed``), besides ``CARGO_*`` and
  ``RUST*``.

Files under cargo's target directory are what the build wrote (a build script's ``OUT_DIR``), not
inputs. Where cargo wrote no dependency file, nothing is claimed: every project file and the whole
environment count.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from wasmrun.build_inputs import walk_project
from wasmrun.depfiles import read_depfile
from wasmrun.models import BuildInputs
from wasmrun.outputs import STAGING_PREFIX

#: What cargo, rustc and rustup read from the environment (a ``*`` ends a prefix).
ENVIRONMENT = ["CARGO_*", "RUST*", "__CARGO_*"]
#: cargo's configuration files, looked for in every directory from where it runs up to the root.
CONFIG_FILES = (".cargo/config.toml", ".cargo/config")
TOOLCHAIN_FILES = ("rust-toolchain", "rust-toolchain.toml")

_ENV_DEP = re.compile(r"^# env-dep:([^=\n]+)", re.MULTILINE)
_RERUN_ENV = re.compile(r"^cargo::?rerun-if-env-changed=(.+?)\s*$", re.MULTILINE)
_BUILD_KEY = re.compile(r"^\s*build\s*=\s*\"", re.MULTILINE)


def cargo_home() -> Path:
    return Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")


def cargo_inputs(*, crate_root: Path, build_root: Path, workspace: Path, target_dir: Path, triple: str,
                 profile: str, names: Iterable[str], probed: list[Path], output_dir: Path) -> BuildInputs:
    """The inputs of a ``cargo build`` whose artefacts ``names`` are in ``target_dir/triple/profile``.

    :param build_root: where cargo ran: the crate, or its copy in wasmrun's cache (its paths are
        reported as the crate's own).
    :param workspace: the crate's workspace root (the crate itself when it has none).
    :param probed: the toolchain's own probes (:func:`wasmrun_rust.toolchain.probes`).
    :param output_dir: where the build writes (a staging directory inside wasmrun's output directory).
    """
    artefacts = target_dir / triple / profile
    shadow = _shadow_mapping(build_root, crate_root, workspace)
    listed: list[Path] = []
    for name in names:
        depfile = artefacts / f"{name}.d"
        if not depfile.is_file():
            return BuildInputs(files=None, probed=probed, environment=None)
        listed += read_depfile(depfile, build_root)
    files = {_unshadow(p, shadow) for p in listed if not _inside(p, target_dir)}
    files.add(crate_root / "Cargo.toml")
    home = cargo_home()
    packages = {crate_root, workspace, *_package_roots(p for p in files if p.suffix == ".rs")}
    extra: set[Path] = set()
    for package in packages:
        extra.add(package / "Cargo.toml")
        extra.add(package / "Cargo.lock")
        if _inside(package, home):
            continue  # a registry or git checkout: its sources are listed, its place fixed
        extra.update(directory / "Cargo.toml" for directory in package.parents)
        if _has_build_script(package):
            outputs = output_dir.parent if output_dir.name.startswith(STAGING_PREFIX) else output_dir
            extra.update(Path(p) for p in walk_project(package, skip=[outputs]).files)
    for start in {build_root, crate_root}:
        for directory in (start, *start.parents):
            extra.update(_unshadow(directory / name, shadow) for name in CONFIG_FILES)
    extra.update(home / name.removeprefix(".cargo/") for name in CONFIG_FILES)
    for directory in (crate_root, *crate_root.parents):
        extra.update(directory / name for name in TOOLCHAIN_FILES)
    environment = [*ENVIRONMENT, *_env_dependencies(target_dir, triple, profile)]
    return BuildInputs(files=sorted(files), probed=[*probed, *sorted(extra - files)],
                       environment=sorted(set(environment)))


def _inside(path: Path, root: Path) -> bool:
    return (str(path) + os.sep).startswith(str(root) + os.sep)


def _shadow_mapping(build_root: Path, crate_root: Path, workspace: Path) -> tuple[Path, Path] | None:
    """(the copy's workspace, the real one) when cargo ran on a copy of the workspace."""
    if build_root == crate_root:
        return None
    relative = crate_root.relative_to(workspace)
    copy = build_root
    for _ in relative.parts:
        copy = copy.parent
    return copy, workspace


def _unshadow(path: Path, shadow: tuple[Path, Path] | None) -> Path:
    if shadow is not None and _inside(path, shadow[0]):
        return shadow[1] / path.relative_to(shadow[0])
    return path


def _package_roots(sources: Iterable[Path]) -> set[Path]:
    """The package (nearest directory with a ``Cargo.toml``) of each source file."""
    roots: set[Path] = set()
    known: dict[Path, Path | None] = {}
    for source in sources:
        directory = source.parent
        walked = []
        found: Path | None = None
        while True:
            if directory in known:
                found = known[directory]
                break
            walked.append(directory)
            if (directory / "Cargo.toml").is_file():
                found = directory
                break
            if directory.parent == directory:
                break
            directory = directory.parent
        for step in walked:
            known[step] = found
        if found is not None:
            roots.add(found)
    return roots


def _has_build_script(package: Path) -> bool:
    if (package / "build.rs").is_file():
        return True
    try:
        return bool(_BUILD_KEY.search((package / "Cargo.toml").read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def _env_dependencies(target_dir: Path, triple: str, profile: str) -> set[str]:
    """Variables rustc recorded for ``env!``/``option_env!`` and those build scripts declared, in
    this target directory (leftovers of earlier builds only add names: stricter, never wrong)."""
    names: set[str] = set()
    for directory in (target_dir / triple / profile, target_dir / profile):
        for depfile in _glob(directory / "deps", "*.d"):
            names.update(_ENV_DEP.findall(_read(depfile)))
        for output in _glob(directory / "build", "*/output"):
            names.update(_RERUN_ENV.findall(_read(output)))
    return {name.strip() for name in names if name.strip()}


def _glob(directory: Path, pattern: str) -> list[Path]:
    try:
        return sorted(directory.glob(pattern))
    except OSError:
        return []


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
