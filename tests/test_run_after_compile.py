"""``compile`` then ``run`` (and the reverse) share one stored build: ``run`` names the project's
output directory to serve it, and that once keyed its build apart from ``compile PROJECT``'s, so
every ``run`` after a ``compile`` built the project again (a whole-Python project: a minute).

Real processes, as a terminal runs them; the build line, the program's output and the build
cache's manifests are what is checked.
"""

from __future__ import annotations

import importlib.util
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path

import pytest

from wasmrun import hookimpl
from wasmrun.building import compile_project
from wasmrun.models import BuildConfig, BuildResult
from wasmrun.plugins import load_plugins
from wasmrun.testing import require_tool

LIMIT_S = 120


def wasmrun(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasmrun", *map(str, args)], capture_output=True, text=True,
                          timeout=LIMIT_S, stdin=subprocess.DEVNULL, check=False)


def first_server_lines(project: Path) -> list[str]:
    """``wasmrun run PROJECT``'s stdout up to its "serving" line; the server is then stopped with
    Ctrl-C."""
    proc = subprocess.Popen([sys.executable, "-m", "wasmrun", "run", str(project), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + LIMIT_S
        while time.monotonic() < deadline and not (lines and lines[-1].startswith("serving ")):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert lines and lines[-1].startswith("serving "), stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    return lines


def manifests_of(home: Path) -> set[str]:
    """The build cache's invocations (one manifest each) under ``WASMRUN_HOME``."""
    found = list(home.rglob("builds/manifests/*.json"))
    return {p.name for p in found}


PROJECTS = ["wat-hello", "c-hello"]


def _tools_for(name: str) -> None:
    if name == "c-hello":
        require_tool("clang")


@pytest.mark.parametrize("name", PROJECTS)
def test_run_serves_the_build_compile_stored(name: str, example: Callable[[str], Path]) -> None:
    _tools_for(name)
    project = example(name)
    compiled = wasmrun("compile", project)
    assert compiled.returncode == 0, compiled.stderr
    built = [line for line in first_server_lines(project) if line.startswith("built ")]
    assert len(built) == 1 and built[0].endswith("(cached)"), built


@pytest.mark.parametrize("name", PROJECTS)
def test_compile_after_run_is_a_hit(name: str, example: Callable[[str], Path]) -> None:
    _tools_for(name)
    project = example(name)
    built = [line for line in first_server_lines(project) if line.startswith("built ")]
    assert len(built) == 1 and not built[0].endswith("(cached)"), built  # the server built it
    compiled = wasmrun("compile", "-v", project)
    assert compiled.returncode == 0, compiled.stderr
    assert "build cache: hit" in compiled.stderr and "(cached)" in compiled.stdout, compiled.stderr


def test_headless_run_after_compile_builds_nothing(example: Callable[[str], Path], isolated_home: Path) -> None:
    require_tool("playwright", found=importlib.util.find_spec("playwright") is not None)
    require_tool("chromium", found=shutil.which("chromium") is not None)
    project = example("wat-hello")
    assert wasmrun("compile", project).returncode == 0
    stored = manifests_of(isolated_home)
    assert len(stored) == 1
    ran = wasmrun("run", "--headless", project)
    assert ran.returncode == 0, ran.stderr
    assert "hello from WebAssembly text" in ran.stdout
    assert manifests_of(isolated_home) == stored  # no second invocation: nothing was built and stored apart


def test_an_output_dir_other_than_the_settings_one_is_its_own_build(make_project: Callable[..., Path]) -> None:
    """``-o wasmrun-out`` is the default place only without a wasmrun.toml naming another: with
    ``output_dir = "build"`` it is a build of its own, never the one restored into build/."""
    project = make_project({"main.wat": '(module (func (export "_start")))', "wasmrun.toml": 'output_dir = "build"\n'})
    first = wasmrun("compile", project)
    assert first.returncode == 0, first.stderr
    assert (project / "build" / "main.wasm").is_file()
    same = wasmrun("compile", "-o", project / "build", project)  # the settings' own place: compile's build
    assert same.returncode == 0 and "(cached)" in same.stdout, same.stderr
    other = wasmrun("compile", "-o", project / "wasmrun-out", project)
    assert other.returncode == 0, other.stderr
    assert "(cached)" not in other.stdout and (project / "wasmrun-out" / "main.wasm").is_file()


class ScratchWriter:
    """Around every build: a scratch directory made and removed in the temporary directory, as
    componentize-py's and many toolchains' builds do while they run."""

    @hookimpl(wrapper=True)
    def build(self, config: BuildConfig) -> Generator[None, BuildResult | None, BuildResult | None]:
        with tempfile.TemporaryDirectory(prefix="scratch-"):
            return (yield)


def test_started_in_the_temporary_directory_a_build_is_still_stored(
        make_project: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cd /tmp && python -m wasmrun compile P`` has /tmp on sys.path: a build that makes its
    scratch files there was used once and never stored, so every compile rebuilt."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.syspath_prepend(str(scratch))
    project = make_project({"main.wat": '(module (func (export "_start")))'})
    time.sleep(0.03)  # the file-system clock past the files just written
    plugins = load_plugins(entry_points=False)
    plugins.pm.register(ScratchWriter(), name="scratch-writer")
    assert not compile_project(project, plugins).cached
    assert compile_project(project, plugins).cached
