"""JavaScript and TypeScript projects: real builds (tsc, esbuild, componentize-qjs from npm,
installed by wasmrun on first use) whose components ``wasmrun exec`` runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasmrun import component_tools
from wasmrun.testing import require_tool

pytestmark = pytest.mark.slow

Example = Callable[[str], Path]


@pytest.fixture(scope="module")
def shared_tools_dir(tmp_path_factory: pytest.TempPathFactory, install_component_tools: Callable[..., Path]) -> Path:
    """The managed tools, installed once for the module by wasmrun's own first-use install."""
    require_tool("node")
    require_tool("npm")
    return install_component_tools(tmp_path_factory.getbasetemp() / "js-tools", (
        component_tools.COMPONENTIZE_QJS, component_tools.ESBUILD, component_tools.TYPESCRIPT, component_tools.JCO))


@pytest.fixture(autouse=True)
def tools_dir(shared_tools_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(shared_tools_dir))
    yield shared_tools_dir


def wasmrun(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasmrun", *map(str, args)], capture_output=True, text=True,
                          timeout=900, check=False, env={**os.environ, **(env or {})})


def built(project: Path) -> Path:
    proc = wasmrun("compile", project, "--json")
    assert proc.returncode == 0, proc.stderr
    return Path(json.loads(proc.stdout)["wasm_path"])


def npm_install(project: Path) -> None:
    """``npm install`` of the project's file: dependencies (offline: nothing comes from a registry)."""
    proc = subprocess.run(["npm", "install", "--offline", "--no-audit", "--no-fund"], cwd=project,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def js_hello(tmp_path_factory: pytest.TempPathFactory, shared_tools_dir: Path) -> Path:
    """examples/js-hello (with its local npm package installed), built once for the module."""
    root = tmp_path_factory.mktemp("js") / "js-hello"
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "js-hello", root,
                    ignore=shutil.ignore_patterns("wasmrun-out", "node_modules"))
    npm_install(root)
    saved = os.environ.get(component_tools.TOOLS_DIR_VARIABLE)
    os.environ[component_tools.TOOLS_DIR_VARIABLE] = str(shared_tools_dir)
    try:
        built(root)
    finally:
        if saved is None:
            os.environ.pop(component_tools.TOOLS_DIR_VARIABLE, None)
        else:
            os.environ[component_tools.TOOLS_DIR_VARIABLE] = saved
    return root


def js_hello_wasm(root: Path) -> Path:
    return root / "wasmrun-out" / "js-hello.wasm"


# -- which plugin claims what ---------------------------------------------------------------------

@pytest.mark.parametrize(("name", "plugin", "entry"), [
    ("js-hello", "javascript", "src/index.js"), ("js-lib", "javascript", "src/index.js"),
    ("ts-hello", "typescript", "src/main.ts"), ("asc-hello", "assemblyscript", None),
    ("asc-lib", "assemblyscript", None)])
def test_detect_names_one_plugin_and_why(example: Example, name: str, plugin: str, entry: str | None) -> None:
    proc = wasmrun("detect", example(name), "--json")
    assert proc.returncode == 0, proc.stderr
    detection = json.loads(proc.stdout)
    assert detection["plugin"] == plugin
    # AssemblyScript and JavaScript/TypeScript never both claim a project
    assert [c["plugin"] for c in detection["candidates"]] == [plugin]
    if entry is not None:
        candidate = detection["candidates"][0]
        assert entry in candidate["evidence"]
        assert "not AssemblyScript" in candidate["note"]


def test_package_json_without_entry_or_with_cargo_is_not_claimed(make_project: Callable[..., Path]) -> None:
    bare = make_project({"package.json": '{"name": "tooling"}', "README.md": "x"}, name="bare")
    assert wasmrun("detect", bare).returncode == 2
    rust = make_project({"package.json": '{"main": "index.js"}', "index.js": "", "Cargo.toml": "[package]\n"},
                        name="rusty")
    proc = wasmrun("detect", rust, "--json")
    assert "javascript" not in proc.stdout


def test_a_broken_package_json_is_one_line(make_project: Callable[..., Path]) -> None:
    project = make_project({"package.json": '{"main": "index.js",', "index.js": 'console.log("x");\n'})
    assert "package.json is not valid JSON" in wasmrun("detect", project).stdout
    proc = wasmrun("compile", project)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "package.json is not valid JSON: " in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr


# -- a command ------------------------------------------------------------------------------------

