"""Reading a crate's ``Cargo.toml``: what it builds (programs or a cdylib), its artefact names,
whether it needs the network, and the lockfile version.

Only the manifest is read (no ``cargo metadata``): claiming and validating must not run tools.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from wasmrun.errors import UsageError


class Kind(StrEnum):
    """What a crate builds, which decides the wasm target."""

    COMMAND = "command"  # one or more binaries: WASI programs
    LIBRARY = "library"  # a cdylib: a module of exports for wasm32-unknown-unknown
    NONE = "none"  # nothing wasm can use (an rlib-only library, a virtual workspace)


@dataclass
class Crate:
    """The facts of one crate that the build needs."""

    root: Path
    package: str | None
    bins: list[str] = field(default_factory=list)
    lib_name: str | None = None
    crate_types: list[str] = field(default_factory=list)
    is_workspace: bool = False
    registry_dependencies: bool = False
    web_dependency: str | None = None  # a [dependencies] crate that makes it a browser crate
    members: list[Path] = field(default_factory=list)  # a workspace's member directories

    @property
    def kind(self) -> Kind:
        if self.bins:
            return Kind.COMMAND
        if "cdylib" in self.crate_types:
            return Kind.LIBRARY
        return Kind.NONE

    def problem(self) -> str | None:
        """Why wasmrun cannot build this crate, in a line the user can act on; None when it can."""
        if self.package is None:
            if self.is_workspace:
                return ("the workspace has no member with a binary (src/main.rs) or a cdylib: "
                        "build one member crate (wasmrun compile path/to/member)")
            return "Cargo.toml has no [package]: build one member crate (wasmrun compile path/to/member)"
        if self.kind is Kind.NONE:
            return ("the crate has no binary (src/main.rs) and its library is not a cdylib: add "
                    '[lib] crate-type = ["cdylib"] to Cargo.toml to export functions')
        return None


def _load(manifest: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(manifest.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {manifest}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{manifest} is not valid TOML: {exc}") from None


def _dependency_tables(data: dict[str, Any]) -> list[dict[str, Any]]:
    tables = [data.get(key) for key in ("dependencies", "build-dependencies", "dev-dependencies")]
    for spec in (data.get("target") or {}).values():
        if isinstance(spec, dict):
            tables += [spec.get(key) for key in ("dependencies", "build-dependencies", "dev-dependencies")]
    return [t for t in tables if isinstance(t, dict)]


def _needs_registry(data: dict[str, Any]) -> bool:
    """Whether any dependency comes from a registry or git (not a local path)."""
    for table in _dependency_tables(data):
        for spec in table.values():
            if not (isinstance(spec, dict) and "path" in spec):
                return True
    return False


#: Dependencies that make a crate a browser crate: its glue comes from wasm-bindgen.
WEB_DEPENDENCIES = ("wasm-bindgen", "web-sys", "js-sys", "wasm-bindgen-futures")


def _web_dependency(data: dict[str, Any]) -> str | None:
    """The first of :data:`WEB_DEPENDENCIES` among the crate's (not dev-) dependencies."""
    tables = [data.get("dependencies")]
    for spec in (data.get("target") or {}).values():
        if isinstance(spec, dict):
            tables.append(spec.get("dependencies"))
    names = {name for table in tables if isinstance(table, dict) for name in table}
    return next((name for name in WEB_DEPENDENCIES if name in names), None)


def _member_dirs(root: Path, data: dict[str, Any]) -> list[Path]:
    """The directories of ``[workspace] members`` (globs expanded, ``exclude`` left out), inside
    the workspace and holding a Cargo.toml."""
    workspace = data.get("workspace")
    if not isinstance(workspace, dict):
        return []
    patterns = [m for m in workspace.get("members") or [] if isinstance(m, str)]
    excluded = {(root / e).resolve() for e in workspace.get("exclude") or [] if isinstance(e, str)}
    top = root.resolve()
    found: list[Path] = []
    for pattern in patterns:
        try:
            matches = sorted(top.glob(pattern)) if any(c in pattern for c in "*?[") else [top / pattern]
        except (ValueError, NotImplementedError, OSError):  # an absolute or malformed glob: cargo's to report
            continue
        for directory in matches:
            directory = directory.resolve()
            if (directory.is_relative_to(top) and directory != top and directory not in excluded
                    and (directory / "Cargo.toml").is_file() and directory not in found):
                found.append(directory)
    return found


def _bin_names(root: Path, data: dict[str, Any], package: str) -> list[str]:
    declared = [b["name"] for b in data.get("bin") or [] if isinstance(b, dict) and isinstance(b.get("name"), str)]
    autobins = (data.get("package") or {}).get("autobins", True) is not False
    names = list(declared)
    if autobins:
        if (root / "src" / "main.rs").is_file() and package not in names:
            names.insert(0, package)
        bin_dir = root / "src" / "bin"
        if bin_dir.is_dir():
            for entry in sorted(bin_dir.iterdir()):
                stem = entry.stem if entry.suffix == ".rs" else entry.name if (entry / "main.rs").is_file() else None
                if stem and stem not in names:
                    names.append(stem)
    return names


