"""The typer application: global options and the command groups.

Command modules import only typer at module level; each command imports what it needs when it
runs, so ``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from wasmrun.cli import (
    agent_commands,
    build_commands,
    cache_commands,
    doctor_commands,
    init_commands,
    plugin_commands,
    run_commands,
    wasm_commands,
)
from wasmrun.cli.help_text import reflow_commands

app = typer.Typer(
    name="wasmrun",
    help="Build a project in any language to WebAssembly, and run it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if not value:
        return
    from wasmrun.cli.version import version_text

    typer.echo(version_text())
    raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                          help="Show the version and the plugins, then exit.")] = False,
) -> None:
    """Build a project in any language to WebAssembly, and run it."""


build_commands.register(app)
wasm_commands.register(app)
doctor_commands.register(app)
init_commands.register(app)
run_commands.register(app)
agent_commands.register(app)
app.add_typer(plugin_commands.app, name="plugin")
app.add_typer(cache_commands.app, name="cache")
reflow_commands(app)  # after every command is registered: their help wraps to the terminal
