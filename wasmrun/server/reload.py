"""Live reload: the build state pages follow, the rebuild, and the file watcher.

:class:`BuildState` is what the server reads: the last good build, the current error, and a
generation number that grows with every change a page should reload for. Pages follow it through
Server-Sent Events (``/__wasmrun/events``); :class:`Builder` rebuilds and publishes; :func:`watch`
turns file changes into rebuilds (source files) or plain reloads (anything else served).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasmrun.models import BuildResult
from wasmrun.paths import is_inside

#: Directory names never watched (besides hidden ones and the output directory).
IGNORED_DIRS = frozenset({"node_modules", "target", "wasmrun-out", "__pycache__", "zig-cache", "zig-out",
                          ".zig-cache"})
#: Editor scratch files: backups, swap files and vim's write test.
_SCRATCH_SUFFIXES = ("~", ".swp", ".swx", ".tmp")


@dataclass
class Event:
    """One thing pages hear about: ``reload``, ``build-failed`` or ``building`` (not ``error``, which
    is EventSource's own connection-error event)."""

    seq: int
    kind: str
    data: dict[str, Any]


class BuildState:
    """The shared state between the builder thread and the request threads."""

    def __init__(self, result: BuildResult | None = None) -> None:
        self._cond = threading.Condition()
        self.result = result
        self.error: str | None = None
        self.generation = 1
        self.building = False
        self.closed = False
        self._event = Event(0, "hello", {})

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            return {"generation": self.generation, "error": self.error, "building": self.building}

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        self._event = Event(self._event.seq + 1, kind, data)
        self._cond.notify_all()

    def started(self) -> None:
        with self._cond:
            self.building = True
            self._publish("building", {"generation": self.generation})

    def succeeded(self, result: BuildResult | None) -> None:
        """A good build (or, with ``result`` None, a change that needs no build): pages reload."""
        with self._cond:
            if result is not None:
                self.result = result
            self.error = None
            self.building = False
            self.generation += 1
            self._publish("reload", {"generation": self.generation})

    def failed(self, error: str) -> None:
        """A failed build: pages show ``error``; the last good build stays served."""
        with self._cond:
            self.error = error
            self.building = False
            self._publish("build-failed", {"generation": self.generation, "error": error})

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    @property
    def seq(self) -> int:
        with self._cond:
            return self._event.seq

    def wait(self, seen: int, timeout: float) -> Event | None:
        """The newest event after ``seen``; None on timeout or when the server is closing."""
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self._event.seq > seen, timeout=timeout)
            if self.closed or self._event.seq <= seen:
                return None
            return self._event


def build_error_text(exc: BaseException) -> str:
    """What a page shows for a failed build: the compiler's output, then wasmrun's one line."""
    from wasmrun.errors import BuildError, WasmrunError

    if isinstance(exc, BuildError):
        return "\n".join(part for part in (exc.output.rstrip(), f"error: {exc.message}") if part)
    if isinstance(exc, WasmrunError):
        return f"error: {exc.message}"
    return f"error: internal error: {type(exc).__name__}: {exc}"


@dataclass
class Builder:
    """Builds one project with fixed options and publishes the outcome to ``state``."""

    state: BuildState
    build: Callable[[], BuildResult]
    on_result: Callable[[BuildResult | None, str | None], None] = field(default=lambda result, error: None)
    #: Called with a good build before pages hear of it (the server reads the new module then,
    #: so that the reloading pages find it read).
    before_publish: Callable[[BuildResult], None] = field(default=lambda result: None)

    def rebuild(self) -> bool:
        self.state.started()
        started = time.perf_counter()
        try:
            result = self.build()
        except Exception as exc:  # noqa: BLE001  (any failure is shown on the page; the server stays up)
            text = build_error_text(exc)
            self.state.failed(text)
            self.on_result(None, text)
            return False
        if not result.duration_s:
            result = result.model_copy(update={"duration_s": round(time.perf_counter() - started, 4)})
        self.before_publish(result)
        self.state.succeeded(result)
        self.on_result(result, None)
        return True


def change_needs_rebuild(changes: Iterable[Path], *, outputs: Iterable[Path] = (),
                         recorded_inputs: Iterable[Path] | None = None,
                         sources: Callable[[], Iterable[Path]] = lambda: ()) -> bool:
    """Whether a batch of changed files (real paths) needs a rebuild, or only a page reload.

    - A file the build itself produced (``outputs``) is never a reason to build again.
    - When the build recorded what it read (``recorded_inputs``), only those files are, and the
      plugin's own list of sources and the evidence of its claim (``sources``, asked only then).
    - Otherwise any file may be an input: a C ``#include`` of a ``.txt``, emscripten's
      ``--shell-file`` page, Go's ``//go:embed``, a ``.js`` library; so every change rebuilds (a
      rebuild of unchanged inputs is a cache hit). A ``.html`` or ``.css`` the build never reads
      then costs a cache lookup before the reload, never a stale build.
    """
    produced = {Path(os.path.realpath(p)) for p in outputs}
    candidates = [p for p in changes if Path(os.path.realpath(p)) not in produced]
    if not candidates:
        return False
    if recorded_inputs is None:
        return True
    read = {Path(os.path.realpath(p)) for p in (*recorded_inputs, *sources())}
    return any(Path(os.path.realpath(p)) in read for p in candidates)


