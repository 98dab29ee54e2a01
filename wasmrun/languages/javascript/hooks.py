"""The hookimpls of the ``javascript`` and ``typescript`` plugins, written once: an instance per
plugin, ``typescript`` saying which (:mod:`wasmrun.languages.javascript.plugin` holds the work)."""

from __future__ import annotations

from pathlib import Path

from wasmrun import hookimpl
from wasmrun.languages.javascript import plugin
from wasmrun.models import BuildConfig, BuildResult, Claim, PluginInfo, Target, ToolStatus


class Hooks:
    """One plugin's hooks: JavaScript's, or with ``typescript`` TypeScript's."""

    def __init__(self, *, typescript: bool) -> None:
        self.typescript = typescript

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return plugin.info(self.typescript)

    @hookimpl
    def can_handle_project(self, project_dir: Path) -> Claim | None:
        return plugin.claim(project_dir, self.typescript)

    @hookimpl
    def validate_project(self, project_dir: Path) -> list[str]:
        return plugin.validate(project_dir)

    @hookimpl
    def source_files(self, project_dir: Path) -> list[Path]:
        return plugin.sources(project_dir, self.typescript)

    @hookimpl
    def check_dependencies(self, target: Target, probe: bool) -> list[ToolStatus]:
        return plugin.statuses()

    @hookimpl
    def toolchain_versions(self, target: Target) -> dict[str, str]:
        return plugin.versions(self.typescript)

    @hookimpl
    def build(self, config: BuildConfig) -> BuildResult:
        return plugin.build(config, self.typescript)

    @hookimpl
    def project_template(self, flavour: str) -> dict[str, str] | None:
        return plugin.template(flavour, self.typescript)
