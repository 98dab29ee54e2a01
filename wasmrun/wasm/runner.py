"""Running a module natively through wasmtime, with WASI preview1, or a WASI 0.2 component: its
``wasi:cli/run``, or with ``--invoke`` one exported function called with WAVE values
(:mod:`wasmrun.wasm.wave`, :mod:`wasmrun.wasm.component`).

The module gets nothing of the host unless granted: no directories (``dirs``), no environment
variables (``env``); stdin, stdout and stderr are the process's own.

Exit codes (:mod:`wasmrun.errors`): the module's own ``proc_exit`` code passes through (0 when
``_start`` returns); a trap is ``EXIT_TRAP`` (134); ``--max-memory`` refusing memory the module
needed ``EXIT_MEMORY_LIMIT`` (137); ``--timeout`` ``EXIT_TIMEOUT`` (142); ``--fuel`` running out
``EXIT_OUT_OF_FUEL`` (152); a module that is invalid or refused 1; bad arguments (a limit out of
range included: :func:`check_limits`) 2. Ctrl-C stops the module through epoch interruption and
ends as KeyboardInterrupt, which the CLI turns into 130.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

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
from wasmrun.wasm.validate import wasmtime_error_detail


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
    printed: list[str] | None = None  # a component function's result, already in WAVE

    def formatted_results(self) -> list[str]:
        if self.printed is not None:
            return self.printed
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


#: The largest limits exec accepts: fuel is a u64 in wasmtime; a memory limit is an i64 there
#: (a larger one would wrap round to "no limit"); a timer cannot wait longer than a year here.
MAX_FUEL = 2**64 - 1
MAX_MEMORY_LIMIT = 2**63 - 1
MAX_TIMEOUT_S = 365 * 24 * 3600


@dataclass(frozen=True)
class ExecLimits:
    """``exec``'s limits, checked: fuel units, seconds, bytes; None means no limit."""

    fuel: int | None = None
    timeout: float | None = None
    max_memory: int | None = None


def check_limits(*, fuel: int | None, timeout: float | None, max_memory: str | None) -> ExecLimits:
    """The limits as given on the command line, each checked before anything runs: a value
    wasmtime cannot honour (NaN, infinity, zero or negative seconds, more fuel than a u64, a
    memory cap beyond an i64) is a usage error, never a silent "no limit"."""
    if fuel is not None and not 0 <= fuel <= MAX_FUEL:
        raise UsageError(f"--fuel must be between 0 and {MAX_FUEL} (2**64 - 1), not {fuel}")
    if timeout is not None and not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_S):
        raise UsageError(f"--timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT_S:,} "
                         f"(a year), not {timeout:g}")
    memory = None if max_memory is None else parse_size(max_memory, "--max-memory")
    if memory is not None and memory > MAX_MEMORY_LIMIT:
        raise UsageError(f"--max-memory must be at most {MAX_MEMORY_LIMIT:,} bytes (2**63 - 1), not {max_memory}")
    return ExecLimits(fuel, timeout, memory)


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
        from wasmrun.wasm.wave import shortest_f32

        return _float_text(shortest_f32(value))
    if isinstance(value, float):
        return _float_text(repr(value))
    return str(value)


def _float_text(text: str) -> str:
    if text in ("inf", "-inf", "nan"):
        return text
    return text if any(c in text for c in ".en") else text + ".0"


# ---------------------------------------------------------------------------------------------
# Running


def _settings(request: RunRequest) -> dict[str, Any]:
    """The engine settings that change generated code (so they are in the compiled cache's key)."""
    # epoch interruption is always on: --timeout and Ctrl-C (SIGINT) both stop the module through it
    return {"consume_fuel": request.fuel is not None, "epoch_interruption": True}


def _engine(request: RunRequest) -> tuple[Any, dict[str, Any]]:
    import wasmtime

    config = wasmtime.Config()
    settings = _settings(request)
    config.consume_fuel = settings["consume_fuel"]
    config.epoch_interruption = settings["epoch_interruption"]
    return wasmtime.Engine(config), settings


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _artifact_kind(component: bool) -> Any:
    import wasmtime

    if component:
        from wasmtime.component import Component

        return Component
    return wasmtime.Module


