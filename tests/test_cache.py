"""The build cache: each part of the key forces a rebuild, a hit runs no toolchain, a damaged
entry is rebuilt rather than served, LRU eviction, and ``wasmrun cache info|clear``."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from wasmrun import cache as cache_module
from wasmrun import hookimpl, toolchain
from wasmrun.building import choose_plugin
from wasmrun.cache import BuildCache, cached_build, clear_cache, max_bytes_from_environment
from wasmrun.errors import ConfigError
from wasmrun.models import BuildConfig, BuildResult, Optimization, Target
from wasmrun.outputs import Staging
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
    """A wrapper plugin around every ``build`` call: how often the plugin's build really ran."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl(wrapper=True)
    def build(self, config: BuildConfig) -> Generator[None, BuildResult | None, BuildResult | None]:
        self.calls += 1
        return (yield)


class BumpToolchain:
    """A wrapper plugin that makes the toolchain report another version."""

    @hookimpl(wrapper=True)
    def toolchain_versions(self, target: Target) -> Generator[None, dict[str, str] | None, dict[str, str]]:
        versions = yield
        return {**(versions or {}), "wasmtime": "999.0.0"}


@pytest.fixture
def plugins() -> Iterator[tuple[Plugins, CountBuilds]]:
    loaded = load_plugins(entry_points=False)
    counter = CountBuilds()
    loaded.pm.register(counter, name="count-builds")
    yield loaded, counter


def build(project: Path, plugins: Plugins, *, read: bool = True, write: bool = True, cache: BuildCache | None = None,
          output_dir: Path | None = None, **settings: Any) -> tuple[Path, bool, list[list[str]]]:
    """What compile_project does around the cache: staging, cached_build, commit.
    Returns (final wasm path, cache hit, toolchain commands run)."""
    name = choose_plugin(project, plugins)
    staging = Staging(output_dir or project / "wasmrun-out")
    commands = toolchain.start_recording()
    try:
        config = BuildConfig(project_dir=project, output_dir=staging.path, **settings)
        result, hit = cached_build(plugins, name, config, lambda: plugins.call(name, "build", config=config),
                                   read=read, write=write, cache=cache)
        assert isinstance(result, BuildResult)
        assert result.wasm_path.is_file()
        moves = {staged.resolve(): final for staged, final in staging.commit(result.files()).items()}
    finally:
        staging.discard()
    return moves[result.wasm_path.resolve()], hit, list(commands)


def entry_dirs() -> list[Path]:
    root = BuildCache.default().entries_dir
    return sorted(root.iterdir()) if root.is_dir() else []


# -- hits ----------------------------------------------------------------------------------------

def test_hit_restores_the_outputs_without_building(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds]
                                                   ) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    first, hit, _ = build(project, loaded)
    assert (hit, counter.calls) == (False, 1)
    built = first.read_bytes()
    (project / "wasmrun-out").joinpath("main.wasm").unlink()

    again, hit, _ = build(project, loaded)
    assert (hit, counter.calls) == (True, 1)
    assert again == first
    assert again.read_bytes() == built
    assert "hello" in run_wasm(again).stdout


@pytest.mark.slow
def test_c_hit_runs_no_toolchain_command(example: Callable[[str], Path]) -> None:
    require_tool("clang")
    project = example("cpp-hello")
    plugins = load_plugins(entry_points=False)
    wasm, hit, commands = build(project, plugins)
    assert not hit
    assert commands and "clang" in Path(commands[0][0]).name
    built = wasm.read_bytes()
    wasm.unlink()

    wasm, hit, commands = build(project, plugins)
    assert hit
    assert commands == []
    assert wasm.read_bytes() == built
    assert run_wasm(wasm).stdout.startswith("hello from C++")

    (project / "main.cpp").write_text((project / "main.cpp").read_text() + "\n// changed\n")
    _, hit, commands = build(project, plugins)
    assert not hit and commands


def test_hit_into_another_output_directory(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                           tmp_path: Path) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    build(project, loaded)
    wasm, hit, _ = build(project, loaded, output_dir=tmp_path / "elsewhere")
    assert hit and counter.calls == 1
    assert wasm == tmp_path / "elsewhere" / "main.wasm"


# -- every part of the key ---------------------------------------------------------------------

def _edit_source(project: Path, plugins: Plugins) -> dict[str, Any]:
    (project / "main.wat").write_text(HELLO_WAT.replace("hello", "hullo"))
    return {}


def _add_source(project: Path, plugins: Plugins) -> dict[str, Any]:
    (project / "extra.wat").write_text("(module)")
    return {}


def _plugin_version(project: Path, plugins: Plugins) -> dict[str, Any]:
    plugins.records["wat"].version = "99.0.0"
    return {}


def _toolchain_version(project: Path, plugins: Plugins) -> dict[str, Any]:
    plugins.pm.register(BumpToolchain(), name="bump-toolchain")
    return {}


