"""C and C++: clang with wasi-libc, else zig cc (PyPI's ``ziglang``), for WASI; emcc for the web.

A project is C/C++ when it has C or C++ sources at its root, in ``src/`` or below, or a Makefile
with a ``wasm`` target, and no other language's manifest (a Rust crate with a Makefile is Rust).

- ``--target wasm``: a WASI command when a source defines ``main``, else a WASI reactor library
  exporting every function with default visibility. Toolchain: ``clang`` when it can link for
  wasm32-wasi (Debian: ``clang lld wasi-libc libclang-rt-14-dev-wasm32``, plus
  ``libc++-dev-wasm32`` for C++), else ``zig cc`` (``pip install 'wasmrun[c]'``). ``--toolchain
  clang|zig`` picks one.
- ``--target web``: ``emcc`` writes an HTML page, its JS glue and the module.
- A Makefile with a ``wasm:`` target is run as ``make wasm`` with ``CC``, ``CXX``, ``CFLAGS``,
  ``CXXFLAGS``, ``LDFLAGS`` and ``OUT_DIR`` set; the target must write its ``.wasm`` into
  ``$(OUT_DIR)``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import tempfile
from pathlib import Path

from wasmrun import __version__, hookimpl, toolchain
from wasmrun.errors import BuildError, MissingToolchainError, UsageError
from wasmrun.models import (
    BuildConfig,
    BuildInputs,
    BuildResult,
    Capability,
    Claim,
    GlueKind,
    Optimization,
    PluginInfo,
    Target,
    ToolStatus,
)
from wasmrun.paths import output_stem

PLUGIN_NAME = "c"

C_EXTENSIONS = (".c",)
CXX_EXTENSIONS = (".cc", ".cpp", ".cxx", ".c++")
SOURCE_EXTENSIONS = C_EXTENSIONS + CXX_EXTENSIONS
HEADER_EXTENSIONS = (".h", ".hh", ".hpp", ".hxx")

#: Manifests of other languages: a project holding one of these is not C, whatever else it has.
FOREIGN_MANIFESTS = ("Cargo.toml", "go.mod", "build.zig", "asconfig.json", "pyproject.toml")

_MAKE_TARGET = re.compile(r"^wasm\s*:(?!=)", re.MULTILINE)
_MAIN = re.compile(r"\bmain\s*\(")

WASI_SYSROOTS = ("/usr/lib/wasm32-wasi", "/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot")
#: What clang, zig cc and emcc read from the environment (a ``*`` ends a prefix): the build cache
#: keys C builds by these, not by the whole environment.
ENVIRONMENT = ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "OBJC_INCLUDE_PATH", "LIBRARY_PATH",
               "WASI_SYSROOT", "WASI_SDK_PATH", "SOURCE_DATE_EPOCH", "CCC_OVERRIDE_OPTIONS", "CLANG_*", "ZIG_*",
               "EMCC_*", "EM_*", "EMSDK*", "EMSCRIPTEN*", "NODE_PATH", "NODE_OPTIONS", "TMPDIR"]
CLANG_NAMES = ("clang", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14")
CLANG_HINT = "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-dev-wasm32"
ZIG_HINT = "pip install 'wasmrun[c]' (zig cc, no system packages needed)"
EMCC_HINT = "apt-get install emscripten"


# -- the project ----------------------------------------------------------------------------------

def _sources(project_dir: Path) -> list[Path]:
    from wasmrun.building import walk_sources

    return walk_sources(project_dir, SOURCE_EXTENSIONS)


def _makefile(project_dir: Path) -> Path | None:
    for name in ("GNUmakefile", "Makefile", "makefile"):
        path = project_dir / name
        if path.is_file():
            return path
    return None


def _has_wasm_target(makefile: Path | None) -> bool:
    if makefile is None:
        return False
    try:
        return bool(_MAKE_TARGET.search(makefile.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def _is_cxx(sources: list[Path]) -> bool:
    return any(p.suffix in CXX_EXTENSIONS for p in sources)


def _defines_main(sources: list[Path]) -> bool:
    for path in sources:
        try:
            if _MAIN.search(path.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name=PLUGIN_NAME,
        aliases=["cpp", "c++"],
        version=__version__,
        description="C and C++: clang + wasi-libc or zig cc for WASI, emscripten for the web",
        author="wasmrun",
        extensions=[*SOURCE_EXTENSIONS, *HEADER_EXTENSIONS],
        entry_files=["Makefile", "GNUmakefile", "makefile"],
        builtin=True,
        source="builtin",
        tools=["clang", "zig", "emcc", "make"],
        capabilities=[Capability.WASM, Capability.WASI, Capability.LIBRARY, Capability.WEB,
                      Capability.OPTIMIZATION_LEVELS, Capability.DEBUG_INFO],
    )


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    if any((project_dir / name).exists() for name in FOREIGN_MANIFESTS):
        return None
    evidence: list[str] = []
    makefile = _makefile(project_dir)
    if _has_wasm_target(makefile):
        assert makefile is not None
        evidence.append(f"{makefile.name} (wasm target)")
    sources = _sources(project_dir)
    evidence += [p.relative_to(project_dir).as_posix() for p in sources[:5]]
    if len(sources) > 5:
        evidence.append(f"... {len(sources) - 5} more sources")
    return Claim(evidence=evidence) if evidence else None


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    if _has_wasm_target(_makefile(project_dir)) or _sources(project_dir):
        return []
    return ["no C or C++ sources found"]


@hookimpl
def source_files(project_dir: Path) -> list[Path]:
    from wasmrun.building import walk_sources

    return walk_sources(project_dir, [*SOURCE_EXTENSIONS, *HEADER_EXTENSIONS],
                        ["Makefile", "GNUmakefile", "makefile"])


@hookimpl
def project_template(flavour: str) -> dict[str, str] | None:
    if flavour == "command":
        return {"main.c": '#include <stdio.h>\n\nint main(void) {\n    printf("hello from C\\n");\n    return 0;\n}\n'}
    if flavour == "library":
        return {"lib.c": "/* Every function with default visibility is exported. */\n"
                         "int add(int a, int b) { return a + b; }\n"}
    return None


# -- the toolchains -------------------------------------------------------------------------------

def _find_clang() -> str | None:
    return next((p for p in (toolchain.find_tool(n) for n in CLANG_NAMES) if p), None)


def _wasi_sysroot() -> Path | None:
    """wasi-libc's location: Debian's multiarch dirs, ``WASI_SYSROOT``, or a wasi-sdk."""
    env = os.environ.get("WASI_SYSROOT") or (
        os.environ.get("WASI_SDK_PATH") and os.path.join(os.environ["WASI_SDK_PATH"], "share", "wasi-sysroot"))
    for candidate in ([env] if env else []) + list(WASI_SYSROOTS):
        root = Path(candidate)
        if (root / "libc.a").is_file() or (root / "lib" / "wasm32-wasi" / "libc.a").is_file():
            return root
    return None


def _zig_command() -> list[str] | None:
    """``zig`` on PATH, else PyPI's ``ziglang`` run with this Python."""
    found = toolchain.find_tool("zig")
    if found:
        return [found]
    if importlib.util.find_spec("ziglang") is not None:
        return [sys.executable, "-m", "ziglang"]
    return None