def _compile(engine: Any, binary: bytes, settings: dict[str, Any], request: RunRequest, *,
             component: bool, digest: str | None = None) -> tuple[Any, bool]:
    import wasmtime

    from wasmrun.wasm.compile_cache import load_or_compile

    kind = _artifact_kind(component)

    def compile_() -> Any:
        try:
            return kind(engine, binary)
        except wasmtime.WasmtimeError as exc:
            text, offset = wasmtime_error_detail(exc)
            where = "" if offset is None else f" (at byte offset {offset})"
            raise InvalidModule(f"{request.wasm_path} is not a valid {'component' if component else 'module'}: "
                                f"{text}{where}") from None

    return _interruptible(lambda: load_or_compile(
        binary, {**settings, "component": component},
        compile=compile_,
        deserialize=lambda data: kind.deserialize(engine, data),
        serialize=lambda artifact: bytes(artifact.serialize()),
        cache_dir=request.cache_dir,
        digest=digest,
        deserialize_file=lambda path: kind.deserialize_file(engine, path),
    ))


@dataclass
class _Recalled:
    """A module file run before and unchanged since: its plan, its compiled artifact's key, and
    the check of that artifact, started at once."""

    plan: _Plan
    key: str
    verification: Any  # compile_cache.Verification


def _recall(request: RunRequest) -> _Recalled | None:
    """The digest and plan of a module file run before and unchanged since
    (:mod:`wasmrun.wasm.known_files`), without reading it, with its artifact's check started
    (before wasmtime is imported, to overlap with that); None otherwise. Only for a plain run (no
    ``--invoke``): its plan depends on the module alone."""
    if request.cache_dir is None or request.invoke is not None:
        return None
    from wasmrun.wasm import compile_cache, known_files

    known = known_files.recall(request.cache_dir, request.wasm_path)
    if known is None:
        return None
    digest, facts = known
    try:
        plan = _Plan(**facts)
    except TypeError:  # an entry another wasmrun wrote
        return None
    key = compile_cache.key_for_digest(digest, {**_settings(request), "component": plan.run_interfaces is not None})
    return _Recalled(plan, key, compile_cache.Verification(key, request.cache_dir))


def _load_recalled(engine: Any, request: RunRequest, recalled: _Recalled) -> Any:
    """The cached artifact of a recalled module (checked against its digest), or None."""
    from wasmrun.wasm import compile_cache

    kind = _artifact_kind(recalled.plan.run_interfaces is not None)
    cache_dir = request.cache_dir or Path()
    return _interruptible(lambda: compile_cache.load(
        recalled.key, lambda data: kind.deserialize(engine, data), cache_dir,
        deserialize_file=lambda path: kind.deserialize_file(engine, path), verification=recalled.verification))


@dataclass
class _Read:
    """A module read whole and planned: its bytes (and their digest when a cache is used), the
    plan, ``--invoke``'s arguments parsed, and the ``stat`` taken before reading."""

    binary: bytes
    plan: _Plan
    call_args: list[Any]
    digest: str | None
    reading: Any  # known_files.Reading, or None


def _read(request: RunRequest) -> _Read:
    """Read the module, plan the run and parse ``--invoke``'s arguments: every refusal that the
    module's bytes can tell, before wasmtime is imported."""
    from wasmrun.wasm import known_files
    from wasmrun.wasm.compile_cache import binary_digest
    from wasmrun.wasm.reader import read_file

    reading = None
    if request.cache_dir is not None and request.invoke is None:
        with contextlib.suppress(OSError):  # read_file says why the path cannot be read
            reading = known_files.Reading(request.wasm_path)
    binary = read_file(request.wasm_path)
    plan = _plan(binary, request)
    call_args: list[Any] = []
    if request.invoke and plan.run_interfaces is None and plan.component_call is None:
        words = request.args if plan.words is None else plan.words
        call_args = [parse_value(a, t, f"argument {i + 1} of {plan.entry}")
                     for i, (a, t) in enumerate(zip(words, plan.params, strict=True))]
    digest = binary_digest(binary) if request.cache_dir is not None else None
    return _Read(binary, plan, call_args, digest, reading)


R = TypeVar("R")


def _interruptible(work: Callable[[], R]) -> R:
    """``work()`` on another thread while the main thread waits, so that Ctrl-C ends a long
    compilation at once (inside wasmtime's foreign call the main thread could not be reached)."""
    if threading.current_thread() is not threading.main_thread():
        return work()
    outcome: list[R] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # noqa: BLE001 - raised again on the main thread
            failure.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)  # a KeyboardInterrupt is raised here, between two waits
    if failure:
        raise failure[0]
    return outcome[0]


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
    store.set_epoch_deadline(1)  # the first epoch tick (the --timeout timer, or Ctrl-C) stops it
    if request.max_memory is not None:
        store.set_limits(memory_size=request.max_memory)
    store.set_wasi(_wasi(request))
    return store


