"""wasmrun-greeting: a complete wasmrun language plugin in one module.

A "greeting project" is a directory holding ``greeting.txt``; its build is a WASI command that
prints that text. It needs no external tool: the module is written in WebAssembly text and
assembled by wasmtime, which wasmrun already depends on.
"""

from __future__ import annotations

from pathlib import Path

import wasmrun
from wasmrun.models import BuildConfig, BuildResult, Capability, Claim, GlueKind, PluginInfo

ENTRY_FILE = "greeting.txt"

# A WASI command: put (pointer, length) of the text at address 0, call fd_write on stdout.
MODULE = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") {pages})
  (data (i32.const 16) "{data}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const {length}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


@wasmrun.hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name="greeting",
        version="0.1.0",
        description="greeting.txt to a WASI command that prints it",
        author="you",
        extensions=[".txt"],
        entry_files=[ENTRY_FILE],
        tools=["wasmtime (Python package)"],
        capabilities=[Capability.WASM, Capability.WASI],
    )


@wasmrun.hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    if (project_dir / ENTRY_FILE).is_file():
        return Claim(evidence=[ENTRY_FILE])
    return None  # not ours: let the other plugins claim it


@wasmrun.hookimpl
def validate_project(project_dir: Path) -> list[str]:
    if not (project_dir / ENTRY_FILE).read_bytes().strip():
        return [f"{ENTRY_FILE} is empty: write the greeting in it"]
    return []


@wasmrun.hookimpl
def build(config: BuildConfig) -> BuildResult:
    import wasmtime  # imported when a build runs, not when wasmrun starts

    text = (config.project_dir / ENTRY_FILE).read_bytes()
    source = MODULE.format(pages=1 + (16 + len(text)) // 65536, length=len(text),
                           data="".join(f"\\{byte:02x}" for byte in text))
    wasm = config.output_dir / "greeting.wasm"  # only under config.output_dir
    wasm.write_bytes(wasmtime.wat2wasm(source))
    return BuildResult(wasm_path=wasm, glue=GlueKind.WASI, toolchain="wasmtime wat2wasm")
