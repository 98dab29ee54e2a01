"""The plugin author's loop (docs/plugins/writing.md), driven through the real CLI in a fresh
environment: scaffold, editable install, edit a hook and see the change (no stale build),
deliberate mistakes reported in the same words everywhere, install for real, reinstall after an
edit, uninstall."""

from __future__ import annotations

import importlib.util
import os
import site
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wasmrun.testing import require_tool


@dataclass
class Env:
    python: Path
    env: dict[str, str]
    root: Path

    def wasmrun(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.python), "-m", "wasmrun", *map(os.fspath, args)], capture_output=True,
                              text=True, env=self.env, cwd=self.root, timeout=600, check=False)

    def ok(self, *args: str | os.PathLike[str]) -> str:
        done = self.wasmrun(*args)
        assert done.returncode == 0, f"wasmrun {' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Env]:
    """A virtual environment of its own (pip installs into it, never into the one running the
    tests) that sees this environment's packages, wasmrun included, through a .pth file."""
    require_tool("pip", found=importlib.util.find_spec("pip") is not None)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    parents = [*site.getsitepackages(), site.getusersitepackages()]
    Path(purelib, "_wasmrun_tests_parent.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parents if os.path.isdir(p)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WASMRUN_", "PYTEST_"))}
    env.update(WASMRUN_HOME=str(tmp_path / "home"), WASMRUN_LOAD_PLUGINS="loop", PIP_DISABLE_PIP_VERSION_CHECK="1")
    yield Env(python, env, tmp_path)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


#: Mistakes a plugin author makes, as (what to replace in the scaffold's module, with what, the
#: message every command gives: each problem, joined by "; ").
MISTAKES = [
    ("def validate_project(", "def validate_projet(",
     "hookimpl 'validate_projet' matches no wasmrun hook (did you mean 'validate_project'?)"),
    ("def build(config: BuildConfig)", "def build(cfg: BuildConfig)",
     "hookimpl 'build' takes cfg, which the hook does not pass (it passes: config)"),
    ("capabilities=[Capability.WASM, Capability.WASI]", 'capabilities=["browser"]',
     "plugin_info: PluginInfo.capabilities[0] is 'browser': Input should be 'wasm', 'wasi', 'library', 'web', "
     "'optimization-levels', 'debug-info' or 'component'"),
    ("@wasmrun.hookimpl\ndef build(", "def build(",  # every problem, in one line
     "'build' is named like a hook but not marked @wasmrun.hookimpl; missing required hook 'build'"),
    ("@wasmrun.hookimpl\ndef clean(", "def clean(", "'clean' is named like a hook but not marked @wasmrun.hookimpl"),
]