class _Watchdog:
    """Stops the module through epoch interruption: after ``timeout`` seconds, or at Ctrl-C.

    While wasmtime runs the module the main thread is inside a foreign call, where Python's own
    SIGINT handling (a KeyboardInterrupt between bytecodes) cannot reach it. So, on the main
    thread, SIGINT's Python handler only records the signal, and ``signal.set_wakeup_fd`` (which
    the C-level handler writes to at once) wakes a thread that ticks the engine's epoch; the
    module then traps with an interrupt, and :attr:`interrupted` tells it from a time-out."""

    def __init__(self, engine: Any, timeout: float | None) -> None:
        self.engine = engine
        self.timeout = timeout
        self.timer: threading.Timer | None = None
        self.interrupted = False
        self.terminated = False
        self.timed_out = False
        self._pipe: tuple[int, int] | None = None
        self._saved: tuple[Any, int] | None = None
        self._waker: threading.Thread | None = None

    def _time_up(self) -> None:
        self.timed_out = True
        self.engine.increment_epoch()

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.interrupted = True

    def _wake(self, read_fd: int) -> None:
        while True:
            try:
                byte = os.read(read_fd, 1)
            except OSError:
                return
            if not byte:  # closed: the run is over
                return
            if byte[0] == signal.SIGINT:
                self.interrupted = True
                self.engine.increment_epoch()
            elif byte[0] == signal.SIGTERM:  # only when a Python handler for it is installed
                self.terminated = True
                self.engine.increment_epoch()

    def __enter__(self) -> _Watchdog:
        if threading.current_thread() is threading.main_thread():
            read_fd, write_fd = os.pipe()
            os.set_blocking(write_fd, False)
            self._pipe = (read_fd, write_fd)
            previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
            previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
            self._saved = (previous_handler, previous_fd)
            self._waker = threading.Thread(target=self._wake, args=(read_fd,), daemon=True)
            self._waker.start()
        if self.timeout is not None:
            self.timer = threading.Timer(self.timeout, self._time_up)
            self.timer.daemon = True
            self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self._saved is not None:
            previous_handler, previous_fd = self._saved
            signal.set_wakeup_fd(previous_fd)
            signal.signal(signal.SIGINT, previous_handler)
        if self._pipe is not None:
            read_fd, write_fd = self._pipe
            os.close(write_fd)
            if self._waker is not None:
                self._waker.join(timeout=1)
            os.close(read_fd)
        if self.interrupted and not any(exc):
            raise KeyboardInterrupt  # Ctrl-C while the module had finished on its own: still honoured


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


class _Exports:
    """An instance's exports by name. wasmtime-py's ``instance.exports(store)`` asks for the n-th
    export n times over, which is quadratic (20,000 exports took 3.9 s, 40,000 17.8 s); a linker
    holding the instance finds each by name."""

    def __init__(self, engine: Any, store: Any, instance: Any) -> None:
        import wasmtime

        self.store = store
        self.linker = wasmtime.Linker(engine)
        self.linker.define_instance(store, "instance", instance)

    def __getitem__(self, name: str) -> Any:
        return self.linker.get(self.store, "instance", name)


def _memory_near_limit(store: Any, exports: _Exports | None, names: list[str], limit: int | None) -> int | None:
    """The size of an exported memory (``names``) that the limit may have stopped growing, if any:
    one more page would pass the limit, or it holds half the limit or more (allocators grow by
    doubling, so the growth refused was as large as what they had)."""
    if limit is None or exports is None:
        return None
    try:
        for name in names:
            size = int(exports[name].data_len(store))
            if size + 65536 > limit or 2 * size >= limit:
                return size
    except Exception:  # noqa: BLE001 - best effort, after a failure already
        return None
    return None


def _fuel_left(store: Any) -> int | None:
    try:
        return int(store.get_fuel())
    except Exception:  # noqa: BLE001 - fuel metering off
        return None


