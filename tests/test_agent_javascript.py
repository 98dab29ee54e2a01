"""The agent's JavaScript and TypeScript runtime: the real QuickJS component (built by the pinned
componentize-qjs) called cell after cell in one instance, as a session's worker calls it, with
the cells prepared on the host by the real esbuild and tree-sitter."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AgentRuntimes
from wasmrun import component_tools
from wasmrun.agent.runtimes import javascript, js_cells

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_tools(agent_runtimes: AgentRuntimes) -> Path:
    """The managed tools (componentize-qjs, esbuild, jco's WIT), installed once for the test run."""
    return agent_runtimes.tools


@pytest.fixture(autouse=True)
def tools(shared_tools: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(shared_tools))
    return shared_tools


@pytest.fixture(scope="module")
def runtime(agent_runtimes: AgentRuntimes) -> Iterator[Path]:
    """The runtime component, built once for the test run into the agent tests' shared cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(agent_runtimes.tools))
        yield javascript.build(agent_runtimes.cache)


@pytest.fixture(scope="module")
def compiled(runtime: Path) -> tuple[Any, Any]:
    """(engine, component): compiled once for the module (seconds), instantiated per session."""
    import wasmtime
    from wasmtime.component import Component

    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    return engine, Component.from_file(engine, str(runtime))


class Session:
    """One instance of the runtime with its own store, stdout and stderr going to files, so each
    exec's output can be read back."""

    def __init__(self, compiled: tuple[Any, Any], directory: Path, timeout_s: float = 30.0) -> None:
        import wasmtime
        from wasmtime.component import Linker

        self.engine, component = compiled
        self.store = wasmtime.Store(self.engine)
        self.out, self.err = directory / "stdout", directory / "stderr"
        self.root = directory / "root"  # the session's directory, the guest's "/"
        self.root.mkdir()
        wasi = wasmtime.WasiConfig()
        wasi.preopen_dir(str(self.root), "/")
        wasi.stdout_file = str(self.out)
        wasi.stderr_file = str(self.err)
        self.store.set_wasi(wasi)
        self.timeout_s = timeout_s
        linker = Linker(self.engine)
        linker.add_wasip2()
        self.store.set_fuel(10**12)
        self.store.set_epoch_deadline(1)
        instance = linker.instantiate(self.store, component)
        interface = instance.get_export_index(self.store, javascript.CELL_INTERFACE)
        self.run = instance.get_func(self.store, instance.get_export_index(self.store, "run", interface))
        self.seen = (0, 0)

    def exec(self, code: str, *, language: str = "javascript", stdin: bytes = b"", args: tuple[str, ...] = (),
             env: dict[str, str] | None = None, filename: str = javascript.DEFAULT_FILENAME) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of one exec, its code prepared by the runtime's transform."""
        from wasmtime.component import Record

        request: Any = Record()
        request.code = javascript.transform(language, code, filename)
        request.filename, request.stdin, request.args = filename, stdin, list(args)
        request.env, request.paths = list((env or {}).items()), []
        self.store.set_epoch_deadline(1)
        timer = threading.Timer(self.timeout_s, self.engine.increment_epoch)
        timer.start()
        try:
            status = self.run(self.store, request)
            self.run.post_return(self.store)
        finally:
            timer.cancel()
        out, err = self.out.read_bytes(), self.err.read_bytes()
        new = (out[self.seen[0]:].decode(), err[self.seen[1]:].decode())
        self.seen = (len(out), len(err))
        return int(status), *new


@pytest.fixture
def session(compiled: tuple[Any, Any], tmp_path: Path) -> Session:
    return Session(compiled, tmp_path)


def test_var_functions_and_globals_live_on_into_the_next_exec(session: Session) -> None:
    assert session.exec("var x = 41; function twice(n) { return 2 * n }; globalThis.y = 'why'") == (0, "", "")
    assert session.exec("console.log(x + 1, twice(x), y)") == (0, "42 82 why\n", "")


def test_top_level_let_const_and_class_live_on_and_may_be_declared_again(session: Session) -> None:
    assert session.exec("let a = 1; const b = { n: 2 }; class Point { constructor(x) { this.x = x } }")[0] == 0
    assert session.exec("console.log(a + b.n, new Point(3).x)") == (0, "3 3\n", "")
    # a notebook cell runs again: declaring the same const twice is no error
    assert session.exec("const b = 10; let a = 20; console.log(a + b)") == (0, "30\n", "")
    # but what is local to a block or function stays there
    code = "{ let hidden = 1 } function f() { const inner = 2 } console.log(typeof hidden, typeof inner)"
    assert session.exec(code) == (0, "undefined undefined\n", "")


def test_top_level_await_keeps_its_declarations(session: Session) -> None:
    code = "const { v, w: [first] } = await Promise.resolve({ v: 9, w: [4] });\nfunction g() { return v * 2 }"
    assert session.exec(code) == (0, "", "")
    assert session.exec("console.log(v, first, g())") == (0, "9 4 18\n", "")


def test_console_goes_to_stdout_and_stderr_formatted_like_node(session: Session) -> None:
    status, out, err = session.exec("console.log('a', 1, [1, 'b'], { k: null }); console.error('oops %d', 7)")
    assert (status, out, err) == (0, "a 1 [ 1, 'b' ] { k: null }\n", "oops 7\n")


def test_an_uncaught_exception_prints_error_and_stack_returns_1_and_keeps_state(session: Session) -> None:
    session.exec("var kept = 'still here'")
    status, out, err = session.exec("function f() { throw new TypeError('bad thing') }\nf()")
    assert status == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == "TypeError: bad thing"
    assert lines[1].strip().startswith("at f (") and "app.js" not in err  # the runtime's frames are cut
    assert session.exec("console.log(kept)") == (0, "still here\n", "")
    assert session.exec("throw 42") == (1, "", "Uncaught 42\n")


def test_process_exit_returns_its_code_without_killing_the_instance(session: Session) -> None:
    session.exec("var count = 1")
    assert session.exec("console.log('before'); process.exit(3); console.log('after')") == (3, "before\n", "")
    assert session.exec("setTimeout(() => process.exit(5), 1)") == (5, "", "")
    assert session.exec("process.exitCode = 4") == (4, "", "")
    caught = "try { process.exit(6) } catch (e) { console.log('caught') } setTimeout(() => console.log('never'), 0)"
    assert session.exec(caught) == (6, "caught\n", "")
    assert session.exec("await null; console.log('a'); process.exit(3); console.log('b')") == (3, "a\n", "")
    later = "async function f() { await null; process.exit(4) } f(); setTimeout(() => console.log('never'), 5)"
    assert session.exec(later) == (4, "", "")
    assert session.exec("count += 1; console.log(count)") == (0, "2\n", "")  # exitCode is per exec


def test_promises_and_timers_run_before_the_exec_returns(session: Session) -> None:
    code = """
setTimeout(() => console.log('timer 20'), 20);
setTimeout(() => console.log('timer 0'), 0);
Promise.resolve().then(() => console.log('microtask'));
(async () => { await null; console.log('async') })();
console.log('sync');
"""
    assert session.exec(code) == (0, "sync\nmicrotask\nasync\ntimer 0\ntimer 20\n", "")
    # an interval cleared by a later timer, across awaits
    code = "let n = 0; const id = setInterval(() => n++, 1); await new Promise(r => setTimeout(r, 30)); " \
           "clearInterval(id); console.log(n > 3)"
    assert session.exec(code) == (0, "true\n", "")


def test_an_unhandled_rejection_fails_the_exec(session: Session) -> None:
    status, _, err = session.exec("Promise.reject(new Error('nobody caught me'))")
    assert status == 1 and err.startswith("Error: nobody caught me")
    status, _, err = session.exec("await Promise.reject(new RangeError('awaited'))")
    assert status == 1 and err.startswith("RangeError: awaited")
    assert session.exec("console.log('fine')") == (0, "fine\n", "")  # nothing left over from those


def test_argv_env_and_stdin_are_the_execs_own(session: Session) -> None:
    code = "console.log(JSON.stringify([process.argv.slice(1), process.env, require('fs').readFileSync(0, 'utf8')]))"
    first = session.exec(code, args=("a", "b c"), env={"K": "V"}, stdin="héllo\n".encode())
    assert first == (0, '[["<exec>","a","b c"],{"K":"V"},"héllo\\n"]\n', "")
    assert session.exec(code) == (0, '[["<exec>"],{},""]\n', "")  # nothing carried over from the exec before
    events = "process.stdin.setEncoding('utf8'); process.stdin.on('data', d => console.log('data', d))" \
             ".on('end', () => console.log('end'))"
    assert session.exec(events, stdin=b"xyz") == (0, "data xyz\nend\n", "")


def test_the_host_environment_is_not_visible(session: Session) -> None:
    assert session.exec("console.log(Object.keys(process.env).length)") == (0, "0\n", "")
    status, _, err = session.exec("require('child_process')")
    assert status == 1 and "Cannot find module 'child_process'" in err


def test_fs_reads_and_writes_the_sessions_files(session: Session) -> None:
    (session.root / "input.csv").write_text("a,b\n1,2\n")
    code = """
const fs = require("fs"), path = require("path");
const rows = fs.readFileSync("input.csv", "utf8").trim().split("\\n");
fs.mkdirSync("out/deep", { recursive: true });
fs.writeFileSync(path.join("/out", "deep", "rows.txt"), String(rows.length));
fs.writeFileSync("out/bytes.bin", new Uint8Array([0, 255, 10]));
fs.appendFileSync("out/deep/rows.txt", "!");
console.log(fs.readdirSync("out"), fs.statSync("out/bytes.bin").size, fs.existsSync("missing"));
"""
    assert session.exec(code) == (0, "[ 'bytes.bin', 'deep' ] 3 false\n", "")
    assert (session.root / "out" / "deep" / "rows.txt").read_text() == "2!"
    assert (session.root / "out" / "bytes.bin").read_bytes() == b"\x00\xff\n"
    code = "const text = await require('fs').promises.readFile('/out/deep/rows.txt', 'utf8'); " \
           "require('fs').rmSync('out', { recursive: true }); console.log(text, require('fs').readdirSync('/'))"
    assert session.exec(code) == (0, "2! [ 'input.csv' ]\n", "")


def test_require_loads_the_sessions_own_files_and_refuses_packages(session: Session) -> None:
    (session.root / "lib").mkdir()
    (session.root / "lib" / "util.js").write_text(
        "const helper = require('./helper');\nexports.twice = (n) => helper.mul(n, 2);\nexports.dir = __dirname;\n")
    (session.root / "lib" / "helper.js").write_text("module.exports = { mul: (a, b) => a * b, n: ++globalThis.loads };")
    (session.root / "lib" / "data.json").write_text('{"k": [1, 2]}')
    (session.root / "lib" / "later.js").write_text("exports.f = async () => 1;")
    code = "globalThis.loads = 0; const u = require('./lib/util');" \
           "console.log(u.twice(21), u.dir, require('/lib/data.json').k, require('./lib/util.js') === u, loads)"
    assert session.exec(code) == (0, "42 /lib [ 1, 2 ] true 1\n", "")
    # each exec loads a file again: an edited file is seen
    (session.root / "lib" / "helper.js").write_text("module.exports = { mul: (a, b) => a + b };")
    assert session.exec("console.log(require('./lib/util').twice(21))") == (0, "23\n", "")
    # relative to the entry file's directory when the exec has one
    assert session.exec("console.log(require('./helper').mul(1, 2))", filename="/lib/main.js") == (0, "3\n", "")
    status, _, err = session.exec("require('./lib/later')")
    assert status == 1 and "async/await and import/export are not supported in it" in err
    status, _, err = session.exec("require('lodash')")
    assert status == 1 and err.startswith("Error: Cannot find module 'lodash': not available in the sandbox, whose "
                                          "JavaScript has the built-ins 'assert', ")
    assert err.split("\n")[0].endswith("the session's own files and the npm packages an exec names in its 'packages'")
    status, _, err = session.exec("require('node:child_process')")
    assert status == 1 and err.startswith("Error: Cannot find module 'node:child_process': Node's 'child_process' "
                                          "module is not available in the sandbox")


def test_fs_cannot_leave_the_sessions_directory(session: Session, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    (session.root / "link").symlink_to(secret)
    (session.root / "dirlink").symlink_to(tmp_path)
    reads = {"../secret.txt": "ENOENT", str(secret): "ENOENT", "/../../secret.txt": "ENOENT", "link": "EPERM",
             "dirlink/secret.txt": "EPERM"}
    for target, code in reads.items():
        status, out, err = session.exec(f"require('fs').readFileSync({target!r}, 'utf8')")
        assert (status, out) == (1, ""), target
        assert err.startswith(f"Error: {code}: ") and "host secret" not in err, err
    writes = {"../escape.txt": "undefined", "dirlink/escape.txt": "EPERM", "missing/dir/escape.txt": "ENOENT"}
    for target, code in writes.items():
        attempt = f"try {{ require('fs').writeFileSync({target!r}, 'x') }} catch (e) {{ console.log(e.code) }}"
        assert session.exec(attempt) == (0, "" if code == "undefined" else f"{code}\n", ""), target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root", "secret.txt", "stderr", "stdout"]
    assert secret.read_text() == "host secret"
    # ".." stops at the session's root, as on a real root directory: this one lands inside
    assert (session.root / "escape.txt").read_text() == "x"


def test_typescript_compiles_with_fixed_options_and_shares_the_scope(session: Session) -> None:
    code = """
interface Shape { area(): number }
enum Unit { Cm = "cm" }
class Square implements Shape { constructor(private side: number) {} area(): number { return this.side ** 2 } }
const shapes: Shape[] = [new Square(3)];
async function total(): Promise<number> { await null; return shapes.reduce((s, x) => s + x.area(), 0) }
console.log(await total(), Unit.Cm);
"""
    assert session.exec(code, language="typescript") == (0, "9 cm\n", "")
    assert session.exec("console.log(new Square(2).area())") == (0, "4\n", "")  # JavaScript sees it too
    assert session.exec("const n: number = shapes.length; console.log(n)", language="typescript") == (0, "1\n", "")
    decorated = """
function logged(method: any, context: ClassMethodDecoratorContext) {
  return function (this: any, ...args: any[]) {
    console.log(`calling ${String(context.name)}`);
    return method.apply(this, args);
  };
}
class Greeter { @logged hello(): string { return "hello" } }
const mode = { strict: true } satisfies { strict: boolean };
namespace Config { export const level = 2 }
console.log(new Greeter().hello(), mode.strict, Config.level);
"""
    assert session.exec(decorated, language="typescript") == (0, "calling hello\nhello true 2\n", "")


def test_a_typescript_syntax_error_is_exit_1_with_one_line(session: Session) -> None:
    status, out, err = session.exec("let x: = 1", language="typescript")
    assert (status, out) == (1, "")
    assert err == 'SyntaxError: Unexpected "=" (<exec>:1:7)\n'
    with pytest.raises(js_cells.CellCompileError, match=r'^SyntaxError: Unexpected "=" \(main\.ts:1:7\)$'):
        javascript.prepare("let x: = 1", "typescript", "main.ts")
    # a type error is not checked (speed): it runs
    assert session.exec("const s: number = 'text'; console.log(s)", language="typescript") == (0, "text\n", "")


def test_a_javascript_syntax_error_is_exit_1(session: Session) -> None:
    status, _, err = session.exec("let (")
    assert status == 1 and err.startswith("SyntaxError")


def test_an_infinite_loop_is_stopped_by_the_epoch_deadline(compiled: tuple[Any, Any], tmp_path: Path) -> None:
    import wasmtime

    session = Session(compiled, tmp_path, timeout_s=0.5)
    with pytest.raises(wasmtime.WasmtimeError) as stopped:
        session.exec("while (true) {}")
    assert "interrupt" in str(stopped.value)


def test_the_component_is_cached_by_tools_and_source(runtime: Path, agent_runtimes: AgentRuntimes, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMRUN_HOME", str(agent_runtimes.home(tmp_path / "home")))  # home/cache/agent: the runtimes
    assert javascript.build().resolve() == runtime.resolve()
    assert runtime.name == f"javascript-{javascript.cache_key()}.wasm"
    assert javascript.component_path().stat().st_mtime == runtime.stat().st_mtime


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
           lambda n: n not in {"do", "if", "in", "for", "let", "new", "try", "var", "case", "else", "enum", "null",
                               "this", "true", "void", "with", "await", "break", "catch", "class", "const",
                               "false", "super", "throw", "while", "yield", "delete", "export", "import",
                               "return", "switch", "typeof", "default", "extends", "finally", "package",
                               "private", "continue", "debugger", "function", "arguments", "interface",
                               "protected", "implements", "instanceof", "public", "static", "eval",
                               "undefined", "async", "of", "process", "console", "require"}),
       keyword=st.sampled_from(["var", "let", "const"]), value=st.integers(-10**6, 10**6),
       with_await=st.booleans())
def test_any_top_level_declaration_is_visible_to_the_next_exec(session: Session, name: str, keyword: str,
                                                                value: int, with_await: bool) -> None:
    init = f"await Promise.resolve({value})" if with_await else str(value)
    assert session.exec(f"{keyword} {name} = {init};") == (0, "", "")
    assert session.exec(f"console.log({name})") == (0, f"{value}\n", "")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.from_regex(r"(let|const|class|await|async|function|\{|\}|\(|\)|=|;| |x|\n)*"))
