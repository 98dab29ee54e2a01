"""The build cache never serves a stale Zig build (issue 13). Each ``test_stale_*`` builds a real
project, changes one thing, and checks that the next compile is not a hit and runs the new code.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from wasmrun import toolchain
from wasmrun.building import compile_project
from wasmrun.models import BuildConfig, BuildResult
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool, run_wasm

import wasmrun_zig

pytestmark = pytest.mark.slow

MakeProject = Callable[..., Path]


def program(expression: str, imports: str = "") -> str:
    """A WASI command printing ``expression`` (a Zig string) and a newline."""
    return f"""const std = @import("std");
{imports}
pub fn main(init: std.process.Init) !void {{
    var buffer: [1024]u8 = undefined;
    var stdout = std.Io.File.stdout().writer(init.io, &buffer);
    const out = &stdout.interface;
    try out.print("{{s}}\\n", .{{{expression}}});
    try out.flush();
}}
"""


BUILD_ZIG_WITH_WORD = """const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const word = b.dependency("word", .{}).module("word");
    const exe = b.addExecutable(.{
        .name = "hello",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/main.zig"),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "word", .module = word }},
        }),
    });
    b.installArtifact(exe);
}
"""
#: zig checks that a package's fingerprint belongs to its name: these are the ones it gave.
HELLO_ZON = """.{
    .name = .hello,
    .version = "0.1.0",
    .fingerprint = 0x3610a686019ee9d8,
    .dependencies = .{ .word = .{ .path = "../word" } },
    .paths = .{""},
}
"""
WORD_ZON = """.{
    .name = .word,
    .version = "0.1.0",
    .fingerprint = 0xc3f17511304fc700,
    .paths = .{""},
}
"""
WORD_BUILD_ZIG = """const std = @import("std");

pub fn build(b: *std.Build) void {
    _ = b.addModule("word", .{ .root_source_file = b.path("word.zig") });
}
"""


@pytest.fixture
def plugins() -> Plugins:
    require_tool("zig", found=wasmrun_zig.zig_command() is not None)
    loaded = load_plugins(entry_points=False)
    loaded.register(wasmrun_zig, "zig", source="wasmrun-zig", version=wasmrun_zig.__version__)
    return loaded


def settle() -> None:
    """Let the file-system clock pass the files just written: a file changed in the tick a build
    starts in may be newer than what the build read, and such a build is used once, not stored."""
    time.sleep(0.03)


def compiled(project: Path, plugins: Plugins) -> tuple[BuildResult, str]:
    result = compile_project(project, plugins)
    return result, run_wasm(result.wasm_path).stdout


def built_and_stored(project: Path, plugins: Plugins, expected: str) -> BuildResult:
    """Build, check the output, and check that the build was stored (the next compile is a hit)."""
    settle()
    first, output = compiled(project, plugins)
    assert output == expected
    again, output = compiled(project, plugins)
    assert again.cached and again.commands == [] and output == expected
    return first


def rebuilt(project: Path, plugins: Plugins, expected: str) -> BuildResult:
    settle()
    result, output = compiled(project, plugins)
    assert not result.cached, "served the build from before the change"
    assert output == expected
    return result


def test_build_exe_reports_the_project_and_what_it_imports_and_embeds(make_project: MakeProject, plugins: Plugins,
                                                                      tmp_path: Path) -> None:
    project = make_project({"main.zig": program("word.word", 'const word = @import("lib/word.zig");'),
                            "lib/word.zig": 'pub const word = @embedFile("../data/word.txt");\n',
                            "data/word.txt": "one", "zig-out/old.zig": "", "notes.txt": ""})
    out = tmp_path / "out"
    out.mkdir()
    result = wasmrun_zig.build(BuildConfig(project_dir=project, output_dir=out))
    assert run_wasm(result.wasm_path).stdout == "one\n"
    assert result.inputs is not None and result.inputs.files is not None
    files = set(result.inputs.files)
    assert {project / "main.zig", project / "lib" / "word.zig", project / "data" / "word.txt",
            project / "notes.txt"} <= files
    assert project / "zig-out" / "old.zig" not in files, "zig's output directories are not sources"
    assert result.inputs.environment == ["ZIG_*", "PYTHONHOME"]


def test_a_path_dependency_outside_is_read_whole_by_zig_build(tmp_path: Path) -> None:
    from wasmrun_zig.inputs import build_zig_inputs

    word = tmp_path / "word"
    word.mkdir()
    (word / "word.zig").write_text("")
    (word / "build.zig.zon").write_text('.{ .dependencies = .{ .deeper = .{ .path = "../deeper" } } }\n')
    project = tmp_path / "hello"
    project.mkdir()
    (project / "build.zig.zon").write_text('.{ .dependencies = .{ .word = .{ .path = "../word" } } }\n')
    (project / "build.zig").write_text('const x = .{ .cwd_relative = "../shared/extra.zig" };\n')
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "extra.zig").write_text('const y = @embedFile("extra.txt");\n')
    found = build_zig_inputs(project, project / "wasmrun-out")
    assert found.files is not None and found.environment is None
    assert {word / "word.zig", word / "build.zig.zon", tmp_path / "deeper" / "build.zig.zon",
            tmp_path / "shared" / "extra.zig", tmp_path / "shared" / "extra.txt"} <= set(found.files)


def test_a_build_over_an_earlier_output_is_stored(make_project: MakeProject, plugins: Plugins) -> None:
    """wasmrun's output directory is no input, though the build's own (staging) directory is inside
    it: a module an earlier build left there, replaced by this build, must not make it "too new"."""
    project = make_project({"main.zig": program('"one"')})
    settle()
    compile_project(project, plugins, use_cache=False)
    assert (project / "wasmrun-out" / "project.wasm").is_file()
    settle()
    compile_project(project, plugins, use_cache=False)
    again, output = compiled(project, plugins)
    assert again.cached and output == "one\n"


def test_stale_embedded_file_changed(make_project: MakeProject, plugins: Plugins) -> None:
    project = make_project({"src/main.zig": program('@embedFile("word.txt")'), "src/word.txt": "one"})
    built_and_stored(project, plugins, "one\n")
    (project / "src" / "word.txt").write_text("two")
    rebuilt(project, plugins, "two\n")


def test_stale_build_zig_zon_path_dependency_outside_the_project(make_project: MakeProject, plugins: Plugins,
                                                                  tmp_path: Path) -> None:
    word = tmp_path / "word"
    word.mkdir()
    (word / "build.zig").write_text(WORD_BUILD_ZIG)
    (word / "build.zig.zon").write_text(WORD_ZON)
    (word / "word.zig").write_text('pub const word = "one";\n')
    project = make_project({"build.zig": BUILD_ZIG_WITH_WORD, "build.zig.zon": HELLO_ZON,
                            "src/main.zig": program("word.word", 'const word = @import("word");')}, name="hello")
    built_and_stored(project, plugins, "one\n")
    (word / "word.zig").write_text('pub const word = "two";\n')
    rebuilt(project, plugins, "two\n")


MODE = program("@tagName(@import(\"builtin\").mode)")


def test_stale_another_zig_earlier_on_path(make_project: MakeProject, plugins: Plugins, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``zig`` installed in a directory earlier on PATH than the one used (here a wrapper that
    builds in Debug mode) is the compiler of the next build."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    project = make_project({"main.zig": MODE})
    first = built_and_stored(project, plugins, "fast\n")
    zig = bin_dir / "zig"
    zig.write_text(f'#!/bin/sh\nif [ "$1" = build-exe ]; then exec {" ".join(_zig_behind())} "$@" -O Debug; fi\n'
                   f'exec {" ".join(_zig_behind())} "$@"\n')
    zig.chmod(0o755)
    second = rebuilt(project, plugins, "debug\n")
    assert second.commands[0][0] == str(zig) and first.commands[0][0] != str(zig)


FAKE_ZIGLANG = """import subprocess
import sys

