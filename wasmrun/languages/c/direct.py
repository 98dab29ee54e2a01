"""Plain C/C++ projects (no Makefile target, no CMakeLists.txt): wasmrun calls the compiler on
every source itself."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from wasmrun import toolchain
from wasmrun.errors import MissingToolchainError, UsageError
from wasmrun.languages.c import project as shape
from wasmrun.languages.c import toolchains
from wasmrun.models import BuildConfig, BuildInputs, BuildResult, GlueKind
from wasmrun.paths import output_stem


def include_flags(project: Path) -> list[str]:
    flags = [f"-I{project}"]
    if (project / "include").is_dir():
        flags.append(f"-I{project / 'include'}")
    return flags


def build_wasi(config: BuildConfig, sources: list[Path]) -> BuildResult:
    cxx = shape.is_cxx(sources)
    name, compiler = toolchains.choose_wasi_compiler(config, cxx)
    compile_flags, link_flags = toolchains.opt_flags(config, name)
    command_program = shape.defines_main(sources)
    kind = [] if command_program else ["-mexec-model=reactor", "-fvisibility=default", "-Wl,--export-dynamic"]
    out = config.output_dir / f"{output_stem(config.project_dir)}.wasm"
    flags = [*compile_flags, *(["-fno-exceptions"] if cxx else []), *kind, *include_flags(config.project_dir)]
    with Dependencies(compiler, flags + config.extra_args, sources, config.project_dir) as deps:
        cmd = [*compiler, *flags, *deps.flags, *map(str, sources), *link_flags, *config.extra_args, "-o", str(out)]
        toolchain.run(cmd, cwd=config.project_dir, what=f"{name} ({'C++' if cxx else 'C'})")
        inputs = deps.inputs(toolchains.sysroot_probes() if name == "clang" else [])
    version = toolchains.zig_version(compiler[:-3]) if name == "zig" else toolchain.tool_version(compiler[0])
    return BuildResult(wasm_path=out, glue=GlueKind.WASI, toolchain=f"{name} {version or ''}".strip(), inputs=inputs)


def build_web(config: BuildConfig, sources: list[Path]) -> BuildResult:
    if config.toolchain not in (None, "emcc", "emscripten"):
        raise UsageError(f"--target web builds C with emcc, not '{config.toolchain}'")
    emcc = toolchain.find_tool("em++" if shape.is_cxx(sources) else "emcc")
    if emcc is None:
        raise MissingToolchainError("emcc is needed to build C for --target web", hint=toolchains.EMCC_HINT)
    compile_flags, link_flags = toolchains.opt_flags(config, "emcc")
    stem = output_stem(config.project_dir)
    html = config.output_dir / f"{stem}.html"
    exports: list[str] = [] if shape.defines_main(sources) else ["--no-entry", "-sEXPORT_ALL=1"]
    flags = [*compile_flags, *include_flags(config.project_dir)]
    env = toolchains.emscripten_env()
    with Dependencies([emcc], flags + config.extra_args, sources, config.project_dir, env) as deps:
        cmd = [emcc, *compile_flags, "-sMINIFY_HTML=0", *exports, *include_flags(config.project_dir), *deps.flags,
               *map(str, sources), *link_flags, *config.extra_args, "-o", str(html)]
        toolchain.run(cmd, cwd=config.project_dir, env=env, what="emcc")
        inputs = deps.inputs([])
    return BuildResult(wasm_path=config.output_dir / f"{stem}.wasm", js_path=config.output_dir / f"{stem}.js",
                       html_path=html, glue=GlueKind.EMSCRIPTEN,
                       toolchain=f"emcc {toolchains.emcc_version(emcc) or ''}".strip(), inputs=inputs)


class Dependencies:
    """The headers a compile read, from the compiler's own dependency output: ``-MD -MF`` on the
    compile itself for one source; a separate ``-M`` pass for several (``-MD`` keeps only the last
    source's list when one command compiles and links many)."""

    def __init__(self, compiler: list[str], flags: list[str], sources: list[Path], cwd: Path,
                 env: dict[str, str] | None = None) -> None:
        self.compiler, self.compile_flags, self.sources, self.cwd, self.env = compiler, flags, sources, cwd, env
        self.tmp = Path(tempfile.mkdtemp(prefix="wasmrun-deps-"))
        self.depfile = self.tmp / "deps.d"
        self.flags = ["-MD", "-MF", str(self.depfile)] if len(sources) == 1 else []

    def __enter__(self) -> Dependencies:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def inputs(self, probed: list[Path]) -> BuildInputs:
        from wasmrun.depfiles import parse_make_deps, read_depfile

        if self.flags:
            files = read_depfile(self.depfile, self.cwd)
        else:
            proc = toolchain.run([*self.compiler, *self.compile_flags, "-M", *map(str, self.sources)], cwd=self.cwd,
                                 env=self.env, what="dependency scan")
            files = parse_make_deps(proc.stdout, self.cwd)
        return BuildInputs(files=[*files, *self.sources], probed=probed, environment=toolchains.ENVIRONMENT)
