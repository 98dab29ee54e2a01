"""CMake projects (``CMakeLists.txt``): configured and built out of tree, in a build tree that
persists between builds in wasmrun's cache directory (so a rebuild after one edit is
incremental), removed by ``wasmrun clean``.

- ``--target wasm``: a toolchain file wasmrun writes for clang with wasi-libc (zig cc, through a
  small wrapper script, when clang cannot link for WASI).
- ``--target web``: ``emcmake cmake``; the executable is emscripten's ``.js`` with its ``.wasm``.

The executable targets come from CMake's file API (``.cmake/api/v1``); several are chosen between
as a Makefile's modules are (:mod:`wasmrun.languages.c.modules`). The build reports what it read:
every file the compiles read (ninja's dependency log, or the compilers' ``.d`` files), the
sources of each target, and every file the configure step read (CMakeLists.txt, included
``.cmake`` files, the toolchain file). The build tree is configured afresh whenever what
configures it changes (the compilers, their flags, the generator, cmake itself), so objects made
by another compiler or with other flags are never linked into a new module.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
from pathlib import Path
from typing import Any

from wasmrun import toolchain
from wasmrun.errors import BuildError, MissingToolchainError
from wasmrun.languages.c import modules, toolchains
from wasmrun.languages.c import project as shape
from wasmrun.models import BuildConfig, BuildInputs, BuildResult, GlueKind, Optimization, Target
from wasmrun.paths import output_stem

CMAKE_HINT = "apt-get install cmake ninja-build (or pip install cmake ninja)"
#: The file API queries wasmrun asks the configure step to answer.
QUERIES = ("codemodel-v2", "cmakeFiles-v1")
#: What CMake reads from the environment when it configures, besides what the compilers read.
ENVIRONMENT = [*toolchains.ENVIRONMENT, "CC", "CXX", "CFLAGS", "CXXFLAGS", "LDFLAGS", "CMAKE_*", "MAKEFLAGS",
               "NINJA_STATUS"]
#: What CMake loads for ``CMAKE_SYSTEM_NAME WASI`` (as wasi-sdk's own), so it neither warns that
#: the system is unknown nor drops the executables' ``.wasm`` suffix.
PLATFORM_FILE = "Platform/WASI.cmake"
PLATFORM = 'set(WASI 1)\nset(CMAKE_EXECUTABLE_SUFFIX ".wasm")\n'
_BUILD_TYPES = {Optimization.DEBUG: "Debug", Optimization.RELEASE: "Release", Optimization.SIZE: "MinSizeRel"}


def is_cmake_project(project_dir: Path) -> bool:
    return shape.cmake_lists(project_dir) is not None


def builds_root(project_dir: Path) -> Path:
    """The project's own directory of CMake build trees in wasmrun's cache (one tree per target,
    compiler and optimization level), named after the project and its absolute path."""
    from wasmrun.locations import Locations

    digest = hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:16]
    return Locations.from_environment().cache_dir / "cmake" / f"{output_stem(project_dir)}-{digest}"


def clean(project_dir: Path) -> list[Path]:
    """Remove the project's CMake build trees; the paths removed."""
    root = builds_root(project_dir)
    if not root.is_dir() or root.is_symlink():
        return []
    shutil.rmtree(root)
    return [root]


def build(config: BuildConfig) -> BuildResult:
    from wasmrun.locking import file_lock

    cmake = toolchain.find_tool("cmake")
    if cmake is None:
        raise MissingToolchainError("cmake is needed: the project has a CMakeLists.txt", hint=CMAKE_HINT)
    root = builds_root(config.project_dir)
    compiler = "emcc" if config.target is Target.WEB else toolchains.choose_wasi_compiler(config, cxx=False)[0]
    tree = root / f"{config.target.value}-{compiler}-{config.optimization.value}{'-g' if config.debug_info else ''}"
    with file_lock(root / "lock"):
        return _build(config, cmake, tree)


