"""The build cache never serves a stale build: a build is keyed by what it really read, looked up
through one manifest per invocation, and not stored when an input changed while it ran.

Each ``test_stale_*`` is a way the cache once answered with a stale or wrong build (issue 13),
reproduced end to end: the output is run, or compared with a build of the same state with the
cache off.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from wasmrun import hookimpl, manifests
from wasmrun.building import compile_project
from wasmrun.cache import BuildCache, clear_cache, max_bytes_from_environment
from wasmrun.errors import ConfigError, UsageError
from wasmrun.models import BuildConfig, BuildResult
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool, run_wasm

MakeProject = Callable[..., Path]

HELLO_WAT = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\\n")
  (func $main (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


class CountBuilds:
    """A wrapper plugin around every ``build`` call: how often the plugin's build really ran, and
    a hook to act while it runs (``during``: before the plugin's build, ``after``: once it is done
    but before wasmrun records anything)."""

    def __init__(self) -> None:
        self.calls = 0
        self.during: Callable[[], None] | None = None
        self.after: Callable[[], None] | None = None

    @hookimpl(wrapper=True)
    def build(self, config: BuildConfig) -> Generator[None, BuildResult | None, BuildResult | None]:
        self.calls += 1
        if self.during:
            self.during()
        result = yield
        if self.after:
            self.after()
        return result


@pytest.fixture
def make_project(make_project: MakeProject) -> MakeProject:
    """conftest's, then the file-system clock moves past the files written: a file changed in the
    tick a build starts in may have changed after the build read it, and such a build is used once
    and not stored (ccache's "too new" rule, tested below)."""

    def make(*args: Any, **kwargs: Any) -> Path:
        project = make_project(*args, **kwargs)
        settle()
        return project

    return make


@pytest.fixture
def plugins() -> Iterator[tuple[Plugins, CountBuilds]]:
    loaded = load_plugins(entry_points=False)
    counter = CountBuilds()
    loaded.pm.register(counter, name="count-builds")
    yield loaded, counter


def entry_dirs() -> list[Path]:
    root = BuildCache.default().entries_dir
    return sorted(root.iterdir()) if root.is_dir() else []


def uncached(project: Path, **options: Any) -> bytes:
    """The module a build of the project's present state gives with the cache off, at the same
    path (compilers write the path into their output)."""
    out = project / "wasmrun-out"
    keep = project.parent / "kept-out"
    if out.exists():
        shutil.move(out, keep)
    try:
        result = compile_project(project, load_plugins(entry_points=False), use_cache=False, **options)
        return result.wasm_path.read_bytes()
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if keep.exists():
            shutil.move(keep, out)


def settle() -> None:
    """Let the file-system clock move past the files a test just wrote (one tick is enough)."""
    time.sleep(0.03)


# -- hits ----------------------------------------------------------------------------------------

def test_hit_restores_the_outputs_without_building(make_project: MakeProject,
                                                   plugins: tuple[Plugins, CountBuilds]) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    first = compile_project(project, loaded)
    assert (first.cached, counter.calls) == (False, 1)
    built = first.wasm_path.read_bytes()
    first.wasm_path.unlink()

    again = compile_project(project, loaded)
    assert (again.cached, counter.calls) == (True, 1)
    assert again.wasm_path == first.wasm_path and again.wasm_path.read_bytes() == built
    assert again.plugin == "wat" and again.toolchain == first.toolchain and again.commands == []
    assert run_wasm(again.wasm_path).stdout == "hello\n"


@pytest.mark.slow
def test_c_hit_runs_no_toolchain_command(example: Callable[[str], Path]) -> None:
    require_tool("clang")
    project = example("cpp-hello")
    settle()
    plugins = load_plugins(entry_points=False)
    first = compile_project(project, plugins)
    assert not first.cached and "clang" in Path(first.commands[0][0]).name
    again = compile_project(project, plugins)
    assert again.cached and again.commands == []
    assert run_wasm(again.wasm_path).stdout.startswith("hello from C++")
    (project / "main.cpp").write_text((project / "main.cpp").read_text() + "\n// changed\n")
    assert not compile_project(project, plugins).cached
    settle()
    compile_project(project, plugins)  # stored now, if the edit was too new to store before
    assert compile_project(project, plugins).cached


def test_another_output_directory_is_another_invocation(make_project: MakeProject,
                                                        plugins: tuple[Plugins, CountBuilds], tmp_path: Path) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    compile_project(project, loaded)
    elsewhere = compile_project(project, loaded, output_dir=tmp_path / "elsewhere")
    assert elsewhere.wasm_path == tmp_path / "elsewhere" / "main.wasm"
    assert compile_project(project, loaded, output_dir=tmp_path / "elsewhere").cached
    assert counter.calls == 2


@pytest.mark.parametrize("change", ["edit source", "new file", "project settings", "config file", "other options"])
def test_any_input_change_is_a_rebuild(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                       change: str, isolated_home: Path) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    compile_project(project, loaded)
    options: dict[str, Any] = {}
    if change == "edit source":
        (project / "main.wat").write_text(HELLO_WAT.replace("hello", "jello"))
    elif change == "new file":
        (project / "notes.txt").write_text("a new file may change which plugin claims the project")
    elif change == "project settings":
        (project / "wasmrun.toml").write_text('optimization = "size"\n')
    elif change == "config file":
        config = isolated_home / "config" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("")
    elif change == "other options":
        options = {"debug_info": True}
    settle()
    result = compile_project(project, loaded, **options)
    assert not result.cached and counter.calls == 2
    assert compile_project(project, loaded, **options).cached


EXTRA_PLUGIN = """
from wasmrun import hookimpl
from wasmrun.models import PluginInfo

@hookimpl
def plugin_info():
    return PluginInfo(name="extra", version="1.0")

@hookimpl
def can_handle_project(project_dir):
    return None  # version {n}

@hookimpl
def build(config):
    return None
"""


def _load_extra_plugin(path: Path) -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"extra_plugin_{path.stat().st_ino}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stale_installed_plugin_code_changed_without_a_version_change(make_project: MakeProject,
                                                                      tmp_path: Path) -> None:
    """An editable or path install edited in place: same name, same version, other code (here a
    claim that could now take the project)."""
    plugin_file = tmp_path / "extra_plugin.py"
    plugin_file.write_text(EXTRA_PLUGIN.format(n=1))
    plugins = load_plugins(entry_points=False)
    plugins.register(_load_extra_plugin(plugin_file), "extra", source=str(plugin_file), version="1.0")
    project = make_project({"main.wat": HELLO_WAT})
    compile_project(project, plugins)
    assert compile_project(project, plugins).cached
    plugin_file.write_text(EXTRA_PLUGIN.format(n=2))
    settle()
    assert not compile_project(project, plugins).cached


