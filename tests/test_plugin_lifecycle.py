"""Plugin lifecycle with real pip, offline from local sources: install from a path, a wheel and a
git repository; update; uninstall; enable/disable; health; executable plugins; concurrency."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from wasmrun.testing import run_wasm

Cli = Callable[..., CliResult]

pytestmark = pytest.mark.slow

PLUGIN_MODULE = '''
from pathlib import Path

import wasmtime

from wasmrun import hookimpl
from wasmrun.models import BuildConfig, BuildResult, Claim, PluginInfo

VERSION = "{version}"
{extra}

@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(name="{name}", version=VERSION, extensions=[".demo"], capabilities=["wasm", "wasi"])


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    return Claim(evidence=["main.demo"]) if (project_dir / "main.demo").exists() else None


@hookimpl
def build(config: BuildConfig) -> BuildResult:
    text = (config.project_dir / "main.demo").read_text().strip() + " (demo " + VERSION + ")\\n"
    data = text.encode()
    wat = (
        '(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))'
        '(memory (export "memory") 1)'
        f'(data (i32.const 0) "\\\\10\\\\00\\\\00\\\\00\\\\{{len(data):02x}}\\\\00\\\\00\\\\00")'
        '(data (i32.const 16) "' + "".join(f"\\\\{{b:02x}}" for b in data) + '")'
        '(func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))'
    )
    out = config.output_dir / "demo.wasm"
    out.write_bytes(wasmtime.wat2wasm(wat))
    return BuildResult(wasm_path=out)
'''


def write_plugin(root: Path, *, dist: str = "wasmrun-demo", name: str = "demo", version: str = "1.0",
                 extra: str = "", entry_points: bool = True) -> Path:
    """A real plugin package, built by pip from source like any other."""
    package = dist.replace("-", "_")
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{dist}"
        version = "{version}"
        dependencies = ["wasmrun", "wasmtime"]
        """) + (f'\n[project.entry-points.wasmrun]\n{name} = "{package}"\n' if entry_points else ""))
    (root / package).mkdir(exist_ok=True)
    (root / package / "__init__.py").write_text(PLUGIN_MODULE.format(version=version, name=name, extra=extra))
    return root


@pytest.fixture
def demo_project(make_project: Callable[..., Path]) -> Path:
    return make_project({"main.demo": "hello from a plugin"}, name="demo-project")


@pytest.fixture(autouse=True)
def load_all_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WASMRUN_LOAD_PLUGINS", raising=False)


def config_data(home: Path) -> dict:  # type: ignore[type-arg]
    path = home / "config" / "config.toml"
    return tomllib.loads(path.read_text()) if path.exists() else {}


def test_install_from_path_compile_uninstall(cli: Cli, tmp_path: Path, isolated_home: Path,
                                             demo_project: Path) -> None:
    source = write_plugin(tmp_path / "src")
    result = cli("plugin", "install", source)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "installed wasmrun-demo 1.0: plugin(s) demo"
    rows = {r["name"]: r for r in json.loads(cli("plugin", "list", "--json").stdout)}
    assert rows["demo"]["state"] == "loaded" and rows["demo"]["origin"] == "installed"
    assert rows["demo"]["version"] == "1.0"
    plugin_dir = isolated_home / "data" / "plugins" / "wasmrun-demo"
    assert (plugin_dir / "wasmrun_demo" / "__init__.py").is_file()
    assert not (plugin_dir / "wasmrun").exists()  # the running wasmrun satisfies the dependency
    assert not (plugin_dir / "wasmtime").exists()  # so does the host's wasmtime
    record = config_data(isolated_home)["plugins"]["installed"]["wasmrun-demo"]
    assert record["source"] == str(source) and record["entry_points"] == ["demo"]

    built = cli("compile", demo_project, "--json")
    assert built.exit_code == 0, built.stderr
    assert run_wasm(json.loads(built.stdout)["wasm_path"]).stdout == "hello from a plugin (demo 1.0)\n"
    assert cli("detect", demo_project).stdout.strip() == "-> demo: main.demo"

    gone = cli("plugin", "uninstall", "demo")
    assert gone.exit_code == 0, gone.stderr
    assert not plugin_dir.exists()
    assert config_data(isolated_home)["plugins"].get("installed", {}) == {}
    assert [p.name for p in (isolated_home / "data" / "plugins").iterdir() if not p.name.startswith(".")] == []
    assert cli("compile", demo_project).exit_code == 2