def _build(config: BuildConfig, cmake: str, tree: Path) -> BuildResult:
    project = config.project_dir
    configure, env, compiler_name, probed = _configure_command(config, cmake, tree)
    ninja = "Ninja" in configure
    written = _toolchain_files(config, tree)
    stamp = json.dumps({"configure": configure, "env": env, "programs": _identities(configure, env), "files": written,
                        "environment": {k: os.environ.get(k) for k in ("CC", "CXX", "CFLAGS", "CXXFLAGS", "LDFLAGS")}},
                       sort_keys=True)
    stamp_file = tree / "wasmrun-configure.json"
    fresh = not (tree / "CMakeCache.txt").is_file() or _read(stamp_file) != stamp or _reply_index(tree) is None
    if fresh:
        if tree.exists():
            shutil.rmtree(tree)  # another compiler or other flags: nothing of the old tree is kept
        _write(tree, written)
        for query in QUERIES:
            (tree / ".cmake" / "api" / "v1" / "query").mkdir(parents=True, exist_ok=True)
            (tree / ".cmake" / "api" / "v1" / "query" / query).touch()
        toolchain.run(configure, cwd=project, env=env, what="cmake (configure)")
        stamp_file.write_text(stamp)
    toolchain.run([cmake, "--build", str(tree)], cwd=project, env=env, what="cmake --build")
    model = _Reply(tree)
    executables = model.executables
    if not executables:
        raise BuildError("the CMake project defines no executable target (add_executable)",
                         hint="wasmrun builds a CMake project's executable into a module")
    chosen = modules.choose(executables, made_by="CMake", setting=shape.chosen_module(project),
                            preferred=[*model.project_names, output_stem(project), project.name])
    wasm, js, html = _place(config, chosen)
    # What the build tree holds is made by the configure step from the files it read (reported),
    # or by the compiles: output, not input (and written while the build ran).
    inside = str(tree) + os.sep
    files = [p for p in (*_compiled_files(tree, ninja), *model.sources(project), *model.configure_inputs(project))
             if not str(p).startswith(inside)]
    return BuildResult(wasm_path=wasm, js_path=js, html_path=html,
                       glue=GlueKind.EMSCRIPTEN if js is not None else GlueKind.WASI,
                       toolchain=f"cmake + {_compiler_version(config, compiler_name)}",
                       inputs=BuildInputs(files=sorted(set(files)), probed=probed, environment=ENVIRONMENT))


def _configure_command(config: BuildConfig, cmake: str,
                       tree: Path) -> tuple[list[str], dict[str, str], str, list[Path]]:
    """(the configure command, its environment, the compiler's name, the paths probed to choose it)."""
    generator = ["-G", "Ninja"] if toolchain.find_tool("ninja") else ["-G", "Unix Makefiles"]
    build_type = "RelWithDebInfo" if config.debug_info and config.optimization is not Optimization.DEBUG \
        else _BUILD_TYPES[config.optimization]
    extra = " ".join(config.extra_args)  # a flags string, as CMake takes CMAKE_C_FLAGS
    common = [*generator, "-S", str(config.project_dir), "-B", str(tree), f"-DCMAKE_BUILD_TYPE={build_type}",
              "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"]
    if config.target is Target.WEB:
        emcmake = toolchain.find_tool("emcmake")
        if emcmake is None:
            raise MissingToolchainError("emcmake is needed to build a CMake project for --target web",
                                        hint=toolchains.EMCC_HINT)
        flags = [f"-DCMAKE_C_FLAGS={extra}", f"-DCMAKE_CXX_FLAGS={extra}"] if extra else []
        return [emcmake, cmake, *common, *flags], toolchains.emscripten_env(), "emcc", []
    compiler_name, _ = toolchains.choose_wasi_compiler(config, cxx=False)
    _, link_flags = toolchains.opt_flags(config, compiler_name)
    command = [cmake, *common, f"-DCMAKE_TOOLCHAIN_FILE={tree / 'wasmrun-toolchain.cmake'}",
               f"-DCMAKE_C_FLAGS={extra}", f"-DCMAKE_CXX_FLAGS={' '.join(['-fno-exceptions', extra]).strip()}",
               f"-DCMAKE_EXE_LINKER_FLAGS={' '.join(link_flags)}"]
    return command, {}, compiler_name, toolchains.sysroot_probes() if compiler_name == "clang" else []


