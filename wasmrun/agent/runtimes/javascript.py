"""The agent's JavaScript and TypeScript runtime: a QuickJS component that keeps one global scope
per session and runs each exec's code in it.

The component is wasmrun's JavaScript prelude (:mod:`wasmrun.languages.javascript`: ``console``,
``process``, ``Promise``, timers, the event loop) plus ``js_runtime.js``, which exports the
``cell`` interface: ``run(request)`` evaluates the code by indirect ``eval``, drains promises and
timers, and returns the exit code (``process.exit(n)`` gives n without trapping the instance; an
uncaught exception prints ``Error: message`` and its stack on stderr and gives 1).
componentize-qjs (pinned, managed: :mod:`wasmrun.component_tools`) builds it once; the result is
cached under wasmrun's cache directory, keyed by the tool versions and the runtime's own sources,
so a change to either builds a new one and nothing else does.

The code of an exec is prepared on the host first (:func:`prepare`, see
:mod:`wasmrun.agent.runtimes.js_cells`): TypeScript is compiled with wasmrun's fixed options and
async functions are lowered onto the prelude's ``Promise``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from wasmrun import component_tools
from wasmrun.agent.runtimes import CELL_INTERFACE, CELL_WIT, WASI_VERSION, WORLD, Runtime, js_cells
from wasmrun.errors import WasmrunError

__all__ = ["CELL_INTERFACE", "RUNTIMES", "build", "prepare", "transform"]

RUNTIME_JS = Path(__file__).with_name("js_runtime.js")
FS_JS = Path(__file__).with_name("js_fs.js")
NODE_JS = Path(__file__).with_name("js_node.js")
DEFAULT_FILENAME = js_cells.DEFAULT_FILENAME
#: js_runtime.js's OUT_OF_MEMORY: what ``run`` returns when QuickJS ran out of memory.
OUT_OF_MEMORY = -2


def prelude() -> Path:
    from wasmrun.languages.javascript.build import PRELUDE

    return PRELUDE


def runtime_source() -> str:
    """The module componentize-qjs builds: the prelude, ``fs`` and ``path``, Node's other built-ins
    the sandbox provides (``js_node.js``), the cell runner."""
    return "\n".join(part.read_text(encoding="utf-8") for part in (prelude(), FS_JS, NODE_JS, RUNTIME_JS))


def cache_key() -> str:
    """What the built component depends on: the pinned tools and the sources (a change to any
    builds a new component)."""
    digest = hashlib.sha256()
    for part in (component_tools.COMPONENTIZE_QJS.spec, component_tools.JCO.spec, CELL_WIT, runtime_source()):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:20]


def default_cache_dir() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir


def component_path(cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / "agent" / f"javascript-{cache_key()}.wasm"


def build(cache_dir: Path | None = None) -> Path:
    """The runtime component in ``cache_dir`` (wasmrun's cache directory by default), built
    first when it has none for these tools and sources (2 to 10 s; under a lock, so concurrent
    workers build it once). The pinned esbuild is installed too, for the cells."""
    target = component_path(cache_dir)
    js_cells.warm()
    if target.is_file():
        return target
    from wasmrun.locking import file_lock

    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.with_suffix(".lock")):
        if target.is_file():
            return target
        _build(target)
    return target


def _build(target: Path) -> None:
    """componentize-qjs over the runtime source against the ``sandbox`` world, into ``target``
    (renamed into place only when complete)."""
    from wasmrun.languages.javascript.build import componentize

    scratch = Path(tempfile.mkdtemp(prefix="wasmrun-agent-js-"))
    try:
        wit = scratch / "wit"
        wit.mkdir()
        (wit / "world.wit").write_text(CELL_WIT, encoding="utf-8")
        shutil.copytree(component_tools.wasi_wit_packages(WASI_VERSION), wit / "deps")
        out = scratch / "runtime.wasm"
        componentize(runtime_source(), wit, out, scratch, WORLD)
        staged = target.with_name(f".{target.name}.{os.getpid()}")
        shutil.copyfile(out, staged)
        os.replace(staged, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def prepare(source: str, language: Literal["javascript", "typescript"],
            filename: str = DEFAULT_FILENAME) -> js_cells.Prepared:
    """The code ``run`` evaluates for one exec; a compile error raises
    :class:`~wasmrun.agent.runtimes.js_cells.CellCompileError`."""
    return js_cells.prepare(source, typescript=language in ("typescript", "ts"), filename=filename)


def transform(language: str, code: str, filename: str) -> str:
    """The protocol's host-side step (:attr:`Runtime.transform`): the prepared cell, or, when it
    does not compile, a cell that fails with the compiler's one line (exit code 1)."""
    try:
        return prepare(code, "typescript" if language in ("typescript", "ts") else "javascript", filename).code
    except js_cells.CellCompileError as error:
        return js_cells.failing_cell(error)
    except (OSError, WasmrunError) as error:  # esbuild missing and not installable, or not runnable
        return js_cells.failing_cell(js_cells.CellCompileError(f"Error: the compiler cannot run: {error}"))


RUNTIMES = (Runtime(language="javascript", build=build, default_filename=DEFAULT_FILENAME, transform=transform,
                    serves=("js", "typescript", "ts"), package_cache=True,
                    installer="wasmrun.agent.npm_packages", out_of_memory_status=OUT_OF_MEMORY),)
