"""``wasmrun run --headless``: every route of the page run in Debian's Chromium from the CLI (a
real process, as a terminal runs it), checking what reaches stdout and stderr and the exit code.

Projects are built with the real toolchains and copied into tmp_path; every run has a time limit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmrun.testing import require_tool

pytestmark = pytest.mark.toolchain("chromium")

LIMIT_S = 120  # no run of this file may take longer, whatever happens


@pytest.fixture(autouse=True)
def _browser() -> None:
    require_tool("playwright", found=importlib.util.find_spec("playwright") is not None)
    require_tool("chromium", found=shutil.which("chromium") is not None)


def headless(*args: str | Path, stdin: str | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``wasmrun run --headless ARGS`` in a process of its own; stdin closed unless given."""
    return subprocess.run([sys.executable, "-m", "wasmrun", "run", "--headless", *map(str, args)],
                          input=stdin if stdin is not None else "", capture_output=True, text=True,
                          timeout=LIMIT_S, env={**os.environ, **(env or {})}, check=False)


def wat(body: str) -> str:
    """A WAT command with $print(ptr, len) to stdout, $eprint to stderr, memory from 1024 free."""
    return f"""(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $print (param $ptr i32) (param $len i32) (call $write (i32.const 1) (local.get $ptr) (local.get $len)))
  (func $eprint (param $ptr i32) (param $len i32) (call $write (i32.const 2) (local.get $ptr) (local.get $len)))
  {body}
)
"""


# -- wasmrun's page, a WASI module ----------------------------------------------------------------


def test_wat_hello_prints_its_line_and_exits_0(example: Callable[[str], Path]) -> None:
    ran = headless(example("wat-hello"))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hello from WebAssembly text\n"  # only the program's output
    assert "built" in ran.stderr or ran.stderr == ""  # wasmrun's own lines never on stdout


