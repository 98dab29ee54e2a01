"""``exec``: run a module (or a project, built first) natively with WASI."""

from __future__ import annotations

from typing import Annotated

import typer

from wasmrun.cli.output import handles_errors


@handles_errors
def exec_command(
    target: Annotated[str, typer.Argument(help="A .wasm file, or a project directory to build first.", metavar="FILE|PROJECT")],
    args: Annotated[list[str] | None, typer.Argument(help="Arguments for the module (its argv after its name), or for --invoke.", show_default=False)] = None,
    dirs: Annotated[list[str] | None, typer.Option("--dir", help="Preopen HOST[::GUEST] for the module (none by default).")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE for the module (the host's environment is not passed).")] = None,
    invoke: Annotated[str | None, typer.Option("--invoke", "--call", help="Call this export instead of _start; ARGS are its parameters.")] = None,
) -> None:
    """Run a module natively through wasmtime. Options go before FILE; the rest goes to the module."""
    from pathlib import Path

    from wasmrun.errors import UsageError
    from wasmrun.wasm.runner import RunRequest, parse_dir, parse_env, run_module

    path = Path(target)
    if path.is_dir():
        from wasmrun.building import compile_project, default_plugins, project_path

        path = compile_project(project_path(path), default_plugins()).wasm_path
    elif not path.exists():
        raise UsageError(f"no such file or directory: {target}")
    request = RunRequest(
        wasm_path=path,
        args=list(args or []),
        env=dict(parse_env(e) for e in env or []),
        dirs=[parse_dir(d) for d in dirs or []],
        invoke=invoke,
    )
    outcome = run_module(request)
    for value in outcome.results:
        typer.echo(value)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def register(app: typer.Typer) -> None:
    app.command("exec", context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})(exec_command)
