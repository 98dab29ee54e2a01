"""The stateful Python runtime: CPython 3.14 for WASI (componentize-py) exporting the cell
interface of :mod:`wasmrun.agent.runtimes`.

The guest (:data:`GUEST`) keeps one ``__main__`` namespace for the instance's life, so
``x = 41`` then ``print(x + 1)`` prints 42, like a notebook. Per exec it replaces ``sys.argv``,
``os.environ`` and ``sys.stdin``, changes to ``/`` (the session root), runs the code, prints an
uncaught exception's traceback as CPython does (without the runner's own frames; the cell's
source lines shown), and turns ``SystemExit`` into the exit code.

Blocking waits (``time.sleep``, asyncio's selector) are cut into 50 ms slices so that the
exec's time-out stops them (an epoch interrupt cannot reach a thread blocked in a host call), and
asyncio's event loop works without the socket pair WASI cannot make.

componentize-py bundles only the modules imported while it builds (it snapshots the
interpreter), so the guest imports the whole standard library then, every package's submodules
included, except what cannot work without a display or acts on import (:data:`NOT_PRELOADED`).

The component is built once into ``<cache>/agent/python-<digest>.wasm``; the digest covers the
componentize-py version, the WIT and the guest source, so a change to any rebuilds it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from wasmrun import component_tools, toolchain
from wasmrun.agent.runtimes import CELL_WIT, WASI_VERSION, WORLD, Runtime
from wasmrun.atomic import atomic_write
from wasmrun.errors import BuildError
from wasmrun.languages.python import guest_exit
from wasmrun.locking import file_lock

APP = "wasmrun_sandbox_python"
BUILD_TIMEOUT_S = 900.0
#: Never imported at build time: a display (tkinter, turtle, idlelib), effects on import (this,
#: antigravity, __hello__), the test suite (huge), and ``__main__`` modules (they run a tool).
NOT_PRELOADED = ("this", "antigravity", "__hello__", "__phello__", "idlelib", "tkinter", "turtle", "turtledemo",
                 "test", "tests", "__main__", "ensurepip", "pydoc_data", "lib2to3")

#: Standard modules componentize-py's CPython is built without (their C libraries are missing).
UNAVAILABLE = ("bz2", "lzma")

GUEST = '''"""wasmrun's stateful Python cell (generated from wasmrun.agent.runtimes.python)."""
import builtins
import io
import linecache
import os
import pkgutil
import sys
import traceback
import types

from wit_world import exports
from wasmrun_guest_exit import exit_status, without_runner

NOT_PRELOADED = frozenset(%(not_preloaded)r)


def _preload():
    """Import the whole standard library, so that componentize-py bundles it."""
    pending = sorted(sys.stdlib_module_names)
    seen = set()
    while pending:
        name = pending.pop()
        if name in seen or NOT_PRELOADED.intersection(name.split(".")):
            continue
        seen.add(name)
        try:
            module = __import__(name, fromlist=["_"])
        except BaseException:
            continue
        path = getattr(module, "__path__", None)
        if path:
            try:
                pending += [f"{name}.{info.name}" for info in pkgutil.iter_modules(path)]
            except BaseException:
                pass


_preload()


def _cooperative():
    """Blocking waits in slices of 50 ms, so that the worker's time-out (an epoch check in the
    interpreter's loop, which a host call does not reach) stops them too; and asyncio without
    its self-pipe (WASI has no socketpair, and no threads or signals that would need it)."""
    import selectors
    import time
    from asyncio import selector_events

    slice_s = 0.05
    sleep = time.sleep

    def sliced_sleep(seconds):
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            sleep(min(left, slice_s))

    sliced_sleep.__doc__ = sleep.__doc__
    time.sleep = sliced_sleep

    class SlicedSelector(selectors.DefaultSelector):
        def select(self, timeout=None):
            end = None if timeout is None else time.monotonic() + max(timeout, 0)
            while True:
                step = slice_s if end is None else max(0.0, min(slice_s, end - time.monotonic()))
                ready = super().select(step)
                if ready or (end is not None and time.monotonic() >= end):
                    return ready

    selectors.DefaultSelector = SlicedSelector
    loop = selector_events.BaseSelectorEventLoop
    loop._make_self_pipe = lambda self: None
    loop._close_self_pipe = lambda self: None
    loop._write_to_self = lambda self: None


_cooperative()

_MAIN = types.ModuleType("__main__")
_MAIN.__builtins__ = builtins
_MAIN.__file__ = None
_SEARCH_PATH = list(sys.path)


class Cell(exports.Cell):
    def run(self, req) -> int:
        sys.modules["__main__"] = _MAIN
        os.environ.clear()
        os.environ.update(dict(req.env))
        sys.argv = [req.filename, *req.args]
        sys.stdin = io.TextIOWrapper(io.BytesIO(bytes(req.stdin)), encoding="utf-8")
        sys.path[:] = [*req.paths, "/", *_SEARCH_PATH]
        try:
            os.chdir("/")
        except OSError:
            pass
        _MAIN.__file__ = req.filename
        lines = req.code.splitlines(True)
        linecache.cache[req.filename] = (len(req.code), None, lines, req.filename)
        try:
            exec(compile(req.code, req.filename, "exec", dont_inherit=True), _MAIN.__dict__)
            status = 0
        except SystemExit as exc:
            status = exit_status(exc.code)
        except BaseException as exc:
            try:
                traceback.print_exception(type(exc), exc, without_runner(exc.__traceback__, __file__))
            except BaseException:
                print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
            status = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        return status
'''


def guest_source() -> str:
    return GUEST % {"not_preloaded": NOT_PRELOADED}


def build(cache_dir: Path) -> Path:
    """The runtime component, built with the managed componentize-py on first use."""
    from wasmrun.languages.python.components import componentize_py

    source = guest_source()
    tool_dir = componentize_py()
    digest = hashlib.sha256("\0".join([component_tools.COMPONENTIZE_PY.version, CELL_WIT, source,
                                       guest_exit.source()]).encode())
    out = cache_dir / "agent" / f"python-{digest.hexdigest()[:20]}.wasm"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(out.with_suffix(".lock")):  # two servers starting at once build it once
        if out.is_file():
            return out
        _build(tool_dir, source, out)
    return out


def _build(tool_dir: Path, source: str, out: Path) -> None:
    from wasmrun.languages.python.components import command_argv

    with tempfile.TemporaryDirectory(prefix="wasmrun-agent-python-") as scratch_name:
        scratch = Path(scratch_name)
        wit_dir, app_dir = scratch / "wit", scratch / "app"
        shutil.copytree(component_tools.wasi_wit_packages(WASI_VERSION), wit_dir / "deps")
        (wit_dir / "world.wit").write_text(CELL_WIT, encoding="utf-8")
        app_dir.mkdir()
        (app_dir / f"{APP}.py").write_text(source, encoding="utf-8")
        (app_dir / f"{guest_exit.MODULE}.py").write_text(guest_exit.source(), encoding="utf-8")
        built = scratch / "python.wasm"
        argv = command_argv(tool_dir, wit_dir, WORLD, APP, [app_dir], built)
        toolchain.run(argv, cwd=scratch, what="componentize-py", timeout=BUILD_TIMEOUT_S)
        if not built.is_file():
            raise BuildError("componentize-py reported success but wrote no component")
        atomic_write(out, built.read_bytes(), durable=False)


RUNTIMES = (Runtime(language="python", build=build, default_filename="<exec>", package_cache=True, serves=("py",),
                    installer="wasmrun.agent.packages"),)
