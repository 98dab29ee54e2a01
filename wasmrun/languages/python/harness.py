"""Call a compiled module's exported functions in-process through wasmtime, as Python values.

Used by the tests and the benchmark to put the compiled functions beside CPython running the same
source::

    module = LoadedModule(compile_source(source).wasm(), compiled.functions)
    module.call("fib", 27)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from wasmrun.languages.python.compiler import Function
from wasmrun.languages.python.types import PyType


class WasmError(Exception):
    """The module trapped or exited; ``message`` is what it wrote to stderr, else the trap."""

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class LoadedModule:
    """One instance of a compiled module, with WASI wired to temporary stdout/stderr files."""

    def __init__(self, binary: bytes, functions: dict[str, Function]) -> None:
        import wasmtime

        self._wasmtime = wasmtime
        self.functions = functions
        self.engine = wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, binary)
        self._tmp = tempfile.TemporaryDirectory(prefix="wasmrun-py-")
        self._out = Path(self._tmp.name) / "stdout"
        self._err = Path(self._tmp.name) / "stderr"
        self._reset_store()

    def _reset_store(self) -> None:
        wasmtime = self._wasmtime
        self.store = wasmtime.Store(self.engine)
        config = wasmtime.WasiConfig()
        config.stdout_file = str(self._out)
        config.stderr_file = str(self._err)
        self.store.set_wasi(config)
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        self.instance = linker.instantiate(self.store, self.module)
        self.exports = self.instance.exports(self.store)

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> LoadedModule:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def func(self, name: str) -> Any:
        """The raw wasmtime function (call it as ``f(module.store, *args)``)."""
        return self.exports[name]

    def call(self, name: str, *args: int | float | bool) -> int | float | bool | None:
        """Call an export; the result converted to the function's Python return type."""
        fn = self.functions[name]
        try:
            result = self.exports[name](self.store, *args)
        except self._wasmtime.ExitTrap as exc:
            message = self._err.read_text(errors="replace").strip()
            self._reset_store()  # proc_exit leaves the instance unusable
            raise WasmError(message or f"exit {exc.code}", exc.code) from None
        except self._wasmtime.Trap as exc:
            self._reset_store()
            raise WasmError(str(exc)) from None
        if fn.ret is PyType.BOOL:
            return bool(result)
        return result  # type: ignore[no-any-return]

    def stdout(self) -> str:
        return self._out.read_text(errors="replace")
