"""C projects as their authors wrote them, built with the real tools and executed: Makefiles that
write their module beside the sources (clang for WASI, emcc with its JS glue), a Makefile making
several modules, and a CMake library plus executable (WASI natively, the web with emcmake)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from wasmrun.building import compile_project
from wasmrun.errors import UsageError
from wasmrun.languages.c import cmake
from wasmrun.languages.c import toolchains as c_toolchains
from wasmrun.models import GlueKind, Target
from wasmrun.plugins import load_plugins
from wasmrun.testing import require_tool, run_wasm

pytestmark = pytest.mark.slow

PROJECTS = Path(__file__).parent / "projects"


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """A copy of ``tests/projects/NAME`` (under another directory name when asked)."""

    def copy(name: str, as_name: str | None = None) -> Path:
        target = tmp_path / (as_name or name)
        shutil.copytree(PROJECTS / name, target)
        return target

    return copy


def _plugins():  # type: ignore[no-untyped-def]
    return load_plugins(entry_points=False)


def _node(js: Path) -> subprocess.CompletedProcess[str]:
    # emcc's glue fetches its module with fetch() under Node 20 unless told not to.
    return subprocess.run(["node", "--no-experimental-fetch", str(js)], capture_output=True, text=True, timeout=60,
                          check=False)


# -- Makefiles ------------------------------------------------------------------------------------

def test_makefile_module_beside_its_sources_is_copied_out_and_runs(project: Callable[..., Path]) -> None:
    require_tool("clang")
    require_tool("make")
    root = project("make-wasi")
    result = compile_project(root, _plugins(), optimize=False)
    assert result.wasm_path == root / "wasmrun-out" / "main.wasm"
    assert result.glue is GlueKind.WASI
    assert run_wasm(result.wasm_path, ["a", "b"]).stdout == "hello from a Makefile (2 args)\n"
    # copied, never moved: the Makefile's own outputs stay where it wrote them, the same bytes
    assert (root / "main.wasm").read_bytes() == result.wasm_path.read_bytes()
    assert (root / "main.o").is_file() and (root / "greet.o").is_file()
    # what the Makefile wrote is output, not input, for the build cache
    assert result.inputs is not None
    assert {root / "main.wasm", root / "main.o", root / "greet.o"} <= set(result.inputs.written)
    assert root / "main.c" not in result.inputs.written


def test_makefile_up_to_date_still_delivers_a_fresh_module(project: Callable[..., Path]) -> None:
    require_tool("clang")
    require_tool("make")
    root = project("make-wasi")
    compile_project(root, _plugins(), optimize=False)
    again = compile_project(root, _plugins(), optimize=False, use_cache=False)  # make finds main.wasm up to date
    assert [c[1:2] for c in again.commands] == [["-C"], ["-B"]]  # so it is made once more, as asked
    assert run_wasm(again.wasm_path).stdout == "hello from a Makefile (0 args)\n"


def test_makefile_edit_is_rebuilt_never_served_stale(project: Callable[..., Path]) -> None:
    require_tool("clang")
    require_tool("make")
    root = project("make-wasi")
    compile_project(root, _plugins(), optimize=False)
    greet = root / "greet.c"
    greet.write_text(greet.read_text().replace("from a Makefile", "after an edit"))
    result = compile_project(root, _plugins(), optimize=False)
    assert not result.cached
    assert run_wasm(result.wasm_path).stdout == "hello after an edit (0 args)\n"


def test_makefile_with_emcc_brings_its_js_glue(project: Callable[..., Path]) -> None:
    require_tool("emcc")
    require_tool("make")
    require_tool("node")
    root = project("make-emscripten")
    result = compile_project(root, _plugins())
    assert result.glue is GlueKind.EMSCRIPTEN
    assert result.wasm_path.name == "main.wasm" and result.wasm_path.parent == root / "wasmrun-out"
    assert result.js_path == root / "wasmrun-out" / "main.js"
    assert (root / "main.js").is_file() and (root / "main.wasm").is_file()  # left where make wrote them
    run = _node(result.js_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "hello from emscripten via make\n"


def test_makefile_making_several_modules_asks_which(project: Callable[..., Path],
                                                     cli: Callable[..., CliResult]) -> None:
    require_tool("clang")
    require_tool("make")
    root = project("make-modules")
    failed = cli("compile", root)
    assert failed.exit_code == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert "client, server" in lines[0] and 'module = "NAME" in wasmrun.toml' in lines[0]
    (root / "wasmrun.toml").write_text('module = "client"\n')
    result = compile_project(root, _plugins(), optimize=False)
    assert run_wasm(result.wasm_path).stdout == "I am the client\n"
    (root / "wasmrun.toml").write_text('module = "proxy"\n')
    with pytest.raises(UsageError, match=r"module = 'proxy' is none of the modules make wasm made \(client, server\)"):
        compile_project(root, _plugins(), optimize=False, use_cache=False)


def test_makefile_module_named_after_the_project_wins(project: Callable[..., Path]) -> None:
    require_tool("clang")
    require_tool("make")
    root = project("make-modules", as_name="server")
    result = compile_project(root, _plugins(), optimize=False)
    assert run_wasm(result.wasm_path).stdout == "I am the server\n"


def test_only_the_wasm_target_or_the_configured_one_runs(make_project: Callable[..., Path]) -> None:
    require_tool("clang")
    require_tool("make")
    files = {
        "hi.c": '#include <stdio.h>\nint main(void) { puts(WHO); return 0; }\n',
        "Makefile": ("all:\n\ttouch ALL_RAN\n\n"
                     "wasm:\n\t$(CC) $(CFLAGS) -DWHO='\"wasm target\"' hi.c $(LDFLAGS) -o hi.wasm\n\n"
                     "web-app:\n\t$(CC) $(CFLAGS) -DWHO='\"web-app target\"' hi.c $(LDFLAGS) -o hi.wasm\n"),
    }
    root = make_project(files)
    assert run_wasm(compile_project(root, _plugins(), optimize=False).wasm_path).stdout == "wasm target\n"
    (root / "wasmrun.toml").write_text('make_target = "web-app"\n')
    result = compile_project(root, _plugins(), optimize=False)
    assert run_wasm(result.wasm_path).stdout == "web-app target\n"
    assert not (root / "ALL_RAN").exists()  # make's first target, never asked for


def test_clean_runs_make_clean_only_with_the_flag(project: Callable[..., Path],
                                                  cli: Callable[..., CliResult]) -> None:
    require_tool("clang")
    require_tool("make")
    root = project("make-wasi")
    assert cli("compile", root, "--no-opt").exit_code == 0
    plain = cli("clean", root)
    assert plain.exit_code == 0
    assert not (root / "wasmrun-out" / "main.wasm").exists()
    assert (root / "main.wasm").is_file() and (root / "main.o").is_file()  # the Makefile's: not wasmrun's to delete
    flagged = cli("clean", root, "--make-clean", "--json")
    assert flagged.exit_code == 0, flagged.stderr
    assert not (root / "main.wasm").exists() and not (root / "main.o").exists()
    assert str(root / "main.wasm") in flagged.stdout
    assert sorted(p.name for p in root.iterdir()) == ["Makefile", "greet.c", "greet.h", "main.c"]


# -- CMake ----------------------------------------------------------------------------------------

def _require_cmake() -> None:
    require_tool("cmake")
    require_tool("ninja")
    require_tool("clang")


def test_cmake_library_and_executable_build_for_wasi_and_run(project: Callable[..., Path]) -> None:
    _require_cmake()
    root = project("cmake-calc")
    result = compile_project(root, _plugins(), optimize=False)
    assert result.wasm_path == root / "wasmrun-out" / "calc.wasm"
    assert result.toolchain.startswith("cmake + clang")
    assert run_wasm(result.wasm_path).stdout == "calc 1.0: 2 + 3 = 5, 6 * 7 = 42\n"
    # built out of tree: nothing written into the project but wasmrun's output directory
    assert sorted(p.name for p in root.iterdir()) == ["CMakeLists.txt", "app", "include", "src", "wasmrun-out"]
    assert result.inputs is not None and result.inputs.files is not None
    read = set(result.inputs.files)
    assert {root / "CMakeLists.txt", root / "app" / "main.c", root / "src" / "calc.c",
            root / "include" / "calc" / "calc.h"} <= read
    tree = cmake.builds_root(root)
    assert not any(p.is_relative_to(tree) for p in read)  # the build tree is output, not input


def test_cmake_rebuild_after_an_edit_is_incremental_and_clean_removes_the_tree(
        project: Callable[..., Path], cli: Callable[..., CliResult]) -> None:
    _require_cmake()
    root = project("cmake-calc")
    compile_project(root, _plugins(), optimize=False)
    tree = cmake.builds_root(root)
    objects = {p.name.split(".")[0]: p.stat().st_mtime_ns for p in tree.rglob("*.c.o*")}
    assert set(objects) == {"main", "calc"}
    main = root / "app" / "main.c"
    main.write_text(main.read_text().replace("6 * 7", "6 x 7"))
    result = compile_project(root, _plugins(), optimize=False)
    assert not result.cached
    assert run_wasm(result.wasm_path).stdout == "calc 1.0: 2 + 3 = 5, 6 x 7 = 42\n"
    after = {p.name.split(".")[0]: p.stat().st_mtime_ns for p in tree.rglob("*.c.o*")}
    assert after["calc"] == objects["calc"]  # the library was not compiled again
    assert after["main"] != objects["main"]
    assert [Path(c[0]).name for c in result.commands if "-S" in c] == []  # built, not configured again
    header = root / "include" / "calc" / "calc.h"
    header.write_text(header.read_text().replace('"1.0"', '"2.0"'))
    assert run_wasm(compile_project(root, _plugins(), optimize=False).wasm_path).stdout.startswith("calc 2.0:")
    cleaned = cli("clean", root)
    assert cleaned.exit_code == 0, cleaned.stderr
    assert not tree.exists()
    assert (root / "CMakeLists.txt").is_file() and header.is_file()


def test_cmake_for_the_web_with_emcmake(project: Callable[..., Path]) -> None:
    require_tool("cmake")
    require_tool("emcmake")
    require_tool("node")
    root = project("cmake-calc")
    result = compile_project(root, _plugins(), target=Target.WEB)
    assert result.glue is GlueKind.EMSCRIPTEN
    assert result.wasm_path == root / "wasmrun-out" / "calc.wasm" and result.wasm_path.read_bytes()[:4] == b"\0asm"
    assert result.js_path == root / "wasmrun-out" / "calc.js"
    run = _node(result.js_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "calc 1.0: 2 + 3 = 5, 6 * 7 = 42\n"


def test_cmake_with_several_executables_asks_which(make_project: Callable[..., Path],
                                                   cli: Callable[..., CliResult]) -> None:
    _require_cmake()
    root = make_project({
        "CMakeLists.txt": "cmake_minimum_required(VERSION 3.13)\nproject(tools C)\n"
                          "add_executable(encode encode.c)\nadd_executable(decode decode.c)\n",
        "encode.c": '#include <stdio.h>\nint main(void) { puts("encoding"); return 0; }\n',
        "decode.c": '#include <stdio.h>\nint main(void) { puts("decoding"); return 0; }\n',
    })
    failed = cli("compile", root)
    assert failed.exit_code == 2
    assert failed.stderr.strip() == ('error: CMake made several modules (decode, encode): '
                                     'choose one with module = "NAME" in wasmrun.toml')
    (root / "wasmrun.toml").write_text('module = "decode"\n')
    result = compile_project(root, _plugins(), optimize=False)
    assert result.wasm_path.name == "decode.wasm"
    assert run_wasm(result.wasm_path).stdout == "decoding\n"


def test_cmake_flags_changed_configure_afresh_never_serving_old_objects(make_project: Callable[..., Path]) -> None:
    _require_cmake()
    root = make_project({
        "CMakeLists.txt": "cmake_minimum_required(VERSION 3.13)\nproject(word C)\nadd_executable(word main.c)\n",
        "main.c": '#include <stdio.h>\n#ifndef NUMBER\n#define NUMBER 1\n#endif\n'
                  'int main(void) { printf("number %d\\n", NUMBER); return 0; }\n',
    })
    assert run_wasm(compile_project(root, _plugins(), optimize=False).wasm_path).stdout == "number 1\n"
    flagged = compile_project(root, _plugins(), optimize=False, extra_args=["-DNUMBER=2"])
    assert run_wasm(flagged.wasm_path).stdout == "number 2\n"
    again = compile_project(root, _plugins(), optimize=False, use_cache=False)
    assert run_wasm(again.wasm_path).stdout == "number 1\n"


def test_cmake_with_zig_cc_when_asked(project: Callable[..., Path]) -> None:
    require_tool("cmake")
    require_tool("ninja")
    require_tool("zig", found=c_toolchains.zig_command() is not None)
    root = project("cmake-calc")
    result = compile_project(root, _plugins(), optimize=False, toolchain_name="zig")
    assert result.toolchain.startswith("cmake + zig")
    assert run_wasm(result.wasm_path).stdout == "calc 1.0: 2 + 3 = 5, 6 * 7 = 42\n"


def test_broken_cmake_project_is_one_error_line(make_project: Callable[..., Path],
                                                cli: Callable[..., CliResult]) -> None:
    _require_cmake()
    root = make_project({"CMakeLists.txt": "cmake_minimum_required(VERSION 3.13)\nproject(broken C\n",
                         "main.c": "int main(void) { return 0; }\n"})
    broken = cli("compile", root)
    assert broken.exit_code == 1
    assert "Traceback" not in broken.stderr
    assert broken.stderr.strip().splitlines()[-1] == "error: cmake (configure) failed (exit code 1)"
    (root / "CMakeLists.txt").write_text("cmake_minimum_required(VERSION 3.13)\nproject(lib C)\n"
                                         "add_library(lib STATIC main.c)\n")
    library = cli("compile", root)
    assert library.exit_code == 1
    assert "error: the CMake project defines no executable target (add_executable)" in library.stderr


def test_makefile_target_writing_no_module_is_one_error_line(make_project: Callable[..., Path],
                                                             cli: Callable[..., CliResult]) -> None:
    require_tool("make")
    require_tool("clang")
    root = make_project({"Makefile": "wasm:\n\t@echo nothing to build\n", "main.c": "int main(void) { return 0; }\n"})
    result = cli("compile", root)
    assert result.exit_code == 1
    assert "error: make wasm finished but wrote no .wasm" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_cmake_names_it_and_how_to_install(make_project: Callable[..., Path], cli: Callable[..., CliResult],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from wasmrun import toolchain

    real = toolchain.find_tool
    monkeypatch.setattr(toolchain, "find_tool", lambda name, *a: None if name == "cmake" else real(name, *a))
    root = make_project({"CMakeLists.txt": "project(x C)\nadd_executable(x main.c)\n",
                         "main.c": "int main(void) { return 0; }\n"})
    result = cli("compile", root)
    assert result.exit_code == 2
    assert "error: cmake is needed: the project has a CMakeLists.txt" in result.stderr
    assert "apt-get install cmake ninja-build" in result.stderr
    assert "Traceback" not in result.stderr
