"""Shared fixtures: every test gets its own WASMRUN_HOME and sees no third-party plugins."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wasmrun.testing import require_tool

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
CHROMIUM = "/usr/bin/chromium"

# Every suite of this repository loads its skip policy (scripts/pytest_skip_policy.py).
if str(REPO / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO / "scripts"))
pytest_plugins = ["pytest_skip_policy"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("wasmrun-home")
    monkeypatch.setenv("WASMRUN_HOME", str(home))
    monkeypatch.setenv("WASMRUN_LOAD_PLUGINS", "")
    for name in ("WASMRUN_DISABLE_PLUGINS", "WASMRUN_TRACE_PLUGINS", "WASMRUN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def example(tmp_path: Path) -> Callable[[str], Path]:
    """Copy ``examples/NAME`` into the test's tmp dir, so builds never write into the repo."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("wasmrun-out"))
        return target

    return copy


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project from a {relative path: content} dict."""

    def make(files: dict[str, str], name: str = "project") -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        return root

    return make


def prepared_node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """node_modules for the AssemblyScript examples, installed once per session (``npm ci`` from
    the npm cache scripts/toolchains/assemblyscript.sh fills)."""
    import subprocess

    root = tmp_path_factory.getbasetemp() / "asc-node-modules"
    modules = root / "node_modules"
    if (modules / "assemblyscript" / "package.json").is_file():
        return modules
    require_tool("node")
    require_tool("npm")
    root.mkdir(exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(EXAMPLES / "asc-hello" / name, root / name)
    proc = subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=root,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return modules


@pytest.fixture
def asc_node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepared_node_modules(tmp_path_factory)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """Invoke ``wasmrun ARGS`` in-process; returns exit code, stdout and stderr."""
    from typer.testing import CliRunner

    from wasmrun.cli.app import app

    runner = CliRunner()

    def invoke(*args: str) -> CliResult:
        result = runner.invoke(app, [str(a) for a in args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke


@pytest.fixture(scope="session")
def install_component_tools() -> Callable[..., Path]:
    """``install(root, tools)``: wasmrun's own first-use install of the managed ``tools`` into
    ``root`` (as ``WASMRUN_TOOLS_DIR``), for a module's fixture to do once before any build (a
    build that installs a tool is not stored in the cache); returns ``root``."""
    from wasmrun import component_tools

    def install(root: Path, tools: Iterable[component_tools.ManagedTool]) -> Path:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(root))
            for tool in tools:
                component_tools.ensure(tool)
        return root

    return install



@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright, once per test module, with the flags ``run
    --headless`` launches it with (:data:`wasmrun.headless.driver.BROWSER_ARGS`)."""
    require_tool("playwright", found=importlib.util.find_spec("playwright") is not None)
    require_tool("chromium", found=Path(CHROMIUM).exists())
    from playwright.sync_api import sync_playwright

    from wasmrun.headless.driver import BROWSER_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass(frozen=True)
class AgentRuntimes:
    """Agent mode's language runtimes for the whole test run, built (and compiled) once.

    ``tools`` has every managed component tool installed (give it as ``WASMRUN_TOOLS_DIR``);
    ``cache`` is a wasmrun cache directory whose ``agent/`` holds the runtime components and
    their compiled code. Tests that build a runtime build it there (the first one pays, the
    others find it), and every server gets a fresh home of its own (:meth:`home`) that shares
    only that ``agent/`` directory; sessions and state stay per test."""

    tools: Path
    cache: Path

    def home(self, path: Path) -> Path:
        """A new ``WASMRUN_HOME`` at ``path`` whose ``cache/agent`` is the shared runtimes."""
        (path / "cache").mkdir(parents=True, exist_ok=True)
        link = path / "cache" / "agent"
        if not link.is_symlink():
            link.symlink_to(self.cache / "agent", target_is_directory=True)
        return path

    def env(self, home: Path) -> dict[str, str]:
        """The environment of a ``wasmrun agent`` process with that home and these tools."""
        import os

        from wasmrun import component_tools

        return {**os.environ, "WASMRUN_HOME": str(self.home(home)), component_tools.TOOLS_DIR_VARIABLE: str(self.tools)}


@pytest.fixture(scope="session")
def agent_runtimes(tmp_path_factory: pytest.TempPathFactory,
                   install_component_tools: Callable[..., Path]) -> AgentRuntimes:
    """One :class:`AgentRuntimes` per test run (``WASMRUN_TOOLS_DIR`` and
    ``WASMRUN_TEST_AGENT_CACHE`` reuse a developer's own; a stale runtime there is rebuilt)."""
    import os

    from wasmrun import component_tools

    require_tool("node")
    require_tool("npm")  # the JavaScript tools and jco's WASI WIT packages come from npm
    shared = os.environ.get(component_tools.TOOLS_DIR_VARIABLE)
    tools = install_component_tools(Path(shared) if shared else tmp_path_factory.getbasetemp() / "agent-tools",
                                    component_tools.TOOLS)
    reused = os.environ.get("WASMRUN_TEST_AGENT_CACHE")
    cache = Path(reused) if reused else tmp_path_factory.getbasetemp() / "agent-runtimes"
    (cache / "agent").mkdir(parents=True, exist_ok=True)
    return AgentRuntimes(tools, cache)


@pytest.fixture(scope="session")
def python_runtime(agent_runtimes: AgentRuntimes) -> Path:
    """The Python agent runtime's component, built once for the run into the shared cache."""
    from wasmrun import component_tools
    from wasmrun.agent.runtimes.python import build

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(agent_runtimes.tools))
        return build(agent_runtimes.cache)


@pytest.fixture
def no_processes(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Fails the test if any process starts (hostile package specs must never reach pip or npm);
    the argv of any that tried is kept."""
    import subprocess

    started: list[object] = []

    def refuse(argv: object, *args: object, **kwargs: object) -> None:
        started.append(argv)
        raise AssertionError(f"a process was started: {argv}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    return started
