"""The build cache: outputs kept by a hash of everything that can change them.

An entry's key is a SHA-256 over

* every source file the plugin declares (:func:`wasmrun.building.source_files`): its path
  relative to the project and the SHA-256 of its content;
* the project directory (compilers write it into the output: ``__FILE__``, DWARF);
* the build settings that change the output: optimization, target, debug info, toolchain,
  extra arguments (not the output directory, and not ``verbose``);
* the plugin's name and version;
* the toolchain's versions (the ``toolchain_versions`` hook, else the versions
  ``check_dependencies`` reports).
* the post-processing that runs over the build before it is stored, when any (wasm-opt's
  path, version and flags: :func:`wasmrun.postprocess.cache_key`).

Checking for a hit reads no unchanged source: a memo per project keeps each file's
(size, mtime, ctime, inode) beside its hash, and a file whose stat matches is not read again. A
file changed within :data:`RACY_WINDOW_NS` of being hashed is always hashed again, so an edit
that leaves size and timestamps equal (a coarse clock) is never missed.

Layout, under ``<cache dir>/builds``::

    entries/<key>/manifest.json   what the entry holds, with a checksum of itself
    entries/<key>/files/...       the output directory of the build, as the plugin left it
    entries/<key>/access          its mtime is the entry's last use (for LRU eviction)
    tmp/                          entries being written, renamed into entries/ when complete
    memo/<project hash>.json      source file stat -> sha256

An entry appears only by ``os.rename`` of a complete directory. On a hit every file is copied
out while its SHA-256 and size are checked against the manifest, and the manifest is checked
against its own checksum: anything missing, truncated or altered is discarded and the project
built again, so a damaged entry is never served (files are not fsynced: a crash that loses
their contents is caught by the same check).

The size limit is ``WASMRUN_CACHE_MAX_BYTES`` (bytes, or with a K/M/G suffix; default 1 GiB;
0 turns the cache off). After each store, the least recently used entries go until the total
fits.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wasmrun.errors import ConfigError, PluginError

if TYPE_CHECKING:  # kept out of the import: direct mode (wasmrun.direct) restores without pydantic
    from wasmrun.direct import Trace
    from wasmrun.models import BuildConfig, BuildResult
    from wasmrun.plugins import Plugins

log = logging.getLogger("wasmrun.cache")

#: Bumped when the key or the entry layout changes: old entries then simply never match.
CACHE_FORMAT = 1
DEFAULT_MAX_BYTES = 1 << 30
MAX_BYTES_ENV = "WASMRUN_CACHE_MAX_BYTES"
#: A file modified this close to its hashing is hashed again next time (see the module doc).
RACY_WINDOW_NS = 2_000_000_000
_CHUNK = 1 << 20
_PATH_FIELDS = ("wasm_path", "js_path", "html_path")


# -- hashing sources ------------------------------------------------------------------------------

def hash_file(path: Path) -> str:
    """SHA-256 of a file's content, read in large chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def stat_stamp(st: os.stat_result) -> list[int]:
    """What identifies a file's content without reading it: size, modification and change times,
    inode (trusted only once the file has settled: :data:`RACY_WINDOW_NS`)."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class SourceMemo:
    """Source hashes remembered by stat, for one project; unchanged files are not read again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list[Any]] = {}
        #: absolute path -> the stat its digest stands for, as this run saw it (for direct mode)
        self.stamps: dict[str, list[int]] = {}
        self.changed = False
        try:
            data = json.loads(path.read_bytes())
            if isinstance(data, dict) and data.get("format") == CACHE_FORMAT:
                self.entries = data.get("files", {})
        except (OSError, ValueError):
            pass

    def digest(self, path: Path, rel: str) -> str:
        st = path.stat()
        stamp = stat_stamp(st)
        self.stamps[str(path)] = stamp
        known = self.entries.get(rel)
        if (isinstance(known, list) and len(known) == 6 and known[:4] == stamp
                and max(st.st_mtime_ns, st.st_ctime_ns) + RACY_WINDOW_NS < known[5]):
            return str(known[4])
        digest = hash_file(path)
        self.entries[rel] = [*stamp, digest, time.time_ns()]
        self.changed = True
        return digest

    def save(self, keep: set[str]) -> None:
        """Write the memo back (atomically) if it changed, forgetting files no longer listed."""
        stale = set(self.entries) - keep
        for rel in stale:
            del self.entries[rel]
        if not (self.changed or stale):
            return
        with contextlib.suppress(OSError):
            _write_json(self.path, {"format": CACHE_FORMAT, "files": self.entries})


def source_digests(project_dir: Path, sources: list[Path], memo: SourceMemo) -> list[tuple[str, str]]:
    """(path relative to the project, or absolute outside it; sha256) for each source, sorted."""
    found: list[tuple[str, str]] = []
    for path in sources:
        absolute = path if path.is_absolute() else project_dir / path
        try:
            rel = absolute.relative_to(project_dir).as_posix()
        except ValueError:
            rel = absolute.as_posix()
        found.append((rel, memo.digest(absolute, rel)))
    found.sort()
    memo.save({rel for rel, _ in found})
    return found


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