def _stopped(exc: Exception, request: RunRequest, store: Any, exports: _Exports | None, memories: list[str],
             watchdog: _Watchdog) -> ModuleTrap:
    """The error for a trap, telling apart traps wasmrun caused (fuel, timeout, memory limit);
    Ctrl-C raises KeyboardInterrupt (exit 130 at the CLI's edge)."""
    import wasmtime

    code = getattr(exc, "trap_code", None) if isinstance(exc, wasmtime.Trap) else None
    if watchdog.interrupted:
        raise KeyboardInterrupt
    if watchdog.terminated:  # SIGTERM under a Python handler, which had no chance to run during the module
        raise SystemExit(128 + signal.SIGTERM)
    backtrace = _backtrace(exc)
    name = request.wasm_path.name
    if code is None:  # a component's trap comes as a plain error: tell fuel and time-outs apart by the store
        if watchdog.timed_out:
            code = wasmtime.TrapCode.INTERRUPT
        elif request.fuel is not None and _fuel_left(store) == 0:
            code = wasmtime.TrapCode.OUT_OF_FUEL
    if code == wasmtime.TrapCode.OUT_OF_FUEL:
        return OutOfFuel(f"{name} ran out of fuel: all {request.fuel:,} units of --fuel consumed",
                         backtrace=backtrace, hint="give it more with --fuel N, or drop --fuel")
    if code == wasmtime.TrapCode.INTERRUPT:
        return TimedOut(f"{name} timed out: still running after --timeout {request.timeout:g} s", backtrace=backtrace)
    message = _trap_message(exc)
    size = _memory_near_limit(store, exports, memories, request.max_memory)
    if size is not None:
        return MemoryLimitReached(
            f"{name} hit the memory limit: its memory is {size:,} bytes and --max-memory is "
            f"{request.max_memory:,}, so growing it failed (then: {message})", backtrace=backtrace)
    return ModuleTrap(f"{name} trapped: {message}", backtrace=backtrace)


@dataclass
class _Plan:
    """What the reader found, before anything is compiled: a component's run interfaces (None for
    a core module), and for a core module the export to call with its parameter and result types."""

    run_interfaces: list[str] | None
    entry: str = "_start"
    params: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    has_initialize: bool = False
    memories: list[str] = field(default_factory=list)  # exported memories, by name
    component_call: str | None = None  # --invoke on a component: the call as given
    words: list[str] | None = None  # a core call's arguments (``add(1, 2)``), else the command line's


def _plan(binary: bytes, request: RunRequest) -> _Plan:
    """Refuse what cannot run natively (it needs JS glue, a component that is not a WASI 0.2
    command, a missing export, wrong arguments) from the module's own bytes, before compiling."""
    from wasmrun.wasm.inspect import classify, listing
    from wasmrun.wasm.reader import WasmModule

    try:
        module = WasmModule(binary, request.wasm_path)
        # the common case, a WASI command run by its _start, without reading every import and export
        outline = None if request.invoke else module.wasi_command_outline()
        if outline is not None:
            start_type, memories = outline
            return _Plan(None, "_start", list(start_type.params), list(start_type.results), memories=memories)
        conclusion = classify(module, str(request.wasm_path))
        exports = {e.name: e for e in module.exports} if not module.is_component else {}
    except WasmFormatError as exc:
        raise InvalidModule(f"{request.wasm_path} is not a valid module: {exc.message}") from None
    if conclusion.kind == "js-glue":
        raise ModuleRefusedError(
            f"{request.wasm_path.name} needs its JS glue ({conclusion.glue}) and cannot run natively",
            hint="serve its project in a browser with `wasmrun run PROJECT`")
    if module.is_component:
        if request.invoke:
            return _Plan([], component_call=request.invoke)
        if conclusion.command is None:
            raise ModuleRefusedError(f"{request.wasm_path.name}: {conclusion.summary}",
                                     hint="exec runs components that export wasi:cli/run (WASI 0.2 commands); "
                                          "call a function with --invoke 'NAME(ARGS)'")
        return _Plan([e.name for e in module.component_exports if e.name.startswith("wasi:cli/run@")])
    # a call such as add(1, 2) (wave.is_call), unless an export has that very name
    call = request.invoke is not None and "(" in request.invoke and request.invoke not in exports
    if call:
        from wasmrun.wasm.wave import call_name

        name = call_name(request.invoke or "")
    else:
        name = request.invoke or "_start"
    if call and request.args:
        raise UsageError("give the arguments inside the call (--invoke 'f(1, 2)') or after FILE, not both")
    export = exports.get(name)
    if request.invoke and export is None and "#" in name:
        raise UsageError(f"{request.wasm_path.name} is a core module: '{name}' names a function in a component's "
                         "interface, and core modules have none (call an export by its name)")
    func_type = module.function_type(export.index) if export is not None and export.kind == "func" else None
    if func_type is None or func_type.kind != "func":
        functions = listing([e.name for e in exports.values() if e.kind == "func"]) or "none"
        if request.invoke:
            raise UsageError(f"no exported function '{name}' (exported functions: {functions})")
        raise UsageError(f"module has no _start; call an export with --invoke NAME (exported functions: {functions})")
    plan = _Plan(None, name, list(func_type.params), list(func_type.results),
                 has_initialize=bool(request.invoke) and name != "_initialize" and "_initialize" in exports,
                 memories=[e.name for e in exports.values() if e.kind == "memory"])
    if call:
        from wasmrun.wasm.wave import core_call_words

        plan.words = core_call_words(request.invoke or "", len(plan.params), f"{name} {func_type}")
    if request.invoke and not call and len(request.args) != len(plan.params):
        raise UsageError(f"{name} {func_type} takes {len(plan.params)} argument(s), got {len(request.args)}")
    return plan


