"""A component in the browser: transpiled by jco, bundled with the WASI 0.2 shim into one ES module.

Browsers run core modules only, so ``wasmrun run`` turns a component into JavaScript with jco's
generator, and esbuild bundles that with the browser build of ``@bytecodealliance/preview2-shim``
(its WASI imports) into ONE ES module. A component of at most :data:`SYNC_GENERATOR_BYTES` goes
first to jco 1.12.0's generator, the last whose glue carries no component-model async runtime
(for a hello component a quarter of the size: the page shows its output about 40 ms sooner);
a component it cannot read, or a larger one (whose time goes to its core modules, not the glue),
to jco-transpile (``@bytecodealliance/jco-transpile``, the library behind jco 1.35's ``transpile``).
The result is with the small core modules inlined: the page asks for one file, as it does
for a plain module, instead of the ten a transpiled component and the shim's modules make (each
found only once the one importing it has arrived). All three come from wasmrun's managed install
(:mod:`wasmrun.component_tools`), and the server serves the result itself: no CDN, so a page
works offline. A transpiled component is kept in wasmrun's cache under the digest of its bytes
(and of the transpiler's and bundler's versions and script): a rebuild that did not change the
component, or a second ``run``, does not transpile again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from wasmrun import component_tools
from wasmrun.errors import BuildError, MissingToolchainError

COMPONENT_URL = "/__wasmrun/component/"
SCRIPT = Path(__file__).with_name("transpile.mjs")
JS_NAME = "component"
#: Core modules up to this size are inlined into the bundle (base64): no request of their own. A
#: larger one (a whole language's runtime, tens of MB) is fetched and compiled as it streams in.
INLINE_CORE_BYTES = 256 * 1024
#: A bundle up to this size that fetches nothing (every core module inlined) is written into the
#: page itself, as an inline module script: the page is then one response, with no request for the
#: bundle to wait on (measured: the bundle's request was most of what the component page took
#: longer than a module's, whose small .wasm is fetched while the page parses).
INLINE_PAGE_BYTES = 1024 * 1024
#: Components up to this size are first given to jco 1.12.0's generator (glue without the async
#: runtime). A larger one (a whole language: tens of MB) goes to jco-transpile at once: its glue
#: is a small part of the page's work, and the older parser would take seconds to reject it.
SYNC_GENERATOR_BYTES = 1024 * 1024
TIMEOUT_S = 300.0
#: The shape of :func:`component_functions`' entries, stored with a transpiled component: another
#: shape is another cache entry (an entry stored by an older wasmrun lacks the type trees).
FUNCTIONS_FORMAT = b"functions: type trees, interfaces"


@dataclass
class Transpiled:
    """A transpiled component: its directory in the cache, the files in it (the bundle, and the
    core modules too large to inline), what it imports (shim modules, bundled), its exports as jco
    names them, its exported functions with their types (:func:`component_functions`), and which
    generator wrote its glue."""

    digest: str
    directory: Path
    files: list[str]
    imports: list[str]
    exports: list[list[str]]
    functions: list[dict[str, Any]] = field(default_factory=list)
    generator: str = ""

    @property
    def js_url(self) -> str:
        return f"{COMPONENT_URL}{self.digest}/{JS_NAME}.js"

    @property
    def command(self) -> bool:
        return any(name == "run" or name.startswith("wasi:cli/run@") for name, _ in self.exports)

    def page_info(self) -> dict[str, Any]:
        return {"js": self.js_url, "command": self.command, "functions": self.functions,
                "imports": self.imports, "exports": [name for name, _ in self.exports],
                "inline": self.inline_script is not None, "generator": self.generator}

    def preloads(self) -> list[tuple[str, str]]:
        """What the page's head asks for at once, as (URL, kind): the bundle (unless the page
        holds it), and the core modules not inlined into it, so that nothing waits for the script
        that discovers it."""
        wasm = [f"{COMPONENT_URL}{self.digest}/{f}" for f in self.files if f.endswith(".wasm")]
        bundle = [] if self.inline_script is not None else [(self.js_url, "module")]
        return bundle + [(url, "wasm") for url in wasm]

    @cached_property
    def inline_script(self) -> str | None:
        """The bundle's text for an inline ``<script type="module">`` in the page, or None when it
        stays a file of its own: it fetches core modules relative to its own URL, it is larger than
        :data:`INLINE_PAGE_BYTES`, or its text holds what would end or confuse an HTML script
        element (``</script``, ``<!--``). Read once."""
        return _inline_text(self.directory / f"{JS_NAME}.js", self.files)


def _inline_text(bundle: Path, files: list[str]) -> str | None:
    if files != [bundle.name]:
        return None
    try:
        if bundle.stat().st_size > INLINE_PAGE_BYTES:
            return None
        text = bundle.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lowered = text.lower()
    return None if "</script" in lowered or "<!--" in lowered else text


_lock = threading.Lock()
_memo: dict[str, Transpiled] = {}
#: The digest of each component file this process has read, by its path and ``stat`` identity:
#: the page asks on every load, and a whole-Python component is 40 MB to read and hash.
_digests: dict[tuple[str, tuple[int, ...]], str] = {}


def transpiled_root() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "transpiled"


def transpile(component: Path) -> Transpiled:
    """The component at ``component`` transpiled (from the cache when it was before)."""
    from wasmrun.wasm.known_files import identity

    seen = (str(component.absolute()), tuple(identity(component.stat())))
    with _lock:
        known = _digests.get(seen)
        if known is not None and known in _memo and _memo[known].directory.is_dir():
            return _memo[known]
    data = component.read_bytes()
    # the component, and how it is transpiled: another script or jco-transpile is another entry
    how = (SCRIPT.read_bytes() + component_tools.JCO_TRANSPILE.spec.encode() + component_tools.ESBUILD.spec.encode()
           + component_tools.JCO_SYNC_GENERATOR.encode() + str(INLINE_CORE_BYTES).encode()
           + str(SYNC_GENERATOR_BYTES).encode() + FUNCTIONS_FORMAT)
    digest = hashlib.sha256(data + b"\0" + how).hexdigest()[:32]
    with _lock:
        if seen == (str(component.absolute()), tuple(identity(component.stat()))):  # unchanged while read
            _digests[seen] = digest
        if digest in _memo and _memo[digest].directory.is_dir():
            return _memo[digest]
        directory = transpiled_root() / digest
        try:
            done = Transpiled(**{**json.loads((directory / "transpiled.json").read_text(encoding="utf-8")),
                                 "directory": directory})
        except (OSError, ValueError, TypeError):
            done = _transpile(data, digest, directory)
        _memo[digest] = done
        return done


def _transpile(data: bytes, digest: str, directory: Path) -> Transpiled:
    node = shutil.which("node")
    if node is None:
        raise MissingToolchainError("node is needed to run a component in the browser (apt-get install nodejs)")
    packages = component_tools.node_packages()
    index = packages / "@bytecodealliance" / "jco-transpile" / "dist" / "index.js"
    generator = str(component_tools.sync_generator()) if len(data) <= SYNC_GENERATOR_BYTES else "-"
    esbuild = component_tools.ensure(component_tools.ESBUILD) / "node_modules" / "esbuild" / "lib" / "main.js"
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=directory.parent))
    try:
        source = staging / "input.wasm"
        source.write_bytes(data)
        out = staging / "out"
        try:
            proc = subprocess.run([node, str(SCRIPT), str(index), generator, str(esbuild), str(packages), str(source),
                                   str(out), JS_NAME, str(INLINE_CORE_BYTES)], capture_output=True, text=True,
                                  errors="replace", timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BuildError(f"jco transpile did not finish within {TIMEOUT_S:g} s") from None
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("note: ")]
            reason = next((line.strip() for line in lines if "Error" in line), lines[-1] if lines else "")
            raise BuildError(f"jco transpile failed: {reason or f'exit code {proc.returncode}'}", output=proc.stderr)
        listing = json.loads(proc.stdout)
        done = Transpiled(digest=digest, directory=directory, files=list(listing["files"]),
                          imports=list(listing["imports"]), exports=[list(e) for e in listing["exports"]],
                          functions=component_functions(data), generator=str(listing.get("generator", "")))
        record = {k: v for k, v in asdict(done).items() if k != "directory"}
        (out / "transpiled.json").write_text(json.dumps(record), encoding="utf-8")
        try:
            os.replace(out, directory)
        except OSError:  # another wasmrun transpiled the same component meanwhile: keep theirs
            if not (directory / "transpiled.json").is_file():
                raise
        return done
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def component_functions(data: bytes) -> list[dict[str, Any]]:
    """The component's exported functions, for the page's forms: top-level ones and those of
    exported interfaces, named as ``exec --invoke`` names them (``example:shapes/geometry@0.1.0#area``;
    ``interface`` and ``function`` say where jco puts it), each parameter's and the result's type
    as WIT writes it where it is used (``list<item>``) and as a type tree (``tree``, ``result_tree``:
    :func:`wasmrun.wasm.wit.type_tree`), from which the page parses and prints WAVE values.
    Resource methods and constructors get no form (jco makes them methods of a class), nor a
    command's ``wasi:cli/run``."""
    import wasmtime
    from wasmtime.component import Component

    from wasmrun.wasm.component import world_of
    from wasmrun.wasm.wit import Function, type_ref, type_tree

    engine = wasmtime.Engine()
    try:
        world = world_of(Component(engine, data).type, engine, data)
    except wasmtime.WasmtimeError:
        return []

    def entry(function: Function, interface: str | None) -> dict[str, Any]:
        result = function.result
        return {"name": function.name if interface is None else f"{interface}#{function.name}",
                "interface": interface, "function": function.name,
                "params": [{"name": n, "type": type_ref(t), "tree": type_tree(t)} for n, t in function.params],
                "result": None if result is None else type_ref(result),
                "result_tree": None if result is None else type_tree(result)}

    out: list[dict[str, Any]] = []
    for item in world.exports:
        if isinstance(item, Function):
            out.append(entry(item, None))
        elif not item.name.startswith("wasi:cli/run@"):  # a command's run: what the page runs at once
            out.extend(entry(f, item.name) for f in item.functions if not f.name.startswith("["))
    return out
