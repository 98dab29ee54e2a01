"""The build cache's store: finished builds' outputs, kept under a key, checked on the way out.

What a key stands for (the invocation and every input of the build, by content) is decided by
:mod:`wasmrun.recording` and :mod:`wasmrun.manifests`; this module only keeps and returns
outputs. Layout, under ``<cache dir>/builds``::

    entries/<key>/manifest.json   what the entry holds, with a checksum of itself
    entries/<key>/files/...       the output directory of the build, as the plugin left it
    entries/<key>/access          its mtime is the entry's last use (for LRU eviction)
    manifests/<invocation>.json   the candidates for one compile invocation (wasmrun.manifests)
    digests.json                  content digests of inputs, by stat (wasmrun.fingerprints)
    tmp/                          entries being written, renamed into entries/ when complete

An entry appears only by ``os.rename`` of a complete directory, and an intact entry is never
replaced (a concurrent build of the same inputs stored the same thing). On a hit every file is
copied out while its SHA-256 and size are checked against the manifest, and the manifest is
checked against its own checksum: anything missing, truncated or altered is discarded and the
project built again, so a damaged entry is never served.

The size limit is ``WASMRUN_CACHE_MAX_BYTES`` (bytes, or with a K/M/G suffix; default 1 GiB;
0 turns the cache off). After each store, the least recently used entries go until the total
fits.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Mapping
from pathlib import Path

from wasmrun.errors import ConfigError
from wasmrun.fingerprints import write_json
from wasmrun.paths import is_inside, remove_tree

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the cache-hit road

if TYPE_CHECKING:  # kept out of the import: the typer-free compile restores without pydantic
    from typing import Any

    from wasmrun.models import BuildResult


def _warn(message: str, *args: object) -> None:
    """A warning on wasmrun.cache's logger; logging is imported only when there is one (a cache
    hit on the typer-free route imports as little as it can)."""
    import logging

    logging.getLogger("wasmrun.cache").warning(message, *args)

#: Bumped when the entry layout changes: old entries then simply never match.
CACHE_FORMAT = 2
DEFAULT_MAX_BYTES = 1 << 30
MAX_BYTES_ENV = "WASMRUN_CACHE_MAX_BYTES"
_CHUNK = 1 << 20
_PATH_FIELDS = ("wasm_path", "js_path", "html_path")


# -- the cache ------------------------------------------------------------------------------------

def max_bytes_from_environment(environ: Mapping[str, str] | None = None) -> int:
    """``WASMRUN_CACHE_MAX_BYTES``: bytes, or a number with K, M or G (powers of 1024)."""
    value = (os.environ if environ is None else environ).get(MAX_BYTES_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_BYTES
    match = re.fullmatch(r"(\d+)\s*([KMG]?)i?B?", value, flags=re.IGNORECASE)
    if match is None:
        raise ConfigError(f"{MAX_BYTES_ENV} must be a size such as 500M or 1073741824, not '{value}'")
    scale: int = 1024 ** " KMG".index((match[2] or " ").upper())
    return int(match[1]) * scale


def default_root() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "builds"


def compiled_modules_dir() -> Path:
    """Where ``exec`` keeps compiled modules (:mod:`wasmrun.wasm.compile_cache`)."""
    try:
        from wasmrun.wasm.compile_cache import default_cache_dir
    except ImportError:  # pragma: no cover - older checkouts without the compiled-module cache
        from wasmrun.locations import Locations

        return Locations.from_environment().cache_dir / "compiled"
    return default_cache_dir()


class CorruptEntry(Exception):
    """An entry that does not match its manifest."""


class Entry:
    """One stored build, as eviction sees it."""

    __slots__ = ("bytes", "key", "last_access", "path")

    def __init__(self, key: str, path: Path, bytes: int, last_access: float) -> None:
        self.key, self.path, self.bytes, self.last_access = key, path, bytes, last_access


class BuildCache:
    """Build outputs under ``root``, at most ``max_bytes`` of them."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    @classmethod
    def default(cls) -> BuildCache:
        """The user's cache, with the limit from the environment."""
        return cls(default_root(), max_bytes_from_environment())

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def entries_dir(self) -> Path:
        return self.root / "entries"

    # -- lookup -----------------------------------------------------------------------------------

    def restore(self, key: str, output_dir: Path) -> BuildResult | None:
        """Copy entry ``key`` into ``output_dir`` (checking every byte) and return its result with
        paths there; None on a miss. A damaged entry is discarded and counts as a miss."""
        data = self.restore_files(key, output_dir)
        if data is None:
            return None
        try:
            return _result_from_json(data, output_dir)
        except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            _warn("build cache: discarding damaged entry %s: %s", key[:12], exc)
            self._remove(self.entries_dir / key)
            return None

    def restore_files(self, key: str, output_dir: Path) -> dict[str, Any] | None:
        """Copy entry ``key`` into ``output_dir``, checking every byte; the stored result as JSON
        with paths relative to ``output_dir``, or None on a miss (a damaged entry is discarded)."""
        entry = self.entries_dir / key
        manifest_path = entry / "manifest.json"
        if not manifest_path.is_file():
            return None
        written: list[Path] = []
        try:
            manifest = _read_manifest(manifest_path, key)
            files = entry / "files"
            for item in manifest["files"]:  # cheap checks before copying anything
                if (files / item["path"]).stat().st_size != item["size"]:
                    raise CorruptEntry(f"{item['path']} has the wrong size")
            for item in manifest["files"]:
                target = output_dir / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                written.append(target)
                size, digest = _copy_hashing(files / item["path"], target)
                if (size, digest) != (item["size"], item["sha256"]):
                    raise CorruptEntry(f"{item['path']} does not match its hash")
            result: dict[str, Any] = manifest["result"]
            _check_result_paths(result)
        except (OSError, CorruptEntry, KeyError, TypeError, ValueError) as exc:
            for path in written:
                path.unlink(missing_ok=True)
            _warn("build cache: discarding damaged entry %s: %s", key[:12], exc)
            self._remove(entry)
            return None
        with contextlib.suppress(OSError):
            os.utime(entry / "access")
        return result

    # -- store ------------------------------------------------------------------------------------

    def store(self, key: str, output_dir: Path, result: BuildResult) -> bool:
        """Keep everything in ``output_dir`` (the build's staging directory) as entry ``key``.
        Returns whether it was stored; a cache that cannot be written never fails the build."""
        try:
            return self._store(key, output_dir, result)
        except OSError as exc:
            _warn("build cache: could not store %s: %s", key[:12], exc)
            return False

    def _store(self, key: str, output_dir: Path, result: BuildResult) -> bool:
        outputs = sorted(p for p in output_dir.rglob("*") if p.is_file())
        if not all(is_inside(output_dir, p) and p.is_file() for p in result.files()):
            return False  # the build will be refused by the caller; nothing worth keeping
        tmp_root = self.root / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        self._sweep_tmp(tmp_root)
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix=f"{key[:12]}-", dir=tmp_root))
        try:
            items: list[dict[str, Any]] = []
            total = 0
            for path in outputs:
                rel = path.relative_to(output_dir).as_posix()
                target = tmp / "files" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                size, digest = _copy_hashing(path, target)
                items.append({"path": rel, "size": size, "sha256": digest})
                total += size
            if total > self.max_bytes:
                return False
            manifest: dict[str, Any] = {
                "format": CACHE_FORMAT,
                "key": key,
                "created": time.time(),
                "result": _result_to_json(result, output_dir),
                "files": items,
                "bytes": total,
            }
            manifest["checksum"] = _checksum(manifest)
            write_json(tmp / "manifest.json", manifest)
            (tmp / "access").touch()
            self.entries_dir.mkdir(parents=True, exist_ok=True)
            final = self.entries_dir / key
            if final.exists():
                if self._intact(key):
                    return True  # the same inputs built the same thing: keep what readers may be copying
                self._remove(final)
            try:
                os.rename(tmp, final)
            except OSError:
                return False  # another build stored the same key first
        finally:
            remove_tree(tmp)
        self.evict()
        return True

    def _intact(self, key: str) -> bool:
        try:
            _read_manifest(self.entries_dir / key / "manifest.json", key)
        except (OSError, CorruptEntry, KeyError, TypeError, ValueError):
            return False
        return True

    def _sweep_tmp(self, tmp_root: Path) -> None:
        """Remove what crashed writers left behind (older than an hour)."""
        cutoff = time.time() - 3600
        for stale in tmp_root.iterdir():
            with contextlib.suppress(OSError):
                if stale.stat().st_mtime < cutoff:
                    remove_tree(stale)

    # -- size -------------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every complete entry, least recently used first."""
        found: list[Entry] = []
        try:
            children = list(self.entries_dir.iterdir())
        except OSError:
            return found
        for path in children:
            try:
                size = int(json.loads((path / "manifest.json").read_bytes())["bytes"])
                used = (path / "access").stat().st_mtime
            except (OSError, ValueError, KeyError, TypeError):
                size, used = _disk_usage(path), 0.0  # damaged: first to go
            found.append(Entry(path.name, path, size, used))
        found.sort(key=lambda e: (e.last_access, e.key))
        return found

    def evict(self) -> list[str]:
        """Remove least recently used entries until the total fits the limit; their keys."""
        entries = self.entries()
        total = sum(e.bytes for e in entries)
        removed: list[str] = []
        for entry in entries:
            if total <= self.max_bytes:
                break
            self._remove(entry.path)
            total -= entry.bytes
            removed.append(entry.key)
        return removed

    def _remove(self, path: Path) -> None:
        """Take an entry out of ``entries/`` in one rename, then delete it."""
        trash = self.root / "tmp" / f"trash-{path.name[:12]}-{os.getpid()}-{time.monotonic_ns()}"
        try:
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, trash)
        except OSError:
            trash = path
        remove_tree(trash)

    def info(self) -> dict[str, Any]:
        entries = self.entries()
        return {"location": str(self.root), "entries": len(entries), "bytes": sum(e.bytes for e in entries),
                "limit": self.max_bytes}

    def clear(self) -> int:
        """Remove every entry (and the source memos); the number of entries removed."""
        count = len(self.entries())
        if self.root.exists():
            trash = self.root.with_name(f"{self.root.name}.trash-{os.getpid()}-{time.monotonic_ns()}")
            try:
                os.rename(self.root, trash)
            except OSError:
                trash = self.root
            remove_tree(trash)
        return count