def run_module(request: RunRequest) -> RunOutcome:
    """Instantiate and run; the outcome's exit code is ``proc_exit``'s (0 after ``_start`` returns).

    A module file run before (unchanged, no ``--invoke``) is not read again: its digest and plan
    are recalled from its ``stat`` and its compiled artifact loaded (:mod:`known_files`)."""
    recalled = _recall(request)
    read = _read(request) if recalled is None else None
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    engine, settings = _engine(request)
    artifact = None
    if recalled is not None:
        plan = recalled.plan
        artifact = _load_recalled(engine, request, recalled)
    if artifact is None:
        read = read or _read(request)
        plan = read.plan
        is_component = plan.run_interfaces is not None or plan.component_call is not None
        artifact, cached = _compile(engine, read.binary, settings, request, component=is_component, digest=read.digest)
        if read.reading is not None and read.digest is not None and request.cache_dir is not None:
            from wasmrun.wasm import known_files

            known_files.remember(request.cache_dir, request.wasm_path, read.reading, read.digest, asdict(plan))
    else:
        cached = True
    call_args = read.call_args if read is not None else []
    if plan.component_call is not None:
        outcome = _call_component(engine, artifact, request, plan.component_call,
                                  read.binary if read is not None else None)
    elif plan.run_interfaces is not None:
        outcome = _run_component(engine, artifact, request, plan.run_interfaces)
    else:
        outcome = _run_core(engine, artifact, request, plan, call_args)
    outcome.from_cache = cached
    return outcome


def _instantiate_error(exc: Exception, request: RunRequest, *, component: bool = False) -> WasmrunError:
    message = _first_line(exc)
    if request.max_memory is not None and "limit" in message.lower():
        return MemoryLimitReached(f"{request.wasm_path.name} needs more memory than --max-memory "
                                  f"{request.max_memory:,} bytes allows: {message}")
    if component:  # wasmtime's first line names the import it could not satisfy
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else message
        return WasmrunError(f"cannot instantiate {request.wasm_path.name}: {first}",
                            hint="exec provides the WASI 0.2 interfaces (wasi:*) to components, nothing else")
    return WasmrunError(f"cannot instantiate {request.wasm_path.name}: {message}",
                        hint="exec provides WASI preview1 imports only")


def _run_core(engine: Any, module: Any, request: RunRequest, plan: _Plan, call_args: list[Any]) -> RunOutcome:
    import wasmtime

    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = _store(engine, request)

    def run(reached: _Reached) -> RunOutcome:
        reached.instance = linker.instantiate(store, module)
        exports = reached.exports = _Exports(engine, store, reached.instance)
        if plan.has_initialize:
            exports["_initialize"](store)  # a WASI reactor sets itself up first
        result = exports[plan.entry](store, *call_args)
        if result is None:
            results: list[Any] = []
        elif isinstance(result, Sequence) and not isinstance(result, (str, bytes)):
            results = list(result)
        else:
            results = [result]
        return RunOutcome(0, results, plan.results)

    return _guarded(engine, store, request, run, memories=plan.memories)


class _Reached:
    """How far a run got: its instance once instantiated, and a core module's exports (for the
    memory a trap report looks at)."""

    instance: Any = None
    exports: _Exports | None = None