@pytest.mark.parametrize("change", [
    _edit_source,
    _add_source,
    _plugin_version,
    _toolchain_version,
    lambda project, plugins: {"optimization": Optimization.DEBUG},
    lambda project, plugins: {"debug_info": True},
    lambda project, plugins: {"extra_args": ["--anything"]},
    lambda project, plugins: {"toolchain": "other"},
    lambda project, plugins: {"target": Target.WEB},
], ids=["source", "new-source", "plugin-version", "toolchain-version", "optimization", "debug-info",
        "extra-args", "toolchain", "target"])
def test_each_part_of_the_key_forces_a_rebuild(
        make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
        change: Callable[[Path, Plugins], dict[str, Any]]) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    build(project, loaded)
    _, hit, _ = build(project, loaded)
    assert hit and counter.calls == 1

    settings = change(project, loaded)
    _, hit, _ = build(project, loaded, **settings)
    assert not hit and counter.calls == 2
    _, hit, _ = build(project, loaded, **settings)
    assert hit and counter.calls == 2


def test_output_directory_and_verbose_are_not_part_of_the_key(
        make_project: MakeProject, plugins: tuple[Plugins, CountBuilds], tmp_path: Path) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    build(project, loaded)
    _, hit, _ = build(project, loaded, output_dir=tmp_path / "out", verbose=True)
    assert hit and counter.calls == 1


def test_no_cache_builds_anyway_and_refreshes_the_entry(make_project: MakeProject,
                                                        plugins: tuple[Plugins, CountBuilds]) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    build(project, loaded)
    _, hit, _ = build(project, loaded, read=False)
    assert not hit and counter.calls == 2
    assert len(entry_dirs()) == 1
    _, hit, _ = build(project, loaded)
    assert hit and counter.calls == 2


def test_write_false_leaves_the_cache_alone(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds]) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    build(project, loaded, read=False, write=False)
    assert entry_dirs() == []
    build(project, loaded)
    _, hit, _ = build(project, loaded, write=False)
    assert hit and counter.calls == 2


# -- damaged entries ---------------------------------------------------------------------------

def _truncate_output(entry: Path) -> None:
    wasm = entry / "files" / "main.wasm"
    wasm.write_bytes(wasm.read_bytes()[:10])


