"""Reading hostile modules under a memory and a time ceiling, measured in a child process.

An in-process peak only grows (and other tests raise it), so the fuzz and corpus tests send each
module to a fresh child that reads it the way ``verify`` and ``inspect`` do (structure, the
inspect report and its text, the features scan, full validation) and answers with the outcome,
the time it took and the child's peak resident memory so far. The child runs under
``RLIMIT_AS`` as a hard stop, so a runaway allocation fails there (as ``MemoryError``) instead of
taking the machine down; a module that takes longer than its deadline kills the child and is
reported as a time-out.
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Address space the child may map in all (wasmtime's validator threads reserve their stacks
#: and arenas: about 250 MB of address space before any module is read).
ADDRESS_SPACE_LIMIT = 2 << 30
#: The peak resident memory the child may reach; it starts at about 35 MB. The page-size bug
#: took 587 MB (verify) and 1.15 GB (inspect).
PEAK_RSS_LIMIT = 160 << 20
#: How much CPU time one small module may take to read, inspect and validate.
SECONDS_PER_MODULE = 1.0

_CHILD = r"""
import json, os, resource, struct, sys, time, traceback
resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
from wasmrun.errors import WasmFormatError
from wasmrun.wasm.features import used_features
from wasmrun.wasm.inspect import inspect_module, render_text
from wasmrun.wasm.reader import WasmModule
from wasmrun.wasm.report_json import report_json
from wasmrun.wasm.verify import verify_bytes

def peak_rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0

def read(data):
    try:
        WasmModule(data).wasi_command_outline()  # exec's plan, before the full reader
        module = WasmModule(data)
        module.parse_all()
        report = inspect_module(module)
        render_text(report)
        report_json(inspect_module(module, validate=False, columnar=True))
        if not module.is_component:
            used_features(module)
    except WasmFormatError as exc:
        if "\n" in exc.message or exc.offset is None:
            return "bad-error", repr(exc.message)
        outcome = ("format-error", exc.message)
    else:
        outcome = ("ok", report["conclusion"]["kind"])
    result = verify_bytes(data)
    if not result.valid and (not result.error or "\n" in result.error):
        return "bad-error", repr(result.error)
    return outcome

stdin, stdout = sys.stdin.buffer, sys.stdout
while True:
    header = stdin.read(4)
    if len(header) < 4:
        break
    data = stdin.read(struct.unpack("<I", header)[0])
    started = time.process_time()  # CPU time: a busy machine stretches wall time, not this
    try:
        outcome, detail = read(data)
    except MemoryError:
        outcome, detail = "memory-error", "MemoryError"
    except BaseException as exc:
        outcome, detail = "exception", "".join(traceback.format_exception_only(exc)).strip()
    elapsed = time.process_time() - started
    stdout.write(json.dumps({"outcome": outcome, "detail": detail, "seconds": elapsed, "peak_rss": peak_rss()}) + "\n")
    stdout.flush()
"""


@dataclass
class Reading:
    outcome: str  # ok, format-error; anything else is a failure: bad-error, memory-error, exception, timeout
    detail: str
    seconds: float
    peak_rss: int


class BoundedReader:
    """A child that reads modules one at a time under the ceilings above (see the module docstring)."""

    def __init__(self, *, address_space: int = ADDRESS_SPACE_LIMIT) -> None:
        self.address_space = address_space
        self.proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
        return subprocess.Popen([sys.executable, "-c", _CHILD.replace("ADDRESS_SPACE", str(self.address_space))],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO, env=env)

    def read(self, data: bytes, *, deadline: float = SECONDS_PER_MODULE * 10) -> Reading:
        """Read ``data`` in the child; ``deadline`` (seconds) kills a child that does not answer."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(struct.pack("<I", len(data)) + data)
        self.proc.stdin.flush()
        started = time.monotonic()
        ready, _, _ = select.select([self.proc.stdout], [], [], deadline)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.close()
            how = "timeout" if not ready else "died"
            return Reading(how, f"no answer after {time.monotonic() - started:.1f} s", time.monotonic() - started, 0)
        answer = json.loads(line)
        reading = Reading(answer["outcome"], answer["detail"], answer["seconds"], answer["peak_rss"])
        if reading.outcome not in ("ok", "format-error") or reading.peak_rss >= PEAK_RSS_LIMIT:
            self.close()  # the child's peak only grows: the next module gets a fresh one
        return reading

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def assert_bounded(reading: Reading, data: bytes, *, seconds: float = SECONDS_PER_MODULE) -> None:
    """The reading ended in a result or a one-line format error, within ``seconds`` of CPU time
    (and its deadline of wall time) and within the memory ceiling."""
    shown = data[:64].hex(" ") + (" ..." if len(data) > 64 else "")
    assert reading.outcome in ("ok", "format-error"), f"{reading.outcome}: {reading.detail} for {shown}"
    assert reading.seconds < seconds, f"took {reading.seconds:.2f} s of CPU for {shown}"
    assert reading.peak_rss < PEAK_RSS_LIMIT, f"peak memory {reading.peak_rss >> 20} MB for {shown}"


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # this child's own peak resident memory, in bytes


#: Runs its command in a grandchild and reports that one's own peak memory. A child forked from
#: pytest starts as a copy of it, and Linux counts that copy in the child's ``ru_maxrss`` (the
#: memory it had when it called exec): a pytest grown to 390 MB made every command measured here
#: "use" 390 MB. This launcher is a small ``python -S``, so what it forks starts small.
_LAUNCHER = r"""
import os, resource, sys
limit, report = int(sys.argv[1]), int(sys.argv[2])
pid = os.fork()
if pid == 0:
    os.close(report)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        os.execvp(sys.argv[3], sys.argv[3:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
os.write(report, b"%d %d" % (status, usage.ru_maxrss))
os._exit(0)
"""


def run_measured(argv: list[str], *, timeout: float = 30, address_space: int = ADDRESS_SPACE_LIMIT,
                 env: dict[str, str] | None = None) -> Measured:
    """Run ``argv`` under ``RLIMIT_AS`` and return its exit code, output, wall time and its own peak
    memory (that one process's, measured by a small launcher: see :data:`_LAUNCHER`)."""
    import signal
    import tempfile

    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        launcher = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(address_space), str(write_end), *argv],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, pass_fds=(write_end,),
                                    process_group=0, env={**os.environ, "MALLOC_ARENA_MAX": "2", **(env or {})})
        os.close(write_end)
        try:
            launcher.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)  # the command too, not only the launcher
            launcher.wait()
        seconds = time.monotonic() - started
        with os.fdopen(read_end, "rb") as report:
            answer = report.read().split()
        if len(answer) == 2:
            returncode, peak_rss = os.waitstatus_to_exitcode(int(answer[0])), int(answer[1]) * 1024
        else:  # killed at the time limit before it could answer
            returncode, peak_rss = -signal.SIGKILL, 0
        out.seek(0)
        err.seek(0)
        return Measured(returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        seconds, peak_rss)
