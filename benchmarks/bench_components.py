"""Components: ``wasmrun exec`` of a hello component beside the same program as a core module.

Target (issue 15): the second ``exec`` of a hello component (its compilation cached) at most 1.5x
the second ``exec`` of the same program built as a core WASI module. Both are written in WAT:
the component is tests/components/hello.wat (wasi:cli/stdout through the canonical ABI), the
module prints the same line through ``fd_write``. The warm-up run fills the compiled-module
cache in a fresh WASMRUN_HOME, so every timed run is a second run.

    python benchmarks/bench_components.py [--runs N] [--quick]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import wasmtime
from _common import REPO, Step, Target, compare, console_script, report, runs_argument

HELLO_MODULE = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from a component\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 23))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def main() -> int:
    runs = runs_argument(15, quick=5)
    wasmrun = console_script("wasmrun")
    with tempfile.TemporaryDirectory(prefix="bench-components-") as tmp:
        root = Path(tmp)
        component = root / "hello-component.wasm"
        component.write_bytes(wasmtime.wat2wasm((REPO / "tests" / "components" / "hello.wat").read_text()))
        module = root / "hello-module.wasm"
        module.write_bytes(wasmtime.wat2wasm(HELLO_MODULE))
        env = {"WASMRUN_HOME": str(root / "home")}
        rows = [compare("exec hello component, second run", [Step([wasmrun, "exec", str(component)], env=env)],
                        "exec hello module, second run", [Step([wasmrun, "exec", str(module)], env=env)],
                        runs=runs, target=Target(1.5))]
    return report("components", rows)


if __name__ == "__main__":
    raise SystemExit(main())