def test_preparing_any_text_never_fails_but_with_a_compile_error(text: str) -> None:
    """tree-sitter's rewrite of any text (hostile or broken) gives text or leaves it alone."""
    for typescript in (False, True):
        rewritten, _ = js_cells.persist_declarations(text, typescript=typescript)
        assert isinstance(rewritten, str)


@pytest.mark.parametrize("code", [
    "(" * 50_000 + ")" * 50_000, "let " + "[" * 5000 + "x" + "]" * 5000 + " = 1",
    "const [" + "[" * 3000 + "a" + "]" * 3000 + "] = await f()", "await " + "(" * 5000 + "1" + ")" * 5000,
    "x".join(["{"] * 20_000), "`${" * 3000, "/*", "'\\u{110000}'", "\x00\ud800", "class { @",
])
def test_hostile_cells_are_prepared_or_refused_without_a_host_error(code: str) -> None:
    for language in ("javascript", "typescript"):
        assert isinstance(javascript.transform(language, code, "<exec>"), str)


def test_parsing_a_hostile_cell_is_cut_short() -> None:
    """Deep broken nesting makes tree-sitter's error recovery take seconds: the rewrite gives up
    within its budget and leaves the cell to the compiler."""
    import time

    code = ("x".join(["{"] * 200) + "\n") * 300
    for typescript in (False, True):
        started = time.monotonic()
        assert js_cells.persist_declarations(code, typescript=typescript) == (code, False)
        assert time.monotonic() - started < js_cells.PARSE_BUDGET_S + 1.0
        # the parser starts afresh after a parse it gave up on
        assert js_cells.persist_declarations("const y = 1", typescript=typescript) == ("var y = 1", False)


