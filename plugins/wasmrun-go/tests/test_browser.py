"""A main package that imports syscall/js is a browser program: its claim names web as the target,
detect says so and why, compile and exec honour it, and --target or wasmrun.toml still win.
(The browser run itself is in wasmrun's tests/test_server_browser.py.)"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wasmrun.testing import require_tool

from wasmrun_go import browser
from wasmrun_go import toolchain as go_tools

Cli = Callable[..., Any]
MOD = "module example.com/app\n\ngo 1.21\n"
JS_MAIN = 'package main\n\nimport "syscall/js"\n\nfunc main() { js.Global().Get("console").Call("log", "hi") }\n'
PLAIN_MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n'


def _target(cli: Cli, project: Path) -> dict[str, Any]:
    result = cli("detect", project, "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize(("files", "reason"), [
    ({"main.go": JS_MAIN}, "main.go imports syscall/js"),
    # through a package of the module, and one more step
    ({"main.go": 'package main\n\nimport (\n\t"fmt"\n\tui "example.com/app/ui"\n)\n\n'
                 'func main() { fmt.Println(ui.X) }\n',
      "ui/ui.go": 'package ui\n\nimport "example.com/app/ui/dom" // the page\n\nvar X = dom.Y\n',
      "ui/dom/dom.go": 'package dom\n\nimport "syscall/js"\n\nvar Y = js.Null()\n'},
     "main.go imports example.com/app/ui, which imports example.com/app/ui/dom, which imports syscall/js"),
])
def test_a_main_package_reaching_syscall_js_is_web(files: dict[str, str], reason: str,
                                                    make_project: Callable[..., Path], cli: Cli) -> None:
    data = _target(cli, make_project({"go.mod": MOD, **files}))
    assert data["plugin"] == "go"
    assert data["target"] == "web"
    assert data["target_reason"] == reason
    assert data["candidates"][0]["target"] == "web"
    text = cli("detect", make_project({"go.mod": MOD, **files}, name="again"))
    assert f"target: web ({reason})" in text.stdout


@pytest.mark.parametrize("files", [
    {"main.go": PLAIN_MAIN},
    # the syscall/js file is for GOOS=js only: a wasip1 build does not compile it
    {"main.go": PLAIN_MAIN, "page.go": "//go:build js && wasm\n\n" + JS_MAIN.replace("func main", "func page")},
    {"main.go": PLAIN_MAIN, "page_js.go": JS_MAIN.replace("func main", "func page")},
    {"main.go": PLAIN_MAIN, "page_js_wasm.go": JS_MAIN.replace("func main", "func page")},
    {"main.go": PLAIN_MAIN, "main_test.go": JS_MAIN.replace("func main", "func testPage")},
    # only mentioned in a comment or a string
    {"main.go": '// import "syscall/js"\npackage main\n\nimport "fmt"\n\nfunc main() { fmt.Println("syscall/js") }\n'},
    # a library package (not main) that uses syscall/js
    {"lib.go": "package lib\n\nimport \"syscall/js\"\n\nvar X = js.Null()\n"},
    # a module path that climbs out of the module is not followed
    {"main.go": 'package main\n\nimport "example.com/app/../../outside"\n\nfunc main() {}\n'},
])
def test_others_keep_the_wasm_default(files: dict[str, str], make_project: Callable[..., Path], cli: Cli) -> None:
    data = _target(cli, make_project({"go.mod": MOD, **files}))
    assert data["plugin"] == "go"
    assert data["target"] == "wasm" and data["target_reason"] == ""


@pytest.mark.parametrize(("expression", "holds"), [
    ("js", False), ("wasip1", True), ("js && wasm", False), ("!js", True), ("wasip1 || js", True),
    ("(linux || darwin) && !wasm", False), ("go1.21", True), ("!(js)", True), ("ignore", False),
    ("js &&", True), ("((", True), ("a b", True),  # unreadable: counted as compiled, never a crash
])
def test_build_constraints_for_wasip1(expression: str, holds: bool) -> None:
    assert browser._constraint_holds(expression, browser.WASIP1_TAGS) is holds


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_the_scanners_never_raise(text: str) -> None:
    """Any text as a source file or a constraint: an answer, never an exception."""
    assert isinstance(browser.imports(text), list)
    assert isinstance(browser._constraint_holds(text, browser.WASIP1_TAGS), bool)


def test_hostile_sources(make_project: Callable[..., Path], cli: Cli) -> None:
    """Binary junk, an import cycle inside the module, a directory named like a source."""
    project = make_project({
        "go.mod": MOD,
        "main.go": 'package main\n\nimport "example.com/app/a"\n\nfunc main() { a.F() }\n',
        "a/a.go": 'package a\n\nimport "example.com/app/b"\n\nfunc F() { b.G() }\n',
        "b/b.go": 'package b\n\nimport "example.com/app/a"\n\nfunc G() { a.F() }\n',
    })
    (project / "junk.go").write_bytes(b"\xff\xfe\x00package main\x00import \x80")
    (project / "dir.go").mkdir()
    os.mkfifo(project / "pipe.go")  # never opened: a claim must not hang on it
    (project / "huge.go").write_text("package main\n\n" + "// generated\n" * 200_000 + 'import "syscall/js"\n')
    data = _target(cli, project)
    assert data["target"] == "wasm"  # the import past the header a claim reads is not seen


@pytest.mark.slow
def test_compile_builds_for_the_web_and_the_config_overrides(make_project: Callable[..., Path], cli: Cli) -> None:
    require_tool("go", found=go_tools.find(go_tools.JS_MIN) is not None)
    project = make_project({"go.mod": MOD, "main.go": JS_MAIN})
    built = cli("compile", project, "--json", "--no-opt")
    assert built.exit_code == 0, built.stderr
    result = json.loads(built.stdout)
    assert result["glue"] == "go" and Path(result["js_path"]).name == "wasm_exec.js"
    ran = cli("exec", project)  # exec honours the default too: a browser build cannot run natively
    assert ran.exit_code == 1 and "needs its JS glue (go)" in ran.stderr
    (project / "wasmrun.toml").write_text('target = "wasm"\n')  # the project's own setting wins
    refused = cli("compile", project, "--no-opt")
    assert refused.exit_code == 1
    assert "build constraints exclude all Go files" in refused.stderr