def test_command_prints_reads_argv_and_env(js_hello: Path) -> None:
    proc = wasmrun("exec", "--env", "WHO=ada", js_hello_wasm(js_hello), "a", "bb", "cc")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "hello from JavaScript",
        "NPM PACKAGES ARE BUNDLED!",  # the local npm package, bundled
        "{ count: 3, args: [ 'a', 'bb', 'cc' ], lengths: Map(2) { 1 => 1, 2 => 2 } }",
        "WHO is ada",
    ]
    assert proc.stderr == ""


@pytest.mark.toolchain("chromium")
def test_the_page_shows_what_exec_prints(js_hello: Path, shared_tools_dir: Path) -> None:
    """``run --headless`` of a JavaScript project: the page (the component transpiled for the
    browser) prints what ``exec`` prints, argv and environment included, and exits 0."""
    import importlib.util

    require_tool("playwright", found=importlib.util.find_spec("playwright") is not None)
    require_tool("chromium", found=shutil.which("chromium") is not None)
    tools = {component_tools.TOOLS_DIR_VARIABLE: str(shared_tools_dir)}
    native = wasmrun("exec", "--env", "WHO=ada", js_hello_wasm(js_hello), "a", "bb", env=tools)
    page = wasmrun("run", "--headless", "--env", "WHO=ada", js_hello, "--", "a", "bb", env=tools)
    assert native.returncode == 0, native.stderr
    assert (page.returncode, page.stdout) == (0, native.stdout), page.stderr
    assert "WHO is ada" in page.stdout


def test_command_sees_no_host_environment_unless_granted(js_hello: Path) -> None:
    proc = wasmrun("exec", js_hello_wasm(js_hello), env={"WHO": "leaked"})
    assert proc.returncode == 0, proc.stderr
    assert "WHO" not in proc.stdout


@pytest.mark.parametrize("status", [0, 3, 255])
def test_process_exit_gives_the_exit_status(js_hello: Path, status: int) -> None:
    proc = wasmrun("exec", js_hello_wasm(js_hello), "exit", status)
    assert proc.returncode == status, proc.stderr
    assert f"exiting with {status}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_uncaught_exception_prints_message_and_stack_and_exits_1(js_hello: Path) -> None:
    proc = wasmrun("exec", js_hello_wasm(js_hello), "throw", "7")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == "RangeError: out of range: 7"
    assert lines[1].lstrip().startswith("at "), proc.stderr  # the stack follows
    assert "hello from JavaScript" in proc.stdout  # what ran before the throw was printed


def test_build_is_cached_and_a_changed_npm_package_rebuilds(js_hello: Path, tmp_path: Path) -> None:
    project = tmp_path / "js-hello"
    shutil.copytree(js_hello, project, symlinks=True, ignore=shutil.ignore_patterns("wasmrun-out"))
    first = wasmrun("compile", project)
    assert first.returncode == 0, first.stderr
    again = wasmrun("compile", project)
    assert "(cached)" in again.stdout + again.stderr
    package = project / "vendor" / "shout" / "index.js"
    package.write_text(package.read_text().replace("toUpperCase()", "toLowerCase()"))
    rebuilt = wasmrun("compile", project)
    assert rebuilt.returncode == 0 and "(cached)" not in rebuilt.stdout + rebuilt.stderr
    proc = wasmrun("exec", js_hello_wasm(project))
    assert "npm packages are bundled!" in proc.stdout.splitlines()


def test_an_import_that_is_not_installed_is_one_line(make_project: Callable[..., Path]) -> None:
    project = make_project({"package.json": '{"main": "main.js"}',
                            "main.js": 'import left from "left-pad";\nconsole.log(left("x", 3));\n'})
    proc = wasmrun("compile", project)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: esbuild: ") and "left-pad" in last, proc.stderr
    assert "Traceback" not in proc.stderr
    # esbuild's diagnostic is shown, but not the stack of a Node wrapper around it
    assert "Could not resolve" in proc.stderr and "node:child_process" not in proc.stderr, proc.stderr


# -- TypeScript -----------------------------------------------------------------------------------

def test_typescript_program(example: Example) -> None:
    wasm = built(example("ts-hello"))
    proc = wasmrun("exec", wasm, "--loud")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["hello from TypeScript", "rectangle: 12.00", "circle: 12.57",
                                        "largest: circle", "level: Loud"]