def test_cells_are_prepared_in_many_threads_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    cells = [f"const v{i} = {i}; class C{i} {{}}" for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        prepared = list(pool.map(lambda cell: js_cells.persist_declarations(cell, typescript=False)[0], cells))
    assert prepared == [f"var v{i} = {i}; var C{i} = class C{i} {{}};" for i in range(200)]


# -- through the sandbox: the worker processes, their limits, sessions -----------------------------

@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, shared_tools: Path,
            agent_runtimes: AgentRuntimes) -> Iterator[Callable[..., Any]]:
    """A started Sandbox serving JavaScript only (Python's runtime is another module's), driven from
    an event loop in a thread: ``call(coroutine)`` runs it there and returns its result."""
    import asyncio

    from wasmrun.agent import runtimes
    from wasmrun.agent import sandbox as sandbox_module
    from wasmrun.agent.models import ServerLimits

    base = tmp_path_factory.mktemp("agent-js-sandbox")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=900)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(shared_tools))
        patch.setattr(sandbox_module, "available",
                      lambda: {k: v for k, v in runtimes.available().items() if v.language == "javascript"})
        box = sandbox_module.Sandbox(base / "state", ServerLimits(), workers=1, cache_dir=agent_runtimes.cache)
        call(box.start())
        call(box.wait_ready(900))
        call.box = box  # type: ignore[attr-defined]
        try:
            yield call
        finally:
            call(box.stop(1.0))
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


