"""Installing the Python ``packages`` an exec asks for: hostile input, handled on the host.

A client names packages; wasmrun runs pip for it. So a spec is accepted only as ``name`` or
``name==version`` (no options, URLs, paths, extras, markers or requirement files: anything else
is a :class:`~wasmrun.agent.errors.BadRequest` naming it, and pip never runs), and pip runs:

* ``--isolated`` (no user config or ``PIP_*`` variables), ``--no-input``, in a scratch directory
  with an environment of PATH and HOME only;
* wheels only (``--only-binary :all:``) and pure-Python ones only: pip picks wheels for
  ``--implementation py --abi none --platform any`` and the sandbox's CPython version, so a
  package that ships only native wheels finds no match, and a wheel with a ``.so``/``.pyd``
  inside is refused after unpacking (the sandbox's CPython cannot load native extensions);
* dependencies resolved by pip from PyPI under the same rules, installed beside the package;
* with a time cap for the whole call (the process group is killed) and a size cap on what it downloads and unpacks
  (its scratch directory is measured while it runs; past the cap it is killed).

Each package lands in ``CACHE/<name>/<version>/`` (pip's ``--target``), made read-only, built in a
scratch directory and renamed into place whole, under a lock per package name, so concurrent
installs of one package install it once and a reader never sees half of one. The sandbox sees the
cache read-only at ``/.packages``; :func:`install` returns the guest paths to put on ``sys.path``.
A name without a version uses the version installed last in the cache, else PyPI's latest.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from wasmrun.agent.errors import BadRequest

#: Where the sandbox sees the package cache (read-only).
GUEST_ROOT = "/.packages"
#: The CPython inside the sandbox's Python runtime (componentize-py 0.25: CPython 3.14).
GUEST_PYTHON = "3.14"
SPEC = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(==(?P<version>[A-Za-z0-9][A-Za-z0-9.+!_-]*))?")
MAX_SPEC_CHARS = 120
MAX_PACKAGES = 16
TIMEOUT_S = 120.0
MAX_BYTES = 200 * 1024 * 1024
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
_POLL_S = 0.1


def default_cache() -> Path:
    """Where the server keeps installed packages unless told otherwise: ``agent/packages`` in
    wasmrun's cache directory."""
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "agent" / "packages"


def parse(spec: object) -> tuple[str, str | None]:
    """(normalised name, version or None) of a spec, or :class:`BadRequest` naming it."""
    if not isinstance(spec, str) or len(spec) > MAX_SPEC_CHARS:
        raise BadRequest(f"package {str(spec)[:MAX_SPEC_CHARS]!r} is refused: give name or name==version")
    match = SPEC.fullmatch(spec)
    if match is None:
        raise BadRequest(f"package {spec!r} is refused: give name or name==version "
                         "(no options, URLs, paths, extras or markers)")
    return normalise(match["name"]), match["version"]


def normalise(name: str) -> str:
    """PEP 503: ``Foo.Bar_baz`` and ``foo-bar-baz`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def install(specs: list[str], cache: Path, *, timeout_s: float = TIMEOUT_S, max_bytes: int = MAX_BYTES,
            python_version: str = GUEST_PYTHON) -> list[str]:
    """Install every spec (all are checked before any pip runs) into ``cache``; the guest paths
    of their directories (``/.packages/NAME/VERSION``), in the order asked."""
    if len(specs) > MAX_PACKAGES:
        raise BadRequest(f"{len(specs)} packages asked; at most {MAX_PACKAGES} per exec")
    parsed = [parse(spec) for spec in specs]
    deadline = time.monotonic() + timeout_s  # for the whole call, not each package
    paths = []
    for (name, version), spec in zip(parsed, specs, strict=True):
        directory = _install_one(spec, name, version, cache, deadline, max_bytes, python_version)
        paths.append(f"{GUEST_ROOT}/{directory.relative_to(cache).as_posix()}")
    return list(dict.fromkeys(paths))


def installed(cache: Path, name: str, version: str | None) -> Path | None:
    """The package's directory in the cache, if it is there (the one installed last for no version)."""
    home = cache / name
    if version is not None:
        found = home / version
        return found if found.is_dir() else None
    versions = [p for p in home.iterdir() if p.is_dir() and not p.name.startswith(".")] if home.is_dir() else []
    return max(versions, key=lambda p: p.stat().st_mtime) if versions else None


def _install_one(spec: str, name: str, version: str | None, cache: Path, deadline: float, max_bytes: int,
                 python_version: str) -> Path:
    return install_once(cache, name, lambda: installed(cache, name, version),
                        lambda scratch: _download_and_unpack(spec, name, version, cache, scratch, deadline, max_bytes,
                                                             python_version))


