"""The one lookup road to a cached build: a manifest per ``compile`` invocation.

An *invocation* is a ``compile`` as it was asked for: the project, the options given (before the
project's ``wasmrun.toml`` fills the rest in), the interpreter and wasmrun's cache format. Its
manifest (``<cache>/builds/manifests/<hash>.json``) lists *candidates*, newest first: each one a
build that was stored, with the :mod:`record of its inputs <wasmrun.build_inputs>` (every file,
directory and variable it depended on, by content) and the key of its entry in the build cache.

A lookup takes the first candidate whose every input is as recorded. It needs nothing but the
manifest, ``os.stat`` and, for files whose stat moved, their content: no plugin, no pydantic, no
toolchain. So ``wasmrun compile`` and ``exec PROJECT`` take the same road before loading anything,
and the full ``compile`` takes it too before choosing a plugin: the fast route and the full route
cannot disagree. (ccache's direct mode is the model: a manifest of the headers a compilation read,
checked before anything runs.)

Several candidates per invocation let two environments (another ``PATH``, another ``CPATH``, a
header switched back and forth) keep their builds side by side: ``--no-cache`` adds a candidate and
removes none. Manifests are changed under a file lock, so concurrent compiles never lose or mix
each other's candidates.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from wasmrun.build_inputs import Record, first_difference
from wasmrun.fingerprints import write_json

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the cache-hit road

if TYPE_CHECKING:
    from typing import Any

    from wasmrun.cache import BuildCache

#: Bumped when the manifest's layout or meaning changes: older manifests then never match.
MANIFEST_FORMAT = 2
#: Candidates kept per invocation (the newest); older ones are forgotten, their entries evicted by
#: the cache's LRU limit in time.
MAX_CANDIDATES = 8


def invocation(project_dir: Path, *, output_dir: Path | None = None, optimization: object = None,
               target: object = None, language: str | None = None, toolchain: str | None = None,
               extra_args: list[str] | None = None, debug_info: bool = False, optimize: bool = True,
               default_output: Path | None = None) -> dict[str, Any]:
    """A ``compile``'s options as given (None: not given), by which its manifest is found; with
    none given, a plain ``compile PROJECT`` (as ``exec PROJECT`` builds). An ``output_dir`` that
    is the project's ``default_output`` anyway counts as not given: ``run`` (which names its
    output directory to serve it) then finds what ``compile PROJECT`` stored, and the reverse."""
    from wasmrun import __version__

    def value(option: object) -> object:
        return getattr(option, "value", option)

    if output_dir is not None and default_output is not None and same_path(output_dir, default_output):
        output_dir = None
    return {"project": str(project_dir), "output": None if output_dir is None else str(output_dir.absolute()),
            "optimization": value(optimization), "target": value(target), "language": language,
            "toolchain": toolchain, "extra_args": list(extra_args or []), "debug_info": debug_info,
            "optimize": optimize, "python": sys.executable, "wasmrun": __version__, "format": MANIFEST_FORMAT}


def same_path(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def manifest_path(cache: BuildCache, options: dict[str, Any]) -> Path:
    name = hashlib.sha256(json.dumps(options, sort_keys=True).encode("utf-8", "surrogateescape")).hexdigest()[:40]
    return cache.root / "manifests" / f"{name}.json"


def entry_key(options: dict[str, Any], inputs: Record) -> str:
    """The cache entry for a build: the invocation and the content of every input (not stamps)."""
    files = {p: (v[4] if v else None) for p, v in inputs["files"].items()}
    dirs = {p: (v[3] if v else None) for p, v in inputs["dirs"].items()}
    env = inputs.get("env_all") or inputs.get("env")
    body = json.dumps({"options": options, "files": files, "dirs": dirs, "env": env}, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8", "surrogateescape")).hexdigest()


class Lookup:
    """A lookup's answer: the candidate found, or why there was none (for ``-v`` and ``cache info``)."""

    __slots__ = ("candidate", "reason")

    def __init__(self, candidate: dict[str, Any] | None, reason: str) -> None:
        self.candidate = candidate
        self.reason = reason