def test_deleting_the_output_directory_is_not_a_change(make_project: MakeProject,
                                                       plugins: tuple[Plugins, CountBuilds]) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    compile_project(project, loaded)
    shutil.rmtree(project / "wasmrun-out")
    assert compile_project(project, loaded).cached and counter.calls == 1


def test_a_users_file_in_the_way_is_kept(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds]) -> None:
    loaded, _ = plugins
    project = make_project({"main.wat": HELLO_WAT})
    compile_project(project, loaded)
    out = project / "wasmrun-out"
    shutil.rmtree(out)
    out.mkdir()
    (out / "main.wasm").write_text("mine")
    with pytest.raises(UsageError, match="was not built by wasmrun"):
        compile_project(project, loaded)
    assert (out / "main.wasm").read_text() == "mine"


# -- stale builds, one test for each way the cache once served one --------------------------------

def test_stale_source_edited_while_the_build_runs(make_project: MakeProject,
                                                  plugins: tuple[Plugins, CountBuilds]) -> None:
    """The build reads an edit that is reverted before it ends: its output (of the edit) must not
    be stored as the build of the reverted source."""
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    source = project / "main.wat"
    settle()
    counter.during = lambda: source.write_text(HELLO_WAT.replace("hello", "jello"))
    counter.after = lambda: source.write_text(HELLO_WAT)
    used_once = compile_project(project, loaded)
    assert run_wasm(used_once.wasm_path).stdout == "jello\n"  # what the build saw, used this once
    assert entry_dirs() == []
    counter.during = counter.after = None
    again = compile_project(project, loaded)
    assert not again.cached and run_wasm(again.wasm_path).stdout == "hello\n"
    assert compile_project(project, loaded).cached


def test_stale_source_edited_after_the_build_read_it(make_project: MakeProject,
                                                     plugins: tuple[Plugins, CountBuilds]) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    settle()
    counter.after = lambda: (project / "main.wat").write_text(HELLO_WAT.replace("hello", "jello"))
    compile_project(project, loaded)
    assert entry_dirs() == []
    counter.after = None
    again = compile_project(project, loaded)
    assert not again.cached and run_wasm(again.wasm_path).stdout == "jello\n"


def test_stale_file_added_while_the_build_runs(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds]) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    settle()
    counter.after = lambda: (project / "wasmrun.toml").write_text('optimization = "size"\n')
    compile_project(project, loaded)
    assert entry_dirs() == []