def test_the_projects_own_typescript_compiles_it_and_a_rebuild_is_cached(example: Example, tools_dir: Path) -> None:
    project = example("ts-hello")
    own = project / "node_modules" / "typescript"
    own.parent.mkdir()
    managed = component_tools.TYPESCRIPT.directory() / "node_modules" / "typescript"
    shutil.copytree(managed, own, symlinks=True)
    proc = wasmrun("compile", project, "--json")
    assert proc.returncode == 0, proc.stderr
    tsc = [cmd for cmd in json.loads(proc.stdout)["commands"] if any(part.endswith("tsc") for part in cmd)]
    assert tsc and tsc[0][1] == str(own / "bin" / "tsc")
    again = wasmrun("compile", project, "--json")
    assert json.loads(again.stdout)["cached"] is True
    (project / "src" / "shapes.ts").write_text((project / "src" / "shapes.ts").read_text() + "\nexport const x = 1;\n")
    assert json.loads(wasmrun("compile", project, "--json").stdout)["cached"] is False


def test_typescript_type_error_fails_the_build_in_one_line(make_project: Callable[..., Path]) -> None:
    project = make_project({"package.json": '{"main": "main.ts"}',
                            "main.ts": 'const n: number = "not a number";\nconsole.log(n);\n'})
    proc = wasmrun("compile", project)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: tsc: main.ts(1,7): error TS2322"), proc.stderr
    assert not (project / "wasmrun-out").exists() or not list((project / "wasmrun-out").glob("*.wasm"))


# -- a WIT library ---------------------------------------------------------------------------------

def test_wit_library_called_with_typed_values(example: Example) -> None:
    import wasmtime
    from wasmtime.component import Component, Linker, Record

    wasm = built(example("js-lib"))
    engine = wasmtime.Engine()
    linker = Linker(engine)
    linker.add_wasip2()  # the QuickJS runtime imports WASI; the world's exports are the program's
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    instance = linker.instantiate(store, Component.from_file(engine, str(wasm)))

    def call(name: str, *args: object) -> object:
        func = instance.get_func(store, name)
        assert func is not None, name
        value = func(store, *args)
        func.post_return(store)
        return value

    def item(name: str, qty: int) -> Record:
        record = Record()
        record.name, record.qty = name, qty
        return record

    assert call("add", 40, 2) == 42
    assert call("greet", "ada") == "hello, ada"
    assert call("total", [item("a", 2), item("b", 5)]) == 7
    found = call("find", [item("a", 2), item("b", 5)], "b")
    assert (found.name, found.qty) == ("b", 5)  # type: ignore[attr-defined]
    assert call("find", [item("a", 2)], "z") is None
    assert call("parse-qty", "12") == 12  # ok(12)
    # err("..."): thrown by the JavaScript; wasmtime-py hands back a result's payload either way
    assert call("parse-qty", "x") == "not a quantity: x"
    # the same through the CLI, with typed values in WAVE
    for invocation, printed in [('add(40, 2)', "42"), ('total([{name: "a", qty: 2}, {name: "b", qty: 5}])', "7"),
                                ('find([{name: "a", qty: 2}], "a")', 'some({name: "a", qty: 2})'),
                                ('find([], "a")', "none"), ('parse-qty("x")', 'err("not a quantity: x")')]:
        proc = wasmrun("exec", "--invoke", invocation, wasm)
        assert (proc.returncode, proc.stdout.strip()) == (0, printed), proc.stderr


# -- templates --------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["javascript", "typescript"])
def test_init_command_builds_and_runs(tmp_path: Path, language: str) -> None:
    project = tmp_path / "hello"
    assert wasmrun("init", language, project).returncode == 0
    wasm = built(project)
    shown = "JavaScript" if language == "javascript" else "TypeScript"
    assert wasmrun("exec", wasm, "ada").stdout == f"hello, ada, from {shown}\n"
    failed = wasmrun("exec", "--env", "GREETING_FAIL=1", wasm)
    assert (failed.returncode, failed.stderr) == (3, "asked to fail\n")


@pytest.mark.parametrize("language", ["javascript", "typescript"])
def test_init_library_builds_a_component_of_its_world(tmp_path: Path, language: str) -> None:
    project = tmp_path / "lib"
    assert wasmrun("init", language, project, "--flavour", "library").returncode == 0
    wasm = built(project)
    for invocation, printed in [("add(2, 3)", "5"), ('greet("ada")', '"hello, ada"')]:
        proc = wasmrun("exec", "--invoke", invocation, wasm)
        assert (proc.returncode, proc.stdout.strip()) == (0, printed), proc.stderr


