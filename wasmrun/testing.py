"""Helpers for testing wasmrun and its plugins: run a built module and capture what it prints,
and require a toolchain in a way CI cannot silently skip.

Importing this module is cheap: wasmtime and pytest are imported only when a helper runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Tools that cannot be installed on wasmrun's CI machines; tests needing them may skip even
#: under ``WASMRUN_REQUIRE_TOOLCHAINS=1`` (their routes still test the "missing tool" message).
UNINSTALLABLE_TOOLS = frozenset({"wasm-bindgen", "wasm-pack", "trunk", "tinygo", "wasi-sdk"})


@dataclass
class WasmRun:
    """What a module did: its exit code and everything it wrote."""

    exit_code: int
    stdout: str
    stderr: str


def run_wasm(
    wasm: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    stdin: str | bytes = b"",
) -> WasmRun:
    """Run a WASI command (``_start``) under wasmtime and capture stdout and stderr."""
    import wasmtime

    path = Path(wasm)
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(path))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    with tempfile.TemporaryDirectory(prefix="wasmrun-run-") as tmp:
        out, err, inp = (Path(tmp) / name for name in ("stdout", "stderr", "stdin"))
        inp.write_bytes(stdin.encode() if isinstance(stdin, str) else stdin)
        config = wasmtime.WasiConfig()
        config.argv = [path.name, *args]
        config.env = list((env or {}).items())
        config.stdout_file = str(out)
        config.stderr_file = str(err)
        config.stdin_file = str(inp)
        store.set_wasi(config)
        instance = linker.instantiate(store, module)
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        code = 0
        try:
            start(store)
        except wasmtime.ExitTrap as exc:
            code = exc.code
        return WasmRun(code, out.read_text(errors="replace"), err.read_text(errors="replace"))


def toolchains_required() -> bool:
    """CI sets ``WASMRUN_REQUIRE_TOOLCHAINS=1``: a missing toolchain then fails instead of skipping."""
    return os.environ.get("WASMRUN_REQUIRE_TOOLCHAINS", "") not in ("", "0")


def require_tool(name: str, *, found: bool | None = None) -> None:
    """Skip the calling test when ``name`` is missing, or fail under WASMRUN_REQUIRE_TOOLCHAINS=1
    unless the tool is one of :data:`UNINSTALLABLE_TOOLS`.

    :param found: whether the tool is there, when ``shutil.which(name)`` cannot tell.
    """
    import pytest

    present = shutil.which(name) is not None if found is None else found
    if present:
        return
    if toolchains_required() and name not in UNINSTALLABLE_TOOLS:
        pytest.fail(f"{name} is required (WASMRUN_REQUIRE_TOOLCHAINS=1) but not installed; "
                    "run scripts/install-toolchains.sh")
    pytest.skip(f"{name} not installed")
