"""A sandbox worker process: holds the sessions' interpreter instances and runs one exec at a
time (``python -m wasmrun.agent.worker``, started by :mod:`wasmrun.agent.workers`).

The protocol is JSON, one message per line: requests on stdin, replies on the descriptor that
was stdout (fd 1 is pointed at stderr at start, so a stray print cannot corrupt the channel).

Requests (``op``):

* ``load`` ``{language, component, compiled_cache}``: compile (or load from the compiled-code
  cache) a runtime and keep one spare instance of it. Reply ``{op: "loaded", language}`` or
  ``{op: "failed", language, error}``.
* ``exec`` ``{id, session, language, root, packages, has_state, fresh, memory_status, request, limits}``: run
  ``request`` (``code, filename, stdin, args, env, paths``) in the session's instance of that language (made from
  the spare when it has none). At once ``{op: "started", id}`` (an exec that a dying worker never
  started is run again on its replacement); while it runs ``{op: "output", id, stream, text}``; then
  ``{op: "result", id, exit_code, duration_ms, output_truncated, error, state_lost}``. A ``run``
  that returns ``memory_status`` (the runtime's out-of-memory status) is ``error: "memory"``, exit
  code 1, one line on stderr, and its instance is discarded.
* ``drop`` ``{session}``: forget the session's instance (no reply).

Everything the guest may see is decided here; see :mod:`wasmrun.agent.runtimes` for the rules.
"""

from __future__ import annotations

import codecs
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from wasmrun.agent.files import usage
from wasmrun.agent.runtimes import CELL_INTERFACE

#: Output is forwarded in pieces of at most this many characters.
CHUNK = 16 * 1024
#: How often the quota watcher counts the session's files while an exec runs.
WATCH_INTERVAL_S = 0.1
#: The epoch ticks the deadline of an exec is set to; the exec's own timer increments it.
DEADLINE_TICKS = 1
#: Killed execs report this exit code.
KILLED = -1


def resident_bytes() -> int:
    """This process's resident memory (Linux); 0 where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def out_of_memory_line(language: str, memory_bytes: int) -> str:
    """The one stderr line of an exec whose interpreter ran out of memory and was discarded."""
    return (f"InternalError: out of memory: the exec passed the session's memory limit ({memory_bytes} bytes); "
            f"the {language} interpreter was discarded, the next exec starts a new one (files are kept)\n")


#: The WebAssembly stack an exec may use: wasmtime's default (512 KiB) let QuickJS recurse only a
#: few hundred calls deep; wasmtime requires less than its async stack (2 MiB), and the worker's
#: main thread, which runs the execs, has 8 MiB.
MAX_WASM_STACK = 2 * 1024 * 1024 - 64 * 1024


#: The ``error`` of an exec whose recursion exhausted the WebAssembly stack (a trap).
STACK_EXHAUSTED = "crash: wasm trap: call stack exhausted"


def stack_exhausted_line(language: str) -> str:
    """The one stderr line of an exec whose recursion went too deep for the interpreter's stack."""
    return (f"RangeError: maximum call stack size exceeded: the recursion went deeper than the {language} "
            "interpreter's stack; the interpreter was discarded, the next exec starts a new one (files are kept)\n")


def engine() -> Any:
    """The engine every worker uses (its settings are part of the compiled-code cache key)."""
    import wasmtime

    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.max_wasm_stack = MAX_WASM_STACK
    return wasmtime.Engine(config)


ENGINE_SETTINGS = {"consume_fuel": True, "epoch_interruption": True, "component": True, "agent": 1,
                   "max_wasm_stack": MAX_WASM_STACK}


@dataclass
class Instance:
    store: Any
    run: Any
    language: str


class Exec:
    """What one running exec counts: output bytes (against the limit) and why it was stopped."""

    def __init__(self, worker: Worker, exec_id: str, output_bytes: int) -> None:
        self.worker = worker
        self.id = exec_id
        self.left = output_bytes
        self.truncated = False
        self.stopped: str | None = None  # "timeout", "output", "disk", "files"
        self.done = threading.Event()
        self.decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}

    def stop(self, why: str) -> None:
        if self.stopped is None:
            self.stopped = why
            self.worker.engine.increment_epoch()

    def output(self, stream: str, data: bytes) -> None:
        if self.truncated:
            return
        if len(data) > self.left:
            data = data[:self.left]
            self.truncated = True
        self.left -= len(data)
        text = self.decoders[stream].decode(data, final=self.truncated)
        for start in range(0, len(text), CHUNK):
            self.worker.send({"op": "output", "id": self.id, "stream": stream, "text": text[start:start + CHUNK]})
        if self.truncated:
            self.stop("output")

    def flush(self) -> None:
        for stream, decoder in self.decoders.items():
            text = decoder.decode(b"", final=True)
            if text:
                self.worker.send({"op": "output", "id": self.id, "stream": stream, "text": text})