def install_once(cache: Path, lock_name: str, find: Callable[[], Path | None],
                 install_into: Callable[[Path], Path]) -> Path:
    """What ``find`` finds in ``cache``, else what ``install_into`` makes from a scratch directory
    in it (removed afterwards), under a lock per package: workers asking for one package at the
    same moment install it once, and the second finds the first's."""
    found = find()
    if found is not None:
        return found
    from wasmrun.locking import file_lock

    cache.mkdir(parents=True, exist_ok=True)
    with file_lock(cache / ".locks" / f"{lock_name.replace('/', '+')}.lock"):
        found = find()  # another worker installed it while we waited
        if found is not None:
            return found
        scratch = Path(tempfile.mkdtemp(prefix=".install-", dir=cache))
        try:
            return install_into(scratch)
        finally:
            make_writable(scratch)
            shutil.rmtree(scratch, ignore_errors=True)


def _download_and_unpack(spec: str, name: str, version: str | None, cache: Path, scratch: Path, deadline: float,
                         max_bytes: int, python_version: str) -> Path:
    wheels, site = scratch / "wheels", scratch / "site"
    _pip(["download", "--only-binary", ":all:", "--python-version", python_version, "--implementation", "py",
          "--abi", "none", "--platform", "any", "--dest", str(wheels), f"{name}=={version}" if version else name],
         spec, scratch, deadline, max_bytes)
    files = sorted(wheels.glob("*.whl"))
    if not files:
        raise BadRequest(f"package {spec!r}: pip downloaded no wheel")
    _pip(["install", "--no-index", "--no-deps", "--no-compile", "--only-binary", ":all:", "--target", str(site),
          *map(str, files)], spec, scratch, deadline, max_bytes)
    native = native_files(site)
    if native:
        raise BadRequest(f"package {spec!r} is refused: it contains native code ({native[0]}), which the "
                         "sandbox's CPython cannot load")
    resolved = version or _wheel_version(files, name)
    target = cache / name / resolved
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(site, target)
    make_read_only(target)  # after the rename: moving a directory needs write access to it
    return target


def _pip(args: list[str], spec: str, scratch: Path, deadline: float, max_bytes: int) -> None:
    """pip, isolated, under :func:`run_capped`."""
    argv = [sys.executable, "-m", "pip", *args[:1], "--isolated", "--no-input", "--disable-pip-version-check",
            "--no-cache-dir", "--quiet", *args[1:]]
    returncode, output = run_capped(argv, spec, "pip", scratch, deadline, max_bytes)
    if returncode != 0:
        raise BadRequest(_pip_reason(spec, output))


def run_capped(argv: list[str], spec: str, what: str, scratch: Path, deadline: float, max_bytes: int,
               env: dict[str, str] | None = None) -> tuple[int, str]:
    """(exit code, output) of an installer run in ``scratch`` in its own process group, with an
    environment of PATH, HOME (``scratch``) and TMPDIR only (or ``env``), killed past the deadline
    or once ``scratch`` (where it downloads, its temporary files included) holds more than
    ``max_bytes``: a :class:`BadRequest` then."""
    tmp = scratch / "tmp"
    tmp.mkdir(exist_ok=True)
    env = env or {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(scratch), "TMPDIR": str(tmp)}
    with subprocess.Popen(argv, cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, process_group=0) as child:
        why = ""
        try:
            while child.poll() is None:
                if time.monotonic() > deadline:
                    why = f"package {spec!r}: {what} did not finish within the install time cap"
                elif tree_size(scratch) > max_bytes:
                    why = f"package {spec!r} is refused: it is larger than {max_bytes // (1024 * 1024)} MiB"
                if why:
                    break
                time.sleep(_POLL_S)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        output = child.stdout.read().decode("utf-8", "replace") if child.stdout else ""
    if why:
        raise BadRequest(why)
    return child.returncode, output


def _pip_reason(spec: str, output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("ERROR")]
    if any("No matching distribution" in line or "Could not find a version" in line for line in lines):
        return (f"package {spec!r}: no pure-Python wheel of it (or of a dependency) on the index; it may not "
                "exist, or it has native code, which the sandbox's CPython cannot load")
    return f"package {spec!r}: pip failed: {lines[-1].removeprefix('ERROR: ') if lines else 'no reason given'}"


def _wheel_version(files: list[Path], name: str) -> str:
    """The version in the wheel file name of ``name`` (``name-version-tags.whl``)."""
    for wheel in files:
        parts = wheel.name.split("-")
        if len(parts) >= 5 and normalise(parts[0]) == name:
            return parts[1]
    raise BadRequest(f"package {name!r}: pip downloaded no wheel of it")


def native_files(root: Path) -> list[str]:
    """Files under ``root`` that are native extensions or libraries (relative, sorted)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and (p.name.endswith(NATIVE_SUFFIXES) or ".so." in p.name))


def tree_size(root: Path) -> int:
    """Bytes of the files under ``root`` (files vanishing meanwhile count as nothing)."""
    total = 0
    for directory, _, names in os.walk(root):
        for item in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, item)).st_size
    return total


def make_read_only(root: Path) -> None:
    for directory, _, names in os.walk(root, topdown=False):
        for item in names:
            path = os.path.join(directory, item)
            if not os.path.islink(path):
                os.chmod(path, 0o444)
        os.chmod(directory, 0o555)


def make_writable(root: Path) -> None:
    """So a failed install's scratch directory can be removed."""
    for directory, _, _ in os.walk(root):
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o755)
