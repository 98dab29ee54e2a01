"""``--target component``: the plugin's core module, wrapped into a component after its build.

Wrapping is wasmrun's own post-processing (as wasm-opt is, and after it), so every language that
builds a WASI command or a library gets components without a change to its plugin:

* a module exporting ``_start`` (a WASI command) becomes a ``wasi:cli/command`` component through
  the WASI preview 1 *command* adapter (``wasm-tools component new --adapt``);
* a library with a ``wit/`` directory becomes a component exporting that world: the WIT is
  embedded (``wasm-tools component embed wit/ core.wasm [-w WORLD]``) and the module's exports
  must be the world's functions under their canonical ABI names; ``world`` in ``wasmrun.toml``
  picks one when ``wit/`` holds several;
* a library without ``wit/`` gets a world generated from its exports' core types
  (:mod:`wasmrun.wasm.core_world`), written beside the component as ``NAME.wit``.

A library that imports WASI preview 1 gets the *reactor* adapter. A build that is a component
already (a plugin whose toolchain emits components says so with the ``component`` capability) is
used as it is. The tools come from :mod:`wasmrun.component_tools` (pinned, installed on first
use). For the build cache, the programs run (``wasm-tools``, by content), the adapter, the
project's ``wit/`` (present or not) and ``WASMRUN_TOOLS_DIR`` are inputs of the build, and
``--target`` is part of the invocation: another tool version, adapter or world is another build.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from wasmrun import component_tools, toolchain
from wasmrun.errors import BuildError
from wasmrun.models import BuildConfig, BuildInputs, BuildResult, GlueKind

if TYPE_CHECKING:
    from wasmrun.wasm.reader import WasmModule

log = logging.getLogger("wasmrun.componentize")

WIT_DIR = "wit"
WASI_PREVIEW1 = "wasi_snapshot_preview1"
TIMEOUT_S = 300.0


def ensure_tools() -> None:
    """Install the tools wrapping needs (when missing), before a build: the build then does not
    see them appear while it runs (which would keep it out of the build cache)."""
    component_tools.ensure(component_tools.WASM_TOOLS)
    component_tools.ensure(component_tools.JCO)


def componentize(result: BuildResult, config: BuildConfig) -> BuildResult:
    """Turn ``result.wasm_path`` (in the staging directory) into a component, in place; the result
    describes the component, with the generated WIT among its files when there is one."""
    from wasmrun.project_config import load_project_config
    from wasmrun.wasm.reader import WasmModule

    wasm = result.wasm_path
    module = WasmModule.from_file(wasm)
    if module.is_component:
        return result.model_copy(update={"glue": GlueKind.COMPONENT})
    wasi = any(item.module == WASI_PREVIEW1 for item in module.imports)
    command = any(e.name == "_start" and e.kind == "func" for e in module.exports)
    wit_dir = config.project_dir / WIT_DIR
    tool = str(component_tools.wasm_tools())
    probed: list[Path] = [wit_dir]
    extra: list[Path] = []
    adapter: Path | None = None
    staged = [wasm.with_name(f".{wasm.stem}.{step}.wasm") for step in ("core", "embedded", "component")]
    core, embedded, component = staged
    try:
        if command:
            adapter = component_tools.adapter("command")
            what = "wasi:cli/command"
            _wasm_tools(tool, "component", "new", wasm, "--adapt", f"{WASI_PREVIEW1}={adapter}", "-o", component)
        else:
            adapter = component_tools.adapter("reactor") if wasi else None
            if wit_dir.is_dir():
                world = load_project_config(config.project_dir).world
                probed += _wit_files(wit_dir)
                what = f"world {world}" if world else "the world of wit/"
                _wasm_tools(tool, "component", "embed", wit_dir, wasm, *(["-w", world] if world else []),
                            "-o", embedded)
            else:
                wit_file, world_name = _generated_world(module, wasm, core, config.project_dir.name)
                extra.append(wit_file)
                what = f"generated world {world_name} ({wit_file.name})"
                _wasm_tools(tool, "component", "embed", wit_file, core, "-w", world_name, "-o", embedded)
            adapt = ["--adapt", f"{WASI_PREVIEW1}={adapter}"] if adapter else []
            _wasm_tools(tool, "component", "new", embedded, *adapt, "-o", component)
        os.replace(component, wasm)
    finally:
        for path in staged:
            path.unlink(missing_ok=True)
    if adapter is not None:
        probed.append(adapter)
    inputs = result.inputs or BuildInputs()
    by = (f"{what}: wasm-tools {component_tools.WASM_TOOLS.version}"
          + (f", jco {component_tools.JCO.version} {adapter.name.split('.')[1]} adapter" if adapter else ""))
    return result.model_copy(update={
        "glue": GlueKind.COMPONENT,
        "additional_files": [*result.additional_files, *extra],
        "componentized_by": by,
        "inputs": inputs.model_copy(update={
            "probed": [*inputs.probed, *probed],
            # where the tools are looked for (None: the whole environment counts already)
            "environment": None if inputs.environment is None
            else [*inputs.environment, component_tools.TOOLS_DIR_VARIABLE]}),
    })


def _generated_world(module: WasmModule, wasm: Path, core: Path, project_name: str) -> tuple[Path, str]:
    """Write the generated world beside the module and the module with its WIT export names to
    ``core``; (the WIT file, the world's name)."""
    from wasmrun.wasm.core_world import generate_world, with_aliases

    world = generate_world(module, project_name)
    for name, why in world.skipped.items():
        log.warning("warning: %s is not in the generated world: %s", name, why)
    if not world.exported:
        raise BuildError(f"{wasm.name} exports no function a WIT world can describe from its core types; "
                         f"write the world in {WIT_DIR}/ to build it as a component")
    wit_file = wasm.with_suffix(".wit")
    wit_file.write_text(world.wit, encoding="utf-8")
    core.write_bytes(with_aliases(module.data, world.aliases))
    return wit_file, world.name


def _wit_files(wit_dir: Path) -> list[Path]:
    """Every file and directory under ``wit/`` (``deps/`` too): the world is made of them."""
    found: list[Path] = []
    for root, dirs, files in os.walk(wit_dir):
        dirs.sort()
        found += [Path(root) / d for d in dirs] + [Path(root) / f for f in sorted(files)]
    return found


def _wasm_tools(tool: str, *args: str | Path) -> None:
    try:
        toolchain.run([tool, *args], what="wasm-tools", timeout=TIMEOUT_S)
    except BuildError as exc:
        detail = [line for line in (exc.output or "").splitlines() if line.strip()]
        raise BuildError(f"wasm-tools {args[0]} {args[1]} failed: {_reason(detail) or exc.message}",
                         output=exc.output) from None


def _reason(lines: list[str]) -> str:
    """wasm-tools' error line with its innermost cause (``error: ...``, then ``Caused by:`` and
    numbered causes, the last one the most precise)."""
    first = next((line.removeprefix("error: ").strip() for line in lines if line.startswith("error")), "")
    causes = [line.strip().split(": ", 1)[-1] for line in lines if line.strip()[:2].rstrip(":").isdigit()]
    return f"{first}: {causes[-1]}" if first and causes else first
