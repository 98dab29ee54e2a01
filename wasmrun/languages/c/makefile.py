"""Makefile projects as they are: ``make wasm`` (or the ``make_target`` of wasmrun.toml, never
another target), and the ``.wasm`` it wrote or updated anywhere in the project, with the JS glue
and HTML page emscripten wrote beside it.

The Makefile's own assignments win: wasmrun passes ``CC``, ``CXX``, ``CFLAGS``, ``CXXFLAGS``,
``LDFLAGS`` and ``OUT_DIR`` in the environment, which a Makefile uses only where it does not set
them itself. What the Makefile wrote is copied (never moved) into wasmrun's output directory and
reported as the build's output, not its input. When the target wrote no module (make found it up
to date, perhaps built with other flags), wasmrun runs it once more with ``make -B``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from wasmrun import toolchain
from wasmrun.errors import BuildError, MissingToolchainError
from wasmrun.languages.c import modules, toolchains
from wasmrun.languages.c import project as shape
from wasmrun.models import BuildConfig, BuildInputs, BuildResult, GlueKind, Target
from wasmrun.paths import output_stem

#: Directories never looked into for what the Makefile wrote: version control.
_SKIPPED = frozenset({".git", ".hg", ".svn"})
#: Files beside a module that go with it: emscripten's glue, page, preloaded data, workers.
_COMPANIONS = (".js", ".html", ".data", ".worker.js", ".wasm.map")

Stamp = tuple[int, int, int]


def is_make_project(project_dir: Path) -> bool:
    makefile = shape.makefile(project_dir)
    return makefile is not None and shape.has_make_target(makefile, shape.make_target(project_dir))


def build(config: BuildConfig) -> BuildResult:
    project = config.project_dir
    target = shape.make_target(project)
    make = toolchain.find_tool("make")
    if make is None:
        raise MissingToolchainError(f"make is needed: the project's Makefile has a {target} target",
                                    hint="apt-get install make")
    env, compiler_name = _variables(config)
    skip = {str(config.output_dir), str(config.output_dir.parent)}
    before = snapshot(project, skip)
    # The headers each compile reads, wherever they are, from a -M pass the compiler wrapper adds
    # (when the Makefile compiles with $(CC)); every project file counts anyway (files=None).
    with tempfile.TemporaryDirectory(prefix="wasmrun-deps-") as depdir:
        env["CC"] = _dependency_wrapper(Path(depdir), env["CC"], "cc")
        env["CXX"] = _dependency_wrapper(Path(depdir), env["CXX"], "c++")
        toolchain.run([make, "-C", str(project), target], env=env, what=f"make {target}")
        built = _modules_written(project, before, skip, config.output_dir)
        if not built:
            toolchain.run([make, "-B", "-C", str(project), target], env=env, what=f"make -B {target}")
            built = _modules_written(project, before, skip, config.output_dir)
        headers = _wrapper_dependencies(Path(depdir), project)
        wrapped = any(Path(depdir).glob("*.d"))  # the Makefile compiled with $(CC) or $(CXX)
    if not built:
        raise BuildError(f"make {target} finished but wrote no .wasm",
                         hint=f"make the {target} target write a module (NAME.wasm), in the project or $(OUT_DIR)")
    written = changed_files(project, before, snapshot(project, skip))
    names = _by_name(built, project)
    wasm = modules.choose(names, made_by=f"make {target}", setting=shape.chosen_module(project),
                          preferred=[output_stem(project), project.name, target])
    companions = [p for p in (wasm.with_suffix(ext) for ext in _COMPANIONS)
                  if p.is_file() and (p in written or p.is_relative_to(config.output_dir))]
    placed = [_copy_out(p, config.output_dir) for p in [wasm, *companions]]
    js = next((p for p in placed if p.name.endswith(".js") and not p.name.endswith(".worker.js")), None)
    html = next((p for p in placed if p.suffix == ".html"), None)
    others = [p for p in placed[1:] if p not in (js, html)]
    outside = [p for p in headers if not p.is_relative_to(project)]
    return BuildResult(wasm_path=placed[0], js_path=js, html_path=html, additional_files=others,
                       glue=GlueKind.EMSCRIPTEN if js is not None else GlueKind.WASI,
                       toolchain=f"make + {compiler_name}" if wrapped else "make + emcc" if js else "make",
                       inputs=BuildInputs(probed=outside, written=sorted(written)))


def clean(project_dir: Path) -> list[Path]:
    """``make clean``, for ``wasmrun clean --make-clean`` only: the Makefile's own rule decides
    what goes. The files it removed."""
    make = toolchain.find_tool("make")
    if make is None:
        raise MissingToolchainError("make is needed for --make-clean", hint="apt-get install make")
    before = snapshot(project_dir, set())
    toolchain.run([make, "-C", str(project_dir), "clean"], env=toolchains.emscripten_env(), what="make clean")
    return sorted(p for p in before if not os.path.lexists(p))


def _variables(config: BuildConfig) -> tuple[dict[str, str], str]:
    """The environment make runs in (the compilers and flags for the target), and the compiler's name."""
    compile_flags, link_flags = toolchains.opt_flags(config, "emcc" if config.target is Target.WEB else "clang")
    if config.target is Target.WEB:
        env = {**toolchains.emscripten_env(), "CC": "emcc", "CXX": "em++"}
        compiler_name = "emcc"
    else:
        compiler_name, c_cmd = toolchains.choose_wasi_compiler(config, cxx=False)
        compile_flags, link_flags = toolchains.opt_flags(config, compiler_name)
        if compiler_name == "clang":
            cxx_cmd = toolchains.clang_command(cxx=True) or c_cmd
        else:
            cxx_cmd = [*c_cmd[:-3], "c++", "-target", "wasm32-wasi"]
        # emcc named in the Makefile itself needs NODE_PATH as much as one wasmrun chose
        env = {**toolchains.emscripten_env(), "CC": " ".join(c_cmd), "CXX": " ".join(cxx_cmd)}
    flags = " ".join([*compile_flags, *config.extra_args])
    env.update({"CFLAGS": flags, "CXXFLAGS": f"{flags} -fno-exceptions", "LDFLAGS": " ".join(link_flags),
                "OUT_DIR": str(config.output_dir)})
    return env, compiler_name


