"""``wasmrun plugin ...``: list and describe language plugins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wasmrun.cli.output import handles_errors, print_json

app = typer.Typer(help="List, inspect and manage language plugins.", no_args_is_help=True)


@app.command("list")
@handles_errors
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    capability: Annotated[str | None, typer.Option("--capability", help="Only plugins with this capability.")] = None,
) -> None:
    """Every plugin: built-in or external, version, source, enabled, and its state."""
    from wasmrun.building import default_plugins
    from wasmrun.errors import UsageError
    from wasmrun.models import Capability

    if capability is not None and capability not in {c.value for c in Capability}:
        raise UsageError(f"unknown capability '{capability}' (one of: {', '.join(c.value for c in Capability)})")
    plugins = default_plugins()
    rows = []
    for record in plugins.all_records():
        info = record._info
        if capability and (info is None or capability not in {c.value for c in info.capabilities}):
            continue
        rows.append({
            "name": record.name,
            "version": record.version,
            "builtin": record.builtin,
            "source": record.source,
            "origin": record.origin,
            "enabled": record.enabled,
            "state": "error" if record.error else ("loaded" if record.loaded else "disabled"),
            "error": record.error,
            "warnings": record.warnings,
            "path": record.path,
            "capabilities": [c.value for c in info.capabilities] if info else [],
        })
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['name']:<16} {row['version']:<10} {_kind(row):<40} {_state(row)}")


def _kind(row: dict[str, Any]) -> str:
    """Where a plugin comes from, as ``plugin list`` shows it."""
    if row["builtin"]:
        return "built-in"
    if row["origin"] == "editable":
        return f"editable, from {row['path']}"
    return f"{row['origin'] or 'external'}: {row['source']}"


def _state(row: dict[str, Any]) -> str:
    """loaded, disabled or every problem that kept it from loading; then every warning."""
    state = f"error: {row['error']}" if row["error"] else str(row["state"])
    if row["warnings"]:
        state += f" (warning: {'; '.join(row['warnings'])})"
    return state


@app.command("info")
@handles_errors
def info_command(
    name: Annotated[str, typer.Argument(help="The plugin's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """What a plugin is and can do, asked of the plugin itself."""
    from wasmrun.building import default_plugins

    info = default_plugins().info(name)
    if as_json:
        print_json(info)
        return
    typer.echo(f"{info.name} {info.version} ({'built-in' if info.builtin else info.source})")
    if info.description:
        typer.echo(f"  {info.description}")
    typer.echo(f"  author:       {info.author or '-'}")
    typer.echo(f"  extensions:   {', '.join(info.extensions) or '-'}")
    typer.echo(f"  entry files:  {', '.join(info.entry_files) or '-'}")
    typer.echo(f"  tools:        {', '.join(info.tools) or '-'}")
    typer.echo(f"  capabilities: {', '.join(c.value for c in info.capabilities) or '-'}")


def _installed_paths() -> dict[str, str]:
    from wasmrun.config import load_config

    config = load_config()
    return {ep: record.path for record in config.plugins.installed.values() for ep in record.entry_points}


@app.command("install")
@handles_errors
def install_command(
    source: Annotated[str | None, typer.Argument(help="NAME[==VERSION], a path (project or wheel), or git+URL.",
                                                 show_default=False)] = None,
    command: Annotated[str | None, typer.Option("--command", help="Register an executable plugin instead.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Plugin name (--command).")] = None,
    metadata: Annotated[Path | None, typer.Option("--metadata", help="Metadata TOML file (--command).")] = None,
    extensions: Annotated[str | None, typer.Option("--extensions", help="Comma-separated, e.g. .rs (--command).")] = None,
    entry_files: Annotated[str | None, typer.Option("--entry-files", help="Comma-separated (--command).")] = None,
    tools: Annotated[str | None, typer.Option("--tools", help="Comma-separated tools it needs (--command).")] = None,
    capabilities: Annotated[str | None, typer.Option("--capabilities", help="Comma-separated (--command).")] = None,
    subcommands: Annotated[str | None, typer.Option("--subcommands", help="Which of compile,can-handle,check-deps,clean it offers (--command).")] = None,
    version: Annotated[str | None, typer.Option("--version", help="Plugin version (--command).")] = None,
    editable: Annotated[bool, typer.Option("--editable", "-e", help="pip install -e the plugin project at SOURCE into wasmrun's environment: edits are used at once.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Reinstall a plugin wasmrun installed already, even at the same version.")] = False,
) -> None:
    """Install a plugin with pip into its own directory, or register an executable plugin."""
    from wasmrun.errors import UsageError

    if command:
        from wasmrun.plugin_store import install_command as register

        def split(value: str | None) -> list[str]:
            return [v.strip() for v in (value or "").split(",") if v.strip()]

        options: dict[str, list[str] | str] = {
            "extensions": split(extensions), "entry_files": split(entry_files), "tools": split(tools),
            "capabilities": split(capabilities), "subcommands": split(subcommands), "version": version or ""}
        plugin = register(command, name=name, metadata_file=metadata, options=options)
        typer.echo(f"registered command plugin '{plugin}' ({command})")
        return
    if not source:
        raise UsageError("give a plugin to install: NAME[==VERSION], a path, git+URL, or --command PATH")
    if editable:
        if force:
            raise UsageError("--editable and --force do not go together (an editable install needs no reinstall)")
        from wasmrun.plugin_store import install_editable

        linked = install_editable(source)
        done = "installed" if linked.changed else "already installed"
        typer.echo(f"{done} {linked.distribution} {linked.version} editable, from {linked.path}: "
                   f"plugin(s) {', '.join(linked.entry_points)}")
        return
    from wasmrun.plugin_store import install

    installed = install(source, force=force)
    typer.echo(f"installed {installed.distribution} {installed.version}: plugin(s) {', '.join(installed.entry_points)}")


@app.command("uninstall")
@handles_errors
def uninstall_command(name: Annotated[str, typer.Argument(help="Plugin or distribution name.")]) -> None:
    """Remove an installed plugin: its files and its config entry (an editable install: pip forgets
    it, its source stays)."""
    from wasmrun.plugin_store import is_installed, uninstall, uninstall_command, uninstall_editable

    if uninstall_command(name):
        typer.echo(f"unregistered command plugin '{name}'")
        return
    if not is_installed(name):
        source = uninstall_editable(name)
        if source is not None:
            typer.echo(f"uninstalled {name} (the editable install of {source}; its files stay)")
            return
    path = uninstall(name)
    typer.echo(f"uninstalled {name} (removed {path})")


@app.command("update")
@handles_errors
def update_command(
    name: Annotated[str | None, typer.Argument(help="Plugin or distribution name.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Update every installed plugin.")] = False,
) -> None:
    """Reinstall a plugin when its source offers a newer version, or other files (a path edited)."""
    from wasmrun.errors import UsageError
    from wasmrun.plugin_store import installed_names, update

    if all_ == (name is not None):
        raise UsageError("give a plugin name or --all (not both)")
    for target in installed_names() if all_ else [name or ""]:
        result = update(target)
        if result.changed:
            typer.echo(f"updated {result.distribution} to {result.version}")
        else:
            typer.echo(f"{result.distribution} {result.version} is already up to date")


def _set_enabled(name: str, enabled: bool) -> None:
    from wasmrun.building import default_plugins
    from wasmrun.plugin_store import set_enabled

    known = set(default_plugins().records)
    changed = set_enabled(name, enabled, known=known)
    state = "enabled" if enabled else "disabled"
    typer.echo(f"{name} {state}" if changed else f"{name} was already {state}")


@app.command("enable")
@handles_errors
def enable_command(name: Annotated[str, typer.Argument(help="Plugin name.")]) -> None:
    """Enable a plugin (built-ins too)."""
    _set_enabled(name, True)


@app.command("disable")
@handles_errors
def disable_command(name: Annotated[str, typer.Argument(help="Plugin name.")]) -> None:
    """Disable a plugin (built-ins too); it is still listed."""
    _set_enabled(name, False)


@app.command("health")
@handles_errors
def health_command(
    name: Annotated[str | None, typer.Argument(help="One plugin (default: all).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Healthy, MissingDependencies (which tools), NotFound, LoadError, Disabled or Broken (the error)."""
    from wasmrun import plugin_health
    from wasmrun.building import default_plugins

    plugins = default_plugins()
    paths = _installed_paths()
    reports = [plugin_health.check(plugins, name, paths)] if name else plugin_health.check_all(plugins, paths)
    if as_json:
        print_json([r.as_dict() for r in reports])
    else:
        for report in reports:
            warned = f" (warning: {'; '.join(report.warnings)})" if report.warnings else ""
            typer.echo(f"{report.name:<16} {report.status}{f': {report.detail}' if report.detail else ''}{warned}")
    if any(r.status != plugin_health.HEALTHY for r in reports) and name:
        raise typer.Exit(1)


