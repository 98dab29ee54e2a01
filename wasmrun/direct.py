"""Direct mode: a build-cache hit decided without loading a single plugin.

The full road to a hit loads the config, pydantic, pluggy and every plugin, asks them who claims
the project, which files are its sources and which toolchain versions it would use, and hashes all
of that into the key (:mod:`wasmrun.cache`). That is some 0.2 s, nearly the whole time of a hit.
So each time the full road computes a key, it also writes a *direct record* for that exact
``compile`` invocation: the key, and a fingerprint of everything the key was computed from, taken
while it was computed:

* every file it read (sources, project settings, a toolchain's ``VERSION``), by size, times and
  inode; every directory it listed, by the names in it; every program it ran or asked for a
  version, by its stat;
* the environment: wasmrun's version, the interpreter, ``sys.path`` and every environment variable
  (so ``PATH``, ``RUSTFLAGS`` and ``WASMRUN_*`` among them), the config file, and the directories
  on ``PATH`` and ``sys.path`` (a tool or a plugin installed or removed changes them).

The next ``wasmrun compile`` with the same options checks that record with nothing but ``os.stat``
and ``os.listdir`` and, when every fingerprint matches, restores the entry at once. Anything
different and the full road runs and decides, so direct mode can only skip work, never change the
answer it gives. (ccache's "direct mode" does the same for C: a manifest of the headers a
compilation read, checked before running the preprocessor.)

Fingerprints are taken just before each read (Python's audit hooks report every ``open``,
``listdir``, ``scandir`` and ``subprocess.Popen``), so a file changed while the key is computed
never matches afterwards. A file changed within :data:`RACY_WINDOW_NS` of the record's start is
not trusted by its stat at all, as in the source memo. What is not seen: a plugin's existence
checks (``os.stat``) outside the project, and what a child process reads; a toolchain installed or
removed is still noticed through the ``PATH`` directories.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from wasmrun.cache import RACY_WINDOW_NS, BuildCache, _write_json, stat_stamp

#: Bumped when the record's layout or meaning changes: older records then never match.
RECORD_FORMAT = 1
#: Variables a shell changes without changing any build.
VOLATILE_VARIABLES = frozenset({"_", "OLDPWD", "PWD", "SHLVL", "COLUMNS", "LINES"})
#: Never fingerprinted: they change without changing what is read from them.
_IGNORED_PREFIXES = ("/proc/", "/dev/", "/sys/")

Stamp = list[Any]


# -- fingerprints ---------------------------------------------------------------------------------

def file_stamp(path: str) -> Stamp:
    """``["f", size, mtime, ctime, inode]``, or ``["x"]`` when nothing is there."""
    try:
        return ["f", *stat_stamp(os.stat(path))]
    except OSError:
        return ["x"]


def listing_stamp(path: str, output_dir: Path | None = None) -> Stamp:
    """``["d", sha256 of the sorted names]``: what a directory holds, whatever its timestamps,
    leaving out ``output_dir`` (deleting it must not look like a change of the project)."""
    leave_out = output_dir.name if output_dir is not None and str(output_dir.parent) == path else None
    try:
        names = sorted(n for n in os.listdir(path) if n != leave_out)
    except OSError:
        return ["x"]
    return ["d", hashlib.sha256("\0".join(names).encode()).hexdigest()]


def environment_fingerprint(data_dir: Path) -> str:
    """wasmrun, the interpreter, its import path and the environment, hashed."""
    from wasmrun import __version__

    plugins = str(data_dir) + os.sep  # installed plugins' directories join sys.path when loaded
    import_path = [p for p in sys.path if not p.startswith(plugins)]
    variables = sorted((k, v) for k, v in os.environ.items() if k not in VOLATILE_VARIABLES)
    document = [RECORD_FORMAT, __version__, sys.executable, sys.version, import_path, variables]
    return hashlib.sha256(json.dumps(document).encode()).hexdigest()


def _environment_paths(config_file: Path, data_dir: Path) -> list[str]:
    """Files and directories whose change may change the plugins or the tools found."""
    plugins = str(data_dir) + os.sep
    found = [str(config_file)]
    found += [p for p in sys.path if p and not p.startswith(plugins)]
    found += [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return found


def _fresh(stamp: Stamp, started_ns: int) -> bool:
    """A file stat that identifies its content: last changed well before the record began."""
    return bool(stamp[0] != "f" or max(stamp[2], stamp[3]) + RACY_WINDOW_NS < started_ns)


# -- recording ------------------------------------------------------------------------------------

_active: Trace | None = None
_hook_installed = False
#: Inputs outside any project seen by every trace in this process. Tools are asked once per
#: process (their answers are cached), so a later trace would not see them again; every record
#: carries them all.
_seen_outside: dict[str, Stamp] = {}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    trace = _active
    if trace is None or trace.busy:
        return
    if event == "open":
        path, mode, flags = args
        reading = (not any(c in mode for c in "wax+")) if isinstance(mode, str) else (
            isinstance(flags, int) and flags & os.O_ACCMODE == os.O_RDONLY)
        if reading and isinstance(path, str | bytes):
            trace.note(os.fsdecode(path), "file")
    elif event in ("os.listdir", "os.scandir"):
        path = args[0]
        if path is None or isinstance(path, str | bytes | os.PathLike):
            trace.note(os.fsdecode(path if path is not None else "."), "listing")
    elif event == "subprocess.Popen":
        executable, argv = args[0], args[1]
        program = executable or (argv[0] if isinstance(argv, list | tuple) and argv else argv)
        if isinstance(program, str | bytes | os.PathLike):
            trace.note_program(os.fsdecode(program))
    elif event == "wasmrun.tool_version":
        trace.note_program(str(args[0]))


class Trace:
    """What computing one cache key looked at, fingerprinted as it looked.

    Used as a context manager around the code that decides the key (it can be entered more than
    once); :func:`remember` then writes the record.
    """

    def __init__(self, project_dir: Path, cache_dir: Path | None = None) -> None:
        if cache_dir is None:
            from wasmrun.locations import Locations

            cache_dir = Locations.from_environment().cache_dir  # its memos change with no build changing
        self.project_dir = str(project_dir)
        self.output_dir: Path | None = None
        self.started_ns = time.time_ns()
        self.inputs: dict[str, Stamp] = {}
        self.key: str | None = None
        self.busy = False
        self._ignored = (str(cache_dir) + os.sep, *_IGNORED_PREFIXES)

    def set_output_dir(self, output_dir: Path) -> None:
        """Where the build goes: left out of the listing of its parent (deleting it changes no
        build). Known once the project's settings are read."""
        self.output_dir = output_dir
        if self.inputs.pop(str(output_dir.parent), None) is not None:
            self.note(str(output_dir.parent), "listing")
        self.note(self.project_dir, "listing")  # a new project file may change who claims it

    def __enter__(self) -> Trace:
        global _active, _hook_installed
        if not _hook_installed:
            sys.addaudithook(_audit)  # for the life of the process; idle unless a trace is active
            _hook_installed = True
        _active = self
        return self

    def __exit__(self, *exc: object) -> None:
        global _active
        _active = None

    def note(self, path: str, kind: str) -> None:
        """Fingerprint ``path`` (a file read, or a directory listed) unless already done."""
        path = os.path.abspath(path)
        if path in self.inputs or path.startswith(self._ignored) or path.endswith(".pyc"):
            return
        self.busy = True
        try:
            stamp = listing_stamp(path, self.output_dir) if kind == "listing" else file_stamp(path)
        finally:
            self.busy = False
        self.inputs[path] = stamp
        if not (path + os.sep).startswith(self.project_dir + os.sep):
            _seen_outside[path] = stamp

    def note_program(self, program: str) -> None:
        """A program run or asked for its version: the file it resolves to (on ``PATH``)."""
        import shutil

        self.busy = True
        try:
            found = program if os.sep in program else shutil.which(program)
            resolved = os.path.realpath(found) if found else None
        finally:
            self.busy = False
        if resolved:
            self.note(resolved, "file")

    def note_stamps(self, stamps: dict[str, list[int]]) -> None:
        """Sources the cache hashed (or knew by stat), with the stat it went by."""
        for path, stamp in stamps.items():
            self.inputs.setdefault(path, ["f", *stamp])