def snapshot(root: Path, skip: set[str]) -> dict[Path, Stamp]:
    """Every file under ``root`` (but version control and ``skip``), by (mtime, size, inode)."""
    found: dict[Path, Stamp] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIPPED and os.path.join(folder, d) not in skip]
        for name in files:
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            found[Path(path)] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return found


def changed_files(root: Path, before: dict[Path, Stamp], after: dict[Path, Stamp]) -> list[Path]:
    """The files the build wrote: new ones, and changed ones that are not sources (a source that
    changed while make ran stays an input, so such a build is not stored as if it had seen it)."""
    kept = (*shape.SOURCE_EXTENSIONS, *shape.HEADER_EXTENSIONS)
    return [p for p, stamp in after.items()
            if p not in before or (before[p] != stamp and not p.name.endswith(kept)
                                   and p.name not in shape.MAKEFILE_NAMES)]


def _modules_written(project: Path, before: dict[Path, Stamp], skip: set[str], out_dir: Path) -> list[Path]:
    after = snapshot(project, skip)
    wasm = [p for p, stamp in after.items() if p.suffix == ".wasm" and before.get(p) != stamp]
    return sorted(wasm) + sorted(out_dir.rglob("*.wasm"))


def _by_name(built: list[Path], project: Path) -> dict[str, Path]:
    """Modules by file stem; by relative path (without ``.wasm``) where two share a stem."""
    stems = [p.stem for p in built]
    names: dict[str, Path] = {}
    for path in built:
        if stems.count(path.stem) == 1:
            names[path.stem] = path
        else:
            base = project if path.is_relative_to(project) else path.parent
            names[path.relative_to(base).with_suffix("").as_posix()] = path
    return names


def _copy_out(path: Path, out_dir: Path) -> Path:
    """``path`` in the output directory: copied there (never moved: it is the Makefile's), unless
    the Makefile wrote it there itself ($(OUT_DIR))."""
    if path.is_relative_to(out_dir):
        return path
    target = out_dir / path.name
    shutil.copy2(path, target)
    return target


_WRAPPER = """#!/bin/sh
# wasmrun: note the files this compile reads, then compile as asked. A compile of one source
# (-c with -o) and no dependency flags of its own writes the list as it compiles (-MD -MF: one
# process); any other command gets a separate -M pass first.
single=""
case " $* " in
  *" -M"*|*" -E "*) ;;
  *" -c "*) case " $* " in *" -o"*) single=1 ;; esac ;;
esac
out="$(mktemp "{depdir}/XXXXXXXX.d")" && pwd > "$out.cwd" || out=""
if [ -n "$single" ] && [ -n "$out" ]; then
  exec {compiler} "$@" -MD -MF "$out"
fi
deps() {{
  skip=""
  for arg do
    shift
    if [ -n "$skip" ]; then
      skip=""
      continue
    fi
    case "$arg" in
      -o|-MF|-MT|-MQ) skip=1; continue ;;
      -o?*|-MD|-MMD|-M|-MM|-MP|-c) continue ;;
    esac
    set -- "$@" "$arg"
  done
  [ -n "$out" ] && {compiler} "$@" -M -MF "$out"
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


def _wrapper_dependencies(depdir: Path, project: Path) -> list[Path]:
    """Every file the wrapped compiles read, relative names taken from the directory each compile
    ran in (a recursive make runs some in subdirectories)."""
    from wasmrun.depfiles import read_depfile

    read: dict[Path, None] = {}
    for depfile in sorted(depdir.glob("*.d")):
        try:
            cwd = Path(depfile.with_name(depfile.name + ".cwd").read_text().strip() or project)
        except OSError:
            cwd = project
        read.update(dict.fromkeys(read_depfile(depfile, cwd)))
    return list(read)