def test_javascript_and_typescript_share_a_sessions_state_through_the_sandbox(sandbox: Callable[..., Any]) -> None:
    from wasmrun.agent.models import ExecRequest

    box = sandbox.box  # type: ignore[attr-defined]
    session = box.create_session("tenant").session_id

    def run(**request: Any) -> Any:
        return sandbox(box.exec("tenant", session, ExecRequest(**request)))

    assert run(language="js", source="var x = 41; const y = 1").exit_code == 0
    result = run(language="javascript", source="console.log(x + y)")
    assert (result.stdout, result.exit_code, result.state_lost) == ("42\n", 0, False), result
    result = run(language="ts", source="const n: number = x * 2; console.log(n)")
    assert (result.stdout, result.exit_code) == ("82\n", 0)
    result = run(language="typescript", source="let z: = 1")
    assert (result.stdout, result.stderr, result.exit_code) == ("", 'SyntaxError: Unexpected "=" (<exec>:1:7)\n', 1)
    box.write_file("tenant", session, "data/in.txt", b"from the file API")
    result = run(language="js", source="const fs = require('fs'); console.log(fs.readFileSync('data/in.txt', 'utf8'));"
                                        "fs.writeFileSync('out.txt', process.argv.slice(2).join(' '))", args=["a", "b"])
    assert (result.stdout, result.exit_code) == ("from the file API\n", 0)
    assert box.read_file("tenant", session, "out.txt") == b"a b"
    result = run(language="js", source="console.log(process.env.K, require('fs').readFileSync(0, 'utf8'))",
                 env={"K": "V"}, stdin="in")
    assert result.stdout == "V in\n"
    files = {"src/main.js": "const { greet } = require('./greet');\nconsole.log(greet(process.argv[1]))",
             "src/greet.js": "exports.greet = (who) => `hello from ${who}`;"}
    result = run(language="js", files=files, entry="src/main.js")
    assert (result.stdout, result.exit_code) == ("hello from /src/main.js\n", 0)