# -- the record -----------------------------------------------------------------------------------

def invocation(project_dir: Path, *, output_dir: Path | None = None, optimization: object = None,
               target: object = None, language: str | None = None, toolchain: str | None = None,
               extra_args: list[str] | None = None, debug_info: bool = False, optimize: bool = True) -> dict[str, Any]:
    """The options of a ``compile``, as the record is found by (defaults still unresolved; with
    none given, a plain ``compile PROJECT``, as ``exec PROJECT`` builds)."""
    def value(option: object) -> object:
        return getattr(option, "value", option)

    return {"project": str(project_dir), "output": None if output_dir is None else str(output_dir.absolute()),
            "optimization": value(optimization), "target": value(target), "language": language,
            "toolchain": toolchain, "extra_args": list(extra_args or []), "debug_info": debug_info,
            "optimize": optimize}


def record_path(cache: BuildCache, options: dict[str, Any]) -> Path:
    name = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:40]
    return cache.root / "direct" / f"{name}.json"


def remember(trace: Trace, options: dict[str, Any], result: dict[str, Any], *, cache: BuildCache | None = None) -> None:
    """Write the direct record for ``options``: ``result`` is what ``compile`` reported (as JSON),
    shown again on a direct hit. Nothing is written when the key is unknown, or when the record
    there already says the same and still holds."""
    from wasmrun.locations import Locations

    if trace.key is None or trace.output_dir is None:
        return
    cache = cache or BuildCache.default()
    locations = Locations.from_environment()
    environment = environment_fingerprint(locations.data_dir)
    path = record_path(cache, options)
    existing = _load(path)
    if existing is not None and existing.get("key") == trace.key and _valid(existing, options, environment):
        return
    inputs = dict(_seen_outside)
    inputs.update(trace.inputs)
    for extra in _environment_paths(locations.config_file, locations.data_dir):
        inputs.setdefault(os.path.abspath(extra), file_stamp(extra))
    record = {"format": RECORD_FORMAT, "options": options, "started_ns": trace.started_ns,
              "environment": environment, "key": trace.key, "output_dir": str(trace.output_dir),
              "result": {**result, "commands": [], "cached": True}, "inputs": inputs}
    with contextlib.suppress(OSError):
        _write_json(path, record)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == RECORD_FORMAT else None