def cache_info() -> dict[str, Any]:
    """The build cache (location, entries, bytes, limit) and exec's compiled modules."""
    info = BuildCache.default().info()
    compiled = compiled_modules_dir()
    files = _compiled_files(compiled)
    info["compiled_modules"] = {"location": str(compiled), "entries": len(files),
                                "bytes": sum(_size(p) for p in files)}
    return info


def clear_cache() -> int:
    """Empty the build cache and exec's compiled-module cache; the number of entries removed."""
    removed = BuildCache.default().clear()
    compiled = compiled_modules_dir()
    removed += len(_compiled_files(compiled))
    remove_tree(compiled)
    return removed


# -- helpers --------------------------------------------------------------------------------------

def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _checksum(manifest: Mapping[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return _sha256_text(json.dumps(body, sort_keys=True, separators=(",", ":")))


def _read_manifest(path: Path, key: str) -> dict[str, Any]:
    manifest = json.loads(path.read_bytes())
    if not isinstance(manifest, dict) or manifest.get("checksum") != _checksum(manifest):
        raise CorruptEntry("manifest does not match its checksum")
    if manifest.get("format") != CACHE_FORMAT or manifest.get("key") != key:
        raise CorruptEntry("manifest is for another entry or format")
    for item in manifest["files"]:
        if not _safe_relative(item["path"]):
            raise CorruptEntry(f"bad path {item['path']!r}")
    return manifest


def _copy_hashing(source: Path, target: Path) -> tuple[int, str]:
    """Copy ``source`` to ``target``; (bytes copied, sha256 of them)."""
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    os.chmod(target, stat.S_IMODE(source.stat().st_mode))  # shutil.copymode, without importing shutil
    return size, digest.hexdigest()


def _result_to_json(result: BuildResult, output_dir: Path) -> dict[str, Any]:
    data = result.model_dump(mode="json", exclude={"commands", "duration_s", "plugin"})
    for name in _PATH_FIELDS:
        path = getattr(result, name)
        data[name] = None if path is None else _relative(output_dir, path)
    data["additional_files"] = [_relative(output_dir, p) for p in result.additional_files]
    return data


def _result_from_json(data: dict[str, Any], output_dir: Path) -> BuildResult:
    from wasmrun.models import BuildResult

    fields = dict(data)
    for name in _PATH_FIELDS:
        fields[name] = None if data[name] is None else output_dir / data[name]
    fields["additional_files"] = [output_dir / p for p in data["additional_files"]]
    return BuildResult.model_validate(fields)


def _check_result_paths(data: Any) -> None:
    """A stored result names its files relative to the entry, inside it."""
    if not isinstance(data, dict) or not isinstance(data.get("additional_files"), list):
        raise CorruptEntry("the stored result is malformed")
    for rel in [*(data[name] for name in _PATH_FIELDS), *data["additional_files"]]:
        if rel is not None and not _safe_relative(rel):
            raise CorruptEntry(f"bad path {rel!r} in the stored result")


def _safe_relative(rel: object) -> bool:
    """A path an entry may name: relative, and never leaving the entry."""
    return isinstance(rel, str) and not rel.startswith("/") and ".." not in rel.split("/")


def _relative(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def _disk_usage(path: Path) -> int:
    return sum(_size(p) for p in path.rglob("*") if p.is_file())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _compiled_files(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]  # not temporaries
    except OSError:
        return []