def test_an_infinite_loop_is_stopped_by_the_workers_timeout_and_the_state_is_lost(
        sandbox: Callable[..., Any]) -> None:
    from wasmrun.agent.models import ExecRequest

    box = sandbox.box  # type: ignore[attr-defined]
    session = box.create_session("tenant").session_id

    def run(**request: Any) -> Any:
        return sandbox(box.exec("tenant", session, ExecRequest(**request)))

    run(language="js", source="var kept = 1; require('fs').writeFileSync('kept.txt', 'yes')")
    result = run(language="js", source="console.log('spinning'); while (true) {}", timeout=1)
    assert (result.error, result.stdout) == ("timeout", "spinning\n")
    result = run(language="js", source="console.log(typeof kept, require('fs').readFileSync('kept.txt', 'utf8'))")
    assert (result.stdout, result.exit_code, result.state_lost) == ("undefined yes\n", 0, True)


def test_performance_now_counts_milliseconds_from_the_instances_start(session: Session) -> None:
    status, out, _ = session.exec(
        "const a = performance.now(); let x = 0; for (let i = 0; i < 2e5; i++) x += i;"
        "const b = performance.now(); await new Promise((r) => setTimeout(r, 50)); const c = performance.now();"
        "const d = Date.now(); console.log(a >= 0 && a < 60000, b > a, b - a < 60000, c - b >= 50, c - b < 5000,"
        " Number.isInteger(a * 1000) || a % 1 !== 0, Math.abs(performance.timeOrigin + c - d) < 1000,"
        " d > Date.UTC(2024, 0, 1))")
    assert (status, out) == (0, "true true true true true true true true\n")
    # monotonic across execs of the instance
    session.exec("globalThis.before = performance.now()")
    assert session.exec("console.log(performance.now() > before)") == (0, "true\n", "")


def test_performance_now_has_sub_millisecond_precision(session: Session) -> None:
    status, out, _ = session.exec(
        "const seen = new Set(); for (let i = 0; i < 200; i++) seen.add(performance.now() % 1);"
        "console.log(seen.size > 10)")
    assert (status, out) == (0, "true\n")


# -- npm packages, out of memory, stack overflow: through the sandbox -------------------------------

def exec_in(sandbox: Callable[..., Any], session: str) -> Callable[..., Any]:
    from wasmrun.agent.models import ExecRequest

    box = sandbox.box  # type: ignore[attr-defined]

    def run(**request: Any) -> Any:
        return sandbox(box.exec("tenant", session, ExecRequest(**request)))

    return run