def own_dirs(output_dir: Path | None) -> list[Path]:
    """Where wasmrun itself writes while serving: the output directory (and the build's staging
    directory in it), the build cache, and the records of running servers; resolved."""
    from wasmrun.locations import Locations

    locations = Locations.from_environment()
    dirs = [locations.cache_dir, locations.state_dir, *([output_dir] if output_dir is not None else [])]
    return [Path(os.path.realpath(d)) for d in dirs]


def ignored(path: Path, root: Path, own: Iterable[Path]) -> bool:
    """Whether a change at ``path`` (under ``root``, which is resolved) is not one to react to:
    wasmrun's own writes (``own``, from :func:`own_dirs`) however the path reaches them, through
    a symlink to an ancestor directory included; hidden and build directories; editor scratch files."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return True
    real = Path(os.path.realpath(path))
    if any(is_inside(d, real, resolve=False) for d in own):
        return True
    views = [rel.parts]
    if real != path and is_inside(root, real, resolve=False):
        views.append(real.relative_to(root).parts)
    for parts in views:
        if any(p.startswith(".") or p in IGNORED_DIRS for p in parts[:-1]):
            return True
    name = real.name
    return name.startswith(".") or name.endswith(_SCRATCH_SUFFIXES) or name == "4913" or \
        rel.name.startswith(".") or rel.name.endswith(_SCRATCH_SUFFIXES)


def watch(root: Path, skip: Callable[[Path], bool], stop: threading.Event) -> Iterator[set[Path]]:
    """Batches of changed paths under ``root`` until ``stop`` is set.

    watchfiles (OS notifications, batches closed after 50 ms of quiet) when installed; otherwise
    a polling fallback that compares modification times every 0.2 s.
    """
    try:
        import watchfiles
    except ImportError:
        yield from _poll(root, skip, stop)
        return
    for changes in watchfiles.watch(root, watch_filter=lambda _change, path: not skip(Path(path)),
                                    stop_event=stop, debounce=1600, step=50, raise_interrupt=False,
                                    ignore_permission_denied=True):
        if stop.is_set():
            return
        # one path per file, however many links lead to it (a symlink to an ancestor directory
        # makes every file reachable twice, or more)
        yield {Path(os.path.realpath(path)) for _change, path in changes}


def _snapshot(root: Path, skip: Callable[[Path], bool]) -> dict[Path, float]:
    found: dict[Path, float] = {}
    for dirpath, dirs, files in os.walk(root):
        here = Path(dirpath)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in IGNORED_DIRS]
        for name in files:
            path = here / name
            if skip(path):
                continue
            try:
                found[path] = path.stat().st_mtime_ns
            except OSError:
                continue
    return found


def _poll(root: Path, skip: Callable[[Path], bool], stop: threading.Event, interval: float = 0.2
          ) -> Iterator[set[Path]]:
    before = _snapshot(root, skip)
    while not stop.wait(interval):
        after = _snapshot(root, skip)
        changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
        before = after
        if changed:
            yield {Path(os.path.realpath(path)) for path in changed}


def watch_inputs(files: Iterable[Path], stop: threading.Event) -> Iterator[set[Path]]:
    """Batches of changes in the directories of ``files`` (not below them): what a build read from
    outside its project, such as a header included as ``../shared/x.h``. A new file there counts
    too (it may shadow one on an include path); editor scratch files do not."""
    dirs = sorted({Path(os.path.realpath(f)).parent for f in files})
    existing = [d for d in dirs if d.is_dir()]
    if not existing:
        return
    try:
        import watchfiles
    except ImportError:  # pragma: no cover - watchfiles is a dependency
        return

    def wanted(_change: object, path: str) -> bool:
        name = os.path.basename(path)
        return not (name.startswith(".") or name.endswith(_SCRATCH_SUFFIXES) or name == "4913")

    for changes in watchfiles.watch(*existing, watch_filter=wanted, recursive=False, stop_event=stop, debounce=1600,
                                    step=50, raise_interrupt=False, ignore_permission_denied=True):
        if stop.is_set():
            return
        yield {Path(os.path.realpath(path)) for _change, path in changes}


@dataclass
class Watcher:
    """A thread that watches ``root`` and calls ``on_change`` with each batch of changes."""

    root: Path
    skip: Callable[[Path], bool]
    on_change: Callable[[set[Path]], None]
    stop_event: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wasmrun-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for changes in self._changes():
            self.on_change(changes)

    def _changes(self) -> Iterator[set[Path]]:
        return watch(self.root, self.skip, self.stop_event)

    def stop(self, timeout: float = 2.0) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)


@dataclass
class InputsWatcher(Watcher):
    """A :class:`Watcher` of the files a build read from outside its project (``inputs``; ``root``
    and ``skip`` are unused): ``run --watch`` rebuilds when one of them changes."""

    inputs: tuple[Path, ...] = ()

    def _changes(self) -> Iterator[set[Path]]:
        return watch_inputs(self.inputs, self.stop_event)
