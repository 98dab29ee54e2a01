"""Running a module natively through wasmtime, with WASI preview1 (or a WASI 0.2 command component).

The module gets nothing of the host unless granted: no directories (``dirs``), no environment
variables (``env``); stdin, stdout and stderr are the process's own.

Exit codes (:mod:`wasmrun.errors`): the module's own ``proc_exit`` code passes through (0 when
``_start`` returns); a trap is ``EXIT_TRAP`` (134); ``--max-memory`` refusing memory the module
needed ``EXIT_MEMORY_LIMIT`` (137); ``--timeout`` ``EXIT_TIMEOUT`` (142); ``--fuel`` running out
``EXIT_OUT_OF_FUEL`` (152); a module that is invalid or refused 1; bad arguments 2.
"""

from __future__ import annotations

import math
import struct
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasmrun.errors import (
    EXIT_FAILURE,
    EXIT_MEMORY_LIMIT,
    EXIT_OUT_OF_FUEL,
    EXIT_TIMEOUT,
    EXIT_TRAP,
    ModuleRefusedError,
    UsageError,
    WasmFormatError,
    WasmrunError,
)


class ModuleTrap(WasmrunError):
    """The module trapped (unreachable, out-of-bounds access, stack overflow ...)."""

    exit_code = EXIT_TRAP

    def __init__(self, message: str, *, backtrace: Sequence[str] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.backtrace = list(backtrace)


class OutOfFuel(ModuleTrap):
    exit_code = EXIT_OUT_OF_FUEL


class TimedOut(ModuleTrap):
    exit_code = EXIT_TIMEOUT


class MemoryLimitReached(ModuleTrap):
    exit_code = EXIT_MEMORY_LIMIT


class InvalidModule(WasmrunError):
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
    fuel: int | None = None
    timeout: float | None = None  # seconds
    max_memory: int | None = None  # bytes, per linear memory
    cache_dir: Path | None = None  # compiled-module cache; None: no cache
    argv0: str | None = None  # the program name the module sees (default: the file name)


@dataclass
class RunOutcome:
    exit_code: int
    results: list[Any] = field(default_factory=list)  # --invoke results
    result_types: list[str] = field(default_factory=list)
    from_cache: bool = False

    def formatted_results(self) -> list[str]:
        return [format_value(v, t) for v, t in zip(self.results, self.result_types, strict=False)]


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


_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
               "g": 1000**3, "gb": 1000**3, "gib": 1024**3}


def parse_size(text: str, option: str = "size") -> int:
    """``1048576``, ``64KiB``, ``16M``, ``1GiB``: a byte count (K, M, G are powers of 1000)."""
    import re

    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise UsageError(f"{option} expects a byte count such as 1048576, 64KiB or 16M, not '{text}'")
    return int(match.group(1)) * _SIZE_UNITS[unit]


# ---------------------------------------------------------------------------------------------
# Values on the command line

_INT_RANGES = {"i32": 32, "i64": 64}


def parse_value(text: str, valtype: str, what: str = "argument") -> int | float:
    """A command-line word as a value of ``valtype``: integers in decimal or 0x hex, signed or
    unsigned (wrapped to the signed value wasm passes), floats in any Python float syntax
    (``1.5``, ``-2e3``, ``nan``, ``inf``) or hex (``0x1p-3``)."""
    text = text.strip()
    if valtype in _INT_RANGES:
        bits = _INT_RANGES[valtype]
        try:
            value = int(text, 10)
        except ValueError:
            try:
                value = int(text, 0)
            except ValueError:
                raise UsageError(f"{what} '{text}' is not an {valtype} (an integer)") from None
        if not -(1 << (bits - 1)) <= value < 1 << bits:
            raise UsageError(f"{what} '{text}' is out of range for {valtype}")
        return value - (1 << bits) if value >= 1 << (bits - 1) else value
    if valtype in ("f32", "f64"):
        try:
            number = float.fromhex(text) if "0x" in text.lower() else float(text)
        except ValueError:
            raise UsageError(f"{what} '{text}' is not an {valtype} (a number)") from None
        if valtype == "f32" and math.isfinite(number) and abs(number) > 3.4028234663852886e38:
            raise UsageError(f"{what} '{text}' is out of range for f32")
        return number
    raise UsageError(f"{what} has type {valtype}, which cannot be given on the command line")