def _clang_command(cxx: bool) -> list[str] | None:
    clang = _find_clang()
    if clang is None:
        return None
    driver = clang.replace("clang", "clang++") if cxx and Path(clang.replace("clang", "clang++")).exists() else clang
    cmd = [driver, "--target=wasm32-wasi"]
    root = _wasi_sysroot()
    if root is not None and root.name != "wasm32-wasi":
        cmd.append(f"--sysroot={root}")
    return cmd


def _probe(command: list[str], cxx: bool) -> str | None:
    """Compile and link a tiny program; None when it works, else the first line of the error."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="wasmrun-probe-") as tmp:
        src = Path(tmp) / ("probe.cpp" if cxx else "probe.c")
        src.write_text("#include <stdio.h>\nint main(void) { puts(\"ok\"); return 0; }\n")
        try:
            proc = subprocess.run([*command, *(["-fno-exceptions"] if cxx else []), str(src), "-o",
                                   str(Path(tmp) / "probe.wasm")], capture_output=True, text=True, timeout=300,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        if proc.returncode == 0:
            return None
        lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()]
        return (errors or lines or ["probe compile failed"])[0].strip()


def _tool_statuses(target: Target, probe: bool) -> list[ToolStatus]:
    if target is Target.WEB:
        emcc = toolchain.find_tool("emcc")
        status = ToolStatus(name="emcc", found=emcc is not None, path=emcc, required_for="web",
                            install_hint=EMCC_HINT,
                            version=_emcc_version(emcc) if emcc else None)
        if emcc and probe:
            error = _probe([emcc], cxx=False)
            status.probe_ok, status.probe_error = error is None, error
        return [status]
    statuses: list[ToolStatus] = []
    clang = _find_clang()
    clang_status = ToolStatus(name="clang", found=clang is not None, path=clang, optional=True,
                              required_for="wasm (WASI)", install_hint=CLANG_HINT,
                              version=toolchain.tool_version(clang) if clang else None)
    if clang and _wasi_sysroot() is None:
        clang_status.probe_ok = False
        clang_status.probe_error = "wasi-libc not found (apt-get install wasi-libc, or set WASI_SYSROOT)"
    elif clang and probe:
        command = _clang_command(cxx=False)
        assert command is not None
        error = _probe(command, cxx=False)
        clang_status.probe_ok, clang_status.probe_error = error is None, error
    statuses.append(clang_status)
    zig = _zig_command()
    zig_status = ToolStatus(name="zig", found=zig is not None, path=" ".join(zig) if zig else None, optional=True,
                            required_for="wasm (WASI)", install_hint=ZIG_HINT,
                            version=_zig_version(zig) if zig else None)
    statuses.append(zig_status)
    return statuses


def _zig_version(zig: list[str]) -> str | None:
    """PyPI's ziglang says its version in its metadata; a zig on PATH is asked."""
    if len(zig) > 1:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("ziglang")
        except PackageNotFoundError:
            return None
    return toolchain.tool_version(zig[0], "version")


