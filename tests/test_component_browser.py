"""``wasmrun run`` of a component in Chromium: transpiled by jco, the WASI 0.2 shim and every
file served by wasmrun (the browser is offline: any request elsewhere fails the test), stdout
and the exit code on the page, live reload, and typed forms for a library's functions."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.wasm_samples import shapes_project
from wasmrun import component_tools
from wasmrun.server.app import BuildOptions, DevServer, ServeOptions, open_server
from wasmrun.testing import require_tool

TIMEOUT_MS = 30_000
COMPONENT = BuildOptions(target="component")

pytestmark = [pytest.mark.toolchain("chromium"), pytest.mark.slow]


@pytest.fixture(scope="module")
def shared_tools(tmp_path_factory: pytest.TempPathFactory, install_component_tools: Callable[..., Path]) -> Path:
    """The component tools (wasm-tools, jco's adapters, jco-transpile with the shim), installed
    once for the module by wasmrun's own first-use install."""
    require_tool("npm")
    require_tool("node")
    return install_component_tools(tmp_path_factory.mktemp("component-tools"), component_tools.TOOLS)


@pytest.fixture(autouse=True)
def tools_dir(shared_tools: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(shared_tools))
    return shared_tools


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A tab that may reach the dev server only: a request anywhere else is recorded and refused."""
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    elsewhere: list[str] = []

    def only_loopback(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "http://localhost:")):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    tab.route("**/*", only_loopback)
    try:
        yield tab
        assert elsewhere == [], f"the page asked for files elsewhere: {elsewhere}"
    finally:
        context.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., DevServer]]:
    started: list[DevServer] = []

    def start(path: Path, build: BuildOptions | None = None, **options: Any) -> DevServer:
        server = open_server(path, ServeOptions(port=0, **options), build)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.close()


def console(page: Any) -> Any:
    return page.locator("#console")


def wait_done(page: Any) -> str:
    page.wait_for_function("['exited', 'trapped', 'ready', 'failed'].includes(document.body.dataset.status)")
    return str(page.evaluate("document.body.dataset.status"))


#: Counts the page's calls of WebAssembly's asynchronous compile and instantiate.
COUNT_ASYNC_WASM = """
window.asyncWasmCalls = 0;
for (const name of ["compile", "instantiate", "compileStreaming", "instantiateStreaming"]) {
  const original = WebAssembly[name];
  WebAssembly[name] = function (...args) { window.asyncWasmCalls += 1; return original.apply(this, args); };
}
"""


def test_a_command_component_runs_on_the_page_with_its_output_and_exit_code(
        example: Callable[[str], Path], serve: Callable[..., DevServer], page: Any) -> None:
    from playwright.sync_api import expect

    require_tool("clang")
    server = serve(example("c-hello"), COMPONENT)
    assert server.site.page_mode() == "component"
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url.removeprefix(server.url.rstrip("/"))))
    page.add_init_script(COUNT_ASYNC_WASM)
    page.goto(server.url)
    assert wait_done(page) == "exited"
    expect(console(page)).to_have_text("hello from C\n")
    # the inlined core modules are compiled and instantiated at once, not a task each
    assert page.evaluate("window.asyncWasmCalls") == 0
    assert page.evaluate("wasmrun.exitCode") == 0
    expect(page.locator("#status")).to_have_text("exited with code 0")
    # jco 1.12.0's generator wrote the glue: it reads this component, and its glue has no
    # component-model async runtime (jco-transpile's: four times the size for a hello component)
    assert page.evaluate("wasmrun.info.component.generator") == "jco 1.12.0"
    expect(page.locator("#info")).to_contain_text("component, transpiled by jco 1.12.0, with the WASI 0.2 shim")
    # no request for the component: jco's output bundled with the shim, its small core modules
    # inlined, is held by the page itself (the bundle's URL still answers, for anyone who asks)
    component_js = page.evaluate("wasmrun.info.component.js")
    assert page.evaluate("wasmrun.info.component.inline") is True
    assert [url for url in asked if url.startswith("/__wasmrun/component/")] == []
    assert status(server, component_js) == 200
    bundle = page.evaluate("document.querySelector('script[type=module]').textContent")
    assert_patched(bundle)
    # nothing of the managed install is served
    for elsewhere in ("/__wasmrun/npm/preview2-shim/cli.js", "/__wasmrun/npm/preview2-shim/..%2f..%2fpackage.json",
                      "/__wasmrun/npm/jco-transpile/package.json", "/__wasmrun/component/0123/component.js",
                      component_js.replace("component.js", "..%2ftranspiled.json")):
        assert status(server, elsewhere) == 404, elsewhere


def assert_patched(bundle: str) -> None:
    """The inline bundle is wasmrun's, with jco's output patched as transpile.mjs means to: each
    patch falls back to jco's text unchanged when that no longer reads as expected."""
    assert "wasmrunShim" in bundle
    # jco-transpile's debug logging (`[AsyncTask#exit()]`, ...; printed only under Node's
    # JCO_DEBUG) is dropped: the bundle still holds it when `_debugLog` no longer reads as expected
    assert re.findall(r"\[[\w#]+\(\)\]", bundle) == []
    # jco's instantiation steps get the core modules and instances as they are, not behind
    # promises (each one a microtask): it falls back to promises when jco's driver reads otherwise
    assert "Promise.resolve(new WebAssembly" not in bundle
    assert re.search(r"return new WebAssembly\.Instance\(\w+,\w+\)", bundle)


#: Extended constant expressions (WebAssembly 3.0) in a data segment's offset: newer than the
#: parser of jco 1.12.0's generator, so jco-transpile transpiles this component.
EXTENDED_CONST_WAT = """\
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\\10\\00\\00\\00\\10\\00\\00\\00")
  (data (i32.add (i32.const 8) (i32.const 8)) "extended const!\\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def test_a_component_jco_1_12_cannot_read_is_transpiled_by_jco_transpile(
        make_project: Callable[..., Path], serve: Callable[..., DevServer], page: Any) -> None:
    from playwright.sync_api import expect

    server = serve(make_project({"main.wat": EXTENDED_CONST_WAT}, name="newer"), COMPONENT)
    page.add_init_script(COUNT_ASYNC_WASM)
    page.goto(server.url)
    assert wait_done(page) == "exited"
    expect(console(page)).to_have_text("extended const!\n")
    assert page.evaluate("wasmrun.exitCode") == 0
    assert page.evaluate("wasmrun.info.component.generator") == "jco-transpile 0.15.0"
    expect(page.locator("#info")).to_contain_text("component, transpiled by jco-transpile 0.15.0")
    assert page.evaluate("window.asyncWasmCalls") == 0
    assert_patched(page.evaluate("document.querySelector('script[type=module]').textContent"))


def test_a_bundle_too_large_for_the_page_is_imported_from_its_url(
        example: Callable[[str], Path], serve: Callable[..., DevServer], page: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    from wasmrun.server import component_js

    monkeypatch.setattr(component_js, "INLINE_PAGE_BYTES", 1000)  # a hello bundle is ~50 KB
    monkeypatch.setattr(component_js, "_memo", {})
    server = serve(example("wat-hello"), COMPONENT)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url.removeprefix(server.url.rstrip("/"))))
    page.goto(server.url)
    assert wait_done(page) == "exited"
    expect(console(page)).to_have_text("hello from WebAssembly text\n")
    assert page.evaluate("wasmrun.exitCode") == 0
    component = page.evaluate("wasmrun.info.component")
    assert component["inline"] is False
    assert [url for url in asked if url.startswith("/__wasmrun/component/")] == [component["js"]]
    assert 'type="module">' not in page.content()


def status(server: DevServer, path: str) -> int:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


EXIT_WAT = """\
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\\10\\00\\00\\00\\0b\\00\\00\\00")
  (data (i32.const 16) "to stderr!\\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 3))))
"""


def test_stderr_and_a_failing_exit_show_on_the_page(make_project: Callable[..., Path],
                                                    serve: Callable[..., DevServer], page: Any) -> None:
    from playwright.sync_api import expect

    server = serve(make_project({"main.wat": EXIT_WAT}, name="fails"), COMPONENT)
    page.goto(server.url)
    assert wait_done(page) == "exited"
    expect(console(page).locator(".stderr")).to_have_text("to stderr!\n")
    # WASI 0.2's exit takes ok or err: a non-zero status comes out of the adapter as err, 1
    assert page.evaluate("wasmrun.exitCode") == 1


GREETER_WIT = """\
package example:greeter;

world greeter {
  export add: func(a: s32, b: s32) -> s32;
  export greet: func(name: string) -> string;
  export is-even: func(n: s64) -> bool;
}
"""

GREETER_WAT = """\
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "hello, ")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get 3) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "is-even") (param i64) (result i32) (i64.eqz (i64.rem_u (local.get 0) (i64.const 2))))
  (func (export "greet") (param $ptr i32) (param $len i32) (result i32)
    (memory.copy (i32.const 256) (i32.const 16) (i32.const 7))
    (memory.copy (i32.const 263) (local.get $ptr) (local.get $len))
    (i32.store (i32.const 8) (i32.const 256))
    (i32.store (i32.const 12) (i32.add (local.get $len) (i32.const 7)))
    (i32.const 8)))