def format_value(value: Any, valtype: str) -> str:
    """A result as wasmrun prints it: integers signed, f32 as its shortest round-tripping decimal."""
    if valtype == "f32" and isinstance(value, float) and math.isfinite(value):
        packed = struct.pack("<f", value)
        for digits in range(1, 10):
            text = f"{value:.{digits}g}"
            if struct.pack("<f", float(text)) == packed:
                return _float_text(text)
    if isinstance(value, float):
        return _float_text(repr(value))
    return str(value)


def _float_text(text: str) -> str:
    if text in ("inf", "-inf", "nan"):
        return text
    return text if any(c in text for c in ".en") else text + ".0"


# ---------------------------------------------------------------------------------------------
# Running


def _engine(request: RunRequest) -> tuple[Any, dict[str, Any]]:
    import wasmtime

    config = wasmtime.Config()
    settings: dict[str, Any] = {"consume_fuel": request.fuel is not None,
                                "epoch_interruption": request.timeout is not None}
    config.consume_fuel = settings["consume_fuel"]
    config.epoch_interruption = settings["epoch_interruption"]
    return wasmtime.Engine(config), settings


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _compile(engine: Any, binary: bytes, settings: dict[str, Any], request: RunRequest, *,
             component: bool) -> tuple[Any, bool]:
    import wasmtime

    from wasmrun.wasm.compile_cache import load_or_compile

    kind: Any = wasmtime.Module
    if component:
        from wasmtime.component import Component

        kind = Component

    def compile_() -> Any:
        try:
            return kind(engine, binary)
        except wasmtime.WasmtimeError as exc:
            from wasmrun.wasm.verify import wasmtime_error_detail

            text, offset = wasmtime_error_detail(exc)
            where = "" if offset is None else f" (at byte offset {offset})"
            raise InvalidModule(f"{request.wasm_path} is not a valid {'component' if component else 'module'}: "
                                f"{text}{where}") from None

    return load_or_compile(
        binary, {**settings, "component": component},
        compile=compile_,
        deserialize=lambda path: kind.deserialize_file(engine, path),
        serialize=lambda artifact: bytes(artifact.serialize()),
        cache_dir=request.cache_dir,
    )


def _wasi(request: RunRequest) -> Any:
    import wasmtime

    wasi = wasmtime.WasiConfig()
    wasi.argv = [request.argv0 or request.wasm_path.name, *request.args]
    wasi.env = list(request.env.items())
    for host, guest in request.dirs:
        wasi.preopen_dir(host, guest)
    if request.inherit_stdin:
        wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    return wasi


def _store(engine: Any, request: RunRequest) -> Any:
    import wasmtime

    store = wasmtime.Store(engine)
    if request.fuel is not None:
        store.set_fuel(request.fuel)
    if request.timeout is not None:
        store.set_epoch_deadline(1)
    if request.max_memory is not None:
        store.set_limits(memory_size=request.max_memory)
    store.set_wasi(_wasi(request))
    return store


class _Watchdog:
    """Interrupts the engine after ``timeout`` seconds (through epoch interruption)."""

    def __init__(self, engine: Any, timeout: float | None) -> None:
        self.timer = None if timeout is None else threading.Timer(timeout, engine.increment_epoch)
        if self.timer is not None:
            self.timer.daemon = True

    def __enter__(self) -> _Watchdog:
        if self.timer is not None:
            self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.timer is not None:
            self.timer.cancel()