def _emcc_version(emcc: str) -> str | None:
    return toolchain.tool_version(emcc, "--version")


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    return _tool_statuses(target, probe)


@hookimpl
def toolchain_versions(target: Target) -> dict[str, str]:
    return {s.name: s.version or "unknown" for s in _tool_statuses(target, probe=False) if s.found}


def _choose_wasi_compiler(config: BuildConfig, cxx: bool) -> tuple[str, list[str]]:
    """(toolchain name, compiler command) for a WASI build."""
    wanted = config.toolchain
    if wanted not in (None, "clang", "zig"):
        raise UsageError(f"unknown C toolchain '{wanted}' for --target wasm (choose clang or zig)")
    if wanted in (None, "clang"):
        clang = _clang_command(cxx)
        usable = clang is not None and _wasi_sysroot() is not None
        if usable and clang is not None:
            return "clang", clang
        if wanted == "clang":
            raise MissingToolchainError(
                "clang with wasi-libc is needed for --toolchain clang" + ("" if clang else " (clang not found)"),
                hint=CLANG_HINT)
    zig = _zig_command()
    if zig is None:
        raise MissingToolchainError(f"zig is needed for --toolchain zig (install: {ZIG_HINT})")
    return "zig", [*zig, "c++" if cxx else "cc", "-target", "wasm32-wasi"]