def load(path: Path) -> list[dict[str, Any]]:
    """The candidates of a manifest; none when it is missing, unreadable or of another format."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return []
    if not isinstance(data.get("candidates"), list):
        return []
    return [c for c in data["candidates"] if isinstance(c, dict)]


def lookup(cache: BuildCache, options: dict[str, Any]) -> Lookup:
    """The newest candidate of the invocation whose inputs all match."""
    if not cache.enabled:
        return Lookup(None, "the build cache is off")
    candidates = load(manifest_path(cache, options))
    if not candidates:
        return Lookup(None, "no earlier build with these options")
    reasons: list[str] = []
    for candidate in candidates:
        try:
            difference = first_difference(candidate["inputs"], project_dir=options["project"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            difference = "its record is damaged"
        if difference is None:
            return Lookup(candidate, "every input matches")
        reasons.append(difference)
    more = f" (and {len(reasons) - 1} older builds differ)" if len(reasons) > 1 else ""
    return Lookup(None, reasons[0] + more)


def restore(options: dict[str, Any], *, cache: BuildCache | None = None) -> tuple[dict[str, Any] | None, str]:
    """(the result of ``compile`` with ``options``, as JSON with its outputs restored in place,
    or None; why). None when there is no matching candidate or its entry cannot be restored
    (damaged entries are discarded): the build then runs. Raises what placing the outputs raises
    (a file of the user's in the way)."""
    from wasmrun.cache import BuildCache
    from wasmrun.outputs import Staging

    started = time.perf_counter()
    cache = cache or BuildCache.default()
    found = lookup(cache, options)
    candidate = found.candidate
    if candidate is None:
        return None, found.reason
    try:
        result = dict(candidate["result"])
        output_dir = Path(candidate["output_dir"])
        key = str(candidate["key"])
    except (KeyError, TypeError, ValueError):
        return None, "its record is damaged"
    staging = Staging(output_dir)
    try:
        stored = cache.restore_files(key, staging.path)
        if stored is None:
            return None, "its stored output is missing or damaged"
        staged = [staging.path / rel for rel in (stored["wasm_path"], stored["js_path"], stored["html_path"],
                                                 *stored["additional_files"]) if rel is not None]
        staging.commit(staged, replace_previous=True)
    finally:
        staging.discard()
    if not Path(result["wasm_path"]).is_file():
        return None, "its output could not be placed"
    result.update(cached=True, commands=[], duration_s=round(time.perf_counter() - started, 4))
    return result, found.reason


def remember(cache: BuildCache, options: dict[str, Any], candidate: dict[str, Any]) -> None:
    """Put ``candidate`` first in the invocation's manifest (replacing one with the same key),
    under the manifest's lock; never fails a build."""
    from wasmrun.locking import file_lock

    path = manifest_path(cache, options)
    try:
        with file_lock(path.with_suffix(".lock")):
            kept = [c for c in load(path) if c.get("key") != candidate["key"]]
            candidates = [candidate, *kept][:MAX_CANDIDATES]
            write_json(path, {"format": MANIFEST_FORMAT, "options": options, "candidates": candidates})
    except OSError:
        pass


def forget(cache: BuildCache, options: dict[str, Any]) -> None:
    """Drop an invocation's manifest (its entries stay until evicted)."""
    with contextlib.suppress(OSError):
        os.unlink(manifest_path(cache, options))


#: Where recorded inputs are not worth watching: the system's and Python's own files.
_SYSTEM_PREFIXES = ("/usr/", "/lib/", "/lib64/", "/bin/", "/sbin/", "/opt/", "/etc/", "/proc/", "/sys/", "/dev/")


def recorded_outside(cache: BuildCache, options: dict[str, Any]) -> list[Path]:
    """The files the newest stored build of ``options`` read from outside its project (a header
    included by a relative path, a path dependency), leaving out the system's, Python's and
    wasmrun's own: what ``run --watch`` watches besides the project."""
    candidates = load(manifest_path(cache, options))
    if not candidates:
        return []
    project = str(options["project"]) + os.sep
    skipped = (*_SYSTEM_PREFIXES, sys.prefix + os.sep, sys.base_prefix + os.sep, str(cache.root) + os.sep)
    try:
        files = candidates[0]["inputs"]["files"]
        code = {str(p) for p in _code_roots()}
        return sorted(Path(p) for p, known in files.items()
                      if known is not None and not p.startswith(project) and not p.startswith(skipped)
                      and not any(p.startswith(root) for root in code))
    except (KeyError, TypeError, AttributeError):
        return []


def _code_roots() -> list[str]:
    """The directories wasmrun's own code and the installed packages' live in."""
    import site

    import wasmrun

    roots = [os.path.dirname(os.path.abspath(wasmrun.__file__)) + os.sep]
    roots += [p + os.sep for p in (*site.getsitepackages(), site.getusersitepackages())]
    return roots
