"""C projects through their own build systems: ``wasmrun compile`` of a Makefile project and of a
CMake project beside the same build run by hand, interleaved in one run.

The project is generated: a library of ``--files`` sources (default 24) with a header directory,
and a program using it; one copy carries a Makefile (its ``wasm`` target writes ``app.wasm``
beside the sources, as most do), another a CMakeLists.txt. Both sides build for WASI with clang
and without wasm-opt afterwards (``--no-opt``: the figure is the route's overhead, not
post-processing), with the build cache off (``--no-cache``).

Rows and targets (issue 17), each at most 10% plus 0.5 s over its yardstick:

- ``make route``: ``wasmrun compile`` beside ``make wasm``, each after ``make clean``;
- ``cmake first build``: ``wasmrun compile`` (configure and build) beside ``cmake -S -B`` with
  the same toolchain file and ``cmake --build``, each with its build tree removed first;
- ``cmake rebuild after one edit``: ``wasmrun compile`` beside ``cmake --build`` of a
  hand-configured tree, each after ``touch`` of one library source (no reconfigure on either side).

``make clean``, ``rm -rf`` and ``touch`` are setup steps: run, not timed.

    python benchmarks/bench_c_projects.py [--runs N] [--quick] [--files N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import Row, Step, Target, add_runs_arguments, chosen_runs, compare, console_script, report, skipped

TARGET = Target(1.10, 0.5)

MAKEFILE = """CC = clang --target=wasm32-wasi
CFLAGS = -O2 -Iinclude
SOURCES = $(wildcard lib/*.c) app.c
OBJECTS = $(SOURCES:.c=.o)

wasm: app.wasm

app.wasm: $(OBJECTS)
\t$(CC) $(OBJECTS) -o $@

%.o: %.c $(wildcard include/*.h)
\t$(CC) $(CFLAGS) -c $< -o $@

clean:
\trm -f $(OBJECTS) app.wasm

.PHONY: wasm clean
"""

CMAKELISTS = """cmake_minimum_required(VERSION 3.13)
project(app C)
file(GLOB LIB_SOURCES lib/*.c)
add_library(work STATIC ${LIB_SOURCES})
target_include_directories(work PUBLIC include)
add_executable(app app.c)
target_link_libraries(app PRIVATE work)
"""


def generate(root: Path, files: int, build_file: str, content: str) -> Path:
    """A library of ``files`` sources (each some arithmetic to compile) and a program calling them all."""
    (root / "lib").mkdir(parents=True)
    (root / "include").mkdir()
    declarations = []
    for index in range(files):
        declarations.append(f"int work{index}(int x);")
        body = "".join(f"    x = (x * {31 + k} + {index}) ^ (x >> {1 + k % 7});\n" for k in range(60))
        (root / "lib" / f"work{index}.c").write_text(f'#include "work.h"\nint work{index}(int x) {{\n{body}'
                                                     "    return x;\n}\n")
    (root / "include" / "work.h").write_text("#pragma once\n" + "\n".join(declarations) + "\n")
    calls = "".join(f"    total += work{index}({index});\n" for index in range(files))
    (root / "app.c").write_text('#include <stdio.h>\n#include "work.h"\nint main(void) {\n    int total = 0;\n'
                                f'{calls}    printf("%d\\n", total);\n    return 0;\n}}\n')
    (root / build_file).write_text(content)
    return root


def tools_missing() -> str | None:
    missing = [t for t in ("clang", "make", "cmake", "ninja") if shutil.which(t) is None]
    return f"{', '.join(missing)} not installed" if missing else None


def main() -> int:
    parser = argparse.ArgumentParser()
    add_runs_arguments(parser, 5)
    parser.add_argument("--files", type=int, default=24, help="library sources in the generated project")
    args = parser.parse_args()
    runs = chosen_runs(args)
    wasmrun = console_script("wasmrun")
    rows: list[Row] = []
    missing = tools_missing()
    if missing:
        for name in ("make route", "cmake first build", "cmake rebuild after one edit"):
            rows.append(skipped(name, "by hand", missing))
        return report("c_projects", rows)
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-c-") as tmp:
        os.environ["WASMRUN_HOME"] = str(Path(tmp) / "home")
        env = dict(os.environ)
        compile_step = [wasmrun, "compile", "--no-cache", "--no-opt"]

        made = generate(Path(tmp) / "make-app", args.files, "Makefile", MAKEFILE)
        rows.append(compare(
            f"make route, {args.files + 1} sources",
            [Step(["make", "-s", "clean"], made, setup=True), Step([*compile_step, str(made)])],
            "make wasm by hand", [Step(["make", "-s", "clean"], made, setup=True), Step(["make", "-s", "wasm"], made)],
            runs=runs, target=TARGET, env=env, cpu=True))
        print("  make route: done", flush=True)

        cmaked = generate(Path(tmp) / "cmake-app", args.files, "CMakeLists.txt", CMAKELISTS)
        subprocess.run([*compile_step, str(cmaked)], env=env, check=True, capture_output=True)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from wasmrun.languages.c import cmake

        tree = cmake.builds_root(cmaked) / "wasm-clang-release"
        toolchain_file = Path(tmp) / "wasi.cmake"
        shutil.copy(tree / "wasmrun-toolchain.cmake", toolchain_file)  # the same compilers on both sides
        hand = Path(tmp) / "hand-tree"
        configure = Step(["cmake", "-G", "Ninja", "-S", str(cmaked), "-B", str(hand), "-DCMAKE_BUILD_TYPE=Release",
                          f"-DCMAKE_TOOLCHAIN_FILE={toolchain_file}", "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--strip-debug"])
        build = Step(["cmake", "--build", str(hand)])
        rows.append(compare(
            f"cmake first build, {args.files + 1} sources",
            [Step(["rm", "-rf", str(cmake.builds_root(cmaked))], setup=True), Step([*compile_step, str(cmaked)])],
            "configure + build by hand", [Step(["rm", "-rf", str(hand)], setup=True), configure, build],
            runs=runs, target=TARGET, env=env, cpu=True))
        print("  cmake first build: done", flush=True)

        edited = cmaked / "lib" / "work0.c"
        rows.append(compare(
            "cmake rebuild after one edit",
            [Step(["touch", str(edited)], setup=True), Step([*compile_step, str(cmaked)])],
            "cmake --build by hand", [Step(["touch", str(edited)], setup=True), build],
            runs=runs, target=TARGET, env=env, cpu=True))
    return report("c_projects", rows, end_to_end="wasmrun compile --no-cache --no-opt")


if __name__ == "__main__":
    sys.exit(main())