def test_stdout_stderr_and_a_non_zero_exit(make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": wat("""
  (data (i32.const 1024) "to stdout\\n")
  (data (i32.const 1040) "to stderr\\n")
  (func (export "_start")
    (call $print (i32.const 1024) (i32.const 10))
    (call $eprint (i32.const 1040) (i32.const 10))
    (call $proc_exit (i32.const 7)))""")})
    ran = headless(project)
    assert ran.returncode == 7, ran.stderr
    assert ran.stdout == "to stdout\n"
    assert "to stderr\n" in ran.stderr


def test_a_trap_exits_134_with_the_error_on_stderr(make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": wat("""
  (data (i32.const 1024) "before\\n")
  (func (export "_start") (call $print (i32.const 1024) (i32.const 7)) unreachable)""")})
    ran = headless(project)
    assert ran.returncode == 134, ran.stderr
    assert ran.stdout == "before\n"
    assert "RuntimeError: unreachable" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_timeout_stops_a_program_that_never_exits_with_142(make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": wat("""
  (data (i32.const 1024) "spinning\\n")
  (func (export "_start") (call $print (i32.const 1024) (i32.const 9)) (loop $forever (br $forever)))""")})
    started = time.monotonic()
    ran = headless(project, "--timeout", "2")
    assert ran.returncode == 142, ran.stderr
    assert time.monotonic() - started < 60
    assert ran.stdout == "spinning\n"  # what it wrote before the loop still streamed out
    assert ran.stderr.strip().splitlines()[-1] == \
        "error: timed out: the program was still running after --timeout 2 s"


def test_a_module_the_page_cannot_start_exits_1_with_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(b"\0asm\x01\0\0\0\x01\xff")  # a type section that ends too soon
    ran = headless(broken)
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout == ""
    last = ran.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the page could not run the program: WebAssembly.compileStreaming(): ")
    assert "CompileError: " in ran.stderr  # the browser's own words, before wasmrun's line
    assert "Traceback" not in ran.stderr


def test_a_failed_build_exits_1_with_the_compilers_words(make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": "(module (func (export \"_start\") (call $nowhere)))"})
    ran = headless(project)
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout == ""
    assert ran.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in ran.stderr


def test_a_page_that_fails_to_load_exits_1() -> None:
    """The driver pointed at a port nothing listens on: exit 1 and one line saying so."""
    import socket

    from wasmrun.headless.browsers import choose_browser
    from wasmrun.headless.driver import BrowserSession, HeadlessOptions

    with socket.socket() as sock:  # a free port, closed again: connections to it are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    written: list[str] = []
    session = BrowserSession(choose_browser().path, HeadlessOptions(timeout=30), written.append, written.append)
    session.start()
    session.open(f"http://127.0.0.1:{port}/__wasmrun/")
    outcome = session.wait()
    assert outcome.exit_code == 1
    assert outcome.message is not None and outcome.message.startswith("the page failed to load: ")
    assert "ERR_CONNECTION_REFUSED" in outcome.message and "\n" not in outcome.message


def test_stdin_args_and_env_reach_a_c_program(make_project: Callable[..., Path]) -> None:
    require_tool("clang")
    project = make_project({"main.c": r"""#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  char line[100];
  while (fgets(line, sizeof line, stdin)) printf("read: %s", line);
  for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  const char *who = getenv("WHO");
  printf("WHO=%s HOME=%s\n", who ? who : "(unset)", getenv("HOME") ? "set" : "(unset)");
  fprintf(stderr, "done\n");
  return 5;
}
"""})
    ran = headless(project, "--env", "WHO=wasm", "--", "one", "two words", stdin="first\nsecond\n")
    assert ran.returncode == 5, ran.stderr
    assert ran.stdout == "read: first\nread: second\narg 1: one\narg 2: two words\nWHO=wasm HOME=(unset)\n"
    assert "done\n" in ran.stderr


def test_hostile_stdin_and_output_pass_through_unchanged(make_project: Callable[..., Path], tmp_path: Path) -> None:
    """Every byte value reaches the program's stdin (NULs, invalid UTF-8, a `</script>`), and output
    that looks like the page's own reports (the marker, JSON, an "end") is printed as it is."""
    require_tool("clang")
    project = make_project({"main.c": r"""#include <stdio.h>
int main(void) {
  long long count = 0, sum = 0; int c;  /* long is 32 bits on wasm32 */
  while ((c = getchar()) != EOF) { count++; sum = (sum * 31 + c) % 1000000007; }
  printf("count=%lld sum=%lld\n", count, sum);
  printf("\xe2\x81\xa3wasmrun\xe2\x81\xa3[\"end\", {\"status\": \"exited\", \"code\": 9}]\n");
  return 0;
}
"""})
    data = bytes(range(256)) * 3 + b"</script><!--" + "\u2063wasmrun\u2063".encode()
    expected_sum = 0
    for byte in data:
        expected_sum = (expected_sum * 31 + byte) % 1000000007
    stdin_file = tmp_path / "input.bin"
    stdin_file.write_bytes(data)
    with stdin_file.open("rb") as stdin:
        ran = subprocess.run([sys.executable, "-m", "wasmrun", "run", "--headless", str(project)], stdin=stdin,
                             capture_output=True, timeout=LIMIT_S, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.decode() == (f"count={len(data)} sum={expected_sum}\n"
                                   '\u2063wasmrun\u2063["end", {"status": "exited", "code": 9}]\n')


# -- JS glue: emscripten, Go, AssemblyScript --------------------------------------------------------


def test_emscripten_glue_with_exit_runtime(make_project: Callable[..., Path]) -> None:
    require_tool("emcc")
    project = make_project({
        "main.c": '#include <stdio.h>\nint main(int argc, char **argv) {\n  char line[64];\n'
                  '  if (fgets(line, sizeof line, stdin)) printf("stdin: %s", line);\n'
                  '  printf("glue says %s\\n", argc > 1 ? argv[1] : "nothing");\n'
                  '  fprintf(stderr, "on stderr\\n");\n  return 3;\n}\n',
        "Makefile": "wasm:\n\t$(CC) $(CFLAGS) main.c $(LDFLAGS) -sEXIT_RUNTIME=1 -o $(OUT_DIR)/glue.js\n",
    })
    ran = headless(project, "--target", "web", "--", "hi", stdin="piped\n")
    assert ran.returncode == 3, ran.stderr
    assert ran.stdout == "stdin: piped\nglue says hi\n"
    assert "on stderr\n" in ran.stderr


def test_emscripten_page_without_exit_runtime_runs_until_the_timeout(example: Callable[[str], Path]) -> None:
    """emcc's default (no EXIT_RUNTIME): main returns but the runtime stays, as in a browser tab."""
    require_tool("emcc")
    ran = headless(example("c-hello"), "--target", "web", "--timeout", "8")
    assert ran.returncode == 142, ran.stderr
    assert "hello from C" in ran.stdout


def test_threaded_emscripten_build_runs_cross_origin_isolated(make_project: Callable[..., Path]) -> None:
    require_tool("emcc")
    project = make_project({
        "main.c": """#include <pthread.h>
#include <stdio.h>
static void *work(void *arg) { printf("from thread %d\\n", *(int *)arg); return NULL; }
int main(void) {
  pthread_t thread; int id = 7;
  pthread_create(&thread, NULL, work, &id);
  pthread_join(thread, NULL);
  printf("joined\\n");
  return 0;
}
""",
        "wasmrun.toml": 'extra_args = ["-pthread", "-sPTHREAD_POOL_SIZE=1", "-sEXIT_RUNTIME=1"]\n',
    })
    ran = headless(project, "--target", "web")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "from thread 7\njoined\n"


def test_go_js_wasm(example: Callable[[str], Path]) -> None:
    require_tool("wasmrun-go", found=importlib.util.find_spec("wasmrun_go") is not None)
    from wasmrun_go import toolchain as go_tools

    require_tool("go", found=bool(go_tools.installed()))
    ran = headless(example("go-hello"), "--target", "web", "--", "one", env={"WASMRUN_LOAD_PLUGINS": "go"})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hello from Go\narg 1: one\n"


def test_assemblyscript_esm_bindings(example: Callable[[str], Path], asc_node_modules: Path) -> None:
    """ESM bindings of a library: the page imports them (which instantiates the module); with
    nothing more to run, the run ends at once with 0 and no output. (A failed import is exit 1.)"""
    project = example("asc-lib")
    (project / "node_modules").symlink_to(asc_node_modules, target_is_directory=True)
    ran = headless(project)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == ""
    assert "error" not in ran.stderr.lower()


def test_a_projects_own_page_prints_through_its_console_and_exits_through_the_host(
        make_project: Callable[..., Path]) -> None:
    """A directory with an index.html and no module: its console.log is the output, and it ends the
    run with ``window.wasmrunHost.exit`` (here driven by an explicit --browser path)."""
    site = make_project({"index.html": """<!doctype html>
<script>throw new TypeError("boom");</script>
<script>
console.log("from the page");
console.error("a console error");
window.wasmrunHost?.exit(3);
</script>"""})
    ran = headless(site, "--browser", shutil.which("chromium") or "chromium")
    assert ran.returncode == 3, ran.stderr
    assert ran.stdout == "from the page\n"
    assert "console.error: a console error\n" in ran.stderr
    assert "uncaught TypeError: boom\n" in ran.stderr


# -- the browser, errors, signals -----------------------------------------------------------------


def test_an_unknown_browser_is_one_line_and_exit_2(example: Callable[[str], Path]) -> None:
    ran = headless(example("wat-hello"), "--browser", "no-such-browser")
    assert ran.returncode == 2
    first = ran.stderr.splitlines()[0]
    assert first.startswith("error: --browser no-such-browser: not found (browsers found: chromium")
    assert "Traceback" not in ran.stderr


def test_missing_playwright_names_the_extra(example: Callable[[str], Path], tmp_path: Path) -> None:
    """Playwright hidden from the process: one line saying how to install it."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nclass Block:\n    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'playwright' or name.startswith('playwright.'):\n"
        "            raise ModuleNotFoundError(name)\n        return None\n"
        "sys.meta_path.insert(0, Block())\n")
    pythonpath = os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])
    ran = headless(example("wat-hello"), env={"PYTHONPATH": pythonpath})
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.splitlines() == ["error: --headless needs Playwright, which is not installed",
                                       "hint: pip install 'wasmrun[browser]'"]


def test_options_only_for_headless_are_refused_without_it(example: Callable[[str], Path]) -> None:
    ran = subprocess.run([sys.executable, "-m", "wasmrun", "run", str(example("wat-hello")), "--timeout", "1"],
                         capture_output=True, text=True, timeout=LIMIT_S, check=False)
    assert ran.returncode == 2
    assert ran.stderr.strip() == "error: --timeout applies only with --headless"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_a_run_with_130_or_143(make_project: Callable[..., Path], signum: int,
                                                        code: int) -> None:
    project = make_project({"main.wat": wat("""
  (data (i32.const 1024) "spinning\\n")
  (func (export "_start") (call $print (i32.const 1024) (i32.const 9)) (loop $forever (br $forever)))""")})
    proc = subprocess.Popen([sys.executable, "-m", "wasmrun", "run", "--headless", str(project)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "spinning\n"  # the program is running
        proc.send_signal(signum)
        _, errors = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, errors
    assert errors.strip().splitlines()[-1] == "interrupted"


def test_parallel_runs_do_not_clash(example: Callable[[str], Path], make_project: Callable[..., Path]) -> None:
    projects = [example("wat-hello"), make_project({"main.wat": wat("""
  (data (i32.const 1024) "second\\n")
  (func (export "_start") (call $print (i32.const 1024) (i32.const 7)))""")})]
    procs = [subprocess.Popen([sys.executable, "-m", "wasmrun", "run", "--headless", str(p)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in projects]
    outputs = [p.communicate(timeout=LIMIT_S) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert [out for out, _ in outputs] == ["hello from WebAssembly text\n", "second\n"]


def test_in_process_cli_returns_instead_of_leaving(example: Callable[[str], Path]) -> None:
    """Run by a test's CLI runner (not as its own process), --headless waits for the browser and
    returns its exit code: the test process goes on."""
    from wasmrun.testing import invoke_cli

    ran = invoke_cli("run", "--headless", example("wat-hello"), "--", "x")
    assert (ran.exit_code, ran.stdout) == (0, "hello from WebAssembly text\n"), ran.stderr


def test_doctor_reports_the_browser() -> None:
    ran = subprocess.run([sys.executable, "-m", "wasmrun", "doctor", "--json", "--no-probe"],
                         capture_output=True, text=True, timeout=LIMIT_S, check=False)
    entry = next(e for e in json.loads(ran.stdout) if e["plugin"] == "browser")
    assert entry["ready"] is True
    names = {tool["name"]: tool for tool in entry["tools"]}
    assert names["playwright"]["found"] is True
    assert names["chromium"]["path"] == shutil.which("chromium")


def test_a_warm_headless_run_loads_neither_typer_nor_a_plugin(example: Callable[[str], Path]) -> None:
    """With the build cache warm, ``run --headless`` takes the typer-free route: the build is
    restored from its manifest and served without typer, pluggy or any language plugin."""
    project = example("wat-hello")
    assert headless(project).returncode == 0  # builds, and stores the build
    code = ("import os, sys\nleave = os._exit\n"
            "def _exit(code):\n"
            "    print(sorted(m for m in ('typer', 'click', 'pluggy', 'wasmrun.plugins', 'wasmrun.building')"
            " if m in sys.modules), file=sys.stderr)\n"
            "    leave(code)\n"
            "os._exit = _exit\nfrom wasmrun.cli import main\nmain(['run', '--headless', sys.argv[1]])\n")
    ran = subprocess.run([sys.executable, "-c", code, str(project)], input="", capture_output=True, text=True,
                         timeout=LIMIT_S, check=False)
    assert (ran.returncode, ran.stdout) == (0, "hello from WebAssembly text\n"), ran.stderr
    assert ran.stderr.strip().splitlines()[-1] == "[]"


def test_playwright_is_not_imported_by_other_commands(example: Callable[[str], Path]) -> None:
    code = ("import sys\nfrom wasmrun.cli import main\n"
            "for argv in (['run', '--help'], ['doctor', '--no-probe'], ['compile', sys.argv[1]]):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print('playwright' in sys.modules, file=sys.stderr)\n")
    ran = subprocess.run([sys.executable, "-c", code, str(example("wat-hello"))], capture_output=True, text=True,
                         timeout=LIMIT_S, check=False)
    assert ran.stderr.strip().splitlines()[-1] == "False", ran.stderr


# -- the page's reports, read by the driver ----------------------------------------------------------


def test_reading_the_pages_reports_never_fails_on_any_console_line() -> None:
    """A page may log anything, the marker included (a project's own page, a hostile one): a line
    is a report only when it is the marker and a JSON [kind, data], and an end is always an exit code."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from wasmrun.headless.driver import MARKER, _report_of, outcome_of_end

    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                               | st.dictionaries(st.text(), inner, max_size=3), max_leaves=8)

    @settings(max_examples=300, deadline=None)
    @given(st.text(), json_values, st.dictionaries(st.sampled_from(["status", "code", "text"]), json_values))
    def check(text: str, value: object, end: dict[str, object]) -> None:
        if not text.startswith(MARKER):
            assert _report_of(text) is None
        report = _report_of(MARKER + text)
        assert report is None or isinstance(report[0], str)
        found = _report_of(MARKER + json.dumps(["stdout", value]))
        assert found == ("stdout", value)
        outcome = outcome_of_end(end)
        code = end.get("code")
        if end.get("status") == "exited" and isinstance(code, int):
            assert outcome.exit_code == code
        else:
            assert outcome.exit_code in (0, 1, 134)
        assert (outcome.message is None) == (end.get("status") in ("exited", "trapped", "ready"))

    check()
    # hostile lines by hand: a marker alone, truncated JSON, a non-list, a kind that is not text
    for line in ("", "[", '["stdout"]', '{"kind": 1}', "[1, 2]", '["end", {"status": "exited", "code": "9"}]'):
        report = _report_of(MARKER + line)
        assert report is None or report == ("end", {"status": "exited", "code": "9"})
    assert outcome_of_end({"status": "exited", "code": "9"}).exit_code == 0  # a code that is not a number
    assert outcome_of_end({"status": "trapped"}).exit_code == 134
    assert outcome_of_end({"status": "failed", "text": "failed: x"}).message == "the page could not run the program: x"


# -- a component (wasmrun's page runs jco's transpiled component) ----------------------------------


@pytest.fixture(scope="module")
def component_tools_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One managed install of the component tools for the runs below (each run's WASMRUN_HOME is
    its own, but the tools may be shared through WASMRUN_TOOLS_DIR)."""
    require_tool("npm")
    return tmp_path_factory.mktemp("component-tools")


def test_a_component_prints_and_exits_0(example: Callable[[str], Path], component_tools_dir: Path) -> None:
    ran = headless(example("wat-hello"), "--target", "component",
                   env={"WASMRUN_TOOLS_DIR": str(component_tools_dir)})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hello from WebAssembly text\n"


def test_a_component_failing_exits_1_with_its_stderr(make_project: Callable[..., Path],
                                                     component_tools_dir: Path) -> None:
    """WASI 0.2's exit carries only ok or err, so a command exiting 7 ends with 1, as it does under
    ``wasmrun exec`` of the same component."""
    project = make_project({"main.wat": wat("""
  (data (i32.const 1024) "to stdout\\n")
  (data (i32.const 1040) "to stderr\\n")
  (func (export "_start")
    (call $print (i32.const 1024) (i32.const 10))
    (call $eprint (i32.const 1040) (i32.const 10))
    (call $proc_exit (i32.const 7)))""")})
    ran = headless(project, "--target", "component", env={"WASMRUN_TOOLS_DIR": str(component_tools_dir)})
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout == "to stdout\n"
    assert "to stderr" in ran.stderr


def test_a_component_trapping_as_it_starts_says_so_once(make_project: Callable[..., Path],
                                                        component_tools_dir: Path) -> None:
    """A core module whose start function traps fails the page's inline bundle as it evaluates:
    the page reports it (status failed, exit 1), and it is not also an uncaught error."""
    project = make_project({"main.wat": """(module
  (memory (export "memory") 1)
  (func $boom unreachable)
  (start $boom)
  (func (export "_start")))
"""})
    ran = headless(project, "--target", "component", env={"WASMRUN_TOOLS_DIR": str(component_tools_dir)})
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout == ""
    assert ran.stderr.splitlines() == ["RuntimeError: unreachable",
                                       "error: the page could not run the program: unreachable"]