def test_install_from_wheel_and_from_git(cli: Cli, tmp_path: Path, demo_project: Path) -> None:
    source = write_plugin(tmp_path / "src")
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
                   check=True)
    wheel = next(wheels.glob("*.whl"))
    assert cli("plugin", "install", wheel).exit_code == 0
    assert run_wasm(json.loads(cli("compile", demo_project, "--json").stdout)["wasm_path"]).exit_code == 0
    assert cli("plugin", "uninstall", "wasmrun-demo").exit_code == 0

    repo = write_plugin(tmp_path / "repo", dist="wasmrun-gitdemo", name="gitdemo", version="3.1")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "v3.1"], check=True)
    result = cli("plugin", "install", f"git+file://{repo}")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "installed wasmrun-gitdemo 3.1: plugin(s) gitdemo"
    built = cli("compile", demo_project, "--json")
    assert json.loads(built.stdout)["plugin"] == "gitdemo"


def test_update_from_1_to_2(cli: Cli, tmp_path: Path, demo_project: Path) -> None:
    source = write_plugin(tmp_path / "src", version="1.0")
    assert cli("plugin", "install", source).exit_code == 0
    assert cli("plugin", "update", "demo").stdout.strip() == "wasmrun-demo 1.0 is already up to date"
    write_plugin(source, version="2.0")
    result = cli("plugin", "update", "demo")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "updated wasmrun-demo to 2.0"
    # A new process sees the new code (this one imported version 1 already).
    compiled = subprocess.run([sys.executable, "-m", "wasmrun", "compile", str(demo_project), "--json"],
                              capture_output=True, text=True, check=True)
    assert run_wasm(json.loads(compiled.stdout)["wasm_path"]).stdout == "hello from a plugin (demo 2.0)\n"
    assert json.loads(cli("plugin", "info", "demo", "--json").stdout)["version"] == "2.0"
    assert cli("plugin", "update", "--all").stdout.strip() == "wasmrun-demo 2.0 is already up to date"


