"""Compiled modules (and components) kept on disk, so a second ``exec`` skips compilation.

An entry is named by a SHA-256 over the SHA-256 of the module's bytes, the wasmtime version, the machine, and
the engine settings that change generated code (fuel metering, epoch interruption). A different
wasmtime or configuration therefore never reuses a stale entry; wasmtime itself refuses an
artifact from another version or configuration too, and such an entry is then compiled again
and replaced.

wasmtime deserializes an artifact as trusted native code: it runs whatever machine code the
file holds. So each artifact ``<cache>/<key>.cwasm`` has the SHA-256 of its bytes in
``<cache>/index/<key>.sha256``, kept apart from the artifacts and written (atomically) only after
the artifact is in place. Before wasmtime sees an artifact, the file is opened once, hashed
through that descriptor and compared with that digest, and wasmtime maps that same open file
(``/proc/self/fd/N``, never the path again: an entry replaced in between, as every cache write
is a rename, is not what runs). Mapping instead of copying matters for a whole language's
runtime: deserializing a 58 MB artifact from bytes copies it twice (0.15 s), mapping it costs
next to nothing. Where open files have no path (no ``/proc/self/fd``), the bytes read and
hashed are what is deserialized. A mismatch or a missing digest discards the entry and the
module is compiled again: a changed artifact is never run. This guards against damage and
against a change to an artifact alone; whoever can write the cache directory can also write the
index, and so can still change what runs (docs/cache.md says so).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import mmap
import os
import platform
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from wasmrun.atomic import atomic_write
from wasmrun.wasm.validate import wasmtime_version

CACHE_FORMAT = 3  # 2: each artifact checked against the digest in index/; 3: keyed by the module's digest
INDEX_DIR = "index"
#: Where an open file descriptor has a path that opens that same file (Linux).
FD_PATHS = Path("/proc/self/fd")
T = TypeVar("T")


def binary_digest(binary: bytes) -> str:
    """The SHA-256 of a module's bytes (hex): what names its compiled artifact."""
    return hashlib.sha256(binary).hexdigest()


def cache_key(binary: bytes, engine_settings: dict[str, Any]) -> str:
    """The entry name for ``binary`` compiled by this wasmtime with ``engine_settings``."""
    return key_for_digest(binary_digest(binary), engine_settings)


def key_for_digest(digest: str, engine_settings: dict[str, Any]) -> str:
    """The entry name for the module whose bytes have the SHA-256 ``digest`` (hex): a module file
    already seen need not be read again to find its artifact (:mod:`wasmrun.wasm.known_files`)."""
    settings = ",".join(f"{k}={engine_settings[k]}" for k in sorted(engine_settings))
    header = f"wasmrun-compiled/{CACHE_FORMAT}|wasmtime {wasmtime_version()}|{platform.machine()}|{settings}|"
    return hashlib.sha256(f"{header}{digest}".encode()).hexdigest()


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


def _verified_fd(artifact: Path) -> int | None:
    """An open descriptor of the artifact when its bytes, hashed through it, match the digest in
    the index; None when either is missing, unreadable or they differ. The caller closes it."""
    try:
        expected = digest_path(artifact).read_text(encoding="ascii").strip()
        fd = os.open(artifact, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except (OSError, UnicodeDecodeError):
        return None
    try:
        if os.fstat(fd).st_size == 0:
            actual = hashlib.sha256(b"").hexdigest()
        else:
            with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as view:
                actual = hashlib.sha256(view).hexdigest()
    except (OSError, ValueError):
        actual = ""
    if actual and hmac.compare_digest(actual, expected):
        return fd
    os.close(fd)
    return None


class Verification:
    """An artifact's digest being checked on a thread (hashing releases the GIL), started before
    wasmtime is imported, so that the two overlap: a whole language's artifact is 58 MB, and
    hashing it costs about as much as ``import wasmtime``. :meth:`fd` waits for the verdict."""

    def __init__(self, key: str, cache_dir: Path, suffix: str = ".cwasm") -> None:
        self.path = cache_dir / (key + suffix)
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        if FD_PATHS.is_dir() and self.path.exists():
            self._thread = threading.Thread(target=self._check, name="wasmrun-verify-artifact", daemon=True)
            self._thread.start()

    def _check(self) -> None:
        self._fd = _verified_fd(self.path)

    def fd(self) -> int | None:
        """The verified open artifact (the caller closes it), or None (missing, changed, or no
        verification started)."""
        if self._thread is None:
            return None
        self._thread.join()
        self._thread = None
        fd, self._fd = self._fd, None
        return fd


def _discard(artifact: Path) -> None:
    for path in (artifact, digest_path(artifact)):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def load(key: str, deserialize: Callable[[bytes], T], cache_dir: Path, suffix: str = ".cwasm",
         deserialize_file: Callable[[str], T] | None = None, verification: Verification | None = None) -> T | None:
    """The artifact named ``key`` when it is in the cache, whole and loadable; else None (and a
    changed, damaged, half-written or stale entry is removed: it never runs). ``deserialize_file``
    (when given, and open files have paths here) maps the verified open file instead of copying
    its bytes; ``verification`` is that file's check when it was started beforehand."""
    path = cache_dir / (key + suffix)
    if not (path.exists() or digest_path(path).exists()):
        return None
    with contextlib.suppress(Exception):  # a stale entry (another wasmtime): compile again and replace it
        if deserialize_file is not None and FD_PATHS.is_dir():
            fd = verification.fd() if verification is not None else _verified_fd(path)
            if fd is not None:
                try:
                    return deserialize_file(str(FD_PATHS / str(fd)))
                finally:
                    os.close(fd)
        else:
            data = _verified_bytes(path)
            if data is not None:
                return deserialize(data)
    _discard(path)
    return None


def load_or_compile(
    binary: bytes,
    engine_settings: dict[str, Any],
    *,
    compile: Callable[[], T],
    deserialize: Callable[[bytes], T],
    serialize: Callable[[T], bytes],
    cache_dir: Path | None,
    suffix: str = ".cwasm",
    digest: str | None = None,
    deserialize_file: Callable[[str], T] | None = None,
) -> tuple[T, bool]:
    """The compiled artifact, and whether it came from the cache.

    ``deserialize`` is given the artifact's bytes, already checked against their digest.
    ``cache_dir`` None means no cache: compile, read nothing and write nothing. ``digest`` is
    :func:`binary_digest` of ``binary`` when the caller has it already.
    """
    if cache_dir is None:
        return compile(), False
    key = key_for_digest(digest or binary_digest(binary), engine_settings)
    path = cache_dir / (key + suffix)
    found = load(key, deserialize, cache_dir, suffix, deserialize_file)
    if found is not None:
        return found, True
    artifact = compile()
    try:
        data = serialize(artifact)
        atomic_write(path, data, durable=False)
        atomic_write(digest_path(path), hashlib.sha256(data).hexdigest() + "\n", durable=False)
    except OSError:
        pass  # a cache that cannot be written is no reason to fail the run
    return artifact, False
