"""Running a module natively through wasmtime, with WASI preview1.

The module gets nothing of the host unless granted: no directories (``dirs``), no environment
variables (``env``); stdin, stdout and stderr are the process's own.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasmrun.errors import EXIT_FAILURE, UsageError, WasmrunError


class ModuleTrap(WasmrunError):
    """The module trapped (unreachable, out-of-bounds access, stack overflow ...)."""

    exit_code = EXIT_FAILURE


@dataclass
class RunRequest:
    """What to run and what the module may see."""

    wasm_path: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    dirs: list[tuple[str, str]] = field(default_factory=list)  # (host, guest)
    invoke: str | None = None
    inherit_stdin: bool = True


@dataclass
class RunOutcome:
    exit_code: int
    results: list[Any] = field(default_factory=list)  # --invoke results


def parse_dir(spec: str) -> tuple[str, str]:
    """``HOST[::GUEST]``: the guest path defaults to the host path as given."""
    host, _, guest = spec.partition("::")
    if not host:
        raise UsageError(f"--dir needs a host directory: '{spec}'")
    if not Path(host).is_dir():
        raise UsageError(f"--dir {host}: not a directory")
    return host, guest or host


def parse_env(spec: str) -> tuple[str, str]:
    key, sep, value = spec.partition("=")
    if not sep or not key:
        raise UsageError(f"--env expects KEY=VALUE, not '{spec}'")
    return key, value


def _convert(value: str, valtype: Any, name: str) -> Any:
    import wasmtime

    try:
        if valtype in (wasmtime.ValType.i32(), wasmtime.ValType.i64()):
            return int(value, 0)
        if valtype in (wasmtime.ValType.f32(), wasmtime.ValType.f64()):
            return float(value)
    except ValueError:
        raise UsageError(f"argument '{value}' for {name} is not a valid {valtype}") from None
    raise UsageError(f"{name} takes a {valtype} parameter, which cannot be given on the command line")


def run_module(request: RunRequest) -> RunOutcome:
    """Instantiate and run; returns the exit code (``proc_exit``'s, 0 after ``_start`` returns)."""
    import wasmtime

    try:
        binary = request.wasm_path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {request.wasm_path}: {exc.strerror}") from None
    engine = wasmtime.Engine()
    try:
        module = wasmtime.Module(engine, binary)
    except wasmtime.WasmtimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise WasmrunError(f"{request.wasm_path} is not a valid module: {first}") from None
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [request.wasm_path.name, *request.args]
    wasi.env = list(request.env.items())
    for host, guest in request.dirs:
        wasi.preopen_dir(host, guest)
    if request.inherit_stdin:
        wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    try:
        instance = linker.instantiate(store, module)
    except wasmtime.WasmtimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise WasmrunError(f"cannot instantiate {request.wasm_path.name}: {first}") from None
    exports = instance.exports(store)
    name = request.invoke or "_start"
    func = exports.get(name) if name in [e.name for e in module.exports] else None
    if not isinstance(func, wasmtime.Func):
        available = ", ".join(e.name for e in module.exports if isinstance(e.type, wasmtime.FuncType)) or "none"
        if request.invoke:
            raise UsageError(f"no exported function '{name}' (exported functions: {available})")
        raise UsageError(f"module has no _start; call an export with --invoke NAME (exported functions: {available})")
    params = func.type(store).params
    call_args: list[Any] = []
    if request.invoke:
        if len(request.args) != len(params):
            raise UsageError(f"{name} takes {len(params)} argument(s), got {len(request.args)}")
        call_args = [_convert(a, t, name) for a, t in zip(request.args, params, strict=True)]
    try:
        result = func(store, *call_args)
    except wasmtime.ExitTrap as exc:
        return RunOutcome(exc.code)
    except wasmtime.Trap as exc:
        raise ModuleTrap(f"module trapped: {_trap_message(exc)}") from None
    except wasmtime.WasmtimeError as exc:
        raise ModuleTrap(f"module failed: {_trap_message(exc)}") from None
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    if result is None:
        results: list[Any] = []
    elif isinstance(result, Sequence) and not isinstance(result, (str, bytes)):
        results = list(result)
    else:
        results = [result]
    return RunOutcome(0, results)


def _trap_message(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    for line in lines:
        if "wasm trap:" in line:
            return line.split("wasm trap:", 1)[1].strip()
    return lines[-1] if lines else type(exc).__name__
