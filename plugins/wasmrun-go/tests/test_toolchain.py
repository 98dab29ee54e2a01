"""Which Go gets used: past an older go first on PATH; and what the user reads when only a Go too
old for WASI is installed."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wasmrun.building import doctor
from wasmrun.models import Target
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool, run_wasm

import wasmrun_go
from wasmrun_go import toolchain as go_tools

Cli = Callable[..., Any]


def _only_go() -> Plugins:
    plugins = load_plugins(entry_points=False, builtins=())
    plugins.register(wasmrun_go, "go", source="wasmrun-go")
    return plugins


@pytest.fixture
def old_go(tmp_path: Path) -> Path:
    """A Go 1.19 installation (GOROOT with a VERSION file, bin/go) that must never build."""
    root = tmp_path / "go-1.19"
    (root / "bin").mkdir(parents=True)
    (root / "VERSION").write_text("go1.19.8\n")
    go = root / "bin" / "go"
    go.write_text('#!/bin/sh\necho "the old go ran: $*" >&2\nexit 99\n')
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    return root / "bin"


def test_versions_parse() -> None:
    assert go_tools.parse_version("go1.23.5") == (1, 23, 5)
    assert go_tools.parse_version("go version go1.21rc2 linux/amd64") == (1, 21, 0)
    assert go_tools.show((1, 21, 0)) == "1.21" and go_tools.show((1, 23, 5)) == "1.23.5"


def test_an_older_go_first_on_path_is_passed_over(old_go: Path, monkeypatch: pytest.MonkeyPatch,
                                                  example: Callable[[str], Path], cli: Cli) -> None:
    monkeypatch.setenv("PATH", f"{old_go}{os.pathsep}{os.environ['PATH']}")
    go_tools.forget()
    assert go_tools.installed()[0].go == str(old_go / "go")
    go = go_tools.find(go_tools.WASI_MIN)
    require_tool("go", found=go is not None)
    assert go is not None and go.go != str(old_go / "go")
    project = example("go-hello")
    result = cli("compile", project, "--toolchain", "go")
    assert result.exit_code == 0, result.stderr
    assert run_wasm(project / "wasmrun-out" / "go-hello.wasm").stdout.startswith("hello from Go")


def test_only_a_too_old_go_gives_the_version_found_and_needed(old_go: Path, monkeypatch: pytest.MonkeyPatch,
                                                             example: Callable[[str], Path], cli: Cli) -> None:
    def only_the_old_one() -> Iterator[tuple[str, bool]]:
        yield str(old_go / "go"), True

    monkeypatch.setattr(go_tools, "_candidates", only_the_old_one)
    monkeypatch.setattr(go_tools, "find_tinygo", lambda: None)
    go_tools.forget()
    result = cli("compile", example("go-hello"))
    assert result.exit_code == 2
    assert f"Go 1.19.8 at {old_go / 'go'} is too old: GOOS=wasip1 needs Go 1.21 or newer" in result.stderr
    assert "golang-1.23-go" in result.stderr
    assert "Traceback" not in result.stderr
    # GOOS=js works with Go 1.19, so doctor reports the web target as ready with it.
    reports = {r.target: r for r in doctor(_only_go(), probe=False)}
    assert not reports[Target.WASM].ready
    assert reports[Target.WEB].ready and reports[Target.WEB].tools[1].version == "1.19.8"


def test_doctor_lists_tinygo_and_go() -> None:
    for report in doctor(_only_go(), probe=True):
        assert [t.name for t in report.tools] == ["tinygo", "go"]
        assert all(t.optional and t.install_hint for t in report.tools)