# -- missing tools ------------------------------------------------------------------------------------

def test_missing_node_is_one_line(example: Example, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with npm's neighbours gone: no node
    bin_dir.mkdir()
    proc = wasmrun("compile", example("js-lib"), env={"PATH": str(bin_dir)})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) <= 2 and lines[0].startswith("error: node is needed"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_ci_warms_the_pinned_versions() -> None:
    """scripts/toolchains/javascript.sh caches the npm packages wasmrun pins, at those versions."""
    script = (Path(__file__).resolve().parents[1] / "scripts" / "toolchains" / "javascript.sh").read_text()
    tools = (component_tools.COMPONENTIZE_QJS, component_tools.ESBUILD, component_tools.TYPESCRIPT)
    specs = [spec for tool in tools for spec in tool.with_packages]
    assert all(spec in script for spec in specs), specs


ASYNC_PROGRAM = """\
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function work(name, ms) { await sleep(ms); console.log(`${name} after ${ms} ms`); return name.length; }
console.log("start");
Promise.resolve(1).then((v) => console.log("then", v));
queueMicrotask(() => console.log("microtask"));
setTimeout(() => console.log("timeout 0"), 0);
const results = await Promise.all([work("slow", 40), work("quick", 10)]);
console.log("all", results);
for await (const x of (async function* () { yield 1; await sleep(1); yield 2; })()) console.log("for await", x);
let n = 0;
const id = setInterval(() => { n++; console.log("tick", n); if (n === 2) clearInterval(id); }, 5);
if (process.argv[2] === "reject") Promise.reject(new Error("nobody caught me"));
console.log("end of the synchronous part");
"""


def test_async_code_promises_and_timers_run_in_nodes_order(make_project: Callable[..., Path]) -> None:
    """QuickJS runs no promise jobs after run() returns: the prelude's event loop does, in the order
    Node prints these lines (top-level await, microtasks before timers, timers by due time)."""
    wasm = built(make_project({"package.json": '{"main": "main.mjs"}', "main.mjs": ASYNC_PROGRAM}))
    proc = wasmrun("exec", wasm)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "start", "then 1", "microtask", "timeout 0", "quick after 10 ms", "slow after 40 ms", "all [ 4, 5 ]",
        "for await 1", "for await 2", "end of the synchronous part", "tick 1", "tick 2"]
    rejected = wasmrun("exec", wasm, "reject")
    assert rejected.returncode == 1
    assert rejected.stderr.splitlines()[0] == "Error: nobody caught me"  # an unhandled rejection, as Node


# -- differential: the same program under node and as a component --------------------------------

DIFFERENTIAL = Path(__file__).resolve().parent / "javascript" / "differential.mjs"


@pytest.fixture(scope="module")
def differential_wasm(tmp_path_factory: pytest.TempPathFactory, shared_tools_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("differential")
    (root / "package.json").write_text('{"name": "differential", "main": "main.mjs"}')
    shutil.copy(DIFFERENTIAL, root / "main.mjs")
    proc = wasmrun("compile", root, "--json", env={component_tools.TOOLS_DIR_VARIABLE: str(shared_tools_dir)})
    assert proc.returncode == 0, proc.stderr
    return Path(json.loads(proc.stdout)["wasm_path"])


def test_a_program_prints_what_node_prints(differential_wasm: Path) -> None:
    """Classes with private fields, generators, closures, destructuring, Map/Set, BigInt, printf
    directives, JSON, regular expressions, labelled loops, typed arrays, promises and timers:
    stdout and the exit status match Node's, line for line."""
    node = subprocess.run(["node", str(DIFFERENTIAL)], capture_output=True, text=True, timeout=60, check=False)
    component = wasmrun("exec", differential_wasm)
    assert component.stdout.splitlines() == node.stdout.splitlines()
    assert (component.returncode, node.returncode) == (5, 5)
    assert len(node.stdout.splitlines()) > 25


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]),
                             max_size=12).filter(lambda s: "\n" not in s and "\r" not in s), max_size=4))
def test_any_argument_comes_back_unchanged_through_argv_and_stdout(differential_wasm: Path,
                                                                   args: list[str]) -> None:
    """UTF-8 in (WASI arguments) and out (the prelude's own encoder): every text round-trips."""
    proc = subprocess.run([sys.executable, "-m", "wasmrun", "exec", str(differential_wasm), "echo", *args],
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8").split("\n")[:-1] == args