def _toolchain_files(config: BuildConfig, tree: Path) -> dict[str, str]:
    """The files wasmrun writes into the build tree for a WASI build, by name: the toolchain file
    and, for zig, the compiler wrappers it names (none for the web: emcmake brings its own)."""
    if config.target is Target.WEB:
        return {}
    name, c_cmd = toolchains.choose_wasi_compiler(config, cxx=False)
    files: dict[str, str] = {}
    lines = ["# Written by wasmrun: WebAssembly with WASI.", "set(CMAKE_SYSTEM_NAME WASI)",
             "set(CMAKE_SYSTEM_VERSION 1)", "set(CMAKE_SYSTEM_PROCESSOR wasm32)",
             "set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)", 'set(CMAKE_EXECUTABLE_SUFFIX ".wasm")']
    if name == "clang":
        cxx_cmd = toolchains.clang_command(cxx=True) or c_cmd
        root = toolchains.wasi_sysroot()
        sysroot = "/usr" if root is None or root.name == "wasm32-wasi" else str(root)
        lines += [f'set(CMAKE_C_COMPILER "{c_cmd[0]}")', f'set(CMAKE_CXX_COMPILER "{cxx_cmd[0]}")',
                  "set(CMAKE_C_COMPILER_TARGET wasm32-wasi)", "set(CMAKE_CXX_COMPILER_TARGET wasm32-wasi)",
                  f'set(CMAKE_SYSROOT "{sysroot}")']
    else:
        for language, driver in (("C", "cc"), ("CXX", "c++")):
            wrapper = f"wasmrun-zig-{driver}"
            command = " ".join(shlex.quote(part) for part in [*c_cmd[:-3], driver, "-target", "wasm32-wasi"])
            files[wrapper] = f'#!/bin/sh\nexec {command} "$@"\n'
            lines.append(f'set(CMAKE_{language}_COMPILER "{tree / wrapper}")')
    lines += ["set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)", "set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)",
              "set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)",
              "# Platform/WASI.cmake beside this file: CMake 3.25 does not know the system yet",
              'list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")']
    files["wasmrun-toolchain.cmake"] = "\n".join(lines) + "\n"
    files[PLATFORM_FILE] = PLATFORM
    return files