def _opt_flags(config: BuildConfig, compiler: str) -> tuple[list[str], list[str]]:
    """(compile flags, link flags) for the optimization level."""
    compile_flags: list[str]
    link: list[str]
    if config.optimization is Optimization.DEBUG:
        compile_flags, link = ["-O0", "-g"], []
    elif config.optimization is Optimization.RELEASE:
        compile_flags, link = ["-O2"], ["-Wl,--strip-debug"]
    else:
        compile_flags, link = ["-Oz"], (["-s"] if compiler in ("zig", "emcc") else ["-Wl,--strip-all"])
    if config.debug_info and config.optimization is not Optimization.DEBUG:
        compile_flags.append("-g")
        link = []
    return compile_flags, link


# -- building -------------------------------------------------------------------------------------

@hookimpl
def build(config: BuildConfig) -> BuildResult:
    project = config.project_dir
    makefile = _makefile(project)
    if _has_wasm_target(makefile) and config.toolchain != "direct":
        return _build_with_make(config)
    sources = _sources(project)
    if not sources:
        raise UsageError(f"no C or C++ sources in {project}")
    if config.target is Target.WEB:
        return _build_web(config, sources)
    return _build_wasi(config, sources)


def _include_flags(project: Path) -> list[str]:
    flags = [f"-I{project}"]
    if (project / "include").is_dir():
        flags.append(f"-I{project / 'include'}")
    return flags


def _build_wasi(config: BuildConfig, sources: list[Path]) -> BuildResult:
    cxx = _is_cxx(sources)
    name, compiler = _choose_wasi_compiler(config, cxx)
    compile_flags, link_flags = _opt_flags(config, name)
    command_program = _defines_main(sources)
    kind = [] if command_program else ["-mexec-model=reactor", "-fvisibility=default", "-Wl,--export-dynamic"]
    out = config.output_dir / f"{output_stem(config.project_dir)}.wasm"
    flags = [*compile_flags, *(["-fno-exceptions"] if cxx else []), *kind, *_include_flags(config.project_dir)]
    with _Dependencies(compiler, flags + config.extra_args, sources, config.project_dir) as deps:
        cmd = [*compiler, *flags, *deps.flags, *map(str, sources), *link_flags, *config.extra_args, "-o", str(out)]
        toolchain.run(cmd, cwd=config.project_dir, what=f"{name} ({'C++' if cxx else 'C'})")
        inputs = deps.inputs(_sysroot_probes() if name == "clang" else [])
    version = _zig_version(compiler[:-3]) if name == "zig" else toolchain.tool_version(compiler[0])
    return BuildResult(wasm_path=out, glue=GlueKind.WASI, toolchain=f"{name} {version or ''}".strip(), inputs=inputs)


def _build_web(config: BuildConfig, sources: list[Path]) -> BuildResult:
    if config.toolchain not in (None, "emcc", "emscripten"):
        raise UsageError(f"--target web builds C with emcc, not '{config.toolchain}'")
    emcc = toolchain.find_tool("em++" if _is_cxx(sources) else "emcc")
    if emcc is None:
        raise MissingToolchainError("emcc is needed to build C for --target web", hint=EMCC_HINT)
    compile_flags, link_flags = _opt_flags(config, "emcc")
    stem = output_stem(config.project_dir)
    html = config.output_dir / f"{stem}.html"
    exports: list[str] = [] if _defines_main(sources) else ["--no-entry", "-sEXPORT_ALL=1"]
    flags = [*compile_flags, *_include_flags(config.project_dir)]
    with _Dependencies([emcc], flags + config.extra_args, sources, config.project_dir, _emscripten_env()) as deps:
        cmd = [emcc, *compile_flags, "-sMINIFY_HTML=0", *exports, *_include_flags(config.project_dir), *deps.flags,
               *map(str, sources), *link_flags, *config.extra_args, "-o", str(html)]
        toolchain.run(cmd, cwd=config.project_dir, env=_emscripten_env(), what="emcc")
        inputs = deps.inputs([])
    return BuildResult(wasm_path=config.output_dir / f"{stem}.wasm", js_path=config.output_dir / f"{stem}.js",
                       html_path=html, glue=GlueKind.EMSCRIPTEN,
                       toolchain=f"emcc {_emcc_version(emcc) or ''}".strip(), inputs=inputs)


