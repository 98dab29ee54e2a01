"""Go for the browser (GOOS=js, wasm_exec.js) run in headless Chromium through wasmrun's
``run_headless`` fixture: what the program prints, reads and exits with, as a terminal sees it."""

from __future__ import annotations

import pytest
from wasmrun.testing import HeadlessRunner, ProjectFactory, require_tool

from wasmrun_go import toolchain as go_tools

pytestmark = pytest.mark.slow

GO_MOD = "module example.com/prog\n\ngo 1.21\n"


@pytest.fixture(autouse=True)
def _go() -> None:
    require_tool("go", found=go_tools.find(go_tools.WASI_MIN) is not None)


def test_js_wasm_gets_args_env_and_stdin_and_exits_with_its_code(run_headless: HeadlessRunner,
                                                                  make_project: ProjectFactory) -> None:
    project = make_project({"go.mod": GO_MOD, "main.go": """package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	input, _ := io.ReadAll(os.Stdin)
	fmt.Printf("stdin: %s", input)
	fmt.Println("args:", os.Args[1:])
	fmt.Println("WHO:", os.Getenv("WHO"))
	fmt.Fprintln(os.Stderr, "to stderr")
	os.Exit(4)
}
"""})
    ran = run_headless(project, ["one", "two"], env={"WHO": "gopher"}, stdin="piped\n", target="web")
    assert ran.exit_code == 4, ran.stderr
    assert ran.stdout == "stdin: piped\nargs: [one two]\nWHO: gopher\n"
    assert "to stderr\n" in ran.stderr
    assert "to stderr" not in ran.stdout


def test_a_panic_is_gos_exit_code_2_with_its_message(run_headless: HeadlessRunner,
                                                      make_project: ProjectFactory) -> None:
    project = make_project({"go.mod": GO_MOD, "main.go": 'package main\n\nfunc main() { panic("no way") }\n'})
    ran = run_headless(project, target="web")
    assert ran.exit_code == 2, ran.stderr
    assert ran.stdout == ""
    assert "panic: no way" in ran.stderr


def test_a_program_blocked_in_select_runs_until_the_timeout(run_headless: HeadlessRunner,
                                                             make_project: ProjectFactory) -> None:
    project = make_project({"go.mod": GO_MOD, "main.go": """package main

import "fmt"

func main() {
	fmt.Println("serving forever")
	select {}
}
"""})
    ran = run_headless(project, target="web", timeout=3)
    assert ran.exit_code == 142, ran.stderr
    assert ran.stdout == "serving forever\n"
    assert ran.stderr.strip().splitlines()[-1] == "error: timed out: the program was still running after --timeout 3 s"