def test_the_whole_loop(fresh: Env) -> None:
    fresh.ok("plugin", "new", "loop", "--path", fresh.root)
    project = fresh.root / "wasmrun-loop"
    module = project / "wasmrun_loop" / "__init__.py"
    example = project / "example"

    # An editable install, recognised as one.
    assert "installed wasmrun-loop 0.1.0 editable, from" in fresh.ok("plugin", "install", "-e", project)
    assert fresh.ok("plugin", "install", "-e", project).startswith("already installed wasmrun-loop 0.1.0 editable")
    listed = [line for line in fresh.ok("plugin", "list").splitlines() if line.startswith("loop ")]
    assert listed and f"editable, from {project}" in listed[0] and listed[0].endswith("loaded"), listed
    assert fresh.ok("exec", example) == "hello from loop\n"
    assert fresh.ok("plugin", "check", project).startswith("plugin 'loop' conforms")

    # Edit a hook: the next command uses it, and the build cache does not answer with the old build.
    _edit(module, "text = (config.project_dir / ENTRY_FILE).read_bytes()",
          "text = (config.project_dir / ENTRY_FILE).read_bytes().upper()")
    assert fresh.ok("exec", example) == "HELLO FROM LOOP\n"

    # Each mistake: the same words from plugin list, plugin health, compile and plugin check.
    good = module.read_text()
    for old, new, message in MISTAKES:
        _edit(module, old, new)
        listed = [line for line in fresh.ok("plugin", "list").splitlines() if line.startswith("loop ")]
        assert listed and f"error: {message}" in listed[0], (message, listed)
        health = fresh.wasmrun("plugin", "health", "loop")
        assert health.returncode == 1 and f"LoadError: {message}" in health.stdout, (message, health.stdout)
        compiled = fresh.wasmrun("compile", example)
        assert compiled.returncode == 2
        assert f"warning: plugin 'loop' failed to load, so it was not asked: {message}\n" in compiled.stderr
        chosen = fresh.wasmrun("compile", example, "--language", "loop")
        assert chosen.returncode == 2 and f"error: plugin 'loop' failed to load: {message}\n" in chosen.stderr
        checked = fresh.wasmrun("plugin", "check", project)
        assert checked.returncode == 1, checked.stdout
        assert all(f"{problem}\n" in checked.stdout for problem in message.split("; ")), (message, checked.stdout)
        assert "Traceback" not in compiled.stderr + chosen.stderr + health.stderr + checked.stderr
        module.write_text(good)

    # A hook that raises: one line, and with -v or WASMRUN_DEBUG=1 the plugin's own frames too.
    _edit(module, "    text = (config.project_dir", "    {}['tapes']\n    text = (config.project_dir")
    plain = fresh.wasmrun("compile", example, "--no-cache")
    assert plain.returncode == 1 and plain.stderr == "error: plugin 'loop' failed in build: KeyError: 'tapes'\n"
    line = good.splitlines().index("    text = (config.project_dir / ENTRY_FILE).read_bytes().upper()") + 1
    for debug in (fresh.wasmrun("compile", example, "--no-cache", "-v"),
                  subprocess.run([str(fresh.python), "-m", "wasmrun", "compile", str(example), "--no-cache"],
                                 capture_output=True, text=True, env={**fresh.env, "WASMRUN_DEBUG": "1"}, check=False)):
        assert debug.returncode == 1
        assert f'File "{module}", line {line}, in build\n    {{}}[\'tapes\']' in debug.stderr, debug.stderr
        assert debug.stderr.endswith("KeyError: 'tapes'\nerror: plugin 'loop' failed in build: KeyError: 'tapes'\n")
        assert "pluggy" not in debug.stderr and "wasmrun/plugins.py" not in debug.stderr
    module.write_text(good)

    # Installing it for real while pip provides it says where it is and what to do.
    refused = fresh.wasmrun("plugin", "install", project)
    assert refused.returncode == 2
    assert (f"pip already provides 'loop' (wasmrun-loop 0.1.0, editable, from {project})" in refused.stderr
            and "wasmrun plugin uninstall loop" in refused.stderr), refused.stderr
    assert f"the editable install of {project}; its files stay" in fresh.ok("plugin", "uninstall", "loop")
    assert module.read_text() == good
    assert "loop " not in fresh.ok("plugin", "list")

    # Installed by wasmrun: a copy, so an edit takes a reinstall, and update and --force give one.
    assert "installed wasmrun-loop 0.1.0" in fresh.ok("plugin", "install", project)
    listed = [line for line in fresh.ok("plugin", "list").splitlines() if line.startswith("loop ")]
    assert listed and "installed: wasmrun-loop" in listed[0], listed
    assert fresh.ok("exec", example) == "HELLO FROM LOOP\n"
    _edit(module, ".read_bytes().upper()", ".read_bytes().lower()")
    assert fresh.ok("exec", example) == "HELLO FROM LOOP\n"  # the installed copy, not the edit
    assert fresh.ok("plugin", "update", "loop") == "updated wasmrun-loop to 0.1.0\n"
    assert fresh.ok("exec", example) == "hello from loop\n"
    assert fresh.ok("plugin", "update", "loop") == "wasmrun-loop 0.1.0 is already up to date\n"
    again = fresh.wasmrun("plugin", "install", project)
    assert again.returncode == 2 and "wasmrun plugin install --force" in again.stderr
    _edit(module, ".read_bytes().lower()", ".read_bytes().swapcase()")
    assert "installed wasmrun-loop 0.1.0" in fresh.ok("plugin", "install", "--force", project)
    assert fresh.ok("exec", example) == "HELLO FROM LOOP\n"

    assert "uninstalled loop" in fresh.ok("plugin", "uninstall", "loop")
    assert "loop " not in fresh.ok("plugin", "list")
    assert fresh.wasmrun("exec", example).returncode == 2
