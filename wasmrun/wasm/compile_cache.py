"""Compiled modules (and components) kept on disk, so a second ``exec`` skips compilation.

An entry is named by a SHA-256 over the module's bytes, the wasmtime version, the machine, and
the engine settings that change generated code (fuel metering, epoch interruption). A different
wasmtime or configuration therefore never reuses a stale entry; wasmtime itself refuses an
artifact from another version or configuration too, and such an entry is then compiled again
and replaced.

wasmtime deserializes an artifact as trusted native code: it runs whatever machine code the
file holds. So each artifact ``<cache>/<key>.cwasm`` has the SHA-256 of its bytes in
``<cache>/index/<key>.sha256``, kept apart from the artifacts and written (atomically) only after
the artifact is in place. Before wasmtime sees an artifact its bytes are read once, hashed and
compared with that digest, and those same bytes are what is deserialized (never the file again,
which could have changed in between). A mismatch or a missing digest discards the entry and the
module is compiled again: a changed artifact is never run. This guards against damage and
against a change to an artifact alone; whoever can write the cache directory can also write the
index, and so can still change what runs (docs/cache.md says so).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from wasmrun.atomic import atomic_write
from wasmrun.wasm.validate import wasmtime_version

CACHE_FORMAT = 2  # 2: each artifact checked against the digest in index/
INDEX_DIR = "index"
T = TypeVar("T")


def cache_key(binary: bytes, engine_settings: dict[str, Any]) -> str:
    """The entry name for ``binary`` compiled by this wasmtime with ``engine_settings``."""
    digest = hashlib.sha256()
    settings = ",".join(f"{k}={engine_settings[k]}" for k in sorted(engine_settings))
    header = f"wasmrun-compiled/{CACHE_FORMAT}|wasmtime {wasmtime_version()}|{platform.machine()}|{settings}|"
    digest.update(header.encode())
    digest.update(binary)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "compiled"


def digest_path(artifact: Path) -> Path:
    """Where the digest of ``artifact`` is kept: in the cache's index, not beside the artifact."""
    return artifact.parent / INDEX_DIR / (artifact.stem + ".sha256")


def _verified_bytes(artifact: Path) -> bytes | None:
    """The artifact's bytes when they match the digest in the index; None when either is missing,
    unreadable or they differ."""
    try:
        expected = digest_path(artifact).read_text(encoding="ascii").strip()
        data = artifact.read_bytes()
    except (OSError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), expected):
        return None
    return data


def _discard(artifact: Path) -> None:
    for path in (artifact, digest_path(artifact)):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def load_or_compile(
    binary: bytes,
    engine_settings: dict[str, Any],
    *,
    compile: Callable[[], T],
    deserialize: Callable[[bytes], T],
    serialize: Callable[[T], bytes],
    cache_dir: Path | None,
    suffix: str = ".cwasm",
) -> tuple[T, bool]:
    """The compiled artifact, and whether it came from the cache.

    ``deserialize`` is given the artifact's bytes, already checked against their digest.
    ``cache_dir`` None means no cache: compile, read nothing and write nothing.
    """
    if cache_dir is None:
        return compile(), False
    path = cache_dir / (cache_key(binary, engine_settings) + suffix)
    if path.exists() or digest_path(path).exists():
        data = _verified_bytes(path)
        if data is not None:
            try:
                return deserialize(data), True
            except Exception:  # noqa: BLE001 - a stale entry (another wasmtime): compile again and replace it
                pass
        _discard(path)  # changed, damaged, half-written or stale: never run
    artifact = compile()
    try:
        data = serialize(artifact)
        atomic_write(path, data, durable=False)
        atomic_write(digest_path(path), hashlib.sha256(data).hexdigest() + "\n", durable=False)
    except OSError:
        pass  # a cache that cannot be written is no reason to fail the run
    return artifact, False
