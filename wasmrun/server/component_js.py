"""A component in the browser: transpiled by jco into ES modules, run with the WASI 0.2 shim.

Browsers run core modules only, so ``wasmrun run`` turns a component into JavaScript with jco's
transpiler (``@bytecodealliance/jco-transpile``, the library behind ``jco transpile``) and the
page imports it with the browser build of ``@bytecodealliance/preview2-shim`` for its WASI
imports. Both come from wasmrun's managed install (:mod:`wasmrun.component_tools`), and the
server serves them itself: no CDN, so a page works offline. A transpiled component is kept in
wasmrun's cache under the digest of its bytes (and of the transpiler's version and script): a
rebuild that did not change the component, or a second ``run``, does not transpile again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wasmrun import component_tools
from wasmrun.errors import BuildError, MissingToolchainError

SHIM_PACKAGE = "@bytecodealliance/preview2-shim"
#: The page imports the shim under its package name; the import map sends it here.
SHIM_URL = "/__wasmrun/npm/preview2-shim/"
COMPONENT_URL = "/__wasmrun/component/"
SCRIPT = Path(__file__).with_name("transpile.mjs")
JS_NAME = "component"
TIMEOUT_S = 300.0


@dataclass
class Transpiled:
    """A transpiled component: its directory in the cache, the files in it, what it imports
    (shim modules), its exports as jco names them, and its top-level functions with their types."""

    digest: str
    directory: Path
    files: list[str]
    imports: list[str]
    exports: list[list[str]]
    functions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def js_url(self) -> str:
        return f"{COMPONENT_URL}{self.digest}/{JS_NAME}.js"

    @property
    def command(self) -> bool:
        return any(name == "run" or name.startswith("wasi:cli/run@") for name, _ in self.exports)

    def import_map(self) -> dict[str, dict[str, str]]:
        """Each shim module the component imports, mapped to the file the server serves."""
        prefix = SHIM_PACKAGE + "/"
        return {"imports": {name: f"{SHIM_URL}{name[len(prefix):]}.js" for name in self.imports
                            if name.startswith(prefix)}}

    def page_info(self) -> dict[str, Any]:
        return {"js": self.js_url, "command": self.command, "functions": self.functions,
                "imports": self.imports, "exports": [name for name, _ in self.exports]}

    def preloads(self) -> list[tuple[str, str]]:
        """What the page's head asks for at once, as (URL, kind): the ES modules (the component's
        and every shim module it reaches) and its core modules, so that nothing waits for the
        script that discovers it."""
        shim = shim_closure(list(self.import_map()["imports"].values()))
        modules = [self.js_url, *(f"{SHIM_URL}{name}" for name in shim)]
        wasm = [f"{COMPONENT_URL}{self.digest}/{f}" for f in self.files if f.endswith(".wasm")]
        return [(url, "module") for url in modules] + [(url, "wasm") for url in wasm]


_lock = threading.Lock()
_memo: dict[str, Transpiled] = {}


def transpiled_root() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "transpiled"


def transpile(component: Path) -> Transpiled:
    """The component at ``component`` transpiled (from the cache when it was before)."""
    data = component.read_bytes()
    # the component, and how it is transpiled: another script or jco-transpile is another entry
    how = SCRIPT.read_bytes() + component_tools.JCO_TRANSPILE.spec.encode()
    digest = hashlib.sha256(data + b"\0" + how).hexdigest()[:32]
    with _lock:
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
    index = component_tools.node_packages() / "@bytecodealliance" / "jco-transpile" / "dist" / "index.js"
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=directory.parent))
    try:
        source = staging / "input.wasm"
        source.write_bytes(data)
        out = staging / "out"
        try:
            proc = subprocess.run([node, str(SCRIPT), str(index), str(source), str(out), JS_NAME], capture_output=True,
                                  text=True, errors="replace", timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BuildError(f"jco transpile did not finish within {TIMEOUT_S:g} s") from None
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            reason = next((line.strip() for line in lines if "Error" in line), lines[-1] if lines else "")
            raise BuildError(f"jco transpile failed: {reason or f'exit code {proc.returncode}'}", output=proc.stderr)
        listing = json.loads(proc.stdout)
        done = Transpiled(digest=digest, directory=directory, files=list(listing["files"]),
                          imports=list(listing["imports"]), exports=[list(e) for e in listing["exports"]],
                          functions=component_functions(data))
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
    """The component's top-level exported functions with their parameter and result types as WIT
    writes them where they are used (``s32``, ``string``, ``list<u8>``), for the page's forms."""
    import wasmtime
    from wasmtime.component import Component

    from wasmrun.wasm.component import world_of
    from wasmrun.wasm.wit import Function, type_ref

    engine = wasmtime.Engine()
    try:
        world = world_of(Component(engine, data).type, engine)
    except wasmtime.WasmtimeError:
        return []
    return [{"name": item.name, "params": [{"name": n, "type": type_ref(t)} for n, t in item.params],
             "result": None if item.result is None else type_ref(item.result)}
            for item in world.exports if isinstance(item, Function)]


def shim_closure(urls: list[str]) -> list[str]:
    """The shim's files (names in its browser directory) that the modules at ``urls`` import,
    directly or through each other."""
    import re

    directory = shim_dir()
    wanted = [url.removeprefix(SHIM_URL) for url in urls if url.startswith(SHIM_URL)]
    seen: list[str] = []
    while wanted:
        name = wanted.pop()
        if name in seen or "/" in name:
            continue
        seen.append(name)
        with contextlib.suppress(OSError):
            text = (directory / name).read_text(encoding="utf-8")
            wanted += re.findall(r"""from\s+["']\./([\w.-]+\.js)["']""", text)
    return sorted(seen)


def shim_dir() -> Path:
    """The browser build of the WASI 0.2 shim, which ``SHIM_URL`` serves."""
    return component_tools.node_packages() / "@bytecodealliance" / "preview2-shim" / "dist" / "browser"