@app.command("check")
@handles_errors
def check_command(
    target: Annotated[str, typer.Argument(help="An installed plugin's name, or a plugin project directory.")],
    example: Annotated[Path | None, typer.Option("--example", help="A project the plugin builds.", show_default="TARGET/example, or its project_template")] = None,
    no_build: Annotated[bool, typer.Option("--no-build", help="Check everything but the build and the clean.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Run the conformance check on a plugin, without pytest: every problem, then exit code 1."""
    from wasmrun.testing import ConformanceError, PluginLoadError, check_plugin, plugin_under_check

    problems: list[str] = []
    passed: list[str] = []
    skipped: list[str] = []
    name = target
    try:
        plugin, name, found_example = plugin_under_check(target)
        report = check_plugin(plugin, name=name, example_project=example or found_example, build=not no_build,
                              skip_missing_toolchain=True)
        passed, skipped = report.passed, report.skipped
    except PluginLoadError as exc:
        name, problems = exc.plugin or name, [exc.reason]
    except ConformanceError as exc:
        problems = exc.problems
    if as_json:
        print_json({"name": name, "conforms": not problems, "problems": problems, "passed": passed,
                    "skipped": skipped})
    elif problems:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        typer.echo(f"plugin '{name}' does not conform ({count}):")
        for problem in problems:
            typer.echo(f"  - {problem}")
    else:
        typer.echo(f"plugin '{name}' conforms: {', '.join(passed)}")
        for what in skipped:
            typer.echo(f"  skipped: {what}")
    if problems:
        raise typer.Exit(1)


@app.command("new")
@handles_errors
def new_command(
    name: Annotated[str, typer.Argument(help="The plugin's name, e.g. mylang (the package is wasmrun-mylang).")],
    path: Annotated[Path, typer.Option("--path", help="Directory to create the package in.")] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Write a new plugin package: pyproject with the entry point, hookimpls, an example, tests."""
    from wasmrun.scaffold import new_plugin

    created = new_plugin(name, path.expanduser())
    if as_json:
        print_json({"name": created.name, "package": created.package, "directory": str(created.directory),
                    "files": [str(f) for f in created.files]})
        return
    typer.echo(f"created {created.directory} ({len(created.files)} files)")
    for file in created.files:
        typer.echo(f"  {file.relative_to(created.directory)}")
    typer.echo(f"next: cd {created.directory} && wasmrun plugin install -e . && wasmrun plugin check .")
