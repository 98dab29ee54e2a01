"""The agent sandbox core (wasmrun.agent.sandbox) with the real Python runtime: a componentize-py
component built once per test session (about a minute), run by real worker processes.

Tests that need the runtime are marked slow and share one Sandbox (its loop runs on a thread);
each makes its own sessions, with the limits it tests. The file API's path handling is tested
without the runtime, on a plain directory, with a hypothesis property and hostile cases.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AgentRuntimes
from wasmrun.agent import files
from wasmrun.agent.errors import AgentError, BadRequest, Gone, LimitExceeded, NotFound, TooLarge
from wasmrun.agent.models import ExecRequest, ExecResult, Limits, ServerLimits
from wasmrun.agent.runtimes.python import UNAVAILABLE
from wasmrun.agent.sandbox import Sandbox

T = TypeVar("T")
TENANT = "tenant-a"
#: These tests need only the Python runtime (JavaScript's has its own tests).
PYTHON = ("python",)


# -- the file API without a runtime ----------------------------------------------------------------


@pytest.fixture
def jail(tmp_path: Path) -> Path:
    """A session root with a secret file beside it (what an escape would reach)."""
    (tmp_path / "secret.txt").write_text("host secret")
    (tmp_path / "outside").mkdir()
    root = tmp_path / "root"
    root.mkdir()
    return root


def write(root: Path, path: str, data: bytes, used: files.Usage | None = None, **quota: int) -> Any:
    return files.write(root, path, data, used or files.Usage(), max_bytes=quota.get("max_bytes", 10**9),
                       max_entries=quota.get("max_entries", 10**6))


def test_write_read_binary_round_trip_and_parents_are_made(jail: Path) -> None:
    data = bytes(range(256)) * 10
    entry = write(jail, "/deep/er/blob.bin", data)
    assert (entry.path, entry.size, entry.is_dir) == ("deep/er/blob.bin", 2560, False)
    assert files.read(jail, "deep/er/blob.bin", max_bytes=10**6) == data
    assert (jail / "deep" / "er" / "blob.bin").read_bytes() == data
    listing = [(e.path, e.is_dir) for e in files.listing(jail, "/", max_entries=100)]
    assert listing == [("deep", True), ("deep/er", True), ("deep/er/blob.bin", False)]


@pytest.mark.parametrize("path", ["../secret.txt", "a/../../secret.txt", "/../secret.txt", "..", "x/..",
                                  "a\0b", "x" * 300, "/" + "a/" * 3000])
def test_hostile_paths_are_refused(jail: Path, path: str) -> None:
    with pytest.raises(BadRequest):
        write(jail, path, b"x")
    with pytest.raises(BadRequest):
        files.read(jail, path, max_bytes=100)
    assert (jail.parent / "secret.txt").read_text() == "host secret"


def test_absolute_paths_mean_the_session_root(jail: Path) -> None:
    write(jail, "/etc/passwd", b"mine")
    assert (jail / "etc" / "passwd").read_bytes() == b"mine"
    with pytest.raises(NotFound):
        files.read(jail, "/etc/shadow", max_bytes=100)


def test_symlinks_anywhere_in_a_path_are_refused(jail: Path) -> None:
    (jail / "out").symlink_to(jail.parent / "outside")
    (jail / "secret").symlink_to(jail.parent / "secret.txt")
    for path in ("out/new.txt", "out/sub/new.txt", "secret"):
        with pytest.raises(BadRequest, match="symbolic link"):
            write(jail, path, b"pwned")
    with pytest.raises(BadRequest, match="symbolic link"):
        files.read(jail, "secret", max_bytes=100)
    with pytest.raises(BadRequest, match="symbolic link"):
        files.listing(jail, "out", max_entries=10)
    assert list((jail.parent / "outside").iterdir()) == []
    assert (jail.parent / "secret.txt").read_text() == "host secret"
    files.delete(jail, "out")  # deleting the link itself is fine: it removes the link, not its target
    assert (jail.parent / "outside").is_dir()


def test_the_root_itself_cannot_be_deleted_or_written(jail: Path) -> None:
    for path in ("", "/", ".", "/./"):
        with pytest.raises(BadRequest, match="root"):
            files.delete(jail, path)
        with pytest.raises(BadRequest):
            write(jail, path, b"x")
    assert jail.is_dir()


def test_quotas_on_file_calls(jail: Path) -> None:
    used = files.Usage()
    write(jail, "a.bin", b"x" * 600, used, max_bytes=1000, max_entries=3)
    with pytest.raises(LimitExceeded, match="disk quota"):
        write(jail, "b.bin", b"x" * 600, used, max_bytes=1000, max_entries=3)
    write(jail, "a.bin", b"x" * 900, used, max_bytes=1000, max_entries=3)  # a replaced file counts its growth
    with pytest.raises(TooLarge):
        write(jail, "c.bin", b"x" * 1001, used, max_bytes=1000, max_entries=3)
    write(jail, "d/e", b"", used, max_bytes=1000, max_entries=3)
    with pytest.raises(LimitExceeded, match="files"):
        write(jail, "f", b"", used, max_bytes=1000, max_entries=3)
    assert (used.bytes, used.entries) == (900, 3)
    assert files.usage(jail).bytes == 900 and files.usage(jail).entries == 3


PATH_ALPHABET = st.sampled_from(["a", "b", ".", "..", "/", "\\", "\0", "~", " ", "é", "%2e", "\n", "x" * 50])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(PATH_ALPHABET, max_size=12), data=st.binary(max_size=64))
def test_no_path_string_leaves_the_root(jail: Path, pieces: list[str], data: bytes) -> None:
    """Whatever the string, a file call stays inside the root or raises an AgentError."""
    path = "".join(pieces)
    for call in (lambda: write(jail, path, data), lambda: files.read(jail, path, max_bytes=100),
                 lambda: files.listing(jail, path, max_entries=100), lambda: files.delete(jail, path)):
        with contextlib.suppress(AgentError):
            call()
    assert sorted(p.name for p in jail.parent.iterdir()) == ["outside", "root", "secret.txt"]
    assert list((jail.parent / "outside").iterdir()) == []
    assert (jail.parent / "secret.txt").read_text() == "host secret"
    assert jail.is_dir() and not jail.is_symlink()


# -- the real runtime ----------------------------------------------------------------------------


class LoopThread:
    """An asyncio loop on a thread, so one Sandbox serves many synchronous tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 300) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async def call() -> T:
            return fn(*args, **kwargs)

        return self.run(call())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="session")