def test_an_npm_package_is_required_in_javascript_and_imported_in_typescript(sandbox: Callable[..., Any]) -> None:
    box = sandbox.box  # type: ignore[attr-defined]
    run = exec_in(sandbox, box.create_session("tenant").session_id)
    result = run(language="js", source="const ms = require('ms'); console.log(ms('2 days'), ms(90000))",
                 packages=["ms@2.1.3"])
    assert (result.stdout, result.stderr, result.exit_code) == ("172800000 2m\n", "", 0), result
    result = run(language="ts", source="import ms from 'ms';\nconst n: number = ms('1h');\nconsole.log(n)",
                 packages=["ms@2.1.3"])
    assert (result.stdout, result.stderr, result.exit_code) == ("3600000\n", "", 0), result
    # a CommonJS package with a dotted name, required in TypeScript; and the earlier one still known
    result = run(language="ts", source="const chunk = require('lodash.chunk');\n"
                                       "console.log(JSON.stringify(chunk([1, 2, 3, 4, 5], 2)), require('ms')(1000))",
                 packages=["lodash.chunk@4.2.0"])
    assert (result.stdout, result.exit_code) == ("[[1,2],[3,4],[5]] 1s\n", 0), result
    # a package that was not asked for is not there
    result = run(language="js", source="require('left-pad')")
    assert result.exit_code == 1 and result.stderr.startswith("Error: Cannot find module 'left-pad': not available")


def test_an_esm_only_package_is_bundled_for_require_and_import(sandbox: Callable[..., Any]) -> None:
    """camelcase 8 is an ES module only ("type": "module", no CommonJS build)."""
    box = sandbox.box  # type: ignore[attr-defined]
    run = exec_in(sandbox, box.create_session("tenant").session_id)
    result = run(language="js", source="console.log(require('camelcase').default('foo-bar_baz'))",
                 packages=["camelcase@8"])
    assert (result.stdout, result.stderr, result.exit_code) == ("fooBarBaz\n", "", 0), result
    result = run(language="js", source="import camelCase from 'camelcase';\nimport { join } from 'path';\n"
                                       "const v = await Promise.resolve(camelCase('a-b', { pascalCase: true }));\n"
                                       "console.log(v, join('x', 'y'))", packages=["camelcase@8"])
    assert (result.stdout, result.stderr, result.exit_code) == ("AB x/y\n", "", 0), result
    # import() too (QuickJS's own would wait on a job queue nothing runs: the cell ended silently)
    result = run(language="js", source="const m = await import('camelcase'); console.log(m.default('x-y'));"
                                       "await import('nope').catch((e) => console.log(e.code))")
    assert (result.stdout, result.stderr, result.exit_code) == ("xY\nMODULE_NOT_FOUND\n", "", 0), result


def test_imported_names_outlive_the_cell_like_its_other_declarations(sandbox: Callable[..., Any]) -> None:
    box = sandbox.box  # type: ignore[attr-defined]
    run = exec_in(sandbox, box.create_session("tenant").session_id)
    result = run(language="ts", source="console.log(typeof ms)\nimport ms, { default as alsoMs } from 'ms';\n"
                                       "import * as path from 'path';\nimport { join as j } from 'path';\n"
                                       "import type { Stats } from 'fs';\nconst s: Stats | null = null;",
                 packages=["ms@2.1.3"])
    assert (result.stdout, result.stderr, result.exit_code) == ("function\n", "", 0), result  # hoisted
    result = run(language="js", source="console.log(ms(60000), alsoMs === ms, path.join('a', 'b'), j('c', 'd'),"
                                       " typeof path.default)")
    assert (result.stdout, result.stderr, result.exit_code) == ("1m true a/b c/d object\n", "", 0), result
    # an import of a module that is not there fails on the line that holds it
    result = run(language="js", source="console.log('before')\nimport nope from 'nope'")
    assert (result.stdout, result.exit_code) == ("", 1), result
    assert result.stderr.startswith("Error: Cannot find module 'nope'"), result


def test_import_statements_become_vars_hoisted_to_the_first_line() -> None:
    def rewritten(source: str, typescript: bool = False) -> str:
        return js_cells.persist_declarations(source, typescript=typescript)[0]

    default = "(m => m && m.__esModule ? m.default : m)"
    assert rewritten("f()\nimport x from 'm'") == f"var x = {default}(require('m')); f()\n"
    assert rewritten("import {a, b as c} from 'm'; import 'side'") == \
        "var { a: a, b: c } = require('m'); require('side');  "
    assert rewritten("import type { T } from 'm'\nimport { type U } from 'n'\nlet v: T", typescript=True) == \
        "\n\nvar v: T"
    assert rewritten("import x = require('y')", typescript=True) == "var x = require('y'); "
    # with top-level await the names are still declared globally
    code, is_async = js_cells.persist_declarations("import * as ns from 'm'\nawait ns.f()", typescript=False)
    assert is_async and code.startswith("var ns;")