def _garble_output(entry: Path) -> None:
    wasm = entry / "files" / "main.wasm"
    data = bytearray(wasm.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wasm.write_bytes(bytes(data))


def _garble_manifest(entry: Path) -> None:
    manifest = entry / "manifest.json"
    text = manifest.read_text()
    manifest.write_text(text.replace("wat2wasm", "wat2wasX"))


def _delete_manifest(entry: Path) -> None:
    (entry / "manifest.json").unlink()


def _delete_output(entry: Path) -> None:
    (entry / "files" / "main.wasm").unlink()


def _half_written_manifest(entry: Path) -> None:
    manifest = entry / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[: manifest.stat().st_size // 2])


@pytest.mark.parametrize("damage", [_truncate_output, _garble_output, _garble_manifest, _delete_manifest,
                                    _delete_output, _half_written_manifest])
def test_damaged_entry_is_rebuilt_not_served(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                             damage: Callable[[Path], None]) -> None:
    loaded, counter = plugins
    project = make_project({"main.wat": HELLO_WAT})
    wasm, _, _ = build(project, loaded)
    good = wasm.read_bytes()
    (entry,) = entry_dirs()
    damage(entry)
    wasm.unlink()

    wasm, hit, _ = build(project, loaded)
    assert not hit and counter.calls == 2
    assert wasm.read_bytes() == good
    assert "hello" in run_wasm(wasm).stdout
    _, hit, _ = build(project, loaded)  # the rebuild replaced the damaged entry
    assert hit and counter.calls == 2


# -- size limit --------------------------------------------------------------------------------

def test_least_recently_used_entries_go_first(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                              tmp_path: Path) -> None:
    loaded, counter = plugins
    projects = [make_project({"main.wat": HELLO_WAT.replace("hello", f"hell{i}")}, name=f"p{i}") for i in range(3)]
    size = len(build(projects[0], loaded, cache=BuildCache(tmp_path / "probe"))[0].read_bytes())
    cache = BuildCache(tmp_path / "cache", max_bytes=2 * size + size // 2)  # room for two entries

    build(projects[0], loaded, cache=cache)
    build(projects[1], loaded, cache=cache)
    _age_all(cache)
    assert build(projects[0], loaded, cache=cache)[1]  # p0 is now the more recently used
    build(projects[2], loaded, cache=cache)  # over the limit: p1 goes
    assert cache.info()["entries"] == 2
    assert cache.info()["bytes"] <= cache.max_bytes
    calls = counter.calls
    assert build(projects[0], loaded, cache=cache)[1]
    assert build(projects[2], loaded, cache=cache)[1]
    assert not build(projects[1], loaded, cache=cache)[1]
    assert counter.calls == calls + 1


def _age_all(cache: BuildCache) -> None:
    """Mark every entry as used a minute ago (access times have coarse resolution)."""
    past = time.time() - 60
    for entry in cache.entries():
        os.utime(entry.path / "access", (past, past))


def test_an_entry_larger_than_the_limit_is_not_stored(make_project: MakeProject,
                                                      plugins: tuple[Plugins, CountBuilds], tmp_path: Path) -> None:
    loaded, _ = plugins
    cache = BuildCache(tmp_path / "cache", max_bytes=10)
    build(project := make_project({"main.wat": HELLO_WAT}), loaded, cache=cache)
    assert cache.info()["entries"] == 0
    assert not build(project, loaded, cache=cache)[1]


def test_limit_zero_turns_the_cache_off(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    loaded, counter = plugins
    monkeypatch.setenv("WASMRUN_CACHE_MAX_BYTES", "0")
    project = make_project({"main.wat": HELLO_WAT})
    build(project, loaded)
    assert not build(project, loaded)[1]
    assert counter.calls == 2
    assert entry_dirs() == []


@pytest.mark.parametrize(("value", "expected"), [("", 1 << 30), ("1048576", 1 << 20), ("500M", 500 << 20),
                                                 ("2G", 2 << 30), ("64kib", 64 << 10), ("0", 0)])
def test_max_bytes_from_the_environment(value: str, expected: int) -> None:
    assert max_bytes_from_environment({"WASMRUN_CACHE_MAX_BYTES": value}) == expected


def test_a_bad_max_bytes_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="WASMRUN_CACHE_MAX_BYTES must be a size"):
        max_bytes_from_environment({"WASMRUN_CACHE_MAX_BYTES": "lots"})


# -- the source memo ---------------------------------------------------------------------------

def test_unchanged_sources_are_not_read_again(make_project: MakeProject, plugins: tuple[Plugins, CountBuilds],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    loaded, _ = plugins
    project = make_project({"main.wat": HELLO_WAT, "src/a.wat": "(module)"})
    past = time.time() - 60
    for path in project.rglob("*.wat"):
        os.utime(path, (past, past))
    monkeypatch.setattr(cache_module, "RACY_WINDOW_NS", 10_000_000)  # so the test need not wait 2 s
    time.sleep(0.05)  # ctime (which utime sets to now) is then outside the window
    hashed = _count_hashing(monkeypatch)
    cache = BuildCache.default()
    config = BuildConfig(project_dir=project, output_dir=project / "out")
    first = cache.key(loaded, "wat", config)
    assert len(hashed) == 2
    assert cache.key(loaded, "wat", config) == first
    assert len(hashed) == 2

    # Same size, same mtime, new content (a coarse clock or a tool restoring mtime): ctime differs.
    main = project / "main.wat"
    main.write_text(HELLO_WAT.replace("hello", "jello"))
    os.utime(main, (past, past))
    assert cache.key(loaded, "wat", config) != first
    assert hashed[2:] == [main]


def _count_hashing(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files the cache reads to hash, in order."""
    hashed: list[Path] = []
    real_hash = cache_module.hash_file

    def counting(path: Path) -> str:
        hashed.append(path)
        return real_hash(path)

    monkeypatch.setattr(cache_module, "hash_file", counting)
    return hashed


def test_a_just_written_source_is_hashed_every_time(make_project: MakeProject,
                                                    plugins: tuple[Plugins, CountBuilds],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    loaded, _ = plugins
    project = make_project({"main.wat": HELLO_WAT})
    hashed = _count_hashing(monkeypatch)
    cache = BuildCache.default()
    config = BuildConfig(project_dir=project, output_dir=project / "out")
    cache.key(loaded, "wat", config)
    cache.key(loaded, "wat", config)
    assert len(hashed) == 2  # within the racy window: its stat alone is not trusted


# -- wasmrun cache info / clear ----------------------------------------------------------------

def _cache_cli(*args: str) -> tuple[int, str]:
    from wasmrun.cli.app import app as main_app

    if any(group.name == "cache" for group in main_app.registered_groups):
        app = main_app
    else:  # until the group is mounted in wasmrun/cli/app.py
        from wasmrun.cli import cache_commands

        app = typer.Typer()
        app.add_typer(cache_commands.app, name="cache")
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

    wasm, _, _ = build(make_project({"main.wat": HELLO_WAT}), loaded)
    compiled = isolated_home / "cache" / "compiled"
    compiled.mkdir(parents=True)
    (compiled / "abc.cwasm").write_bytes(b"x" * 100)
    info = json.loads(_cache_cli("info", "--json")[1])
    assert (info["entries"], info["bytes"]) == (1, wasm.stat().st_size)
    assert (info["compiled_modules"]["entries"], info["compiled_modules"]["bytes"]) == (1, 100)
    code, text = _cache_cli("info")
    assert code == 0 and "1 entries" in text and str(isolated_home / "cache" / "builds") in text

    code, text = _cache_cli("clear")
    assert code == 0 and text.startswith("removed 2 entries")
    assert not compiled.exists()
    assert json.loads(_cache_cli("info", "--json")[1])["entries"] == 0
    assert _cache_cli("clear")[1].strip() == "the cache was empty"
    assert clear_cache() == 0