def _guarded(engine: Any, store: Any, request: RunRequest, run: Callable[[_Reached], RunOutcome], *,
             memories: list[str] | None = None, component: bool = False) -> RunOutcome:
    """``run`` under the watchdog (--timeout, Ctrl-C), with --fuel and --max-memory in the store:
    ``proc_exit`` becomes the outcome's exit code, a trap or a limit one clear error, a failed
    instantiation its own; stdout and stderr are flushed whatever happens. One road for core
    modules, components and component calls."""
    import wasmtime

    reached = _Reached()
    with _Watchdog(engine, request.timeout) as watchdog:
        try:
            return run(reached)
        except wasmtime.ExitTrap as exc:
            return RunOutcome(exc.code)
        except wasmtime.Trap as exc:
            raise _stopped(exc, request, store, reached.exports, memories or [], watchdog) from None
        except wasmtime.WasmtimeError as exc:
            if reached.instance is None and not (watchdog.interrupted or watchdog.terminated):
                raise _instantiate_error(exc, request, component=component) from None
            raise _stopped(exc, request, store, reached.exports, memories or [], watchdog) from None
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()


def _run_component(engine: Any, component: Any, request: RunRequest, run_interfaces: list[str]) -> RunOutcome:
    from wasmtime.component import Linker

    linker = Linker(engine)
    linker.add_wasip2()
    store = _store(engine, request)

    def run(reached: _Reached) -> RunOutcome:
        instance = reached.instance = linker.instantiate(store, component)
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
        return RunOutcome(1 if getattr(result, "tag", "ok") == "err" else 0)

    return _guarded(engine, store, request, run, component=True)


def _component_call(engine: Any, component: Any, request: RunRequest, call: str,
                    binary: bytes | None) -> tuple[Any, list[Any], Any]:
    """The function ``call`` names, its arguments as wasmtime-py takes them, and its type: all
    checked against the component's own types before anything is instantiated."""
    from wasmrun.wasm import wave
    from wasmrun.wasm.component import find_function, to_wasmtime, world_of

    world = world_of(component.type, engine, binary)  # its bytes name the world's own types
    is_call = wave.is_call(call)
    target = find_function(world, wave.call_name(call) if is_call else call)
    params = list(target.function.params)
    if is_call and request.args:
        raise UsageError("give the arguments inside the call (--invoke 'f(1, 2)') or after FILE, not both")
    values = (wave.parse_call(call, params, target.display) if is_call
              else wave.parse_words(request.args, params, target.display))
    item = component.type.exports(engine)[target.path[0]].ty
    if len(target.path) == 2:
        item = item.exports(engine)[target.path[1]].ty
    args = [to_wasmtime(v, t, vt) for v, (_, t), (_, vt) in zip(values, params, item.params, strict=True)]
    return target, args, item


def _call_component(engine: Any, component: Any, request: RunRequest, call: str, binary: bytes | None) -> RunOutcome:
    """``--invoke`` on a component: call an exported function with WAVE arguments; its result is
    printed in WAVE. The component gets WASI 0.2 as a command does (``--dir``, ``--env``, limits)."""
    from wasmtime.component import Linker

    from wasmrun.wasm.component import from_wasmtime
    from wasmrun.wasm.wave import print_value

    target, args, func_type = _component_call(engine, component, request, call, binary)
    linker = Linker(engine)
    linker.add_wasip2()
    store = _store(engine, request)

    def run(reached: _Reached) -> RunOutcome:
        instance = reached.instance = linker.instantiate(store, component)
        index = None
        for part in target.path:
            index = instance.get_export_index(store, part, index)
        func = instance.get_func(store, index) if index is not None else None
        if func is None:
            raise ModuleRefusedError(f"{request.wasm_path.name}: cannot find {target.display} in the instance")
        result = func(store, *args)
        func.post_return(store)
        result_type = target.function.result
        if result_type is None:
            return RunOutcome(0, printed=[])
        return RunOutcome(0, printed=[print_value(from_wasmtime(result, result_type, func_type.result), result_type)])

    return _guarded(engine, store, request, run, component=True)


def compiled_component(path: Path, binary: bytes, cache_dir: Path | None) -> tuple[Any, Any]:
    """An engine and the component compiled as ``exec`` compiles it (so that ``inspect`` and a
    later ``exec`` share the compiled-module cache); InvalidModule when wasmtime refuses it."""
    request = RunRequest(wasm_path=path, cache_dir=cache_dir)
    engine, settings = _engine(request)
    component, _ = _compile(engine, binary, settings, request, component=True)
    return engine, component