class Watchdog(threading.Thread):
    """One thread for the worker's life (not two per exec: they cost more than a short exec):
    stops the running exec at its deadline, and counts the session's files every
    :data:`WATCH_INTERVAL_S` while it runs; past a quota the exec is stopped. A session already
    over a quota may run code (to delete files) but not grow further."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="wasmrun-agent-watchdog")
        self.changed = threading.Condition()
        self.job: tuple[Exec, float, Path, int, int] | None = None

    def begin(self, current: Exec, timeout_s: float, root: str, limits: dict[str, Any]) -> None:
        max_files = max(int(limits["max_files"]), int(limits.get("used_entries", 0)))
        max_bytes = max(int(limits["disk_bytes"]), int(limits.get("used_bytes", 0)))
        with self.changed:
            self.job = (current, time.monotonic() + timeout_s, Path(root), max_files, max_bytes)
            self.changed.notify()

    def end(self) -> None:
        with self.changed:
            self.job = None
            self.changed.notify()

    def run(self) -> None:
        while True:
            with self.changed:
                while self.job is None:
                    self.changed.wait()
                job = self.job
                current, deadline = job[0], job[1]
                self.changed.wait(max(0.0, min(deadline - time.monotonic(), WATCH_INTERVAL_S)))
                if self.job is not job:  # ended (or a new exec began) meanwhile
                    continue
            if time.monotonic() >= deadline:
                current.stop("timeout")
                with self.changed:
                    if self.job is job:
                        self.job = None  # nothing more to watch: the exec ends at its next check
                continue
            used = usage(job[2], stop_after=job[3])
            if used.entries > job[3]:
                current.stop("files")
            elif used.bytes > job[4]:
                current.stop("disk")


class Worker:
    def __init__(self, channel: IO[bytes]) -> None:
        self.channel = channel
        self.send_lock = threading.Lock()
        self.engine = engine()
        self.components: dict[str, Any] = {}
        self.spares: dict[str, Instance] = {}
        self.instances: dict[tuple[str, str], Instance] = {}  # (session, language)
        self.current: Exec | None = None
        self.watchdog = Watchdog()
        self.watchdog.start()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message).encode() + b"\n"
        with self.send_lock:
            self.channel.write(line)
            self.channel.flush()

    # -- runtimes -------------------------------------------------------------------------------

    def load(self, language: str, component: str, compiled_cache: str | None) -> None:
        from wasmtime.component import Component

        from wasmrun.wasm.compile_cache import load_or_compile

        binary = Path(component).read_bytes()
        compiled, _ = load_or_compile(
            binary, ENGINE_SETTINGS, compile=lambda: Component(self.engine, binary),
            deserialize=lambda data: Component.deserialize(self.engine, data),
            serialize=lambda artifact: bytes(artifact.serialize()),
            cache_dir=Path(compiled_cache) if compiled_cache else None)
        self.components[language] = compiled
        self.spares[language] = self.instantiate(language)

    def instantiate(self, language: str) -> Instance:
        """A new instance with no WASI of its own yet (that is given when a session claims it)."""
        import wasmtime
        from wasmtime.component import Linker

        linker = Linker(self.engine)
        linker.add_wasip2()
        store = wasmtime.Store(self.engine)
        store.set_wasi(wasmtime.WasiConfig())
        store.set_fuel(2**62)
        store.set_epoch_deadline(2**62)
        instance = linker.instantiate(store, self.components[language])
        cell = instance.get_export_index(store, CELL_INTERFACE)
        index = instance.get_export_index(store, "run", cell) if cell is not None else None
        func = instance.get_func(store, index) if index is not None else None
        if func is None:
            raise RuntimeError(f"the {language} runtime exports no {CELL_INTERFACE}#run")
        return Instance(store, func, language)

    def claim(self, language: str, message: dict[str, Any]) -> Instance:
        """The spare instance (replaced by a new one after the exec), else a new instance, given
        the session's WASI: its root at ``/``, the package cache, and output routed to the exec
        running at the time. (Given once: the guest keeps WASI handles from its first exec, so a
        store's WASI cannot change afterwards; a spare has touched none yet.)"""
        spare = self.spares.pop(language, None)
        instance = spare if spare is not None else self.instantiate(language)
        instance.store.set_wasi(self.wasi(message))
        return instance

    def refill(self) -> None:
        for language in self.components:
            if language not in self.spares:
                try:
                    self.spares[language] = self.instantiate(language)
                except Exception as exc:  # noqa: BLE001 - reported at the next exec instead
                    print(f"wasmrun agent worker: cannot prepare a {language} instance: {exc}", file=sys.stderr)

    # -- execs ----------------------------------------------------------------------------------

    def wasi(self, message: dict[str, Any]) -> Any:
        import wasmtime

        config = wasmtime.WasiConfig()
        config.preopen_dir(message["root"], "/")
        if message.get("packages"):
            config.preopen_dir(message["packages"], "/.packages", fs_mutable=False)
        config.stdout_custom = lambda data: self.output("stdout", data)
        config.stderr_custom = lambda data: self.output("stderr", data)
        return config

    def output(self, stream: str, data: bytes) -> None:
        current = self.current
        if current is not None:
            current.output(stream, data)

    def exec(self, message: dict[str, Any]) -> None:
        import wasmtime
        from wasmtime.component import Record

        session, language, limits = message["session"], message["language"], message["limits"]
        self.send({"op": "started", "id": message["id"]})
        current = Exec(self, message["id"], int(limits["output_bytes"]))
        result: dict[str, Any] = {"op": "result", "id": message["id"], "exit_code": KILLED, "output_truncated": False,
                                  "error": None, "state_lost": False}
        started = time.perf_counter()
        key = (session, language)  # a session has one interpreter per language
        instance = self.instances.pop(key, None)
        if message.get("fresh"):
            instance = None
        try:
            if instance is None:
                result["state_lost"] = bool(message.get("has_state")) and not message.get("fresh")
                instance = self.claim(language, message)
        except Exception as exc:  # noqa: BLE001 - reported to the client as the exec's error
            result.update(error=f"crash: cannot start the {language} interpreter: {exc}",
                          duration_ms=(time.perf_counter() - started) * 1000)
            self.send(result)
            return
        store = instance.store
        store.set_fuel(int(limits["fuel"]))
        store.set_limits(memory_size=int(limits["memory_bytes"]))
        store.set_epoch_deadline(DEADLINE_TICKS)
        request = message["request"]
        record: Any = Record()
        record.code = request["code"]
        record.filename = request["filename"]
        record.stdin = request["stdin"].encode("utf-8")
        record.args = list(request["args"])
        record.env = [(str(k), str(v)) for k, v in request["env"].items()]
        record.paths = list(request["paths"])
        self.current = current
        self.watchdog.begin(current, float(limits["timeout_s"]), message["root"], limits)
        kept = False
        try:
            code = instance.run(store, record)
            instance.run.post_return(store)
            if code == message.get("memory_status") and current.stopped is None:
                result.update(exit_code=1, error="memory")
                current.output("stderr", out_of_memory_line(language, int(limits["memory_bytes"])).encode())
            else:
                result["exit_code"] = int(code)
                kept = True
        except wasmtime.Trap as exc:
            result["error"] = self.why(current, exc, store)
        except wasmtime.WasmtimeError as exc:
            result["error"] = self.why(current, exc, store)
        finally:
            self.watchdog.end()
            current.done.set()
            self.current = None
        if kept and current.stopped is not None:  # stopped by the watcher after the guest returned
            result["error"] = current.stopped
        if result["error"] == STACK_EXHAUSTED:
            current.output("stderr", stack_exhausted_line(language).encode())
        current.flush()
        result["output_truncated"] = current.truncated
        result["duration_ms"] = (time.perf_counter() - started) * 1000
        if kept:
            self.instances[key] = instance  # last in the dict: the most recently used
        self.evict(int(message.get("idle_memory_bytes") or 0), keep=key)
        self.send(result)
        self.refill()

    def evict(self, budget: int, keep: tuple[str, str]) -> None:
        """Drop the least recently used sessions' instances while this process holds more than
        ``budget`` bytes (resident); their next exec says ``state_lost``."""
        if budget <= 0:
            return
        while resident_bytes() > budget:
            victim = next((name for name in self.instances if name != keep), None)
            if victim is None:
                return
            del self.instances[victim]

    def why(self, current: Exec, exc: Exception, store: Any) -> str:
        """The ``error`` of a killed exec."""
        if current.stopped is not None:
            return current.stopped
        text = str(exc)
        if "all fuel consumed" in text or "fuel" in text.lower():
            return "fuel"
        if "interrupt" in text:
            return "timeout"
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return f"crash: {lines[-1] if lines else type(exc).__name__}"

    def drop(self, session: str) -> None:
        for key in [key for key in self.instances if key[0] == session]:
            del self.instances[key]


def main() -> None:
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, never into the protocol
    worker = Worker(channel)
    for line in sys.stdin.buffer:
        message = json.loads(line)
        op = message.get("op")
        if op == "exec":
            try:
                worker.exec(message)
            except Exception as exc:  # noqa: BLE001 - a bug here must not take the worker's other sessions down
                worker.drop(message.get("session", ""))
                worker.current = None
                worker.send({"op": "result", "id": message.get("id"), "exit_code": KILLED, "output_truncated": False,
                             "error": f"crash: {type(exc).__name__}: {exc}", "state_lost": False, "duration_ms": 0.0})
        elif op == "load":
            try:
                worker.load(message["language"], message["component"], message.get("compiled_cache"))
                worker.send({"op": "loaded", "language": message["language"]})
            except Exception as exc:  # noqa: BLE001 - the server reports it as not ready
                worker.send({"op": "failed", "language": message["language"], "error": str(exc)})
        elif op == "drop":
            worker.drop(message["session"])
        elif op == "ping":
            worker.send({"op": "pong"})
    sys.stderr.flush()
    os._exit(0)  # skip interpreter teardown: wasmtime's threads may panic while it runs


if __name__ == "__main__":
    main()