class _Dependencies:
    """The headers a compile read, from the compiler's own dependency output: ``-MD -MF`` on the
    compile itself for one source; a separate ``-M`` pass for several (``-MD`` keeps only the last
    source's list when one command compiles and links many)."""

    def __init__(self, compiler: list[str], flags: list[str], sources: list[Path], cwd: Path,
                 env: dict[str, str] | None = None) -> None:
        self.compiler, self.compile_flags, self.sources, self.cwd, self.env = compiler, flags, sources, cwd, env
        self.tmp = Path(tempfile.mkdtemp(prefix="wasmrun-deps-"))
        self.depfile = self.tmp / "deps.d"
        self.flags = ["-MD", "-MF", str(self.depfile)] if len(sources) == 1 else []

    def __enter__(self) -> _Dependencies:
        return self

    def __exit__(self, *exc: object) -> None:
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)

    def inputs(self, probed: list[Path]) -> BuildInputs:
        from wasmrun.depfiles import parse_make_deps, read_depfile

        if self.flags:
            files = read_depfile(self.depfile, self.cwd)
        else:
            proc = toolchain.run([*self.compiler, *self.compile_flags, "-M", *map(str, self.sources)], cwd=self.cwd,
                                 env=self.env, what="dependency scan")
            files = parse_make_deps(proc.stdout, self.cwd)
        return BuildInputs(files=[*files, *self.sources], probed=probed, environment=ENVIRONMENT)


def _sysroot_probes() -> list[Path]:
    """Where wasi-libc was looked for (a sysroot installed later changes the choice), and the
    libraries of the one found (an upgraded wasi-libc changes the link)."""
    probed = [Path(p) / "libc.a" for p in WASI_SYSROOTS] + [Path(p) / "lib" / "wasm32-wasi" / "libc.a"
                                                           for p in WASI_SYSROOTS]
    root = _wasi_sysroot()
    if root is not None:
        lib = root if (root / "libc.a").is_file() else root / "lib" / "wasm32-wasi"
        with contextlib.suppress(OSError):
            probed += sorted(p for p in lib.iterdir() if p.suffix in (".a", ".o"))
    return probed


def _emscripten_env() -> dict[str, str]:
    """Debian's emcc needs its node modules on NODE_PATH (else: Cannot find module 'acorn')."""
    paths = [p for p in (os.environ.get("NODE_PATH", ""), "/usr/share/nodejs", "/usr/lib/nodejs") if p]
    return {"NODE_PATH": os.pathsep.join(paths)}