def runtime_cache(agent_runtimes: AgentRuntimes, python_runtime: Path) -> Path:
    """The cache the Python runtime was built into once for the test run (every agent test's)."""
    return agent_runtimes.cache


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def sandbox(runtime_cache: Path, loop: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    limits = ServerLimits(max_sessions=60, max_concurrent_execs=20, session=Limits(timeout_s=20))
    box = Sandbox(tmp_path_factory.mktemp("agent-state"), limits, workers=2, cache_dir=runtime_cache, languages=PYTHON)
    loop.run(box.start())
    loop.run(box.wait_ready(600), timeout=600)
    yield box
    loop.run(box.stop(5))


class Session:
    """A session of the shared sandbox, driven synchronously."""

    def __init__(self, box: Sandbox, loop: LoopThread, limits: dict[str, Any] | None = None,
                 tenant: str = TENANT) -> None:
        self.box, self.loop, self.tenant = box, loop, tenant
        self.id = loop.call(box.create_session, tenant, limits).session_id

    def exec(self, source: str, **fields: Any) -> ExecResult:
        return self.loop.run(self.box.exec(self.tenant, self.id, ExecRequest(language="python", source=source,
                                                                             **fields)))

    @property
    def root(self) -> Path:
        return self.box.sessions.get(self.tenant, self.id).root


@pytest.fixture
def session(sandbox: Sandbox, loop: LoopThread) -> Session:
    return Session(sandbox, loop)



@pytest.mark.slow
def test_state_is_kept_between_execs_and_fresh_starts_over(session: Session) -> None:
    assert session.exec("x = 41").exit_code == 0
    result = session.exec("print(x + 1)")
    assert (result.stdout, result.exit_code, result.state_lost, result.error) == ("42\n", 0, False, None)
    fresh = session.exec("print(x)", fresh=True)
    assert fresh.exit_code == 1 and "NameError: name 'x' is not defined" in fresh.stderr
    assert not fresh.state_lost  # asked for


@pytest.mark.slow
def test_stdin_args_and_env_are_per_exec(session: Session) -> None:
    session.loop.call(session.box.set_env, TENANT, session.id, {"SHARED": "s", "OVER": "session"})
    code = "import os, sys; print(sys.argv[1:], sorted(os.environ.items()), sys.stdin.read().upper())"
    first = session.exec(code, stdin="hello", args=["-v", "x y"], env={"OVER": "exec", "ONLY": "1"})
    assert first.stdout == "['-v', 'x y'] [('ONLY', '1'), ('OVER', 'exec'), ('SHARED', 's')] HELLO\n"
    second = session.exec(code)
    assert second.stdout == "[] [('OVER', 'session'), ('SHARED', 's')] \n"  # nothing of the last exec's
    assert session.loop.call(session.box.get_env, TENANT, session.id) == {"SHARED": "s", "OVER": "session"}


@pytest.mark.slow
def test_exit_codes_and_tracebacks_like_cpython(session: Session) -> None:
    assert session.exec("import sys; sys.exit(3)").exit_code == 3
    assert session.exec("raise SystemExit('bye')").exit_code == 1
    failed = session.exec("def f():\n    return 1 / 0\nf()")
    assert failed.exit_code == 1
    assert failed.stderr.startswith("Traceback (most recent call last):\n  File \"<exec>\", line 3, in <module>\n")
    assert "    return 1 / 0" in failed.stderr and failed.stderr.endswith("ZeroDivisionError: division by zero\n")
    assert "wasmrun" not in failed.stderr  # no frame of the runner


@pytest.mark.slow
def test_hostile_text_and_deep_recursion(session: Session) -> None:
    session.exec("x = 5")
    surrogates = session.exec("print('\ud800', x, len(input()), __import__('sys').argv[1:], "
                              "__import__('os').environ['A'])", stdin="\udfff\n", args=["\ud800", "\ud83d\ude00"],
                              env={"A": "\udc00"})
    assert (surrogates.stdout, surrogates.error) == ("\ufffd 5 1 ['\ufffd', '\U0001f600'] \ufffd\n", None)
    assert session.exec("a\0b").stderr == "SyntaxError: source code string cannot contain null bytes\n"
    recursion = session.exec("def f():\n    f()\nf()")
    assert recursion.exit_code == 1 and recursion.stderr.endswith("RecursionError: maximum recursion depth exceeded\n")
    overflow = session.exec("import sys\nsys.setrecursionlimit(10**7)\ndef f():\n    f()\nf()")
    assert overflow.exit_code == -1 and overflow.error == "crash: wasm trap: call stack exhausted", overflow
    assert session.exec("print('alive')").stdout == "alive\n"


STDLIB = ("json", "re", "dataclasses", "decimal", "fractions", "collections", "itertools", "functools", "datetime",
          "zoneinfo", "sqlite3", "csv", "io", "math", "statistics", "random", "hashlib", "hmac", "base64", "struct",
          "textwrap", "difflib", "email.mime.text", "html.parser", "xml.etree.ElementTree", "urllib.parse", "uuid",
          "typing", "enum", "abc", "asyncio", "contextlib", "pathlib", "tempfile", "shutil", "glob", "fnmatch",
          "string", "unicodedata", "codecs", "pickle", "copy", "heapq", "bisect", "array", "operator", "pprint",
          "argparse", "logging", "traceback", "inspect", "ast", "dis", "tokenize", "zlib", "gzip",
          "zipfile", "tarfile", "configparser", "tomllib", "secrets", "timeit", "doctest", "unittest", "calendar",
          "locale", "gettext", "ipaddress", "graphlib", "numbers", "cmath", "encodings.idna", "wave", "colorsys",
          "email", "http.client", "xml.dom.minidom", "sched", "shlex", "queue", "weakref", "warnings", "gc")


@pytest.mark.slow
def test_the_standard_library_is_importable(session: Session) -> None:
    code = ("import importlib\nfailed = []\nfor name in NAMES:\n    try:\n        importlib.import_module(name)\n"
            "    except Exception as exc:\n        failed.append(f'{name}: {exc}')\nprint(failed)\n"
            "import sqlite3, json, decimal\ndb = sqlite3.connect(':memory:')\n"
            "print(db.execute('select 6 * 7').fetchone()[0], json.dumps({'d': str(decimal.Decimal('1.10'))}))")
    result = session.exec(f"NAMES = {list(STDLIB)!r}\n{code}")
    assert result.stdout == "[]\n42 {\"d\": \"1.10\"}\n", result.stderr
    # componentize-py's CPython is built without these C libraries (documented in docs/agent/sandbox.md)
    missing = session.exec(f"import importlib\nfor name in {list(UNAVAILABLE)!r}:\n    try:\n"
                           "        importlib.import_module(name)\n    except ImportError:\n        print(name)")
    assert missing.stdout.split() == list(UNAVAILABLE)


@pytest.mark.slow
def test_fresh_replaces_the_interpreter_for_good(session: Session) -> None:
    """A fresh exec replaces the session's interpreter for good; the first exec of a session
    never says state_lost."""
    first = session.exec("x = 1")
    assert not first.state_lost
    session.exec("x = 2", fresh=True)
    assert session.exec("print(x)").stdout == "2\n"


@pytest.mark.slow
def test_files_and_entry(session: Session) -> None:
    """``files`` are written into the session first; ``entry`` runs as the program (its own
    modules importable from the root, its name in sys.argv[0] and in tracebacks)."""
    result = session.loop.run(session.box.exec(TENANT, session.id, ExecRequest(
        language="python", entry="app/main.py", args=["a"],
        files={"app/main.py": "import sys\nfrom helper import twice\nprint(twice(21), sys.argv)\n1 / 0\n",
               "helper.py": "def twice(n):\n    return 2 * n\n"})))
    assert result.stdout == "42 ['/app/main.py', 'a']\n"
    assert 'File "/app/main.py", line 4, in <module>\n    1 / 0\n' in result.stderr
    assert (session.root / "helper.py").is_file()
    with pytest.raises(NotFound):
        session.loop.run(session.box.exec(TENANT, session.id, ExecRequest(language="python", entry="missing.py")))
    with pytest.raises(BadRequest):
        session.loop.run(session.box.exec(TENANT, session.id, ExecRequest(
            language="python", source="print(1)", files={"../escape.py": "x"})))


@pytest.mark.slow
def test_the_working_directory_is_the_session_root(session: Session) -> None:
    result = session.exec("import os\nopen('a.txt', 'w').write('hi')\nos.makedirs('d/e')\n"
                          "open('d/e/f.bin', 'wb').write(bytes([0, 255]))\nprint(os.getcwd(), sorted(os.listdir('/')))")
    assert result.stdout == "/ ['a.txt', 'd']\n"
    assert (session.root / "a.txt").read_text() == "hi"
    assert session.loop.call(session.box.read_file, TENANT, session.id, "/d/e/f.bin") == bytes([0, 255])
    session.loop.call(session.box.write_file, TENANT, session.id, "in/put.bin", b"\x00\x01")
    assert session.exec("print(open('/in/put.bin', 'rb').read())").stdout == "b'\\x00\\x01'\n"


@pytest.mark.slow
def test_code_cannot_leave_its_session(session: Session, sandbox: Sandbox) -> None:
    other = Session(sandbox, session.loop)
    other.exec("open('theirs.txt', 'w').write('private')")
    code = """
import os
attempts = {}
for name, action in [
    ("dotdot", lambda: open("../theirs.txt").read()),
    ("passwd", lambda: open("/etc/passwd").read()),
    ("proc", lambda: open("/proc/self/environ").read()),
    ("listdir_up", lambda: os.listdir("..")),
    ("listdir_root_up", lambda: os.listdir("/..")),
    ("symlink_out", lambda: os.symlink("/etc/passwd", "p")),
    ("follow_link_up", lambda: os.symlink("..", "up") or os.listdir("up")),
    ("open_through_link", lambda: open("up/meta.json").read()),
    ("socket", lambda: __import__("socket").create_connection(("127.0.0.1", 22), timeout=1)),
    ("thread", lambda: __import__("threading").Thread(target=print).start()),
    ("subprocess", lambda: __import__("subprocess").run(["cat", "/etc/passwd"])),
]:
    try:
        attempts[name] = repr(action())
    except Exception as exc:
        attempts[name] = type(exc).__name__
print(sorted(attempts.items()))
print(sorted(os.listdir("/")), sorted(os.environ))
"""
    result = session.exec(code)
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result
    assert "private" not in result.stdout and "root:" not in result.stdout and "tenant" not in result.stdout
    outcomes = dict(ast.literal_eval(lines[0]))
    # every attempt raised (the value is the exception's class name, never what was read)
    assert all(v.isidentifier() for v in outcomes.values()), sorted(outcomes.items())
    assert lines[1] in ("[] []", "['up'] []")  # nothing of the host, no environment
    assert not (session.root / "p").exists()
    # a relative link the guest made (wasmtime lets it, and never follows it out) is refused by the file API too
    if (session.root / "up").is_symlink():
        with pytest.raises(BadRequest, match="symbolic link"):
            session.loop.call(session.box.read_file, TENANT, session.id, "up/meta.json")


@pytest.mark.slow
def test_the_package_cache_is_read_only(sandbox: Sandbox, loop: LoopThread) -> None:
    cache = sandbox._package_cache()
    (cache / "demo" / "1.0").mkdir(parents=True, exist_ok=True)
    (cache / "demo" / "1.0" / "shipped.py").write_text("VALUE = 'from the cache'\n")
    session = Session(sandbox, loop)
    result = session.exec("import sys\nsys.path.insert(0, '/.packages/demo/1.0')\nimport shipped\n"
                          "print(shipped.VALUE)\nfor action in (lambda: open('/.packages/demo/1.0/shipped.py', 'a'),\n"
                          "               lambda: open('/.packages/new.py', 'w')):\n    try:\n        action()\n"
                          "    except OSError as exc:\n        print(type(exc).__name__)")
    assert result.stdout == "from the cache\nPermissionError\nPermissionError\n", result
    assert not (cache / "new.py").exists()
    assert (cache / "demo" / "1.0" / "shipped.py").read_text() == "VALUE = 'from the cache'\n"


@pytest.mark.slow
def test_an_infinite_loop_times_out_and_the_next_exec_works(session: Session) -> None:
    session.exec("x = 1")
    started = time.monotonic()
    stuck = session.exec("while True:\n    pass", timeout=1)
    assert (stuck.error, stuck.exit_code) == ("timeout", -1)
    assert time.monotonic() - started < 10
    after = session.exec("print('alive', 'x' in globals())")
    assert (after.stdout, after.state_lost, after.error) == ("alive False\n", True, None)
    assert not session.exec("print(1)").state_lost  # said once


@pytest.mark.slow
def test_blocking_waits_time_out_too(session: Session) -> None:
    """time.sleep and asyncio's selector wait in the host, where an epoch interrupt does not reach:
    the runtime cuts them into slices, so the time-out stops them like a loop."""
    for code in ("import time\ntime.sleep(60)", "import asyncio\nasyncio.run(asyncio.sleep(60))"):
        started = time.monotonic()
        result = session.exec(code, timeout=1)
        assert (result.error, result.exit_code) == ("timeout", -1), result
        assert time.monotonic() - started < 5
    works = session.exec("import asyncio, time\nasync def main():\n    started = time.monotonic()\n"
                         "    await asyncio.gather(asyncio.sleep(0.2), asyncio.sleep(0.2))\n"
                         "    return round(time.monotonic() - started, 1)\nprint(asyncio.run(main()))")
    assert works.stdout == "0.2\n", works


@pytest.mark.slow
def test_fuel_runs_out(sandbox: Sandbox, loop: LoopThread) -> None:
    session = Session(sandbox, loop, {"fuel": 50_000_000})
    result = session.exec("n = 0\nwhile True:\n    n += 1")
    assert (result.error, result.exit_code) == ("fuel", -1)
    assert session.exec("print(2)").stdout == "2\n"


@pytest.mark.slow
def test_memory_past_the_limit(sandbox: Sandbox, loop: LoopThread) -> None:
    session = Session(sandbox, loop, {"memory_bytes": 128 * 1024 * 1024})
    session.exec("kept = 'yes'")
    grown = session.exec("blocks = []\nwhile True:\n    blocks.append(bytearray(8 * 1024 * 1024))")
    assert grown.exit_code != 0
    assert grown.error == "memory" and "MemoryError" in grown.stderr, grown
    after = session.exec("blocks = None\nprint(kept)")
    assert after.stdout == "yes\n"  # the interpreter survived a MemoryError: its state is kept


@pytest.mark.slow
def test_an_output_flood_is_truncated(sandbox: Sandbox, loop: LoopThread) -> None:
    session = Session(sandbox, loop, {"output_bytes": 100_000})
    chunks: list[tuple[str, str]] = []

    async def on_output(stream: str, text: str) -> None:
        chunks.append((stream, text))

    result = loop.run(sandbox.exec(TENANT, session.id, ExecRequest(language="python", source="while True:\n"
                                                                   "    print('y' * 999)"), on_output))
    assert result.output_truncated and result.error == "output"
    assert 99_000 <= len(result.stdout) <= 100_000 and set(result.stdout) == {"y", "\n"}
    assert "".join(text for _, text in chunks) == result.stdout
    assert session.exec("print('ok')").stdout == "ok\n"


@pytest.mark.slow
def test_a_client_that_stops_reading_holds_up_nothing(sandbox: Sandbox, loop: LoopThread,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamed output goes through a queue: a stuck on_output neither blocks the worker (other
    sessions on it run) nor keeps the exec's result past the delivery grace."""
    from wasmrun.agent import workers

    monkeypatch.setattr(workers, "DELIVERY_GRACE_S", 2.0)
    stuck, other = Session(sandbox, loop), Session(sandbox, loop)
    while sandbox.sessions.get(TENANT, other.id).worker != sandbox.sessions.get(TENANT, stuck.id).worker:
        other = Session(sandbox, loop)

    async def never_returns(stream: str, text: str) -> None:
        await asyncio.Event().wait()

    streamed = asyncio.run_coroutine_threadsafe(sandbox.exec(TENANT, stuck.id, ExecRequest(
        language="python", source="for i in range(1000):\n    print(i)"), never_returns), loop.loop)
    started = time.monotonic()
    assert other.exec("print('not held up')").stdout == "not held up\n"
    assert time.monotonic() - started < 2.0
    result = streamed.result(30)
    assert result.stdout == "".join(f"{i}\n" for i in range(1000))  # the result has it all


@pytest.mark.slow
def test_a_million_empty_files_are_stopped_by_max_files(sandbox: Sandbox, loop: LoopThread) -> None:
    session = Session(sandbox, loop, {"max_files": 300})
    started = time.monotonic()
    flood = session.exec("for i in range(1_000_000):\n    open(f'f{i}', 'w').close()")
    assert time.monotonic() - started < 15
    assert flood.exit_code == -1 and flood.error is not None and flood.error.startswith("files:"), flood
    with pytest.raises(LimitExceeded):
        loop.call(sandbox.write_file, TENANT, session.id, "one-more.txt", b"x")
    # over quota, code may still run (and clean up), but not grow
    cleanup = session.exec("import os\nfor name in os.listdir('/'):\n    os.remove(name)\nprint(len(os.listdir('/')))")
    assert (cleanup.stdout, cleanup.error) == ("0\n", None)
    loop.call(sandbox.write_file, TENANT, session.id, "one-more.txt", b"x")


@pytest.mark.slow
def test_a_session_far_over_its_file_quota_can_still_clean_up(sandbox: Sandbox, loop: LoopThread) -> None:
    """A flood can overshoot ``max_files`` many times over before the watcher's next look (on a
    busy machine); an exec that removes files must still run to its end, however far over."""
    session = Session(sandbox, loop, {"max_files": 10})
    for i in range(101):  # what a flood left behind
        (session.root / f"f{i}").touch()
    loop.call(sandbox.delete_file, TENANT, session.id, "f100")
    told = session.exec("print('runs')")
    assert told.stdout == "runs\n" and told.error is not None and told.error.startswith("files:"), told
    slow_cleanup = ("import os, time\ntime.sleep(0.5)  # the watcher looks meanwhile\n"
                    "for name in os.listdir('/'):\n    os.remove(name)\nprint(len(os.listdir('/')))")
    cleanup = session.exec(slow_cleanup)
    assert (cleanup.stdout, cleanup.error) == ("0\n", None), cleanup


@pytest.mark.slow
def test_a_session_does_not_expire_while_an_exec_runs(sandbox: Sandbox, loop: LoopThread) -> None:
    session = Session(sandbox, loop, {"idle_timeout_s": 1})
    running = asyncio.run_coroutine_threadsafe(
        sandbox.exec(TENANT, session.id, ExecRequest(language="python", source="import time\ntime.sleep(2.5)\n"
                                                     "print('done')")), loop.loop)
    time.sleep(1.8)
    assert loop.call(sandbox.get_session, TENANT, session.id).session_id == session.id  # idle 1 s, but running
    assert running.result(30).stdout == "done\n"
    assert loop.call(sandbox.get_session, TENANT, session.id)  # just used
    time.sleep(1.3)
    with pytest.raises(Gone):
        loop.call(sandbox.get_session, TENANT, session.id)
    with pytest.raises(Gone):
        session.exec("print(1)")
    directory = sandbox.state_dir / "sessions" / session.id
    deadline = time.monotonic() + 15
    while directory.exists() and time.monotonic() < deadline:  # the sweep runs every 5 s
        time.sleep(0.2)
    assert not directory.exists()  # its files went with it
    with pytest.raises(Gone):
        loop.call(sandbox.get_session, TENANT, session.id)


@pytest.mark.slow
def test_concurrent_execs_on_one_session_run_in_order(session: Session) -> None:
    first = asyncio.run_coroutine_threadsafe(session.box.exec(TENANT, session.id, ExecRequest(
        language="python", source="import time\ntime.sleep(0.5)\nlog = ['first']\nprint('first')")), session.loop.loop)
    time.sleep(0.1)
    second = asyncio.run_coroutine_threadsafe(session.box.exec(TENANT, session.id, ExecRequest(
        language="python", source="log.append('second')\nprint(log)")), session.loop.loop)
    assert first.result(30).stdout == "first\n"
    assert second.result(30).stdout == "['first', 'second']\n"


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_the_session_says_state_lost(session: Session, sandbox: Sandbox) -> None:
    session.exec("x = 1")
    record = sandbox.sessions.get(TENANT, session.id)
    pid = sandbox.pool.workers[record.worker].pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    result = session.exec("print('back', 'x' in globals())")
    assert (result.stdout, result.state_lost) == ("back False\n", True), result
    assert sandbox.pool.workers[record.worker].pid != pid
    assert session.exec("print(1)").stdout == "1\n"


@pytest.mark.slow
def test_a_worker_killed_during_an_exec(session: Session, sandbox: Sandbox) -> None:
    session.exec("x = 1")
    pid = sandbox.pool.workers[sandbox.sessions.get(TENANT, session.id).worker].pid
    assert pid is not None
    running = asyncio.run_coroutine_threadsafe(session.box.exec(TENANT, session.id, ExecRequest(
        language="python", source="import time\nprint('before', flush=True)\ntime.sleep(5)")), session.loop.loop)
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    result = running.result(30)
    assert result.exit_code == -1 and result.error is not None and result.error.startswith("crash:"), result
    assert result.stdout == "before\n"  # what arrived before the crash is kept
    after = session.exec("print('x' in globals())")
    assert (after.stdout, after.state_lost) == ("False\n", True)


@pytest.mark.slow
def test_tenants_and_ids(sandbox: Sandbox, loop: LoopThread) -> None:
    mine = Session(sandbox, loop)
    stats = loop.call(sandbox.stats)
    assert stats["workers"] == 2 and stats["sessions"] >= 1 and stats["runtimes_ready"] == 1  # python only, as asked
    assert stats["execs_in_flight"] == 0
    with pytest.raises(NotFound):
        loop.call(sandbox.get_session, "tenant-b", mine.id)
    with pytest.raises(NotFound):
        loop.call(sandbox.read_file, "tenant-b", mine.id, "x")
    with pytest.raises(NotFound):
        loop.call(sandbox.get_session, TENANT, "no-such-id")
    assert mine.id in {s.session_id for s in loop.call(sandbox.list_sessions, TENANT)}
    assert mine.id not in {s.session_id for s in loop.call(sandbox.list_sessions, "tenant-b")}
    loop.run(sandbox.destroy_session(TENANT, mine.id))
    with pytest.raises(Gone):
        loop.call(sandbox.get_session, TENANT, mine.id)
    with pytest.raises(NotFound):  # another tenant learns nothing, not even that it existed
        loop.call(sandbox.get_session, "tenant-b", mine.id)


@pytest.mark.slow
def test_limits_above_the_ceiling_are_refused(sandbox: Sandbox, loop: LoopThread) -> None:
    with pytest.raises(BadRequest, match="timeout_s"):
        loop.call(sandbox.create_session, TENANT, {"timeout_s": 10_000})
    with pytest.raises(BadRequest):
        loop.call(sandbox.create_session, TENANT, {"fuel": -1})
    with pytest.raises(BadRequest, match="memory_bytes"):
        loop.call(sandbox.create_session, TENANT, {"memory_bytes": 10**6},
                  tenant_ceiling=Limits(memory_bytes=10**5))
    session = Session(sandbox, loop, {"timeout_s": 1})
    assert session.exec("while True: pass", timeout=100).error == "timeout"  # never above the session's


StartSandbox = Callable[..., Coroutine[Any, Any, Sandbox]]


@pytest.fixture
def started_sandbox(runtime_cache: Path, tmp_path: Path) -> StartSandbox:
    """``await started_sandbox(limits)``: a new one-worker Python sandbox on this test's own state
    directory (the same one each call, as a restarted server's), started and ready; the test
    stops it."""

    async def start(limits: ServerLimits | None = None) -> Sandbox:
        box = Sandbox(tmp_path / "state", limits or ServerLimits(), workers=1, cache_dir=runtime_cache,
                      languages=PYTHON)
        await box.start()
        await box.wait_ready(600)
        return box

    return start


@pytest.mark.slow
def test_restart_keeps_sessions_and_files_not_state(started_sandbox: StartSandbox) -> None:
    async def first() -> str:
        box = await started_sandbox()
        session_id = box.create_session(TENANT).session_id
        await box.exec(TENANT, session_id, ExecRequest(language="python", source="x = 1\nopen('kept', 'w').write('k')"))
        await box.stop(1)
        return session_id

    async def second(session_id: str) -> ExecResult:
        box = await started_sandbox()
        try:
            return await box.exec(TENANT, session_id, ExecRequest(
                language="python", source="print(open('kept').read(), 'x' in globals())"))
        finally:
            await box.stop(1)

    session_id = asyncio.run(first())
    result = asyncio.run(second(session_id))
    assert (result.stdout, result.state_lost) == ("k False\n", True)


@pytest.mark.slow
def test_stop_lets_a_running_exec_finish(started_sandbox: StartSandbox) -> None:
    async def scenario() -> tuple[ExecResult, str]:
        box = await started_sandbox()
        session_id = box.create_session(TENANT).session_id
        running = asyncio.create_task(box.exec(TENANT, session_id, ExecRequest(
            language="python", source="import time\ntime.sleep(0.5)\nprint('finished')")))
        await asyncio.sleep(0.2)
        await box.stop(10)
        try:
            await box.exec(TENANT, session_id, ExecRequest(language="python", source="print(1)"))
            refused = "no"
        except AgentError as exc:
            refused = exc.code
        return await running, refused

    result, refused = asyncio.run(scenario())
    assert result.stdout == "finished\n"
    assert refused == "unavailable"


@pytest.mark.slow
def test_stop_ends_an_exec_that_outlives_the_grace_period(started_sandbox: StartSandbox) -> None:
    async def scenario() -> tuple[ExecResult, float]:
        box = await started_sandbox()
        session_id = box.create_session(TENANT).session_id
        running = asyncio.create_task(box.exec(TENANT, session_id, ExecRequest(
            language="python", source="import time\nprint('started', flush=True)\ntime.sleep(20)")))
        await asyncio.sleep(1.0)
        started = time.monotonic()
        await box.stop(0.5)
        return await running, time.monotonic() - started

    result, took = asyncio.run(scenario())
    assert result.error == "crash: the server stopped before the exec finished", result
    assert result.stdout == "started\n"
    assert took < 5


@pytest.mark.slow
def test_too_many_concurrent_execs_are_refused(started_sandbox: StartSandbox) -> None:
    async def scenario() -> list[object]:
        limits = ServerLimits(max_concurrent_execs=2)
        box = await started_sandbox(limits)
        ids = [box.create_session(TENANT).session_id for _ in range(3)]
        try:
            return await asyncio.gather(*(box.exec(TENANT, i, ExecRequest(
                language="python", source="import time\ntime.sleep(0.3)")) for i in ids), return_exceptions=True)
        finally:
            await box.stop(5)

    outcomes = asyncio.run(scenario())
    assert sum(isinstance(o, ExecResult) and o.exit_code == 0 for o in outcomes) == 2
    assert sum(isinstance(o, LimitExceeded) for o in outcomes) == 1


@pytest.mark.slow
def test_idle_interpreters_past_the_memory_cap_are_dropped(started_sandbox: StartSandbox) -> None:
    """idle_memory_bytes caps what idle sessions' interpreters hold: past it the least recently
    used are dropped (their next exec says state_lost), never the session that just ran."""
    async def scenario() -> list[ExecResult]:
        box = await started_sandbox(ServerLimits(idle_memory_bytes=1))
        try:
            a, b = (box.create_session(TENANT).session_id for _ in range(2))
            for sid in (a, b):
                await box.exec(TENANT, sid, ExecRequest(language="python", source="x = 1"))
            probe = ExecRequest(language="python", source="print('x' in globals())")
            return [await box.exec(TENANT, b, probe), await box.exec(TENANT, a, probe)]
        finally:
            await box.stop(5)

    kept, dropped = asyncio.run(scenario())
    assert (kept.stdout, kept.state_lost) == ("True\n", False)
    assert (dropped.stdout, dropped.state_lost) == ("False\n", True)


def test_max_sessions(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "state", ServerLimits(max_sessions=2), workers=1)
    box.create_session(TENANT)
    box.create_session("tenant-b")
    with pytest.raises(LimitExceeded, match="maximum of 2 sessions"):
        box.create_session(TENANT)


def test_a_failed_runtime_is_tried_again_after_5_s_doubling_up_to_60_s() -> None:
    from wasmrun.agent.sandbox import retry_delay

    assert [retry_delay(attempt) for attempt in range(7)] == [5, 10, 20, 40, 60, 60, 60]
    assert retry_delay(10_000) == 60  # no overflow however long it keeps failing