"""


def test_a_library_component_gets_typed_forms_for_its_functions(
        make_project: Callable[..., Path], serve: Callable[..., DevServer], page: Any) -> None:
    from playwright.sync_api import expect

    project = make_project({"lib.wat": GREETER_WAT, "wit/world.wit": GREETER_WIT}, name="greeter")
    server = serve(project, COMPONENT)
    page.goto(server.url)
    assert wait_done(page) == "ready"

    def call(name: str, *values: str) -> Any:
        form = page.locator(f'form[data-export="{name}"]')
        for index, value in enumerate(values):
            form.locator("input").nth(index).fill(value)
        form.locator("button").click()
        return form.locator("output")

    add = page.locator('form[data-export="add"]')
    expect(add.locator("input").nth(0)).to_have_attribute("placeholder", "a: s32")
    expect(call("add", "40", "2")).to_have_text("42")
    expect(call("greet", '"ada"')).to_have_text('"hello, ada"')
    expect(call("is-even", "12345678901234")).to_have_text("true")
    expect(call("is-even", "7")).to_have_text("false")
    wrong = call("add", "x", "2")
    expect(wrong).to_have_text("argument 'a' of add: expected s32 (a number), found 'x' (at character 1 of 'x')")
    expect(wrong).to_have_class("error")


GEOMETRY = "example:shapes/geometry@0.1.0"
#: (function, each argument as typed into its input, what exec --invoke prints for the call)
SHAPES_CALLS = [
    ("add", ["40", "2"], "42"),
    ("greet", ['"ada \\u{1F600}"'], '"hello, ada \U0001F600"'),
    ("total", ['[{name: "a", qty: 2}, {qty: 40, name: "b"}]'], "42"),
    ("total", ["[]"], "0"),
    ("half", ["some(4)"], "some(2)"),
    ("half", ["none"], "none"),
    ("half", ["9"], "some(4)"),
    ("safe-div", ["7", "2"], "ok(3)"),
    ("safe-div", ["1", "0"], 'err("division by zero")'),
    ("next-color", ["blue"], "red"),
    ("invert", ["{read}"], "{write, exec}"),
    ("invert", ["{}"], "{read, write, exec}"),
    ("upper", ["'q'"], "'Q'"),
    ("scale", ["1.5", "2"], "3"),
    ("scale", ["0.1", "3"], "0.30000000000000004"),
    ("scale", ["-inf", "0.5"], "-inf"),
    ("swap", ["(-9007199254740993, true)"], "(true, -9007199254740993)"),
    ("counts", ["4"], "[0, 1, 2, 3]"),
    (f"{GEOMETRY}#area", ["rect((2, 3.5))"], "7"),
    (f"{GEOMETRY}#area", ["circle(1)"], "3"),
    (f"{GEOMETRY}#area", ["point"], "0"),
    (f"{GEOMETRY}#add", ["2", "2"], "4"),
]


@pytest.mark.parametrize("generator", ["jco 1.12.0", "jco-transpile 0.15.0"])
def test_the_forms_take_and_show_wave_as_exec_invoke_does(
        make_project: Callable[..., Path], serve: Callable[..., DevServer], page: Any, cli: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch, generator: str) -> None:
    """Every exported function of the shapes component, interfaces included, has a form; each
    call's output is what ``wasmrun exec --invoke`` prints for it, with either generator's glue."""
    from playwright.sync_api import expect

    from wasmrun.server import component_js

    if generator.startswith("jco-transpile"):
        monkeypatch.setattr(component_js, "SYNC_GENERATOR_BYTES", 0)
        monkeypatch.setattr(component_js, "_memo", {})
    server = serve(make_project(shapes_project(), name="shapes"), COMPONENT)
    wasm = server.site.wasm_path()
    assert wasm is not None
    page.goto(server.url)
    assert wait_done(page) == "ready"
    assert page.evaluate("wasmrun.info.component.generator") == generator
    forms = page.locator("#exports form")
    expect(forms).to_have_count(13)  # page.js adds them after the status is "ready"
    assert forms.evaluate_all("forms => forms.map(f => f.dataset.export)") == [
        "add", "greet", "total", "half", "safe-div", "next-color", "invert", "upper", "scale", "swap", "counts",
        f"{GEOMETRY}#area", f"{GEOMETRY}#add"]
    total = page.locator('form[data-export="total"]')
    # (wasm-tools' component declares item among its type imports, which wasmtime's types do not
    # list: its name is read from the binary, as inspect reads it)
    expect(total.locator("input")).to_have_attribute("placeholder", "items: list<item>")
    expect(page.locator('form[data-export="invert"] input')).to_have_attribute("placeholder", "p: perms")
    expect(page.locator(f'form[data-export="{GEOMETRY}#area"] input')).to_have_attribute("placeholder", "s: shape")

    def call(name: str, *values: str) -> Any:
        form = page.locator(f'form[data-export="{name}"]')
        for index, value in enumerate(values):
            form.locator("input").nth(index).fill(value)
        form.locator("button").click()
        return form.locator("output")

    for name, args, printed in SHAPES_CALLS:
        invoked = cli("exec", "--invoke", f"{name}({', '.join(args)})", wasm)
        assert (invoked.exit_code, invoked.stdout) == (0, printed + "\n"), (name, args, invoked.stderr)
        output = call(name, *args)
        expect(output).to_have_text(printed)
        expect(output).not_to_have_class("error")

    wrong = call("half", '"x"')
    expect(wrong).to_have_text("""argument 'n' of half: expected u32 (a number), found '"x"' """
                               """(at character 1 of '"x"')""")
    expect(wrong).to_have_class("error")
    assert cli("exec", "--invoke", 'half("x")', wasm).stderr.startswith(
        "error: argument 'n' of half: expected u32 (a number), found '\"x\")'")
    out_of_range = call("counts", "256")
    expect(out_of_range).to_have_text("argument 'n' of counts: 256 is out of range for u8 (0 to 255) "
                                      "(at character 1 of '256')")
    expect(out_of_range).to_have_class("error")
    # a value that fits again clears the error
    expect(call("counts", "1")).to_have_text("[0]")
    expect(page.locator('form[data-export="counts"] output')).not_to_have_class("error")


TRAP_WIT = """\
package example:traps;