def _build_with_make(config: BuildConfig) -> BuildResult:
    make = toolchain.find_tool("make")
    if make is None:
        raise MissingToolchainError("make is needed: the project's Makefile has a wasm target",
                                    hint="apt-get install make")
    if config.target is Target.WEB:
        cc, cxx_cmd, compiler_name = "emcc", "em++", "emcc"
        env = _emscripten_env()
    else:
        compiler_name, c_cmd = _choose_wasi_compiler(config, cxx=False)
        if compiler_name == "clang":
            cxx_cmd_list = _clang_command(cxx=True) or c_cmd
        else:
            cxx_cmd_list = [*c_cmd[:-3], "c++", "-target", "wasm32-wasi"]
        cc, cxx_cmd = " ".join(c_cmd), " ".join(cxx_cmd_list)
        env = {}
    compile_flags, link_flags = _opt_flags(config, compiler_name)
    flags = " ".join([*compile_flags, *config.extra_args])
    # A Makefile may read anything (its own variables come from the environment too): the build
    # cache counts every project file and the whole environment (BuildInputs' defaults), and the
    # headers each compile reads, wherever they are, from a -M pass the compiler wrapper adds.
    with tempfile.TemporaryDirectory(prefix="wasmrun-deps-") as depdir:
        cc_wrapped = _dependency_wrapper(Path(depdir), cc, "cc")
        cxx_wrapped = _dependency_wrapper(Path(depdir), cxx_cmd, "c++")
        toolchain.run(
            [make, "-C", str(config.project_dir), "wasm", f"CC={cc_wrapped}", f"CXX={cxx_wrapped}", f"CFLAGS={flags}",
             f"CXXFLAGS={flags} -fno-exceptions", f"LDFLAGS={' '.join(link_flags)}", f"OUT_DIR={config.output_dir}"],
            env=env, what="make wasm")
        headers, objects = _wrapper_dependencies(Path(depdir), config.project_dir)
    built = sorted(config.output_dir.rglob("*.wasm"))
    if not built:
        raise BuildError("make wasm finished but wrote no .wasm into $(OUT_DIR)",
                         hint="make the wasm target write its module to $(OUT_DIR)/NAME.wasm")
    wasm = built[0]
    js = next(iter(sorted(config.output_dir.rglob("*.js"))), None)
    html = next(iter(sorted(config.output_dir.rglob("*.html"))), None)
    glue = GlueKind.EMSCRIPTEN if js is not None else GlueKind.WASI
    others = [p for p in config.output_dir.rglob("*") if p.is_file() and p not in (wasm, js, html)]
    outside = [p for p in headers if not p.is_relative_to(config.project_dir)]
    return BuildResult(wasm_path=wasm, js_path=js, html_path=html, additional_files=others, glue=glue,
                       toolchain=f"make + {compiler_name}",
                       inputs=BuildInputs(probed=outside, written=[p for p in objects if p not in headers]))


_WRAPPER = """#!/bin/sh
# wasmrun: note the files this compile reads (the compiler's -M pass) and the file it writes (-o),
# then compile as asked.
deps() {{
  skip=""
  target=""
  for arg do
    shift
    if [ -n "$skip" ]; then
      [ "$skip" = o ] && target="$arg"
      skip=""
      continue
    fi
    case "$arg" in
      -o) skip=o; continue ;;
      -MF|-MT|-MQ) skip=m; continue ;;
      -o?*) target="${{arg#-o}}"; continue ;;
      -MD|-MMD|-M|-MM|-MP|-c) continue ;;
    esac
    set -- "$@" "$arg"
  done
  out="$(mktemp "{depdir}/XXXXXXXX.d")" || return
  pwd > "$out.cwd"
  printf '%s' "$target" > "$out.target"
  {compiler} "$@" -M -MF "$out"
}}
deps "$@" >/dev/null 2>&1
exec {compiler} "$@"
"""


def _dependency_wrapper(depdir: Path, command: str, name: str) -> str:
    """A script standing in for ``command`` (as make gets it: words split by spaces) that also
    writes the compile's dependency list into ``depdir``; its path."""
    wrapper = depdir / name  # a temporary directory's name: no quotes or spaces in it
    wrapper.write_text(_WRAPPER.format(compiler=command, depdir=depdir))
    wrapper.chmod(0o755)
    return str(wrapper)


def _wrapper_dependencies(depdir: Path, project: Path) -> tuple[list[Path], list[Path]]:
    """(every file the wrapped compiles read, every file they wrote), relative names taken from
    the directory each compile ran in (a recursive make runs some in subdirectories)."""
    from wasmrun.depfiles import read_depfile

    read: dict[Path, None] = {}
    wrote: dict[Path, None] = {}
    for depfile in sorted(depdir.glob("*.d")):
        try:
            cwd = Path(depfile.with_name(depfile.name + ".cwd").read_text().strip() or project)
            target = depfile.with_name(depfile.name + ".target").read_text()
        except OSError:
            cwd, target = project, ""
        read.update(dict.fromkeys(read_depfile(depfile, cwd)))
        if target:
            wrote[Path(os.path.normpath(cwd / target))] = None
    return list(read), list(wrote)
