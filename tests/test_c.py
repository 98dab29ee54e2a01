"""C and C++ built with the real toolchains (clang + wasi-libc, zig cc, emcc) and executed."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from tests.conftest import CliResult
from wasmrun.building import compile_project, doctor
from wasmrun.errors import BuildError, MissingToolchainError
from wasmrun.languages import c as c_plugin
from wasmrun.models import GlueKind, Optimization, Target
from wasmrun.plugins import load_plugins
from wasmrun.testing import require_tool, run_wasm

pytestmark = pytest.mark.slow

Example = Callable[[str], Path]


def _plugins():  # type: ignore[no-untyped-def]
    return load_plugins(entry_points=False)


def require_zig() -> None:
    require_tool("zig", found=c_plugin._zig_command() is not None)


@pytest.mark.parametrize(("name", "expected"), [("c-hello", "hello from C"), ("cpp-hello", "hello from C++")])
def test_examples_build_with_clang_and_run(example: Example, name: str, expected: str) -> None:
    require_tool("clang")
    project = example(name)
    result = compile_project(project, _plugins())
    assert result.toolchain.startswith("clang")
    assert result.glue is GlueKind.WASI
    run = run_wasm(result.wasm_path, ["one", "two"])
    assert run.exit_code == 0
    assert run.stdout.splitlines()[0] == expected
    assert "hello" in run.stdout


def test_c_example_receives_its_arguments(example: Example) -> None:
    require_tool("clang")
    result = compile_project(example("c-hello"), _plugins())
    assert run_wasm(result.wasm_path, ["a b", "c"]).stdout == "hello from C\narg 1: a b\narg 2: c\n"


@pytest.mark.parametrize(("name", "expected"), [("c-hello", "hello from C"), ("cpp-hello", "hello from C++")])
def test_examples_build_with_zig_cc_and_run(example: Example, name: str, expected: str) -> None:
    require_zig()
    result = compile_project(example(name), _plugins(), toolchain_name="zig")
    assert re.fullmatch(r"zig \d+\.\d+\S*", result.toolchain), result.toolchain
    assert run_wasm(result.wasm_path).stdout.splitlines()[0] == expected


def test_optimization_levels_visibly_matter(example: Example) -> None:
    require_tool("clang")
    project = example("c-hello")
    plugins = _plugins()
    sizes = {}
    for level in Optimization:
        out = project / f"out-{level.value}"
        wasm = compile_project(project, plugins, optimization=level, output_dir=out).wasm_path
        assert run_wasm(wasm).stdout.startswith("hello from C")
        sizes[level] = wasm.stat().st_size
    assert sizes[Optimization.SIZE] < sizes[Optimization.RELEASE] < sizes[Optimization.DEBUG], sizes


def test_library_without_main_exports_its_functions(make_project: Callable[..., Path]) -> None:
    require_tool("clang")
    project = make_project({"lib.c": "int add(int a, int b) { return a + b; }\n"
                                     "long long mul(long long a, long long b) { return a * b; }\n"})
    wasm = compile_project(project, _plugins()).wasm_path
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(wasm))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    instance = linker.instantiate(store, module)
    exports = instance.exports(store)
    exports["_initialize"](store)  # type: ignore[operator]
    assert exports["add"](store, 2, -5) == -3  # type: ignore[operator]
    assert exports["mul"](store, 1 << 20, 1 << 20) == 1 << 40  # type: ignore[operator]


def test_web_target_uses_emcc_and_its_glue_runs(example: Example) -> None:
    require_tool("emcc")
    require_tool("node")
    result = compile_project(example("c-hello"), _plugins(), target=Target.WEB)
    assert result.glue is GlueKind.EMSCRIPTEN
    assert result.html_path is not None and result.html_path.name == "c-hello.html"
    assert result.js_path is not None and result.js_path.is_file()
    assert result.wasm_path.read_bytes()[:4] == b"\0asm"
    assert "c-hello.js" in result.html_path.read_text()
    # emcc's glue fetches the module with fetch() under Node 20 unless told not to.
    proc = subprocess.run(["node", "--no-experimental-fetch", str(result.js_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("hello from C")


def test_makefile_wasm_target_is_honoured(make_project: Callable[..., Path]) -> None:
    require_tool("clang")
    require_tool("make")
    project = make_project({
        "greet.c": '#include <stdio.h>\nint main(void) { printf("hello via " GREETING "\\n"); return 0; }\n',
        "Makefile": 'wasm:\n\t$(CC) $(CFLAGS) -DGREETING=\'"make"\' greet.c $(LDFLAGS) -o $(OUT_DIR)/greet.wasm\n',
    })
    result = compile_project(project, _plugins(), optimize=False)  # make alone, without wasm-opt after it
    assert result.wasm_path.name == "greet.wasm"
    assert [Path(c[0]).name for c in result.commands] == ["make"]
    assert run_wasm(result.wasm_path).stdout == "hello via make\n"


def test_compile_error_exits_1_with_the_compilers_own_output(cli: Callable[..., CliResult],
                                                            make_project: Callable[..., Path]) -> None:
    require_tool("clang")
    project = make_project({"main.c": "int main(void) { return undefined_name; }\n"})
    result = cli("compile", project)
    assert result.exit_code == 1
    assert "use of undeclared identifier 'undefined_name'" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: clang (C) failed (exit code 1)")
    assert "Traceback" not in result.stderr
    assert not (project / "wasmrun-out" / "project.wasm").exists()


def test_extra_args_after_double_dash_reach_the_compiler(cli: Callable[..., CliResult],
                                                        make_project: Callable[..., Path]) -> None:
    require_tool("clang")
    project = make_project({"main.c": '#include <stdio.h>\nint main(void) { puts(WORD); return 0; }\n'})
    result = cli("compile", project, "-v", "--", '-DWORD="hello extra"')
    assert result.exit_code == 0, result.stderr
    assert "-DWORD=" in result.stderr  # -v shows the exact command
    assert run_wasm(project / "wasmrun-out" / "project.wasm").stdout == "hello extra\n"


def test_missing_toolchain_names_the_tools_and_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              example: Example) -> None:
    project = example("c-hello")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(c_plugin.toolchains, "zig_command", lambda: None)
    with pytest.raises(MissingToolchainError) as info:
        compile_project(project, _plugins())
    message = info.value.message
    assert message.startswith("clang or zig is needed to build c for --target wasm")
    assert "apt-get install clang lld wasi-libc" in message and "pip install 'wasmrun[c]'" in message
    with pytest.raises(MissingToolchainError, match="emcc is needed to build c for --target web"):
        compile_project(project, _plugins(), target=Target.WEB)


def test_doctor_probe_reports_clang_without_wasi_libc_as_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("clang")
    monkeypatch.setattr(c_plugin.toolchains, "WASI_SYSROOTS", ())
    monkeypatch.delenv("WASI_SYSROOT", raising=False)
    monkeypatch.delenv("WASI_SDK_PATH", raising=False)
    report = next(r for r in doctor(_plugins()) if r.plugin == "c" and r.target is Target.WASM)
    clang = next(t for t in report.tools if t.name == "clang")
    assert clang.found and clang.probe_ok is False
    assert "wasi-libc not found" in (clang.probe_error or "")


def test_doctor_probe_compiles_with_a_working_clang() -> None:
    require_tool("clang")
    report = next(r for r in doctor(_plugins()) if r.plugin == "c" and r.target is Target.WASM)
    clang = next(t for t in report.tools if t.name == "clang")
    assert clang.probe_ok is True, clang.probe_error
    assert clang.version and clang.version[0].isdigit()
    assert report.ready


def test_requested_clang_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 example: Example) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolchainError, match="clang with wasi-libc is needed for --toolchain clang"):
        compile_project(example("c-hello"), _plugins(), toolchain_name="clang")


def test_build_failure_keeps_the_previous_good_output(example: Example) -> None:
    require_tool("clang")
    project = example("c-hello")
    good = compile_project(project, _plugins()).wasm_path
    before = good.read_bytes()
    (project / "main.c").write_text("int main(void) { syntax error }\n")
    with pytest.raises(BuildError):
        compile_project(project, _plugins())
    assert good.read_bytes() == before
    assert not list((project / "wasmrun-out").glob(".staging-*"))