@dataclass
class Entry:
    key: str
    path: Path
    bytes: int
    last_access: float


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

    # -- the key ----------------------------------------------------------------------------------

    def key(self, plugins: Plugins, name: str, config: BuildConfig,
            postprocess: Mapping[str, Any] | None = None, trace: Trace | None = None) -> str | None:
        """The entry for building ``config`` with plugin ``name``; None when the plugin declares no
        source files (nothing to key on, so nothing is cached). ``postprocess`` describes what runs
        over the plugin's output before it is stored (:func:`wasmrun.postprocess.cache_key`).
        ``trace`` records what the key was computed from, for direct mode (:mod:`wasmrun.direct`)."""
        if trace is None:
            return self._key(plugins, name, config, postprocess, None)
        with trace:
            key = self._key(plugins, name, config, postprocess, trace)
        trace.key = key
        return key

    def _key(self, plugins: Plugins, name: str, config: BuildConfig, postprocess: Mapping[str, Any] | None,
             trace: Trace | None) -> str | None:
        from wasmrun.building import source_files

        project = config.project_dir
        sources = source_files(project, plugins, name)
        if not sources:
            return None
        memo = SourceMemo(self.root / "memo" / (_sha256_text(str(project))[:32] + ".json"))
        document = {
            "format": CACHE_FORMAT,
            "plugin": name,
            "plugin_version": plugins.get(name).version,
            "toolchain_versions": toolchain_versions(plugins, name, config),
            "project": str(project),
            "config": config.model_dump(mode="json", include={"optimization", "target", "debug_info",
                                                              "toolchain", "extra_args"}),
            "sources": source_digests(project, sources, memo),
        }
        if postprocess:
            document["postprocess"] = dict(postprocess)
        if trace is not None:
            trace.note_stamps(memo.stamps)
        return _sha256_text(json.dumps(document, sort_keys=True, separators=(",", ":")))

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
            log.warning("build cache: discarding damaged entry %s: %s", key[:12], exc)
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
            log.warning("build cache: discarding damaged entry %s: %s", key[:12], exc)
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
            log.warning("build cache: could not store %s: %s", key[:12], exc)
            return False

    def _store(self, key: str, output_dir: Path, result: BuildResult) -> bool:
        outputs = sorted(p for p in output_dir.rglob("*") if p.is_file())
        if not all(_is_inside(output_dir, p) and p.is_file() for p in result.files()):
            return False  # the build will be refused by the caller; nothing worth keeping
        tmp_root = self.root / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        self._sweep_tmp(tmp_root)
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
            _write_json(tmp / "manifest.json", manifest)
            (tmp / "access").touch()
            self.entries_dir.mkdir(parents=True, exist_ok=True)
            final = self.entries_dir / key
            if final.exists():  # a damaged or concurrent entry: replace it
                self._remove(final)
            try:
                os.rename(tmp, final)
            except OSError:
                return False  # another build stored the same key first
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.evict()
        return True

    def _sweep_tmp(self, tmp_root: Path) -> None:
        """Remove what crashed writers left behind (older than an hour)."""
        cutoff = time.time() - 3600
        for stale in tmp_root.iterdir():
            with contextlib.suppress(OSError):
                if stale.stat().st_mtime < cutoff:
                    shutil.rmtree(stale, ignore_errors=True)

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
        shutil.rmtree(trash, ignore_errors=True)

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
            shutil.rmtree(trash, ignore_errors=True)
        return count


# -- the one call compile_project makes -----------------------------------------------------------

def cached_build(plugins: Plugins, name: str, config: BuildConfig, build: Callable[[], BuildResult], *,
                 read: bool = True, write: bool = True, cache: BuildCache | None = None,
                 postprocess: Mapping[str, Any] | None = None, trace: Trace | None = None) -> tuple[BuildResult, bool]:
    """Build through the cache: (result, whether it was restored from the cache).

    On a hit the outputs are copied into ``config.output_dir`` (the staging directory) and the
    result's paths point there; ``build`` is not called and no toolchain runs. On a miss ``build()``
    runs and whatever it left in ``config.output_dir`` is stored. ``read=False`` (``--no-cache``)
    skips the lookup but still stores the fresh result, replacing the entry; ``write=False`` stores
    nothing (both False: the cache is not touched at all). ``postprocess`` is part of the key: what
    ``build`` does to the plugin's output after it (wasm-opt), so that it is stored done.
    ``trace`` records what the key was computed from (:mod:`wasmrun.direct`).
    """
    from wasmrun.models import BuildResult

    cache = cache or BuildCache.default()
    if not cache.enabled or not (read or write):
        return build(), False
    try:
        key = cache.key(plugins, name, config, postprocess, trace)
    except (OSError, PluginError) as exc:
        log.warning("build cache: not used: %s", exc)
        key = None
    if key is None:
        return build(), False
    if read:
        restored = cache.restore(key, config.output_dir)
        if restored is not None:
            return restored.model_copy(update={"plugin": name}), True
    result = build()
    if write and isinstance(result, BuildResult):
        cache.store(key, config.output_dir, result)
    return result, False


def toolchain_versions(plugins: Plugins, name: str, config: BuildConfig) -> dict[str, str]:
    """The plugin's ``toolchain_versions``, else the versions its ``check_dependencies`` finds."""
    versions = plugins.call(name, "toolchain_versions", target=config.target)
    if isinstance(versions, dict):
        return {str(k): str(v) for k, v in versions.items()}
    statuses = plugins.call(name, "check_dependencies", target=config.target, probe=False) or []
    return {s.name: s.version or "unknown" for s in statuses if s.found}


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
    shutil.rmtree(compiled, ignore_errors=True)
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
    shutil.copymode(source, target)
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


def _is_inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _disk_usage(path: Path) -> int:
    return sum(_size(p) for p in path.rglob("*") if p.is_file())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _compiled_files(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".tmp-")]
    except OSError:
        return []
