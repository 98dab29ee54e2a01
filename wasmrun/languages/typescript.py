"""TypeScript: a ``package.json`` project with a ``.ts``/``.mts`` entry. ``tsc`` (the project's own
``node_modules/typescript``, else a pinned one wasmrun installs) compiles it; then it goes the
JavaScript road (:mod:`wasmrun.languages.javascript`). See docs/languages/javascript.md.
"""

from __future__ import annotations

from pathlib import Path

from wasmrun import hookimpl
from wasmrun.languages.javascript import plugin
from wasmrun.models import BuildConfig, BuildResult, Claim, PluginInfo, Target, ToolStatus

PLUGIN_NAME = "typescript"
TYPESCRIPT = True


@hookimpl
def plugin_info() -> PluginInfo:
    return plugin.info(TYPESCRIPT)


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    return plugin.claim(project_dir, TYPESCRIPT)


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    return plugin.validate(project_dir)


@hookimpl
def source_files(project_dir: Path) -> list[Path]:
    return plugin.sources(project_dir, TYPESCRIPT)


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    return plugin.statuses()


@hookimpl
def toolchain_versions(target: Target) -> dict[str, str]:
    return plugin.versions(TYPESCRIPT)


@hookimpl
def build(config: BuildConfig) -> BuildResult:
    return plugin.build(config, TYPESCRIPT)


@hookimpl
def project_template(flavour: str) -> dict[str, str] | None:
    return plugin.template(flavour, TYPESCRIPT)
