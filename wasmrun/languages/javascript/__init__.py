"""JavaScript: a ``package.json`` project with a ``.js``/``.mjs`` entry becomes a WASI 0.2 component.

A command (``wasi:cli/command``: ``console`` on stdout and stderr, ``process.argv``,
``process.env``, ``process.exit``) or, with a ``wit/`` directory, a library exporting that world.
npm packages the program imports are bundled by esbuild; componentize-qjs (QuickJS) builds the
component. Both are installed by wasmrun on first use (:mod:`wasmrun.component_tools`). TypeScript
projects go the same road after ``tsc`` (:mod:`wasmrun.languages.typescript`). See
docs/languages/javascript.md.
"""

from __future__ import annotations

from pathlib import Path

from wasmrun import hookimpl
from wasmrun.languages.javascript import plugin
from wasmrun.models import BuildConfig, BuildResult, Claim, PluginInfo, Target, ToolStatus

PLUGIN_NAME = "javascript"
TYPESCRIPT = False


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