world traps {
  export boom: func(n: u32) -> result<u32, string>;
}
"""

TRAP_WAT = """\
(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "boom") (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then unreachable))
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (local.get 0))
    (i32.const 64)))
"""


def test_a_trap_shows_as_an_error_on_the_form(make_project: Callable[..., Path], serve: Callable[..., DevServer],
                                              page: Any) -> None:
    from playwright.sync_api import expect

    server = serve(make_project({"lib.wat": TRAP_WAT, "wit/world.wit": TRAP_WIT}, name="traps"), COMPONENT)
    page.goto(server.url)
    assert wait_done(page) == "ready"
    form = page.locator('form[data-export="boom"]')
    form.locator("input").fill("5")
    form.locator("button").click()
    expect(form.locator("output")).to_have_text("ok(5)")
    form.locator("input").fill("0")
    form.locator("button").click()
    expect(form.locator("output")).to_have_text(re.compile(r"^RuntimeError: .*unreachable"))
    expect(form.locator("output")).to_have_class("error")


def test_live_reload_of_a_component(example: Callable[[str], Path], serve: Callable[..., DevServer],
                                    page: Any) -> None:
    from playwright.sync_api import expect

    project = example("wat-hello")
    server = serve(project, COMPONENT, watch=True)
    page.goto(server.url)
    expect(console(page)).to_contain_text("hello from WebAssembly text")
    page.wait_for_function("document.documentElement.dataset.wasmrunLive === 'connected'")
    source = project / "main.wat"
    started = time.perf_counter()
    source.write_text(source.read_text().replace("hello from WebAssembly text", "edited from WebAssembly text"))
    expect(console(page)).to_contain_text("edited from WebAssembly text", timeout=TIMEOUT_MS)
    print(f"live reload of a component: {time.perf_counter() - started:.3f} s from save to new output")


def test_without_node_the_page_says_what_is_missing(example: Callable[[str], Path],
                                                    serve: Callable[..., DevServer], page: Any,
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from wasmrun.server import component_js

    project = example("wat-hello")
    monkeypatch.setenv("WASMRUN_HOME", str(tmp_path / "fresh-home"))  # nothing transpiled yet
    monkeypatch.setattr(component_js, "_memo", {})
    monkeypatch.setenv("PATH", str(tmp_path))  # no node (nor wasm-opt: the build does without)
    assert shutil.which("node") is None
    server = serve(project, COMPONENT)
    page.goto(server.url)
    assert wait_done(page) == "failed"
    expect(console(page)).to_contain_text("node is needed to run a component in the browser")


def test_a_javascript_program_runs_on_the_page(make_project: Callable[..., Path], serve: Callable[..., DevServer],
                                               page: Any) -> None:
    """A JavaScript project (a component built by componentize-qjs): console output, including
    what its event loop prints after a timer, and process.exit's status on the page."""
    from playwright.sync_api import expect

    project = make_project({
        "package.json": '{"name": "js-page", "main": "main.js"}',
        "main.js": 'console.log("hello from JavaScript");\n'
                   'console.error("to stderr");\n'
                   'setTimeout(() => { console.log("after a timer"); process.exit(4); }, 10);\n'}, name="js-page")
    server = serve(project)
    assert server.site.page_mode() == "component"
    page.goto(server.url)
    assert wait_done(page) == "exited"
    # QuickJS's component (about 2 MB) is larger than jco 1.12.0's generator is given
    assert page.evaluate("wasmrun.info.component.generator") == "jco-transpile 0.15.0"
    expect(console(page).locator(".stderr")).to_have_text("to stderr\n")
    expect(console(page)).to_contain_text("hello from JavaScript")
    expect(console(page)).to_contain_text("after a timer")
    assert page.evaluate("wasmrun.exitCode") == 4
