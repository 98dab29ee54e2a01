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
from wasmrun.agent.runtimes import js_cells

RUNTIME_JS = Path(__file__).with_name("js_runtime.js")
#: The interface every agent runtime exports (the Python one too); the JavaScript export is
#: the ``cell`` object of ``js_runtime.js``.
CELL_PACKAGE = "wasmrun:sandbox@0.1.0"
CELL_INTERFACE = f"{CELL_PACKAGE.split('@')[0]}/cell@{CELL_PACKAGE.split('@')[1]}"
WASI_VERSION = "0.2.12"
WORLD = f"""package {CELL_PACKAGE};

interface cell {{
  record request {{
    code: string, stdin: list<u8>, args: list<string>, env: list<tuple<string, string>>, paths: list<string>
  }}
  /// Runs code in the interpreter's persistent global scope; returns the exit code.
  run: func(req: request) -> s32;
}}

world sandbox {{
  include wasi:cli/imports@{WASI_VERSION};
  export cell;
}}
"""
BUILD_TIMEOUT_S = 300.0


def prelude() -> Path:
    from wasmrun.languages.javascript.build import PRELUDE

    return PRELUDE


def runtime_source() -> str:
    """The module componentize-qjs builds: the prelude, then the agent's cell runner."""
    return prelude().read_text(encoding="utf-8") + "\n" + RUNTIME_JS.read_text(encoding="utf-8")


def cache_key() -> str:
    """What the built component depends on: the pinned tools and the sources (a change to any
    builds a new component)."""
    digest = hashlib.sha256()
    for part in (component_tools.COMPONENTIZE_QJS.spec, component_tools.JCO.spec, WORLD, runtime_source()):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def cache_dir() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "agent" / "runtimes"


def component_path() -> Path:
    return cache_dir() / f"javascript-{cache_key()}.wasm"


def ensure_component() -> Path:
    """The runtime component, built first when the cache has none for these tools and sources
    (about 2 to 10 s; under a lock, so concurrent workers build it once)."""
    target = component_path()
    if target.is_file():
        return target
    from wasmrun.locking import file_lock

    with file_lock(cache_dir() / ".javascript.lock"):
        if target.is_file():
            return target
        build(target)
    return target


def build(target: Path) -> None:
    """componentize-qjs over the runtime source against the ``sandbox`` world, into ``target``
    (renamed into place only when complete)."""
    from wasmrun.languages.javascript.build import componentize

    scratch = Path(tempfile.mkdtemp(prefix="wasmrun-agent-js-"))
    try:
        wit = scratch / "wit"
        wit.mkdir()
        (wit / "world.wit").write_text(WORLD, encoding="utf-8")
        shutil.copytree(component_tools.wasi_wit_packages(WASI_VERSION), wit / "deps")
        out = scratch / "runtime.wasm"
        componentize(runtime_source(), wit, out, scratch, "sandbox")
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{os.getpid()}")
        shutil.copyfile(out, staged)
        os.replace(staged, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def prepare(source: str, language: Literal["javascript", "typescript"]) -> js_cells.Prepared:
    """The code ``run`` evaluates for one exec (see :func:`wasmrun.agent.runtimes.js_cells.prepare`)."""
    return js_cells.prepare(source, typescript=language == "typescript")