def _valid(record: dict[str, Any], options: dict[str, Any], environment: str) -> bool:
    """Whether everything the record's key was computed from is as it was."""
    try:
        if record["options"] != options or record["environment"] != environment:
            return False
        started = int(record["started_ns"])
        output_dir = Path(record["output_dir"])
        for path, stamp in record["inputs"].items():
            if not _fresh(stamp, started):
                return False
            current = listing_stamp(path, output_dir) if stamp[0] == "d" else file_stamp(path)
            if current != stamp:
                return False
    except (KeyError, TypeError, ValueError, IndexError):
        return False
    return True


# -- the hit --------------------------------------------------------------------------------------

def restore(options: dict[str, Any], *, cache: BuildCache | None = None) -> dict[str, Any] | None:
    """The result of ``compile`` with ``options`` (as JSON), its outputs restored in place, when
    the direct record proves the build cache has it; None when the full road must decide (no
    record, anything changed, or a record or cache that cannot be read: direct mode only ever
    saves time). Raises what the full road would too, e.g. a file of the user's in the way."""
    started = time.perf_counter()
    try:
        result = _restore(options, cache or BuildCache.default())
    except (OSError, KeyError, TypeError, ValueError, IndexError):
        return None
    if result is not None:
        result["duration_s"] = round(time.perf_counter() - started, 4)
    return result


def _restore(options: dict[str, Any], cache: BuildCache) -> dict[str, Any] | None:
    from wasmrun.locations import Locations
    from wasmrun.outputs import Staging

    if not cache.enabled:
        return None
    record = _load(record_path(cache, options))
    if record is None or not _valid(record, options, environment_fingerprint(Locations.from_environment().data_dir)):
        return None
    result = dict(record["result"])
    output_dir = Path(record["output_dir"])
    staging = Staging(output_dir)
    try:
        stored = cache.restore_files(str(record["key"]), staging.path)
        if stored is None:
            return None
        staged = [staging.path / rel for rel in (stored["wasm_path"], stored["js_path"], stored["html_path"],
                                                 *stored["additional_files"]) if rel is not None]
        staging.commit(staged)
    finally:
        staging.discard()
    return result if Path(result["wasm_path"]).is_file() else None