def read(root: Path) -> Crate:
    """The crate at ``root`` (which holds ``Cargo.toml``)."""
    data = _load(root / "Cargo.toml")
    package = data.get("package")
    name = package.get("name") if isinstance(package, dict) else None
    crate = Crate(root=root, package=name if isinstance(name, str) else None,
                  is_workspace="workspace" in data, registry_dependencies=_needs_registry(data),
                  web_dependency=_web_dependency(data), members=_member_dirs(root, data))
    if crate.package is None:
        return crate
    crate.bins = _bin_names(root, data, crate.package)
    lib_table = data.get("lib")
    lib: dict[str, Any] = lib_table if isinstance(lib_table, dict) else {}
    if lib or (root / "src" / "lib.rs").is_file():
        crate.lib_name = str(lib.get("name") or crate.package).replace("-", "_")
        crate.crate_types = [str(t) for t in lib.get("crate-type") or lib.get("crate_type") or ["lib"]]
    return crate


_LOCK_VERSION = re.compile(r"^version\s*=\s*(\d+)\s*$", re.MULTILINE)


def lock_version(lockfile: Path) -> int | None:
    """The ``version = N`` of a Cargo.lock (None: absent or an old unversioned lockfile)."""
    try:
        match = _LOCK_VERSION.search(lockfile.read_text(encoding="utf-8", errors="replace")[:4096])
    except OSError:
        return None
    return int(match.group(1)) if match else None


def workspace_root(root: Path) -> Path:
    """Where cargo keeps the lockfile: the nearest ancestor whose Cargo.toml has ``[workspace]``
    (the crate itself when none does)."""
    for directory in [root, *root.parents]:
        manifest = directory / "Cargo.toml"
        if manifest.is_file():
            try:
                if re.search(r"^\[workspace\]", manifest.read_text(encoding="utf-8", errors="replace"),
                             re.MULTILINE):
                    return directory
            except OSError:
                continue
    return root


def package_option(args: list[str]) -> tuple[str | None, list[str]]:
    """cargo's ``--package NAME`` (``-p NAME``, ``--package=NAME``, ``-pNAME``) among the extra
    arguments, and the arguments without it: how a user picks a workspace member
    (``wasmrun compile -- --package NAME``, or ``extra_args`` in wasmrun.toml)."""
    package: str | None = None
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("--package", "-p") and index + 1 < len(args):
            package, index = args[index + 1], index + 2
            continue
        if arg.startswith("--package="):
            package = arg.split("=", 1)[1]
        elif arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--"):
            package = arg[2:]
        else:
            rest.append(arg)
        index += 1
    return package, rest


def _member_crates(workspace: Crate) -> list[Crate]:
    crates = []
    for directory in workspace.members:
        try:
            crates.append(read(directory))
        except UsageError:
            continue  # a broken member is cargo's to report if it is the one built
    return crates


def candidates(workspace: Crate) -> list[Crate]:
    """The crates of a workspace wasmrun could build: the root package when it builds something,
    else the members with a binary (or, when none has one, the cdylib members)."""
    if workspace.package is not None and workspace.kind is not Kind.NONE:
        return [workspace]
    members = _member_crates(workspace)
    return [m for m in members if m.kind is Kind.COMMAND] or [m for m in members if m.kind is Kind.LIBRARY]


def select(root: Path, package: str | None = None) -> Crate:
    """The crate to build at ``root``: the crate itself, or the workspace member named by
    ``package``, or the one member that has a binary; a one-line error listing the candidates
    and how to choose when there are several."""
    crate = read(root)
    if not crate.members:
        if package is not None and crate.package is not None and package != crate.package:
            raise UsageError(f"--package {package}: the crate at {root} is '{crate.package}'")
        return crate
    if package is not None:
        everyone = ([crate] if crate.package else []) + _member_crates(crate)
        chosen = next((c for c in everyone if c.package == package), None)
        if chosen is None:
            names = ", ".join(sorted(c.package for c in everyone if c.package)) or "none"
            raise UsageError(f"--package {package}: no such package in the workspace (packages: {names})")
        return chosen
    found = candidates(crate)
    if len(found) == 1:
        return found[0]
    if not found:
        return crate  # its problem() says what is missing
    names = ", ".join(str(c.package) for c in found)
    raise UsageError(f"the workspace has {len(found)} members wasmrun can build ({names}): choose one with "
                     f"`wasmrun compile PATH -- --package NAME`, or extra_args = [\"--package\", \"NAME\"] in "
                     "wasmrun.toml")
