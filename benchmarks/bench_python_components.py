"""Whole Python as components (issue 16): wasmrun's build and run of hello.py beside componentize-py
and wasmtime-py used directly, in the same run.

* **build**: ``wasmrun compile --no-cache HELLO`` against componentize-py run directly on the
  same app (the runner, world and WASI WIT packages wasmrun writes, prepared once beforehand by
  :func:`wasmrun.languages.python.components.prepare_program`). Target: at most 10% plus 0.5 s.
* **run, second time**: ``wasmrun exec hello.wasm`` (its compiled-component cache warm) against a
  bare wasmtime-py script that deserializes the same component, precompiled once, links WASI 0.2
  and calls ``wasi:cli/run``. Target: at most 1.25x.

Both use one ``WASMRUN_HOME``; componentize-py is installed there by the warm-up build.

    python benchmarks/bench_python_components.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import Row, Step, Target, add_runs_arguments, chosen_runs, compare, console_script, report

BUILD_TARGET = Target(1.10, 0.5)
RUN_TARGET = Target(1.25)
HELLO = 'print("hello, world")\n'

BARE_RUNNER = '''import sys

import wasmtime
from wasmtime.component import Component, Linker

engine = wasmtime.Engine()
component = Component.deserialize_file(engine, sys.argv[1])
linker = Linker(engine)
linker.add_wasip2()
store = wasmtime.Store(engine)
wasi = wasmtime.WasiConfig()
wasi.inherit_stdout()
wasi.inherit_stderr()
store.set_wasi(wasi)
instance = linker.instantiate(store, component)
interface = instance.get_export_index(store, "wasi:cli/run@0.2.12")
run = instance.get_func(store, instance.get_export_index(store, "run", interface))
result = run(store)
sys.exit(1 if getattr(result, "tag", "ok") == "err" else 0)
'''


def prepare_yardstick_app(project: Path, scratch: Path, env: dict[str, str]) -> list[str]:
    """componentize-py's own command line for the app wasmrun would build (written into scratch)."""
    code = ("import json, sys; from pathlib import Path; "
            "from wasmrun.languages.python import components; "
            "p = Path(sys.argv[1]); s = Path(sys.argv[2]); "
            "app = components.prepare_program(p, p / 'main.py', s, [], None, s / 'direct.wasm'); "
            "print(json.dumps(app.argv))")
    out = subprocess.run([sys.executable, "-c", code, str(project), str(scratch)], env=env, capture_output=True,
                         text=True, check=True).stdout
    import json

    return list(json.loads(out))


def main() -> int:
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, 5, quick=2)
    runs = chosen_runs(parser.parse_args())
    wasmrun = console_script("wasmrun")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-python-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "WASMRUN_HOME": str(root / "home")}
        project = root / "hello"
        project.mkdir()
        (project / "main.py").write_text(HELLO, encoding="utf-8")
        warm = subprocess.run([wasmrun, "compile", "--no-cache", str(project)], env=env, capture_output=True,
                              text=True, check=False)  # installs componentize-py and the WIT packages once
        if warm.returncode != 0:
            raise SystemExit(f"wasmrun compile {project} failed:\n{warm.stderr}")
        scratch = root / "direct"
        scratch.mkdir()
        direct = prepare_yardstick_app(project, scratch, env)
        rows.append(compare("build hello.py (cache off)", [Step([wasmrun, "compile", "--no-cache", str(project)])],
                            "componentize-py directly on the same app", [Step(direct, cwd=scratch)],
                            runs=runs, target=BUILD_TARGET, warmup=0, env=env))

        wasm = project / "wasmrun-out" / "hello.wasm"
        precompiled = root / "hello.cwasm"
        subprocess.run([sys.executable, "-c", "import sys, wasmtime; from wasmtime.component import Component; "
                        "e = wasmtime.Engine(); open(sys.argv[2], 'wb').write("
                        "Component.from_file(e, sys.argv[1]).serialize())", str(wasm), str(precompiled)],
                       check=True)
        bare = root / "bare_run.py"
        bare.write_text(BARE_RUNNER, encoding="utf-8")
        # the first exec compiles and caches the component; every timed run is a second time
        rows.append(compare("exec hello.wasm (second time)", [Step([wasmrun, "exec", str(wasm)])],
                            "bare wasmtime-py script, precompiled component",
                            [Step([sys.executable, str(bare), str(precompiled)])],
                            runs=runs, target=RUN_TARGET, warmup=1, env=env))
    return report("python_components", rows)


if __name__ == "__main__":
    raise SystemExit(main())
