"""C and C++: clang with wasi-libc, else zig cc (PyPI's ``ziglang``), for WASI; emcc for the web.

A project is C/C++ when it has C or C++ sources at its root, in ``src/`` or below, a Makefile
with a ``wasm`` target (or the ``make_target`` its wasmrun.toml names), or a ``CMakeLists.txt``,
and no other language's manifest (a Rust crate with a Makefile is Rust). Three routes, the first
that fits:

- a Makefile with the target: :mod:`~wasmrun.languages.c.makefile` runs it as it is;
- a ``CMakeLists.txt``: :mod:`~wasmrun.languages.c.cmake` configures and builds it out of tree;
- otherwise :mod:`~wasmrun.languages.c.direct` compiles every source itself: a WASI command when
  a source defines ``main``, else a WASI reactor library exporting every function with default
  visibility; ``--target web`` with emcc (an HTML page, its JS glue and the module).

``--toolchain clang|zig`` picks the WASI compiler (:mod:`~wasmrun.languages.c.toolchains`);
``--toolchain direct`` skips the Makefile and CMake routes.
"""

from __future__ import annotations

from pathlib import Path

from wasmrun import __version__, hookimpl
from wasmrun.errors import UsageError
from wasmrun.languages.c import project as shape
from wasmrun.languages.c import toolchains
from wasmrun.languages.c.project import HEADER_EXTENSIONS, SOURCE_EXTENSIONS
from wasmrun.languages.c.toolchains import WASI_SYSROOTS as WASI_SYSROOTS
from wasmrun.languages.c.toolchains import find_clang as _find_clang
from wasmrun.languages.c.toolchains import wasi_sysroot as _wasi_sysroot
from wasmrun.languages.c.toolchains import zig_command as _zig_command
from wasmrun.models import BuildConfig, BuildResult, Capability, Claim, PluginInfo, Target, ToolStatus

PLUGIN_NAME = "c"

#: Manifests of other languages: a project holding one of these is not C, whatever else it has.
FOREIGN_MANIFESTS = ("Cargo.toml", "go.mod", "build.zig", "asconfig.json", "pyproject.toml")

__all__ = ["PLUGIN_NAME", "WASI_SYSROOTS", "_find_clang", "_wasi_sysroot", "_zig_command"]


def _route(project_dir: Path, config: BuildConfig | None = None) -> str:
    """``make``, ``cmake`` or ``direct``: how the project is built."""
    from wasmrun.languages.c import cmake, makefile

    if config is not None and config.toolchain == "direct":
        return "direct"
    if makefile.is_make_project(project_dir):
        return "make"
    if cmake.is_cmake_project(project_dir):
        return "cmake"
    return "direct"


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name=PLUGIN_NAME,
        aliases=["cpp", "c++"],
        version=__version__,
        description="C and C++: clang + wasi-libc or zig cc for WASI, emscripten for the web; Makefile and CMake",
        author="wasmrun",
        extensions=[*SOURCE_EXTENSIONS, *HEADER_EXTENSIONS],
        entry_files=[*shape.MAKEFILE_NAMES, shape.CMAKE_LISTS],
        builtin=True,
        source="builtin",
        tools=["clang", "zig", "emcc", "make", "cmake"],
        capabilities=[Capability.WASM, Capability.WASI, Capability.LIBRARY, Capability.WEB,
                      Capability.OPTIMIZATION_LEVELS, Capability.DEBUG_INFO],
    )


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    if any((project_dir / name).exists() for name in FOREIGN_MANIFESTS):
        return None
    evidence: list[str] = []
    makefile = shape.makefile(project_dir)
    if makefile is not None:
        target = shape.make_target(project_dir) if (project_dir / "wasmrun.toml").is_file() \
            else shape.DEFAULT_MAKE_TARGET
        if shape.has_make_target(makefile, target):
            evidence.append(f"{makefile.name} ({target} target)")
    if shape.cmake_lists(project_dir) is not None:
        evidence.append(shape.CMAKE_LISTS)
    sources = shape.sources(project_dir)
    evidence += [p.relative_to(project_dir).as_posix() for p in sources[:5]]
    if len(sources) > 5:
        evidence.append(f"... {len(sources) - 5} more sources")
    return Claim(evidence=evidence) if evidence else None


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    if _route(project_dir) != "direct" or shape.sources(project_dir):
        return []
    return ["no C or C++ sources found"]


@hookimpl
def source_files(project_dir: Path) -> list[Path]:
    from wasmrun.building import walk_sources

    return walk_sources(project_dir, [*SOURCE_EXTENSIONS, *HEADER_EXTENSIONS, ".cmake"],
                        [*shape.MAKEFILE_NAMES, shape.CMAKE_LISTS])


@hookimpl
def project_template(flavour: str) -> dict[str, str] | None:
    if flavour == "command":
        return {"main.c": '#include <stdio.h>\n\nint main(void) {\n    printf("hello from C\\n");\n    return 0;\n}\n'}
    if flavour == "library":
        return {"lib.c": "/* Every function with default visibility is exported. */\n"
                         "int add(int a, int b) { return a + b; }\n"}
    return None


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    return toolchains.tool_statuses(target, probe)


@hookimpl
def toolchain_versions(target: Target) -> dict[str, str]:
    return {s.name: s.version or "unknown" for s in toolchains.tool_statuses(target, probe_compile=False) if s.found}


@hookimpl
def build(config: BuildConfig) -> BuildResult:
    from wasmrun.languages.c import cmake, direct, makefile

    route = _route(config.project_dir, config)
    if route == "make":
        return makefile.build(config)
    if route == "cmake":
        return cmake.build(config)
    if config.toolchain == "direct":
        config = config.model_copy(update={"toolchain": None})
    sources = shape.sources(config.project_dir)
    if not sources:
        raise UsageError(f"no C or C++ sources in {config.project_dir}")
    if config.target is Target.WEB:
        return direct.build_web(config, sources)
    return direct.build_wasi(config, sources)


@hookimpl
def clean(project_dir: Path, output_dir: Path, make_clean: bool) -> list[Path]:
    """The project's CMake build trees (wasmrun's own); ``make clean`` only when asked."""
    from wasmrun.languages.c import cmake, makefile

    removed = cmake.clean(project_dir)
    if make_clean and shape.makefile(project_dir) is not None:
        removed += makefile.clean(project_dir)
    return removed