def test_the_package_cache_cannot_be_written_from_an_exec(sandbox: Callable[..., Any]) -> None:
    box = sandbox.box  # type: ignore[attr-defined]
    run = exec_in(sandbox, box.create_session("tenant").session_id)
    code = ("const fs = require('fs'); const f = '/.packages/.npm/ms/2.1.3/index.cjs';"
            "console.log(fs.existsSync(f));"
            "for (const act of [() => fs.writeFileSync(f, 'x'), () => fs.unlinkSync(f),"
            " () => fs.writeFileSync('/.packages/.npm/evil.js', 'x')]) {"
            " try { act(); console.log('written'); } catch (e) { console.log(e.code); } }")
    result = run(language="js", source=code, packages=["ms@2.1.3"])
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == "true" and "written" not in lines, result
    cache = box._package_cache() / ".npm" / "ms" / "2.1.3" / "index.cjs"
    assert cache.read_bytes().startswith(b"var ") and not (box._package_cache() / ".npm" / "evil.js").exists()


def test_hostile_and_unknown_packages_are_one_clear_refusal(sandbox: Callable[..., Any]) -> None:
    from wasmrun.agent.errors import BadRequest

    box = sandbox.box  # type: ignore[attr-defined]
    run = exec_in(sandbox, box.create_session("tenant").session_id)
    for spec in ("git+https://github.com/x/y", "ms@^2", "../x", "--registry=https://evil.example"):
        with pytest.raises(BadRequest, match="is refused"):
            run(language="js", source="1", packages=[spec])
    with pytest.raises(BadRequest, match="no such package"):
        run(language="ts", source="1", packages=["wasmrun-no-such-package-a8f3e1"])


def test_out_of_memory_is_error_memory_and_the_next_exec_starts_afresh(sandbox: Callable[..., Any]) -> None:
    box = sandbox.box  # type: ignore[attr-defined]
    session = box.create_session("tenant", {"memory_bytes": 64 * 1024 * 1024}).session_id
    run = exec_in(sandbox, session)
    for grow in ("let a = []; while (true) a.push(new Array(1e5).fill(1))",
                 "const m = new Map(); for (let i = 0; ; i++) m.set(i, { i })"):
        run(language="js", source="var kept = 1; require('fs').writeFileSync('kept.txt', 'yes')")
        result = run(language="js", source=f"console.log('growing'); {grow}")
        assert (result.exit_code, result.error, result.stdout) == (1, "memory", "growing\n"), result
        assert result.stderr == ("InternalError: out of memory: the exec passed the session's memory limit "
                                 "(67108864 bytes); the javascript interpreter was discarded, the next exec starts "
                                 "a new one (files are kept)\n")
        result = run(language="js", source="console.log(typeof kept, require('fs').readFileSync('kept.txt', 'utf8'))")
        assert (result.stdout, result.exit_code, result.error, result.state_lost) == ("undefined yes\n", 0, None, True)


def test_a_stack_overflow_ends_the_exec_and_the_next_starts_afresh(sandbox: Callable[..., Any]) -> None:
    box = sandbox.box  # type: ignore[attr-defined]
    run = exec_in(sandbox, box.create_session("tenant").session_id)
    run(language="js", source="var kept = 1")
    result = run(language="js", source="function f(n) { return f(n + 1) + 1 } f(0)")
    assert (result.exit_code, result.error) == (-1, "crash: wasm trap: call stack exhausted"), result
    assert result.stderr == ("RangeError: maximum call stack size exceeded: the recursion went deeper than the "
                             "javascript interpreter's stack; the interpreter was discarded, the next exec starts a "
                             "new one (files are kept)\n")
    result = run(language="js", source="console.log(typeof kept)")
    assert (result.stdout, result.exit_code, result.state_lost) == ("undefined\n", 0, True)
    # recursion 1500 deep fits (wasmtime's default stack held a few hundred QuickJS calls)
    result = run(language="js", source="function g(n) { return n ? g(n - 1) + 1 : 0 } console.log(g(1500))")
    assert (result.stdout, result.exit_code) == ("1500\n", 0)


# -- npm subpaths and packages that need Node's built-ins ------------------------------------------

@pytest.fixture
def run_fresh(sandbox: Callable[..., Any]) -> Callable[..., Any]:
    """``run(**request)`` in a new session of the module's sandbox."""
    return exec_in(sandbox, sandbox.box.create_session("tenant").session_id)  # type: ignore[attr-defined]


def test_subpaths_are_required_and_imported_in_javascript_and_typescript(run_fresh: Callable[..., Any]) -> None:
    """lodash has no ``exports`` map (a subpath is a file, with or without ``.js``); date-fns 4 has
    one with 741 keys and conditions; both installed through ``packages``."""
    run = run_fresh
    result = run(language="js", source="const chunk = require('lodash/chunk');\n"
                                       "console.log(JSON.stringify(chunk([1, 2, 3, 4, 5], 2)), "
                                       "require('lodash/chunk.js') === chunk,"
                                       " require('lodash/fp/map')((x) => x * 2)([1, 2]), "
                                       "require('lodash/package.json').version)",
                 packages=["lodash@4.17.21"])
    assert (result.stdout, result.stderr, result.exit_code) == ("[[1,2],[3,4],[5]] true [ 2, 4 ] "
                                                                "4.17.21\n", "", 0), result
    result = run(language="ts", source="import chunk from 'lodash/chunk';\nimport { addDays } from "
                                       "'date-fns/addDays';\n"
                                       "import { format } from 'date-fns/format';\n"
                                       "const day: Date = addDays(new Date(2024, 0, 30), 3);\n"
                                       "console.log(format(day, 'yyyy-MM-dd'), chunk([1, 2, 3], 2).length,"
                                       " require('date-fns/locale').fr.code)",
                 packages=["date-fns@4.1.0"])
    assert (result.stdout, result.stderr, result.exit_code) == ("2024-02-02 2 fr\n", "", 0), result
    # a session's own file requires a subpath too (the bundle was made at install time, not per cell)
    files = {"lib/pairs.js": "module.exports = (xs) => require('lodash/chunk')(xs, 2);"}
    result = run(language="js", files=files, source="console.log(JSON.stringify(require('./lib/pairs')([1, 2, 3])))")
    assert (result.stdout, result.exit_code) == ("[[1,2],[3]]\n", 0), result


