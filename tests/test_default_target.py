"""Claim.target (hook API 1.1): the target a plugin says suits a project is the default when the
user names none, and the command line and wasmrun.toml still win. A framework test: the plugin is
a small one written here (its "compiler" is wasmtime's wat2wasm); the real uses are the Go plugin's
syscall/js programs and the Rust plugin's wasm-bindgen crates, tested in their packages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmrun import hookimpl
from wasmrun.building import compile_project, detect
from wasmrun.errors import MissingToolchainError
from wasmrun.models import BuildConfig, BuildResult, Claim, GlueKind, PluginInfo, Target, ToolStatus
from wasmrun.plugins import Plugins, load_plugins

Cli = Callable[..., Any]


class PagePlugin:
    """Claims projects with a page.txt; says web suits them (``browser-only`` in the file)."""

    def __init__(self) -> None:
        self.targets: list[Target] = []
        self.web_tool_found = True

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(name="page", version="0.1.0", hook_api="1.1", extensions=[".txt"], entry_files=["page.txt"])

    @hookimpl
    def can_handle_project(self, project_dir: Path) -> Claim | None:
        page = project_dir / "page.txt"
        if not page.is_file():
            return None
        if "browser-only" in page.read_text():
            return Claim(evidence=["page.txt"], target=Target.WEB, target_reason="page.txt says browser-only")
        return Claim(evidence=["page.txt"])

    @hookimpl
    def check_dependencies(self, target: Target) -> list[ToolStatus]:
        if target is Target.WEB:
            return [ToolStatus(name="pagetool", found=self.web_tool_found, install_hint="get pagetool")]
        return []

    @hookimpl
    def build(self, config: BuildConfig) -> BuildResult:
        import wasmtime

        self.targets.append(config.target)
        out = config.output_dir / "page.wasm"
        out.write_bytes(wasmtime.wat2wasm("(module)"))
        return BuildResult(wasm_path=out, glue=GlueKind.NONE)


@pytest.fixture
def page_plugin() -> tuple[Plugins, PagePlugin]:
    plugins = load_plugins(entry_points=False)
    plugin = PagePlugin()
    plugins.register(plugin, "page", source="tests", version="0.1.0")
    return plugins, plugin


def _build(project: Path, plugins: Plugins, **options: Any) -> None:
    compile_project(project, plugins, use_cache=False, optimize=False, **options)


def test_the_claims_target_is_the_default(page_plugin: tuple[Plugins, PagePlugin],
                                          make_project: Callable[..., Path]) -> None:
    plugins, plugin = page_plugin
    web = make_project({"page.txt": "browser-only"}, name="web")
    plain = make_project({"page.txt": "anywhere"}, name="plain")
    _build(web, plugins)
    _build(plain, plugins)
    _build(web, plugins, target=Target.WASM)  # the command line wins
    _build(web, plugins, language="page")  # named by --language: its claim still says
    (web / "wasmrun.toml").write_text('target = "wasm"\n')
    _build(web, plugins)  # the project's own setting wins
    assert plugin.targets == [Target.WEB, Target.WASM, Target.WASM, Target.WEB, Target.WASM]


def test_detect_reports_it(page_plugin: tuple[Plugins, PagePlugin], make_project: Callable[..., Path]) -> None:
    plugins, _ = page_plugin
    detection = detect(make_project({"page.txt": "browser-only"}), plugins)
    assert detection.target is Target.WEB
    data = detection.as_dict()
    assert (data["target"], data["target_reason"]) == ("web", "page.txt says browser-only")
    assert data["candidates"] == [{"plugin": "page", "evidence": ["page.txt"], "fallback": False, "note": "",
                                   "target": "web", "target_reason": "page.txt says browser-only"}]
    json.dumps(data)  # what detect --json prints


def test_a_missing_tool_for_the_default_target_says_why_that_target(
        page_plugin: tuple[Plugins, PagePlugin], make_project: Callable[..., Path]) -> None:
    plugins, plugin = page_plugin
    plugin.web_tool_found = False
    project = make_project({"page.txt": "browser-only"})
    with pytest.raises(MissingToolchainError) as info:
        _build(project, plugins)
    assert info.value.message == ("pagetool is needed to build page for --target web (pagetool: get pagetool); "
                                  "web is this project's default target (page.txt says browser-only): "
                                  "--target names another")
    with pytest.raises(MissingToolchainError) as given:
        _build(project, plugins, target=Target.WEB)  # asked for: the usual message
    assert given.value.message == "pagetool is needed to build page for --target web (pagetool: get pagetool)"
    assert plugin.targets == []
