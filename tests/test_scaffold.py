"""``wasmrun plugin new``: the name is checked, nothing is overwritten, and the generated package,
installed from its wheel into a fresh environment beside wasmrun's wheel, passes its own tests."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmrun.scaffold import new_plugin, render

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["Mylang", "1lang", "my lang", "my--lang", "lang-", "x" * 41, "", "a/b"])
def test_invalid_names_are_refused(cli: Callable[..., Any], tmp_path: Path, name: str) -> None:
    result = cli("plugin", "new", name, "--path", tmp_path)
    assert result.exit_code == 2
    assert "invalid plugin name" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_package_name_is_not_the_plugin_name(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("plugin", "new", "wasmrun-mylang", "--path", tmp_path)
    assert result.exit_code == 2
    assert "give the plugin's name, not the package's: 'mylang'" in result.stderr


def test_writes_the_package(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("plugin", "new", "my-lang", "--path", tmp_path, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    root = tmp_path / "wasmrun-my-lang"
    assert report["directory"] == str(root)
    assert report["package"] == "wasmrun_my_lang"
    written = sorted(Path(f).relative_to(root).as_posix() for f in report["files"])
    assert written == [".gitignore", "README.md", "example/main.mylang", "pyproject.toml", "tests/conftest.py",
                       "tests/test_plugin.py", "wasmrun_my_lang/__init__.py"]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "wasmrun-my-lang"
    assert pyproject["project"]["entry-points"]["wasmrun"] == {"my-lang": "wasmrun_my_lang"}
    assert any(dep.startswith("wasmrun>=") for dep in pyproject["project"]["dependencies"])
    for path in root.rglob("*.py"):
        ast.parse(path.read_text(), str(path))


def test_refuses_to_overwrite_and_writes_nothing(cli: Callable[..., Any], tmp_path: Path) -> None:
    root = tmp_path / "wasmrun-mylang"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_plugin.py").write_text("mine\n")
    result = cli("plugin", "new", "mylang", "--path", tmp_path)
    assert result.exit_code == 2
    assert "already holds tests/test_plugin.py; nothing was written" in result.stderr
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["tests", "tests/test_plugin.py"]
    assert (root / "tests" / "test_plugin.py").read_text() == "mine\n"


def test_the_generated_plugin_conforms_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick version of the test below: the generated module, imported from its directory."""
    from wasmrun.testing import check_plugin

    created = new_plugin("quick", tmp_path)
    spec = importlib.util.spec_from_file_location("wasmrun_quick", created.directory / "wasmrun_quick" / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = check_plugin(module, example_project=created.directory / "example", expect_stdout="hello from quick\n",
                          workdir=tmp_path / "check")
    assert report.name == "quick"
    assert render("quick")["example/main.quick"] == "hello from quick\n"


def _run(command: list[str | os.PathLike[str]], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([os.fspath(c) for c in command], capture_output=True, text=True, check=False,
                          **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"
    return done


def test_generated_package_installed_from_its_wheel_passes_its_own_tests(tmp_path: Path) -> None:
    if importlib.util.find_spec("pip") is None:
        pytest.skip("needs pip in the environment running the tests (it installs the wheels)")
    started = time.perf_counter()
    created = new_plugin("mylang", tmp_path)
    dist = tmp_path / "dist"
    # hatchling from this environment when it is here: no isolated build environment to set up.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *isolation, "--wheel-dir", dist,
          REPO, created.directory])
    wheels = sorted(dist.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["wasmrun", "wasmrun_mylang"]

    # A fresh environment (no system site-packages, no pip of its own): this pip installs into it.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", *wheels, "pytest"])
    # Nothing of this process's environment (PYTHONPATH, WASMRUN_HOME, ...) reaches the fresh one.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WASMRUN_", "PYTEST_", "PYTHON"))}
    installed = _run([python, "-c", "import importlib.metadata as m, wasmrun, wasmrun_mylang; "
                      "print(wasmrun.__file__); print(wasmrun_mylang.__file__); "
                      "print([ep.value for ep in m.entry_points(group='pytest11')])"], cwd=tmp_path,
                     env=env).stdout.split("\n")
    site = str(venv)
    assert installed[0].startswith(site) and installed[1].startswith(site), installed
    assert "wasmrun.testing" in installed[2], (
        "wasmrun's wheel registers no pytest11 entry point for wasmrun.testing, so its fixtures are missing")

    # Only the installed package can pass now: the source tree keeps its tests and example alone.
    shutil.rmtree(created.directory / "wasmrun_mylang")
    done = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=created.directory, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout, done.stdout
    print(f"scaffold, wheels, fresh venv and generated tests: {time.perf_counter() - started:.1f} s")