def _write(tree: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
        if name.startswith("wasmrun-zig-"):
            (tree / name).chmod(0o755)


def _compiler_version(config: BuildConfig, name: str) -> str:
    """``clang 14.0.6``: which compiler built it (asked through :mod:`wasmrun.toolchain`, so the
    build cache counts the program)."""
    if name == "emcc":
        emcc = toolchain.find_tool("emcc")
        return f"emcc {toolchains.emcc_version(emcc) or ''}".strip() if emcc else "emcc"
    _, command = toolchains.choose_wasi_compiler(config, cxx=False)
    version = toolchains.zig_version(command[:-3]) if name == "zig" else toolchain.tool_version(command[0])
    return f"{name} {version or ''}".strip()


def _identities(configure: list[str], env: dict[str, str]) -> list[list[Any]]:
    """The programs that configure and compile, by path, size and time: another version of one is
    another build tree."""
    names = [*configure[:2], "clang", "clang++", "emcc", "ninja", "make"]
    found: list[list[Any]] = []
    for name in names:
        for path in toolchain.program_files([name], env):
            try:
                st = os.stat(path)
            except OSError:
                continue
            found.append([path, st.st_size, st.st_mtime_ns])
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _reply_index(tree: Path) -> Path | None:
    replies = sorted((tree / ".cmake" / "api" / "v1" / "reply").glob("index-*.json"))
    return replies[-1] if replies else None


class _Reply:
    """CMake's file API answers for a build tree: its executables, their sources, what configure
    read. A reply that is missing or not as documented is a :class:`BuildError`."""

    def __init__(self, tree: Path) -> None:
        index_file = _reply_index(tree)
        if index_file is None:
            raise BuildError(f"cmake wrote no file API reply in {tree}")
        self.tree, self.dir = tree, index_file.parent
        try:
            index = self._load(index_file.name)
            codemodel = self._load(index["reply"]["codemodel-v2"]["jsonFile"])
            cmake_files = self._load(index["reply"]["cmakeFiles-v1"]["jsonFile"])
            configuration = codemodel["configurations"][0]
            targets = [self._load(t["jsonFile"]) for t in configuration.get("targets", [])]
            self.executables = {str(t["name"]): tree / t["artifacts"][0]["path"] for t in targets
                                if t.get("type") == "EXECUTABLE" and t.get("artifacts")}
            self.project_names = [str(p["name"]) for p in configuration.get("projects", []) if "name" in p]
            self.source_paths = [str(s["path"]) for t in targets for s in t.get("sources", [])
                                 if not s.get("isGenerated")]
            self.source_top = str(cmake_files.get("paths", {}).get("source", ""))
            self.configure_paths = [str(i["path"]) for i in cmake_files.get("inputs", []) if not i.get("isGenerated")]
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise BuildError(f"cannot read CMake's file API reply in {self.dir}: unexpected shape "
                             f"({type(exc).__name__}: {exc})") from None

    def _load(self, name: str) -> Any:
        try:
            return json.loads((self.dir / name).read_text())
        except (OSError, ValueError) as exc:
            raise BuildError(f"cannot read CMake's file API reply {self.dir / name}: {exc}") from None

    def sources(self, project: Path) -> list[Path]:
        return [Path(os.path.normpath(project / p)) for p in self.source_paths]

    def configure_inputs(self, project: Path) -> list[Path]:
        """The files the configure step read (CMakeLists.txt, included modules, the toolchain file)."""
        top = Path(self.source_top or project)
        return [Path(os.path.normpath(top / p)) for p in self.configure_paths]


def _compiled_files(tree: Path, ninja: bool) -> list[Path]:
    """What the compiles read: ninja's dependency log, or the compilers' ``.d`` files (the
    Makefile generator keeps them beside the objects)."""
    from wasmrun.depfiles import read_depfile

    if not ninja:
        return [p for d in sorted(tree.rglob("*.o.d")) for p in read_depfile(d, tree)]
    ninja_tool = toolchain.find_tool("ninja")
    if ninja_tool is None:
        return []
    proc = toolchain.run([ninja_tool, "-C", str(tree), "-t", "deps"], what="ninja -t deps")
    return [Path(os.path.normpath(tree / line.strip())) for line in proc.stdout.splitlines()
            if line.startswith("    ") and line.strip()]


def _place(config: BuildConfig, artifact: Path) -> tuple[Path, Path | None, Path | None]:
    """Copy the chosen executable (and emscripten's glue and page beside it) into the output
    directory: (wasm, js, html)."""
    if not artifact.is_file():
        raise BuildError(f"cmake --build did not write {artifact}")
    out = config.output_dir
    if config.target is Target.WEB or artifact.suffix in (".js", ".html"):
        stem = artifact.with_suffix("")
        wasm_file = stem.with_suffix(".wasm")
        if not wasm_file.is_file():
            raise BuildError(f"cmake --build wrote {artifact.name} but no {wasm_file.name} beside it")
        placed = [shutil.copy2(p, out / p.name) for p in (wasm_file, stem.with_suffix(".js"),
                                                           stem.with_suffix(".html")) if p.is_file()]
        paths = [Path(p) for p in placed]
        js = next((p for p in paths if p.suffix == ".js"), None)
        html = next((p for p in paths if p.suffix == ".html"), None)
        return paths[0], js, html
    target = out / f"{artifact.name.removesuffix('.wasm')}.wasm"
    shutil.copy2(artifact, target)
    return target, None, None