def test_a_subpath_that_escapes_or_does_not_exist_is_one_clear_error(run_fresh: Callable[..., Any]) -> None:
    run = run_fresh
    assert run(language="js", source="require('lodash/chunk')", packages=["lodash@4.17.21"]).exit_code == 0
    refused = {
        "lodash/../../x": "a package subpath may not be empty or hold '.', '..' or '\\' segments",
        "lodash/./chunk": "a package subpath may not be empty or hold '.', '..' or '\\' segments",
        "lodash//chunk": "a package subpath may not be empty or hold '.', '..' or '\\' segments",
        "lodash/fp/../../../../.npm/ms/2.1.3/index.cjs": "a package subpath may not be empty or hold '.', '..' or "
                                                         "'\\' segments",
        "lodash/nope": "package 'lodash' has no subpath './nope'",
        "node:lodash/chunk": "'lodash/chunk' is not one of Node's built-in modules",
        "node:../x": "'../x' is not one of Node's built-in modules",
        "/.packages/.npm/nope.js": "no /.packages/.npm/nope.js(.js|.cjs|.json|/index.js) in the session",
        "left-pad/x": "not available in the sandbox",
    }
    for name, reason in refused.items():
        result = run(language="js", source=f"require({name!r})")
        assert (result.stdout, result.exit_code) == ("", 1), name
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"Error: Cannot find module '{name}': ") and reason in first, first
    # the session is unharmed
    assert run(language="js", source="console.log(typeof require('lodash/chunk'))").stdout == "function\n"


def test_nanoid_uuid_and_a_scoped_packages_subpaths_use_the_sandboxs_crypto(run_fresh: Callable[..., Any]) -> None:
    """nanoid 5 imports ``webcrypto`` from ``node:crypto``; uuid 11 uses the global ``crypto``;
    @noble/hashes is scoped and reached by subpaths only."""
    import hashlib
    import uuid

    run = run_fresh
    result = run(language="js", source="const { nanoid, customAlphabet } = require('nanoid');"
                                       "const insecure = require('nanoid/non-secure');"
                                       "const ids = new Set(Array.from({ length: 100 }, () => nanoid()));"
                                       "console.log(ids.size, [...ids][0].length, "
                                       "/^[01]{8}$/.test(customAlphabet('01', 8)()),"
                                       " insecure.nanoid(5).length)",
                 packages=["nanoid@5.1.16"])
    assert (result.stdout, result.stderr, result.exit_code) == ("100 21 true 5\n", "", 0), result
    result = run(language="ts", source="import { v4, v5, validate, version } from 'uuid';\nconst id: string = v4();\n"
                                       "console.log(id, validate(id), version(id), v5('hello', v5.URL))",
                 packages=["uuid@11.1.0"])
    assert (result.stderr, result.exit_code) == ("", 0), result
    made, valid, number, named = result.stdout.split()
    assert uuid.UUID(made).version == 4 and (valid, number) == ("true", "4")
    assert named == str(uuid.uuid5(uuid.NAMESPACE_URL, "hello"))
    result = run(language="js", source="const { sha512 } = require('@noble/hashes/sha2');"
                                       "const { bytesToHex, randomBytes } = require('@noble/hashes/utils');"
                                       "console.log(bytesToHex(sha512(new TextEncoder().encode('abc'))), "
                                       "randomBytes(8).length)",
                 packages=["@noble/hashes@1.8.0"])
    assert (result.stdout, result.stderr, result.exit_code) == (f"{hashlib.sha512(b'abc').hexdigest()} 8\n", "", 0)


@pytest.mark.parametrize("megabytes", [48, 56, 64, 72])
def test_a_growing_map_is_out_of_memory_at_any_limit(session: Session, megabytes: int) -> None:
    """A Map outgrowing the heap can leave QuickJS without a whole error to throw (before: exit 1,
    nothing said and a broken interpreter, at three of these four limits); the runtime still
    reports it as out of memory, so the worker discards the interpreter."""
    session.store.set_limits(memory_size=megabytes * 1024 * 1024)
    code = "console.log('growing'); const m = new Map(); for (let i = 0; ; i++) m.set(i, { i })"
    assert session.exec(code)[:2] == (javascript.OUT_OF_MEMORY, "growing\n")
