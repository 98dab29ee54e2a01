"""The pytest fixtures of :mod:`wasmrun.testing`.

pytest imports this module when it loads the ``wasmrun.testing`` plugin (``pytest_plugins`` there);
nothing else should import it. Each fixture's docstring is what ``pytest --fixtures`` shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from wasmrun import testing

if TYPE_CHECKING:
    from wasmrun.plugins import Plugins

#: Environment variables that would let the user's own set-up leak into a test.
_CLEARED = ("WASMRUN_DISABLE_PLUGINS", "WASMRUN_DEBUG")


@pytest.fixture
def wasmrun_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``WASMRUN_HOME`` in a fresh temporary directory (config, installed plugins, caches), and no
    external plugin loaded by the CLI (``WASMRUN_LOAD_PLUGINS=""``) unless the test says so.
    ``WASMRUN_TRACE_PLUGINS=1`` passes through: run ``WASMRUN_TRACE_PLUGINS=1 pytest -s`` to see every hook call.

    Make it apply to every test of a plugin package in its ``tests/conftest.py``::

        @pytest.fixture(autouse=True)
        def _isolated(wasmrun_home):
            yield wasmrun_home
    """
    home = tmp_path_factory.mktemp("wasmrun-home")
    monkeypatch.setenv("WASMRUN_HOME", str(home))
    monkeypatch.setenv("WASMRUN_LOAD_PLUGINS", "")
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def wasmrun_plugins(wasmrun_home: Path, monkeypatch: pytest.MonkeyPatch) -> testing.PluginsFactory:
    """A factory of isolated plugin managers: the built-ins and the plugins you give, nothing else
    installed. A plugin is a module or object with hookimpls, or the name of an installed plugin
    (its entry point, so the packaging is tested too). A plugin that does not load fails the test
    with the reason.

    The manager made last is also what ``wasmrun_cli`` (and ``wasmrun.building.default_plugins``)
    uses in this test::

        def test_claims(wasmrun_plugins, wasmrun_project):
            plugins = wasmrun_plugins(my_plugin)          # or wasmrun_plugins("greeting")
            project = wasmrun_project({"greeting.txt": "hi"})
            assert plugins.claims(project)[0][0] == "greeting"
    """
    import wasmrun.building

    def make(*plugins: object | str, name: str | None = None, check: bool = True) -> Plugins:
        __tracebackhide__ = True
        manager = testing.isolated_plugins(*plugins, name=name, check=check)
        monkeypatch.setattr(wasmrun.building, "default_plugins", lambda: manager)
        return manager

    return make


@pytest.fixture
def wasmrun_project(tmp_path: Path) -> testing.ProjectFactory:
    """A factory of projects in ``tmp_path``: ``wasmrun_project({"main.wat": "(module)"})`` writes
    the files (text or bytes, by relative path); ``wasmrun_project(Path("examples/hello"))`` copies a
    directory without its build outputs, so a build never writes into your source tree::

        def test_build(wasmrun_plugins, wasmrun_project):
            project = wasmrun_project({"main.wat": "(module)"}, name="empty-module")
            result = compile_project(project, wasmrun_plugins())
    """

    def make(files: Mapping[str, str | bytes] | str | os.PathLike[str], name: str = "project") -> Path:
        root = tmp_path / name
        if isinstance(files, Mapping):
            return testing.write_project(root, files)
        return testing.copy_project(files, root)

    return make


@pytest.fixture
def wasmrun_cli(wasmrun_home: Path) -> testing.CliInvoker:
    """Run ``wasmrun ARGS`` in-process and get ``exit_code``, ``stdout`` and ``stderr`` back. It sees
    the plugins of this test's last ``wasmrun_plugins(...)``, else the built-ins only::

        def test_compile(wasmrun_plugins, wasmrun_project, wasmrun_cli):
            wasmrun_plugins(my_plugin)
            result = wasmrun_cli("compile", wasmrun_project({"greeting.txt": "hi"}), "--json")
            assert result.exit_code == 0, result.stderr
    """

    def invoke(*args: str | os.PathLike[str], input: str | None = None,
               env: Mapping[str, str] | None = None) -> testing.CliResult:
        return testing.invoke_cli(*args, input=input, env=env)

    return invoke


@pytest.fixture(name="run_wasm")
def run_wasm_fixture() -> testing.WasmRunner:
    """Run a built WASI command under wasmtime: ``run_wasm(path, ["arg"], env={"K": "v"},
    stdin="...")`` returns ``exit_code``, ``stdout`` and ``stderr``
    (:func:`wasmrun.testing.run_wasm`)::

        def test_runs(run_wasm, built):
            ran = run_wasm(built.wasm_path, ["--name", "wasm"], stdin="input")
            assert (ran.exit_code, ran.stdout) == (0, "hello wasm\\n")
    """
    return testing.run_wasm


@pytest.fixture(name="run_headless")
def run_headless_fixture(wasmrun_home: Path) -> testing.HeadlessRunner:
    """Build a project and run it in a headless browser, as ``wasmrun run --headless`` does:
    ``run_headless(project, ["arg"], env={"K": "v"}, stdin="...", target="web", timeout=60)``
    returns ``exit_code``, ``stdout`` and ``stderr`` (:func:`wasmrun.testing.run_headless`). It
    builds with the plugins of this test's last ``wasmrun_plugins(...)``, else the built-ins and
    ``WASMRUN_LOAD_PLUGINS``; it skips (``require_tool``) without Playwright or a browser::

        def test_runs_in_the_browser(run_headless, wasmrun_project):
            ran = run_headless(wasmrun_project(Path("examples/hello")), ["wasm"], target="web")
            assert (ran.exit_code, ran.stdout) == (0, "hello wasm\\n")
    """
    return testing.run_headless


@pytest.fixture
def wasmrun_conformance(wasmrun_home: Path, tmp_path: Path) -> testing.Conformance:
    """Check a plugin against wasmrun's contract in one line
    (:func:`wasmrun.testing.check_plugin`); the projects go under ``tmp_path/conformance``::

        def test_conformance(wasmrun_conformance):
            wasmrun_conformance(my_plugin, example_project={"greeting.txt": "hi"})
    """

    def check(plugin: object | str, **options: Any) -> testing.ConformanceReport:
        __tracebackhide__ = True
        options.setdefault("workdir", tmp_path / "conformance")
        return testing.check_plugin(plugin, **options)

    return check
