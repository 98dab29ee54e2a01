"""A whole-Python project's dependencies: read from ``pyproject.toml`` or ``requirements.txt``,
installed with pip into a directory of their own, cached between builds, checked to be pure Python.

The component carries CPython for WASI, which cannot load a host's native extension modules, so
a distribution with native code is refused by name. Installs are cached under wasmrun's cache
directory, keyed by the requirement lines and the content of any local path they name (a wheel
or a source directory), so an unchanged project installs nothing on its next build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from wasmrun.errors import BuildError, ConfigError

REQUIREMENTS = "requirements.txt"
PYPROJECT = "pyproject.toml"
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
INSTALL_TIMEOUT_S = 600.0


def requirements(project_dir: Path) -> list[str]:
    """``[project] dependencies`` of ``pyproject.toml``, else the lines of ``requirements.txt``."""
    pyproject = project_dir / PYPROJECT
    if pyproject.is_file():
        from wasmrun.config import parse_toml

        data = parse_toml(pyproject.read_bytes(), str(pyproject))
        project = data.get("project", {})
        deps = project.get("dependencies", []) if isinstance(project, dict) else []
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise ConfigError(f"{pyproject}: project.dependencies must be a list of strings")
        if deps:
            return [d.strip() for d in deps if d.strip()]
    path = project_dir / REQUIREMENTS
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
        return [line for line in lines if line and not line.startswith("#")]
    return []


def _local_paths(project_dir: Path, lines: list[str]) -> list[Path]:
    """Requirement lines that name a file or directory in the project (a wheel, a package)."""
    found = []
    for line in lines:
        candidate = (project_dir / line.split(";")[0].strip()).resolve()
        if line.startswith((".", "/")) and candidate.exists():
            found.append(candidate)
    return found


def _key(project_dir: Path, lines: list[str]) -> str:
    digest = hashlib.sha256()
    digest.update(f"{sys.version_info[:2]}\0".encode())
    for line in lines:
        digest.update(line.encode() + b"\0")
    for path in _local_paths(project_dir, lines):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(path.parent)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:24]


def cache_root() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "python-deps"


def install(project_dir: Path, lines: list[str]) -> Path | None:
    """The directory holding the installed dependencies (None when there are none), installing
    them first when this set has not been installed before."""
    if not lines:
        return None
    target = cache_root() / _key(project_dir, lines)
    if (target / ".complete").is_file():
        return target
    from wasmrun import toolchain
    from wasmrun.locking import file_lock

    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        if (target / ".complete").is_file():
            return target
        staging = Path(tempfile.mkdtemp(prefix=".install-", dir=target.parent))
        try:
            toolchain.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-input",
                           "--disable-pip-version-check", "--no-warn-script-location", "--target", str(staging),
                           *lines], cwd=project_dir, what="pip install (the project's dependencies)",
                          env={"PIP_REQUIRE_VIRTUALENV": "0"}, timeout=INSTALL_TIMEOUT_S)
            refuse_native(staging)
            (staging / ".complete").write_text("\n".join(lines) + "\n", encoding="utf-8")
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def refuse_native(site: Path) -> None:
    """One line naming the first installed distribution with native code, if there is one."""
    for dist_info in sorted(site.glob("*.dist-info")):
        name = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0]
        files = _record(dist_info)
        wheel = dist_info / "WHEEL"
        impure = wheel.is_file() and "root-is-purelib: false" in wheel.read_text(errors="replace").lower()
        native = next((f for f in files if f.endswith(NATIVE_SUFFIXES)), None)
        if native or impure:
            why = f"it ships {native}" if native else "its wheel is not pure Python"
            raise BuildError(f"dependency '{name}' has native code ({why}): a whole-Python component "
                             f"bundles only pure-Python packages")
    stray = next((p for p in site.rglob("*") if p.suffix in NATIVE_SUFFIXES), None)
    if stray is not None:
        raise BuildError(f"dependency file {stray.relative_to(site)} is native code: a whole-Python "
                         f"component bundles only pure-Python packages")


def _record(dist_info: Path) -> list[str]:
    record = dist_info / "RECORD"
    if not record.is_file():
        return []
    return [line.split(",", 1)[0] for line in record.read_text(errors="replace").splitlines() if line]


def files(site: Path | None) -> list[Path]:
    """Every installed file (inputs of the build cache)."""
    if site is None:
        return []
    return sorted(p for p in site.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def top_level_modules(site: Path) -> list[str]:
    """The importable names the installed dependencies provide (imported at build time so that
    componentize-py bundles them even when the program imports them only inside a function)."""
    names = set()
    for entry in site.iterdir():
        if entry.name.startswith((".", "_")) or entry.name.endswith((".dist-info", ".data")) or entry.name == "bin":
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file():
            names.add(entry.name)
        elif entry.suffix == ".py":
            names.add(entry.stem)
    return sorted(names)
