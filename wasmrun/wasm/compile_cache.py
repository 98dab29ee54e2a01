"""Compiled modules (and components) kept on disk, so a second ``exec`` skips compilation.

An entry is named by a SHA-256 over the module's bytes, the wasmtime version, the machine, and
the engine settings that change generated code (fuel metering, epoch interruption). A different
wasmtime or configuration therefore never reuses a stale entry; wasmtime itself refuses an
artifact from another version or configuration too, and such an entry is then compiled again
and replaced. Entries are written atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

CACHE_FORMAT = 1
T = TypeVar("T")


def _wasmtime_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wasmtime")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


def cache_key(binary: bytes, engine_settings: dict[str, Any]) -> str:
    """The entry name for ``binary`` compiled by this wasmtime with ``engine_settings``."""
    digest = hashlib.sha256()
    settings = ",".join(f"{k}={engine_settings[k]}" for k in sorted(engine_settings))
    header = f"wasmrun-compiled/{CACHE_FORMAT}|wasmtime {_wasmtime_version()}|{platform.machine()}|{settings}|"
    digest.update(header.encode())
    digest.update(binary)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "compiled"


def load_or_compile(
    binary: bytes,
    engine_settings: dict[str, Any],
    *,
    compile: Callable[[], T],
    deserialize: Callable[[str], T],
    serialize: Callable[[T], bytes],
    cache_dir: Path | None,
    suffix: str = ".cwasm",
) -> tuple[T, bool]:
    """The compiled artifact, and whether it came from the cache.

    ``cache_dir`` None means no cache: compile, read nothing and write nothing.
    """
    if cache_dir is None:
        return compile(), False
    path = cache_dir / (cache_key(binary, engine_settings) + suffix)
    if path.is_file():
        try:
            return deserialize(str(path)), True
        except Exception:  # noqa: BLE001 - a stale or damaged entry: compile again and replace it
            path.unlink(missing_ok=True)
    artifact = compile()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(serialize(artifact))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a cache that cannot be written is no reason to fail the run
    return artifact, False