def test_refusals(cli: Cli, tmp_path: Path, isolated_home: Path) -> None:
    clash = write_plugin(tmp_path / "clash", dist="wasmrun-clash", name="c")
    result = cli("plugin", "install", clash)
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: plugin name 'c' is already built into wasmrun"
    plain = write_plugin(tmp_path / "plain", dist="not-a-plugin", entry_points=False)
    result = cli("plugin", "install", plain)
    assert result.exit_code == 2
    assert result.stderr.strip() == \
        "error: not-a-plugin declares no wasmrun plugin (no entry point in the 'wasmrun' group)"
    missing = cli("plugin", "install", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "no such file or directory" in missing.stderr
    # Nothing half-installed is left behind by the refusals.
    leftovers = [p.name for p in (isolated_home / "data" / "plugins").iterdir() if not p.name.startswith(".")]
    assert leftovers == []
    assert [p for p in (isolated_home / "data" / "plugins").glob(".staging-*")] == []
    assert "installed" not in config_data(isolated_home).get("plugins", {}) or \
        config_data(isolated_home)["plugins"]["installed"] == {}
    assert cli("plugin", "uninstall", "c").exit_code == 2
    assert cli("plugin", "uninstall", "nothing").stderr.strip() == "error: no installed plugin named 'nothing'"


def test_plugin_that_fails_to_import_shows_load_error_others_work(cli: Cli, tmp_path: Path,
                                                                  example: Callable[[str], Path]) -> None:
    broken = write_plugin(tmp_path / "broken", dist="wasmrun-broken", name="broken",
                          extra="import a_module_that_does_not_exist")
    assert cli("plugin", "install", broken).exit_code == 0
    health = json.loads(cli("plugin", "health", "--json").stdout)
    by_name = {h["name"]: h for h in health}
    assert by_name["broken"]["status"] == "LoadError"
    assert "No module named 'a_module_that_does_not_exist'" in by_name["broken"]["detail"]
    assert by_name["wat"]["status"] == "Healthy"
    one = cli("plugin", "health", "broken")
    assert one.exit_code == 1 and one.stdout.startswith("broken           LoadError: cannot import wasmrun_broken")
    assert cli("compile", example("wat-hello")).exit_code == 0
    listed = {r["name"]: r for r in json.loads(cli("plugin", "list", "--json").stdout)}
    assert listed["broken"]["state"] == "error"


def test_enable_disable_round_trip(cli: Cli, make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": "(module)"})
    assert cli("plugin", "disable", "wat").stdout.strip() == "wat disabled"
    assert cli("plugin", "disable", "wat").stdout.strip() == "wat was already disabled"
    assert cli("compile", project).exit_code == 2
    rows = {r["name"]: r for r in json.loads(cli("plugin", "list", "--json").stdout)}
    assert rows["wat"]["enabled"] is False
    assert cli("plugin", "health", "wat").stdout.startswith("wat              Disabled")
    assert cli("plugin", "enable", "wat").stdout.strip() == "wat enabled"
    assert cli("compile", project).exit_code == 0
    assert cli("plugin", "disable", "nonesuch").exit_code == 2


def test_corrupt_config_is_named_with_its_line_and_left_alone(cli: Cli, isolated_home: Path) -> None:
    path = isolated_home / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    for text, where in (('schema_version = 2\n[plugins]\ndisabled = [wat]\n', "(at line 3, column 13)"),
                        ('schema_version = 2\n[plugins]\ndisabled = ["wat"\n', "(at the end of the file, line 4)")):
        path.write_text(text)
        for args in (("plugin", "list"), ("plugin", "disable", "c"), ("plugin", "install", "x")):
            result = cli(*args)
            assert result.exit_code == 2
            assert result.stderr.startswith(f"error: config file {path} is not valid TOML:")
            assert result.stderr.strip().endswith(where)
        assert path.read_text() == text


def test_old_config_is_migrated_not_reset(cli: Cli, isolated_home: Path) -> None:
    path = isolated_home / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[plugins]\ndisabled = ["wat"]\n')  # version 1: no schema_version
    assert cli("plugin", "disable", "c").exit_code == 0
    data = tomllib.loads(path.read_text())
    assert data["schema_version"] == 2
    assert data["plugins"]["disabled"] == ["wat", "c"]
    path.write_text("schema_version = 99\n")
    result = cli("plugin", "list")
    assert result.exit_code == 2 and "newer than this wasmrun understands" in result.stderr


def test_two_concurrent_installs_both_land(tmp_path: Path, isolated_home: Path) -> None:
    sources = [write_plugin(tmp_path / f"p{i}", dist=f"wasmrun-p{i}", name=f"p{i}") for i in (1, 2)]
    env = {**os.environ, "WASMRUN_HOME": str(isolated_home)}
    procs = [subprocess.Popen([sys.executable, "-m", "wasmrun", "plugin", "install", str(s)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in sources]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    installed = config_data(isolated_home)["plugins"]["installed"]
    assert sorted(installed) == ["wasmrun-p1", "wasmrun-p2"]
    listed = subprocess.run([sys.executable, "-m", "wasmrun", "plugin", "list", "--json"], env=env,
                            capture_output=True, text=True, check=True)
    names = {r["name"]: r["state"] for r in json.loads(listed.stdout)}
    assert names["p1"] == names["p2"] == "loaded"


COMMAND_PLUGIN = '''#!{python}
"""A plugin in "any language": here Python, but only through the command protocol."""
import json, pathlib, sys
import wasmtime

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "can-handle":
    project = pathlib.Path(args[args.index("-p") + 1])
    if (project / "hello.cmd").exists():
        print("hello.cmd")
        sys.exit(0)
    sys.exit(1)
if cmd == "check-deps":
    print(json.dumps([{{"name": "cmdtool", "found": True, "version": "1.0"}}]))
    sys.exit(0)
if cmd == "compile":
    project = pathlib.Path(args[args.index("-p") + 1])
    out = pathlib.Path(args[args.index("-o") + 1])
    source = (project / "hello.cmd").read_text()
    if "error" in source:
        print("hello.cmd:1: syntax error near 'error'", file=sys.stderr)
        sys.exit(3)
    wat = '(module (func (export "answer") (result i32) i32.const ' + source.strip() + '))'
    (out / "answer.wasm").write_bytes(wasmtime.wat2wasm(wat))
    print("answer.wasm")
    sys.exit(0)
sys.exit(64)
'''


def test_command_plugin_compiles_a_project(cli: Cli, tmp_path: Path, make_project: Callable[..., Path]) -> None:
    exe = tmp_path / "bin" / "wasmcmd"
    exe.parent.mkdir()
    exe.write_text(COMMAND_PLUGIN.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    result = cli("plugin", "install", "--command", exe, "--name", "cmd", "--extensions", ".cmd",
                 "--subcommands", "compile,can-handle,check-deps", "--version", "0.3")
    assert result.exit_code == 0, result.stderr
    project = make_project({"hello.cmd": "42"}, name="cmd-project")
    assert cli("detect", project).stdout.strip() == "-> cmd: hello.cmd"
    built = cli("compile", project, "--json")
    assert built.exit_code == 0, built.stderr
    data = json.loads(built.stdout)
    assert data["plugin"] == "cmd" and data["wasm_path"].endswith("answer.wasm")
    run = cli("exec", "--invoke", "answer", data["wasm_path"])
    assert run.stdout.strip() == "42"
    assert json.loads(cli("plugin", "health", "cmd", "--json").stdout)[0]["status"] == "Healthy"

    (project / "hello.cmd").write_text("error")
    failed = cli("compile", project)
    assert failed.exit_code == 1
    assert "hello.cmd:1: syntax error near 'error'" in failed.stderr
    assert failed.stderr.strip().splitlines()[-1] == "error: cmd failed (exit code 3)"

    assert cli("plugin", "uninstall", "cmd").exit_code == 0
    assert exe.is_file()  # the executable is the user's
    assert cli("compile", project).exit_code == 2


def test_command_plugin_whose_executable_vanished_is_not_found(cli: Cli, tmp_path: Path) -> None:
    exe = tmp_path / "gone"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    assert cli("plugin", "install", "--command", exe, "--extensions", ".gone").exit_code == 0
    exe.unlink()
    health = json.loads(cli("plugin", "health", "gone", "--json").stdout)[0]
    assert health["status"] == "MissingDependencies"
    assert "is missing" in health["detail"]
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_plugin_calling_sys_exit_at_import_cannot_end_wasmrun(tmp_path: Path, isolated_home: Path,
                                                                example: Callable[[str], Path]) -> None:
    source = write_plugin(tmp_path / "exits", dist="wasmrun-exits", name="exits", extra="import sys\nsys.exit(7)")
    env = {**os.environ, "WASMRUN_HOME": str(isolated_home)}
    env.pop("WASMRUN_LOAD_PLUGINS", None)

    def wasmrun(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wasmrun", *map(str, args)], env=env, capture_output=True,
                              text=True, check=False)

    installed = wasmrun("plugin", "install", source)
    assert installed.returncode == 0, installed.stderr
    project = example("wat-hello")
    compiled = wasmrun("compile", project)
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stderr.splitlines() == [
        "warning: plugin 'exits' failed to load, so it was not asked: cannot import wasmrun_exits: SystemExit: 7"]
    assert "  exits 1.0 (wasmrun-exits, installed) [failed to load when last used: cannot import wasmrun_exits: " \
           "SystemExit: 7]" in wasmrun("--version").stdout.splitlines()
    health = wasmrun("plugin", "health", "exits")
    assert health.returncode == 1 and health.stdout.startswith("exits            LoadError: cannot import")
    disabled = wasmrun("plugin", "disable", "exits")
    assert (disabled.returncode, disabled.stdout.strip()) == (0, "exits disabled")
    assert wasmrun("compile", project).stderr == ""
    removed = wasmrun("plugin", "uninstall", "exits")
    assert removed.returncode == 0, removed.stderr
