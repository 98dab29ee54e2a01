"""``wasmrun plugin ...``: list and describe language plugins."""

from __future__ import annotations

from typing import Annotated

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
    for record in plugins.records.values():
        info = record._info
        if capability and (info is None or capability not in {c.value for c in info.capabilities}):
            continue
        rows.append({
            "name": record.name,
            "version": record.version,
            "builtin": record.builtin,
            "source": record.source,
            "enabled": record.enabled,
            "state": "error" if record.error else ("loaded" if record.loaded else "disabled"),
            "error": record.error,
            "capabilities": [c.value for c in info.capabilities] if info else [],
        })
    if as_json:
        print_json(rows)
        return
    for row in rows:
        kind = "built-in" if row["builtin"] else f"external, {row['source']}"
        state = f"error: {row['error']}" if row["error"] else row["state"]
        typer.echo(f"{row['name']:<12} {row['version']:<10} {kind:<28} {state}")


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
    typer.echo(f"  extensions:   {', '.join(info.extensions) or '-'}")
    typer.echo(f"  entry files:  {', '.join(info.entry_files) or '-'}")
    typer.echo(f"  tools:        {', '.join(info.tools) or '-'}")
    typer.echo(f"  capabilities: {', '.join(c.value for c in info.capabilities) or '-'}")