def _backtrace(exc: Any) -> list[str]:
    try:
        frames = exc.frames or []
    except Exception:  # noqa: BLE001 - a trap without frames
        return []
    lines = []
    for i, frame in enumerate(frames):
        name = frame.func_name or f"<wasm function {frame.func_index}>"
        lines.append(f"{i:>4}: 0x{frame.module_offset:x} - {name}")
    return lines


def _trap_message(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    for line in lines:
        if "wasm trap:" in line:
            return line.split("wasm trap:", 1)[1].strip()
    return lines[-1] if lines else type(exc).__name__


def _memory_near_limit(store: Any, instance: Any, limit: int | None) -> int | None:
    """The size of an exported memory that could not grow under ``limit`` by one page, if any."""
    if limit is None or instance is None:
        return None
    import wasmtime

    try:
        for item in instance.exports(store).values():
            if isinstance(item, wasmtime.Memory):
                size = int(item.data_len(store))
                if size + 65536 > limit:
                    return size
    except Exception:  # noqa: BLE001 - best effort, after a failure already
        return None
    return None


def _stopped(exc: Exception, request: RunRequest, store: Any, instance: Any) -> ModuleTrap:
    """The error for a trap, telling apart traps wasmrun caused (fuel, timeout, memory limit)."""
    import wasmtime

    code = getattr(exc, "trap_code", None) if isinstance(exc, wasmtime.Trap) else None
    backtrace = _backtrace(exc)
    name = request.wasm_path.name
    if code == wasmtime.TrapCode.OUT_OF_FUEL:
        return OutOfFuel(f"{name} ran out of fuel: all {request.fuel:,} units of --fuel consumed",
                         backtrace=backtrace, hint="give it more with --fuel N, or drop --fuel")
    if code == wasmtime.TrapCode.INTERRUPT:
        return TimedOut(f"{name} timed out: still running after --timeout {request.timeout:g} s", backtrace=backtrace)
    message = _trap_message(exc)
    size = _memory_near_limit(store, instance, request.max_memory)
    if size is not None:
        return MemoryLimitReached(
            f"{name} hit the memory limit: its memory is {size:,} bytes and --max-memory is "
            f"{request.max_memory:,}, so growing it failed (then: {message})", backtrace=backtrace)
    return ModuleTrap(f"{name} trapped: {message}", backtrace=backtrace)


def _check_runnable(binary: bytes, request: RunRequest) -> list[str] | None:
    """Raise when the binary cannot run natively (it needs JS glue, or is a component that is not a
    WASI 0.2 command); returns None for a core module, the run interfaces for a component."""
    from wasmrun.wasm.inspect import classify
    from wasmrun.wasm.reader import WasmModule

    try:
        module = WasmModule(binary, request.wasm_path)
        conclusion = classify(module, str(request.wasm_path))
    except WasmFormatError as exc:
        raise InvalidModule(f"{request.wasm_path} is not a valid module: {exc.message}") from None
    if conclusion.kind == "js-glue":
        raise ModuleRefusedError(
            f"{request.wasm_path.name} needs its JS glue ({conclusion.glue}) and cannot run natively",
            hint="serve its project in a browser with `wasmrun run PROJECT`")
    if module.is_component and conclusion.command is None:
        raise ModuleRefusedError(f"{request.wasm_path.name}: {conclusion.summary}",
                                 hint="exec runs components that export wasi:cli/run (WASI 0.2 commands)")
    if module.is_component and request.invoke:
        raise UsageError("--invoke calls core-module exports; this is a component (run it without --invoke)")
    if not module.is_component:
        return None
    return [e.name for e in module.component_exports if e.name.startswith("wasi:cli/run@")]


def run_module(request: RunRequest) -> RunOutcome:
    """Instantiate and run; the outcome's exit code is ``proc_exit``'s (0 after ``_start`` returns)."""
    try:
        binary = request.wasm_path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {request.wasm_path}: {exc.strerror}") from None
    run_interfaces = _check_runnable(binary, request)
    is_component = run_interfaces is not None
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    engine, settings = _engine(request)
    artifact, cached = _compile(engine, binary, settings, request, component=is_component)
    if is_component:
        outcome = _run_component(engine, artifact, request, run_interfaces or [])
    else:
        outcome = _run_core(engine, artifact, request)
    outcome.from_cache = cached
    return outcome


def _instantiate_error(exc: Exception, request: RunRequest) -> WasmrunError:
    message = _first_line(exc)
    if request.max_memory is not None and "limit" in message.lower():
        return MemoryLimitReached(f"{request.wasm_path.name} needs more memory than --max-memory "
                                  f"{request.max_memory:,} bytes allows: {message}")
    return WasmrunError(f"cannot instantiate {request.wasm_path.name}: {message}",
                        hint="exec provides WASI preview1 imports only")


def _run_core(engine: Any, module: Any, request: RunRequest) -> RunOutcome:
    import wasmtime

    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = _store(engine, request)
    instance = None
    exports = {e.name: e.type for e in module.exports}
    functions = ", ".join(n for n, t in exports.items() if isinstance(t, wasmtime.FuncType)) or "none"
    name = request.invoke or "_start"
    if not isinstance(exports.get(name), wasmtime.FuncType):
        if request.invoke:
            raise UsageError(f"no exported function '{name}' (exported functions: {functions})")
        raise UsageError(f"module has no _start; call an export with --invoke NAME (exported functions: {functions})")
    func_type = exports[name]
    params = [str(t) for t in func_type.params]
    result_types = [str(t) for t in func_type.results]
    call_args: list[Any] = []
    if request.invoke:
        if len(request.args) != len(params):
            signature = f"({', '.join(params)}) -> ({', '.join(result_types)})"
            raise UsageError(f"{name} {signature} takes {len(params)} argument(s), got {len(request.args)}")
        call_args = [parse_value(a, t, f"argument {i + 1} of {name}")
                     for i, (a, t) in enumerate(zip(request.args, params, strict=True))]
    with _Watchdog(engine, request.timeout):
        try:
            instance = linker.instantiate(store, module)
            items: Any = instance.exports(store)
            if request.invoke and name != "_initialize" and "_initialize" in exports:
                items["_initialize"](store)  # a WASI reactor sets itself up first
            result = items[name](store, *call_args)
        except wasmtime.ExitTrap as exc:
            return RunOutcome(exc.code)
        except wasmtime.Trap as exc:
            raise _stopped(exc, request, store, instance) from None
        except wasmtime.WasmtimeError as exc:
            if instance is None:
                raise _instantiate_error(exc, request) from None
            raise _stopped(exc, request, store, instance) from None
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
    if result is None:
        results: list[Any] = []
    elif isinstance(result, Sequence) and not isinstance(result, (str, bytes)):
        results = list(result)
    else:
        results = [result]
    return RunOutcome(0, results, result_types)


def _run_component(engine: Any, component: Any, request: RunRequest, run_interfaces: list[str]) -> RunOutcome:
    import wasmtime
    from wasmtime.component import Linker

    linker = Linker(engine)
    linker.add_wasip2()
    store = _store(engine, request)
    instance = None
    with _Watchdog(engine, request.timeout):
        try:
            instance = linker.instantiate(store, component)
            func = None
            for version in run_interfaces:
                interface = instance.get_export_index(store, version)
                index = instance.get_export_index(store, "run", interface) if interface is not None else None
                if index is not None:
                    func = instance.get_func(store, index)
                    break
            if func is None:
                raise ModuleRefusedError(f"{request.wasm_path.name} exports no wasi:cli/run function")
            result = func(store)
        except wasmtime.ExitTrap as exc:
            return RunOutcome(exc.code)
        except wasmtime.Trap as exc:
            raise _stopped(exc, request, store, None) from None
        except wasmtime.WasmtimeError as exc:
            if instance is None:
                raise _instantiate_error(exc, request) from None
            raise _stopped(exc, request, store, None) from None
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
    failed = getattr(result, "tag", "ok") == "err"
    return RunOutcome(1 if failed else 0)