args = sys.argv[1:]
if args[:1] == ["version"]:
    print({version!r})
    sys.exit(0)
if args[:1] == ["build-exe"]:
    args += {extra!r}
sys.exit(subprocess.call([{zig!r}, *args]))
"""


def test_stale_another_ziglang_package(make_project: MakeProject, plugins: Plugins, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m ziglang`` runs whichever ``ziglang`` package the interpreter finds: one
    installed in its place (here with another version and another code generator) is another
    compiler, for the build cache and for the tool-version memo alike, though the command line is
    the same."""
    require_tool("zig", found=importlib.util.find_spec("ziglang") is not None)
    if toolchain.find_tool("zig") is not None:
        pytest.skip("a zig on PATH is used before python -m ziglang")
    real = _ziglang_binary()
    site = tmp_path / "site"
    package = site / "ziglang"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE_ZIGLANG.format(version="0.17.1", extra=[], zig=real))
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.syspath_prepend(str(site))
    assert wasmrun_zig.zig_command() == [sys.executable, "-m", "ziglang"]
    project = make_project({"main.zig": MODE})
    first = built_and_stored(project, plugins, "fast\n")
    assert first.toolchain == "zig 0.17.1"
    (package / "__main__.py").write_text(FAKE_ZIGLANG.format(version="0.17.9-other", extra=["-O", "Debug"],
                                                             zig=real))
    second = rebuilt(project, plugins, "debug\n")
    assert second.toolchain == "zig 0.17.9-other", "the version memo answered for the old ziglang"


def _ziglang_binary() -> str:
    spec = importlib.util.find_spec("ziglang")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parent / "zig")


def _zig_behind() -> list[str]:
    """The zig the plugin uses when no wrapper is in the way."""
    found = toolchain.find_tool("zig")
    return [sys.executable, "-m", "ziglang"] if found is None else [found]