def test_stale_no_cache_keeps_the_other_environments_build(make_project: MakeProject,
                                                           plugins: tuple[Plugins, CountBuilds],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """``--no-cache`` in one environment must not replace what another environment is served."""
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    monkeypatch.setenv("PATH", os.environ["PATH"] + os.pathsep + str(project.parent))  # environment A
    compile_project(project, loaded)
    monkeypatch.setenv("PATH", os.environ["PATH"].rsplit(os.pathsep, 1)[0])  # environment B
    compile_project(project, loaded, use_cache=False)
    assert len(load_manifest(project)) == 2
    assert compile_project(project, loaded).cached  # B is served B's build
    monkeypatch.setenv("PATH", os.environ["PATH"] + os.pathsep + str(project.parent))
    assert compile_project(project, loaded).cached  # and A still A's
    assert counter.calls == 2


def test_stale_environment_variable_a_compiler_reads(make_project: MakeProject, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("clang")
    plugins = load_plugins(entry_points=False)
    first_dir, second_dir = tmp_path / "inc1", tmp_path / "inc2"
    for directory, word in ((first_dir, "one"), (second_dir, "two")):
        directory.mkdir()
        (directory / "word.h").write_text(f'#define WORD "{word}"\n')
    project = make_project({"main.c": '#include <stdio.h>\n#include <word.h>\nint main(void){puts(WORD);return 0;}\n'})
    settle()
    monkeypatch.setenv("CPATH", str(first_dir))
    assert run_wasm(compile_project(project, plugins).wasm_path).stdout == "one\n"
    monkeypatch.setenv("CPATH", str(second_dir))
    second = compile_project(project, plugins)
    assert not second.cached and run_wasm(second.wasm_path).stdout == "two\n"
    monkeypatch.setenv("CPATH", str(first_dir))
    back = compile_project(project, plugins)
    assert back.cached and run_wasm(back.wasm_path).stdout == "one\n"  # both environments kept


@pytest.mark.parametrize("where", ["outside the project", "unlisted extension", "hidden directory",
                                   "build-named directory"])
def test_stale_header_the_plugin_does_not_list(make_project: MakeProject, tmp_path: Path, where: str) -> None:
    """clang's own dependency output names every header it read, wherever it is and whatever its
    extension."""
    require_tool("clang")
    plugins = load_plugins(entry_points=False)
    include, header = {
        "outside the project": ("../shared/word.h", tmp_path / "shared" / "word.h"),
        "unlisted extension": ("word.inc", None),
        "hidden directory": (".gen/word.h", None),
        "build-named directory": ("target/word.h", None),
    }[where]
    project = make_project({"main.c": f'#include <stdio.h>\n#include "{include}"\n'
                                      'int main(void){puts(WORD);return 0;}\n'})
    header = header or project / include
    header.parent.mkdir(parents=True, exist_ok=True)
    header.write_text('#define WORD "one"\n')
    settle()
    assert run_wasm(compile_project(project, plugins).wasm_path).stdout == "one\n"
    assert compile_project(project, plugins).cached
    header.write_text('#define WORD "two"\n')
    settle()
    again = compile_project(project, plugins)
    assert not again.cached and run_wasm(again.wasm_path).stdout == "two\n"
    assert again.wasm_path.read_bytes() == uncached(project)


def test_stale_compiler_replaced_by_one_with_the_same_version(make_project: MakeProject, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrapper on PATH that answers ``--version`` like clang but builds differently."""
    require_tool("clang")
    clang = shutil.which("clang")
    plugins = load_plugins(entry_points=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "clang"

    def wrap(word: str) -> None:
        wrapper.write_text(f'#!/bin/sh\nexec {clang} -DWORD=\'"{word}"\' "$@"\n')
        wrapper.chmod(0o755)
        settle()

    wrap("one")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    project = make_project({"main.c": '#include <stdio.h>\nint main(void){puts(WORD);return 0;}\n'})
    assert run_wasm(compile_project(project, plugins).wasm_path).stdout == "one\n"
    wrap("two")  # same size, same --version
    again = compile_project(project, plugins)
    assert not again.cached and run_wasm(again.wasm_path).stdout == "two\n"


def test_stale_toolchain_installed_earlier_on_path(make_project: MakeProject, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool appearing in a directory earlier on PATH is chosen by the full route: the lookup
    must see it too (the directories on PATH are inputs)."""
    require_tool("clang")
    clang = shutil.which("clang")
    plugins = load_plugins(entry_points=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    project = make_project({"main.c": '#include <stdio.h>\n#ifndef WORD\n#define WORD "system"\n#endif\n'
                                      'int main(void){puts(WORD);return 0;}\n'})
    assert run_wasm(compile_project(project, plugins).wasm_path).stdout == "system\n"
    wrapper = bin_dir / "clang"
    wrapper.write_text(f'#!/bin/sh\nexec {clang} -DWORD=\'"earlier"\' "$@"\n')
    wrapper.chmod(0o755)
    settle()
    again = compile_project(project, plugins)
    assert not again.cached and run_wasm(again.wasm_path).stdout == "earlier\n"
    proc = run_cli(project)[0]
    assert "(cached)" in proc.stdout  # the fast route agrees
    wrapper.unlink()
    settle()
    proc = run_cli(project)[0]
    assert proc.returncode == 0 and "(cached)" in proc.stdout  # the first build, kept beside
    assert run_wasm(project / "wasmrun-out" / f"{project.name}.wasm").stdout == "system\n"


def test_stale_wasm_opt_failing_once(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unoptimized module of a failed wasm-opt must not be stored as the optimized build."""
    require_tool("wasm-opt")
    wasm_opt = shutil.which("wasm-opt")
    assert wasm_opt is not None
    loaded, counter = plugins
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    broken = bin_dir / "wasm-opt"
    broken.write_text("#!/bin/sh\ncase \"$1\" in --version) echo 'wasm-opt version 108';; *) exit 3;; esac\n")
    broken.chmod(0o755)
    settle()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    project = make_project({"main.wat": HELLO_WAT})
    failed = compile_project(project, loaded)
    assert failed.optimized_by is None and entry_dirs() == []
    broken.unlink()
    (bin_dir / "wasm-opt").symlink_to(wasm_opt)
    settle()
    fixed = compile_project(project, loaded)
    assert not fixed.cached and fixed.optimized_by is not None
    assert compile_project(project, loaded).cached and counter.calls == 2


# -- damaged entries and manifests -------------------------------------------------------------

def _truncate_output(entry: Path) -> None:
    wasm = entry / "files" / "main.wasm"
    wasm.write_bytes(wasm.read_bytes()[:10])


def _garble_output(entry: Path) -> None:
    wasm = entry / "files" / "main.wasm"
    data = bytearray(wasm.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wasm.write_bytes(bytes(data))


def _garble_entry_manifest(entry: Path) -> None:
    manifest = entry / "manifest.json"
    manifest.write_text(manifest.read_text().replace("wat2wasm", "wat2wasX"))


def _delete_entry_manifest(entry: Path) -> None:
    (entry / "manifest.json").unlink()


def _delete_output(entry: Path) -> None:
    (entry / "files" / "main.wasm").unlink()


def _half_written_entry_manifest(entry: Path) -> None:
    manifest = entry / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[: manifest.stat().st_size // 2])


@pytest.mark.parametrize("damage", [_truncate_output, _garble_output, _garble_entry_manifest, _delete_entry_manifest,
                                    _delete_output, _half_written_entry_manifest])
def test_damaged_entry_is_rebuilt_not_served(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                             damage: Callable[[Path], None]) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    wasm = compile_project(project, loaded).wasm_path
    good = wasm.read_bytes()
    (entry,) = entry_dirs()
    damage(entry)
    wasm.unlink()
    again = compile_project(project, loaded)
    assert not again.cached and counter.calls == 2
    assert again.wasm_path.read_bytes() == good
    assert compile_project(project, loaded).cached and counter.calls == 2  # the rebuild replaced it


def load_manifest(project: Path, **options: Any) -> list[dict[str, Any]]:
    return manifests.load(manifests.manifest_path(BuildCache.default(), manifests.invocation(project, **options)))


@pytest.mark.parametrize("damage", ["not json", "wrong shape", "no result", "inputs garbled", "list inputs"])
def test_a_damaged_manifest_means_build_never_a_traceback(make_project: MakeProject,
                                                          plugins: tuple[Plugins, CountBuilds], damage: str) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    compile_project(project, loaded)
    path = manifests.manifest_path(BuildCache.default(), manifests.invocation(project))
    data = json.loads(path.read_text())
    candidate = data["candidates"][0]
    if damage == "not json":
        path.write_text("{")
    elif damage == "wrong shape":
        path.write_text(json.dumps({"format": manifests.MANIFEST_FORMAT, "candidates": [1, "x", None]}))
    else:
        if damage == "no result":
            del candidate["result"]
        elif damage == "inputs garbled":
            candidate["inputs"]["files"] = {"/x": [1, 2]}
        else:
            candidate["inputs"] = ["files"]
        path.write_text(json.dumps(data))
    shutil.rmtree(project / "wasmrun-out")
    assert not compile_project(project, loaded).cached and counter.calls == 2
    proc = run_cli(project)[0]
    assert proc.returncode == 0 and "Traceback" not in proc.stderr


# -- size limit --------------------------------------------------------------------------------

def test_least_recently_used_entries_go_first(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    loaded, counter = plugins
    projects = [make_project({"main.wat": HELLO_WAT.replace("hello", f"hell{i}")}, name=f"p{i}") for i in range(3)]
    size = len(compile_project(projects[0], loaded, use_cache=False).wasm_path.read_bytes())
    clear_cache()
    monkeypatch.setenv("WASMRUN_CACHE_MAX_BYTES", str(2 * size + size // 2))  # room for two entries
    compile_project(projects[0], loaded)
    compile_project(projects[1], loaded)
    _age_all(BuildCache.default())
    assert compile_project(projects[0], loaded).cached  # p0 is now the more recently used
    compile_project(projects[2], loaded)  # over the limit: p1 goes
    info = BuildCache.default().info()
    assert info["entries"] == 2 and info["bytes"] <= 2 * size + size // 2
    calls = counter.calls
    assert compile_project(projects[0], loaded).cached
    assert compile_project(projects[2], loaded).cached
    assert not compile_project(projects[1], loaded).cached
    assert counter.calls == calls + 1


def _age_all(cache: BuildCache) -> None:
    past = time.time() - 60
    for entry in cache.entries():
        os.utime(entry.path / "access", (past, past))


def test_limit_zero_turns_the_cache_off(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    loaded, counter = plugins
    monkeypatch.setenv("WASMRUN_CACHE_MAX_BYTES", "0")
    project = make_project({"main.wat": HELLO_WAT})
    compile_project(project, loaded)
    assert not compile_project(project, loaded).cached
    assert counter.calls == 2 and entry_dirs() == []


@pytest.mark.parametrize(("value", "expected"), [("", 1 << 30), ("1048576", 1 << 20), ("500M", 500 << 20),
                                                 ("2G", 2 << 30), ("64kib", 64 << 10), ("0", 0)])
def test_max_bytes_from_the_environment(value: str, expected: int) -> None:
    assert max_bytes_from_environment({"WASMRUN_CACHE_MAX_BYTES": value}) == expected


def test_a_bad_max_bytes_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="WASMRUN_CACHE_MAX_BYTES must be a size"):
        max_bytes_from_environment({"WASMRUN_CACHE_MAX_BYTES": "lots"})


# -- the typer-free route takes the same road ----------------------------------------------------

def run_cli(project: Path, *args: str, command: str = "compile") -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """``wasmrun compile`` in a fresh interpreter; also which heavy modules it imported."""
    code = ("import sys\nfrom wasmrun.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
            "heavy = sorted(m for m in ('typer', 'pydantic', 'pluggy') if m in sys.modules)\n"
            "print('MODULES', heavy, file=sys.stderr)\n"
            "sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", code, command, str(project), *args], capture_output=True,
                          text=True, check=False)
    modules = next((line for line in proc.stderr.splitlines() if line.startswith("MODULES")), "MODULES []")
    return proc, json.loads(modules.split(" ", 1)[1].replace("'", '"'))


def test_the_cli_answers_a_hit_without_typer_pydantic_or_pluggy(example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    settle()
    first, modules = run_cli(project, "--json")
    assert first.returncode == 0 and "pydantic" in modules
    shutil.rmtree(project / "wasmrun-out")
    second, modules = run_cli(project, "--json")
    assert second.returncode == 0, second.stderr
    assert modules == []
    before, after = json.loads(first.stdout), json.loads(second.stdout)
    assert after["cached"] is True and after["commands"] == []
    for same in ("wasm_path", "plugin", "toolchain", "glue", "optimized_by", "additional_files"):
        assert after[same] == before[same]
    text, modules = run_cli(project)
    assert modules == [] and text.stdout.startswith(f"built {after['wasm_path']} (") and "(cached)" in text.stdout


def test_fast_and_full_route_agree_after_a_change(example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    settle()
    run_cli(project)
    with (project / "main.wat").open("a") as handle:
        handle.write(";; changed\n")
    proc, modules = run_cli(project)
    assert proc.returncode == 0 and "(cached)" not in proc.stdout and "pydantic" in modules
    proc, modules = run_cli(project)
    assert "(cached)" in proc.stdout and modules == []


def test_exec_of_a_built_project_runs_it_without_loading_plugins(example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    settle()
    first, modules = run_cli(project, command="exec")
    assert (first.returncode, first.stdout) == (0, "hello from WebAssembly text\n") and "pluggy" in modules
    shutil.rmtree(project / "wasmrun-out")
    second, modules = run_cli(project, command="exec")
    assert (second.returncode, second.stdout) == (0, "hello from WebAssembly text\n")
    assert "pluggy" not in modules and "pydantic" not in modules


def test_verbose_compile_says_why_it_was_not_a_hit(example: Callable[[str], Path]) -> None:
    project = example("wat-hello")
    run_cli(project)
    with (project / "main.wat").open("a") as handle:
        handle.write(";; changed\n")
    proc, _ = run_cli(project, "-v")
    assert "build cache: miss: main.wat changed" in proc.stderr
    proc, _ = run_cli(project, "-v")
    assert "build cache: hit" in proc.stderr


# -- wasmrun cache info / clear ----------------------------------------------------------------

def _cache_cli(*args: str) -> tuple[int, str]:
    from wasmrun.cli.app import app

    assert isinstance(app, typer.Typer)
    result = CliRunner().invoke(app, ["cache", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_cache_info_and_clear(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                              isolated_home: Path) -> None:
    loaded, _ = plugins
    code, out = _cache_cli("info", "--json")
    empty = json.loads(out)
    assert code == 0
    assert (empty["entries"], empty["bytes"], empty["limit"]) == (0, 0, 1 << 30)
    assert empty["location"] == str(isolated_home / "cache" / "builds")

    wasm = compile_project(make_project({"main.wat": HELLO_WAT}), loaded).wasm_path
    compiled = isolated_home / "cache" / "compiled"
    compiled.mkdir(parents=True, exist_ok=True)
    (compiled / "abc.cwasm").write_bytes(b"x" * 100)
    info = json.loads(_cache_cli("info", "--json")[1])
    assert (info["entries"], info["bytes"]) == (1, wasm.stat().st_size)
    code, text = _cache_cli("info")
    assert code == 0 and "1 entries" in text and str(isolated_home / "cache" / "builds") in text
    code, text = _cache_cli("clear")
    assert code == 0 and text.startswith("removed")
    assert json.loads(_cache_cli("info", "--json")[1])["entries"] == 0
    assert _cache_cli("clear")[1].strip() == "the cache was empty"
    assert clear_cache() == 0


def test_cache_info_of_a_project_explains_the_last_lookup(make_project: MakeProject,
                                                          plugins: tuple[Plugins, CountBuilds]) -> None:
    loaded, _ = plugins
    project = make_project({"main.wat": HELLO_WAT})
    code, text = _cache_cli("info", str(project))
    assert code == 0 and "no earlier build with these options" in text
    compile_project(project, loaded)
    assert "hit: every input matches" in _cache_cli("info", str(project))[1]
    (project / "main.wat").write_text(HELLO_WAT.replace("hello", "jello"))
    code, text = _cache_cli("info", str(project), "--json")
    report = json.loads(text)
    assert report["project"]["hit"] is False and report["project"]["reason"] == "main.wat changed"


@pytest.mark.parametrize("route", ["wasmrun.toml -I", "Makefile -I"])
def test_stale_header_on_an_include_path_outside_the_project(make_project: MakeProject, tmp_path: Path,
                                                              route: str) -> None:
    """``-I../shared`` from the project's settings, or in a Makefile's own rule (the Makefile route
    counts every project file, plus what its compiles read through wasmrun's compiler wrapper)."""
    require_tool("clang")
    if route == "Makefile -I":
        require_tool("make")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "word.h").write_text('#define WORD "one"\n')
    files = {"main.c": '#include <stdio.h>\n#include "word.h"\nint main(void){puts(WORD);return 0;}\n'}
    if route == "wasmrun.toml -I":
        files["wasmrun.toml"] = f'extra_args = ["-I{shared}"]\n'
    else:
        files["Makefile"] = (f"wasm:\n\t$(CC) $(CFLAGS) -I{shared} -c main.c -o main.o\n"
                             "\t$(CC) $(LDFLAGS) main.o -o $(OUT_DIR)/main.wasm\n")
    project = make_project(files)
    plugins = load_plugins(entry_points=False)
    assert run_wasm(compile_project(project, plugins).wasm_path).stdout == "one\n"
    settle()
    compile_project(project, plugins)  # stored now if the first build wrote main.o into the project
    assert compile_project(project, plugins).cached
    (shared / "word.h").write_text('#define WORD "two"\n')
    settle()
    again = compile_project(project, plugins)
    assert not again.cached and run_wasm(again.wasm_path).stdout == "two\n"


def test_stale_concurrent_compiles_while_editing(make_project: MakeProject, tmp_path: Path) -> None:
    """Two compiles of one project running at once in other processes, while the source keeps
    changing between variants: afterwards every variant, once settled, builds to exactly what a
    build with the cache off gives (nothing was stored under another variant's inputs)."""
    project = make_project({"main.wat": HELLO_WAT})
    source = project / "main.wat"
    words = ("hel01", "hel02", "hel03", "hel04")
    variants = [HELLO_WAT.replace("hello", word) for word in words]
    script = ("import sys\nfrom pathlib import Path\nfrom wasmrun.building import compile_project\n"
              "from wasmrun.plugins import load_plugins\nplugins = load_plugins(entry_points=False)\n"
              "for _ in range(int(sys.argv[2])):\n"
              "    try:\n        compile_project(Path(sys.argv[1]), plugins)\n"
              "    except Exception as exc:\n        print(type(exc).__name__, exc, file=sys.stderr)\n")
    workers = [subprocess.Popen([sys.executable, "-c", script, str(project), "10"], stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    step = 0
    while any(worker.poll() is None for worker in workers):
        source.write_text(variants[step % len(variants)])
        step += 1
        time.sleep(0.005 * (step % 4))
    for worker in workers:
        assert worker.stderr is not None
        errors = worker.stderr.read()
        assert "Traceback" not in errors
    plugins = load_plugins(entry_points=False)
    for word, variant in zip(words, variants, strict=True):
        source.write_text(variant)
        settle()
        result = compile_project(project, plugins)
        assert run_wasm(result.wasm_path).stdout == f"{word}\n", (word, result.cached)
        assert result.wasm_path.read_bytes() == uncached(project)


# -- edits while a build runs that the build did not report (found by tests/test_build_cache_state.py) --

EXTRA_WAT = '(module (global (export "g") i32 (i32.const 7)))\n'


def test_stale_source_renamed_away_and_back_while_the_build_runs(make_project: MakeProject,
                                                                 plugins: tuple[Plugins, CountBuilds]) -> None:
    """A source moved out of the build's reach as it begins and back before it ends: the build did
    not see it, so it is not among the inputs the plugin reports, and the names in the project are
    the same before and after. Stored, that build (without ``extra.wasm``) was then served for the
    project with the source in place."""
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT, "extra.wat": EXTRA_WAT, "attic/keep": ""})
    counter.during = lambda: (project / "extra.wat").rename(project / "attic" / "extra.wat")
    counter.after = lambda: (project / "attic" / "extra.wat").rename(project / "extra.wat")
    used_once = compile_project(project, loaded)
    assert [p.name for p in used_once.files()] == ["main.wasm"]  # what the build saw, used this once
    assert entry_dirs() == []
    counter.during = counter.after = None
    settle()
    again = compile_project(project, loaded)
    assert not again.cached and sorted(p.name for p in again.files()) == ["extra.wasm", "main.wasm"]


def test_stale_directory_renamed_away_and_back_while_the_build_runs(make_project: MakeProject,
                                                                    plugins: tuple[Plugins, CountBuilds]) -> None:
    """The same with a directory: the files in it keep their change times, the directory's own
    tells."""
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT, "src/extra.wat": EXTRA_WAT})
    counter.during = lambda: (project / "src").rename(project / "src.off")
    counter.after = lambda: (project / "src.off").rename(project / "src")
    assert [p.name for p in compile_project(project, loaded).files()] == ["main.wasm"]
    assert entry_dirs() == []
    counter.during = counter.after = None
    settle()
    again = compile_project(project, loaded)
    assert not again.cached and sorted(p.name for p in again.files()) == ["extra.wasm", "main.wasm"]


def test_stale_file_read_then_removed_while_the_build_runs(make_project: MakeProject,
                                                           plugins: tuple[Plugins, CountBuilds]) -> None:
    """A source that appears as the build begins and is gone before it ends: the build read it,
    and recorded as "must stay absent" the build was then served for the project without it."""
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    counter.during = lambda: (project / "extra.wat").write_text(EXTRA_WAT)
    counter.after = lambda: (project / "extra.wat").unlink()
    used_once = compile_project(project, loaded)
    assert sorted(p.name for p in used_once.files()) == ["extra.wasm", "main.wasm"]
    assert entry_dirs() == []
    counter.during = counter.after = None
    settle()
    again = compile_project(project, loaded)
    assert not again.cached and [p.name for p in again.files()] == ["main.wasm"]
    assert run_wasm(again.wasm_path).stdout == "hello\n"


def test_stale_header_read_then_removed_while_the_build_runs(make_project: MakeProject,
                                                             plugins: tuple[Plugins, CountBuilds]) -> None:
    """The same for a header clang found through ``__has_include`` and reported in its
    dependency output."""
    require_tool("clang")
    loaded, counter = plugins
    project = make_project({"main.c": '#include <stdio.h>\n#if __has_include("word.inc")\n#include "word.inc"\n'
                                      '#else\n#define WORD "none"\n#endif\nint main(void){puts(WORD);return 0;}\n'})
    counter.during = lambda: (project / "word.inc").write_text('#define WORD "seen"\n')
    counter.after = lambda: (project / "word.inc").unlink()
    assert run_wasm(compile_project(project, loaded).wasm_path).stdout == "seen\n"
    counter.during = counter.after = None
    settle()
    again = compile_project(project, loaded)
    assert not again.cached and run_wasm(again.wasm_path).stdout == "none\n"
    assert again.wasm_path.read_bytes() == uncached(project)


# -- hostile inputs: nothing hangs, nothing is read that is not a file ---------------------------------

def _compile_in_a_process(project: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasmrun", "compile", str(project)], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_a_candidate_whose_inputs_are_a_fifo_and_dev_zero_is_a_miss_not_a_hang(
        make_project: MakeProject, plugins: tuple[Plugins, CountBuilds], tmp_path: Path) -> None:
    """A manifest (damaged, or written by someone else) naming a FIFO with no writer and
    ``/dev/zero`` as inputs: the lookup never opens them (their kind differs from the recorded
    digest), in this process and through the typer-free route."""
    loaded, _ = plugins
    project = make_project({"main.wat": HELLO_WAT})
    compile_project(project, loaded)
    fifo = tmp_path / "pipe.wat"
    os.mkfifo(fifo)
    path = manifests.manifest_path(BuildCache.default(), manifests.invocation(project))
    data = json.loads(path.read_text())
    candidate = data["candidates"][0]
    for special in (str(fifo), "/dev/zero"):
        candidate["inputs"]["files"][special] = [1, 1, 1, 1, "0" * 64]  # a stamp that never matches
    path.write_text(json.dumps(data))
    (project / "wasmrun-out" / "main.wasm").unlink()
    proc = _compile_in_a_process(project)
    assert proc.returncode == 0 and "(cached)" not in proc.stdout, proc.stderr
    again = compile_project(project, loaded)
    assert again.cached and run_wasm(again.wasm_path).stdout == "hello\n"


def test_thousands_of_candidates_are_checked_quickly_and_trimmed(make_project: MakeProject,
                                                                 plugins: tuple[Plugins, CountBuilds]) -> None:
    """A manifest grown to 5,000 candidates that all differ: the lookup goes through them in
    well under the time of a build, and the next store keeps only the newest few."""
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    compile_project(project, loaded)
    path = manifests.manifest_path(BuildCache.default(), manifests.invocation(project))
    data = json.loads(path.read_text())
    stale = json.loads(json.dumps(data["candidates"][0]))
    stale["inputs"]["files"][str(project / "main.wat")][4] = "0" * 64
    stale["inputs"]["files"][str(project / "main.wat")][0] += 1
    data["candidates"] = [{**stale, "key": f"{i:064x}"} for i in range(5000)]
    path.write_text(json.dumps(data))
    started = time.perf_counter()
    again = compile_project(project, loaded)
    assert not again.cached and counter.calls == 2
    assert time.perf_counter() - started < 30
    assert len(load_manifest(project)) == manifests.MAX_CANDIDATES
    assert compile_project(project, loaded).cached


def test_fifos_named_like_sources_and_a_file_name_that_is_not_utf8(make_project: MakeProject) -> None:
    """A C project holding FIFOs named like a source and a header, and a file whose name is not
    valid UTF-8: compile neither hangs nor fails, stores the build, and both routes then hit."""
    require_tool("clang")
    project = make_project({"main.c": '#include <stdio.h>\nint main(void){puts("ok");return 0;}\n'})
    os.mkfifo(project / "extra.c")
    os.mkfifo(project / "part.inc")
    (project / os.fsdecode(b"caf\xe9.inc")).write_text("")
    settle()
    first = _compile_in_a_process(project)
    assert first.returncode == 0 and "(cached)" not in first.stdout, first.stderr
    second = _compile_in_a_process(project)
    assert second.returncode == 0 and "(cached)" in second.stdout, second.stderr
    result = compile_project(project, load_plugins(entry_points=False))
    assert result.cached and run_wasm(result.wasm_path).stdout == "ok\n"


def test_stale_header_appearing_in_a_build_named_directory(make_project: MakeProject) -> None:
    """A header probed in a directory named like a toolchain's build directory (``target/``),
    which the project walk does not enter: when it appears, the build changes."""
    require_tool("clang")
    plugins = load_plugins(entry_points=False)
    project = make_project({"main.c": '#include <stdio.h>\n#if __has_include("target/word.h")\n'
                                      '#include "target/word.h"\n#else\n#define WORD "none"\n#endif\n'
                                      'int main(void){puts(WORD);return 0;}\n',
                            "target/word.h.off": '#define WORD "target"\n'})
    assert run_wasm(compile_project(project, plugins).wasm_path).stdout == "none\n"
    assert compile_project(project, plugins).cached
    (project / "target" / "word.h.off").rename(project / "target" / "word.h")
    settle()
    again = compile_project(project, plugins)
    assert not again.cached and run_wasm(again.wasm_path).stdout == "target\n"
    assert again.wasm_path.read_bytes() == uncached(project)


def test_stale_header_in_a_build_named_directory_removed_and_restored_while_the_build_runs(
        make_project: MakeProject, plugins: tuple[Plugins, CountBuilds]) -> None:
    """The walk for changes during a build does not go into ``target/``, but its top is an input
    (its listing): a header there removed as the build begins and restored before it ends makes a
    build that did not see it, which must not be stored."""
    require_tool("clang")
    loaded, counter = plugins
    project = make_project({"main.c": '#include <stdio.h>\n#if __has_include("target/word.h")\n'
                                      '#include "target/word.h"\n#else\n#define WORD "none"\n#endif\n'
                                      'int main(void){puts(WORD);return 0;}\n',
                            "target/word.h": '#define WORD "target"\n'})
    header, away = project / "target" / "word.h", project / "word.h.away"
    counter.during = lambda: header.rename(away)
    counter.after = lambda: away.rename(header)
    assert run_wasm(compile_project(project, loaded).wasm_path).stdout == "none\n"  # what it saw, used once
    counter.during = counter.after = None
    settle()
    again = compile_project(project, loaded)
    assert not again.cached and run_wasm(again.wasm_path).stdout == "target\n"


def test_a_fifo_named_like_a_wat_source_does_not_hang_compile(make_project: MakeProject,
                                                             plugins: tuple[Plugins, CountBuilds]) -> None:
    loaded, _ = plugins
    project = make_project({"main.wat": HELLO_WAT})
    os.mkfifo(project / "other.wat")
    result = compile_project(project, loaded)
    assert run_wasm(result.wasm_path).stdout == "hello\n"
