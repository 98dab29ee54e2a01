"""``verify``, ``inspect`` and ``exec``: know what a .wasm is, and run it natively with WASI."""

from __future__ import annotations

from typing import Annotated

import typer

from wasmrun.cli.output import handles_errors

EXEC_HELP = """Run a module natively through wasmtime. Options go before FILE; the rest goes to the module.

\b
Exit codes: the module's own exit code (proc_exit); 1 invalid or refused module;
2 bad usage; 134 trap; 137 --max-memory reached; 142 --timeout; 152 out of --fuel.
"""


@handles_errors
def verify_command(
    file: Annotated[str, typer.Argument(help="The .wasm file to check.", metavar="FILE")],
    detailed: Annotated[bool, typer.Option("--detailed", help="Also show the section table and a summary.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check that FILE is a valid WebAssembly module: magic and version, structure, then full
    validation. Exit 0 when valid, 1 when not (with the reason and byte offset), 2 for usage errors."""
    from pathlib import Path

    from wasmrun.cli.output import err, print_json
    from wasmrun.errors import EXIT_FAILURE
    from wasmrun.wasm.verify import verify_file

    result = verify_file(Path(file))
    if as_json:
        print_json(result.as_dict(detailed=detailed))
    elif result.valid:
        typer.echo(result.message)
        if detailed and result.module is not None:
            from wasmrun.wasm.inspect import section_lines

            data = result.as_dict(detailed=True)
            typer.echo("")
            typer.echo("Sections:")
            for line in section_lines(data["sections"]):
                typer.echo(f"  {line}")
            typer.echo("")
            typer.echo("Summary:")
            for key, value in (data["summary"] or {}).items():
                typer.echo(f"  {key}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    for warning in result.warnings:
        err(f"warning: {warning}")
    if not result.valid:
        err(f"error: {result.message}")
        raise typer.Exit(EXIT_FAILURE)


@handles_errors
def inspect_command(
    file: Annotated[str, typer.Argument(help="The .wasm file to describe.", metavar="FILE")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (schema wasmrun.inspect/1).")] = False,
) -> None:
    """Describe FILE: sections, types, imports and exports, functions, memories, tables, globals,
    data and element segments, custom sections, findings, and how to run it."""
    from pathlib import Path

    from wasmrun.cli.output import print_json
    from wasmrun.wasm.inspect import inspect_file, render_text

    report = inspect_file(Path(file))
    if as_json:
        print_json(report)
    else:
        typer.echo(render_text(report))


@handles_errors
def exec_command(
    target: Annotated[str, typer.Argument(help="A .wasm file, or a project directory to build first.", metavar="FILE|PROJECT")],
    args: Annotated[list[str] | None, typer.Argument(help="Arguments for the module (its argv after its name), or for --invoke.", show_default=False)] = None,
    dirs: Annotated[list[str] | None, typer.Option("--dir", help="Preopen HOST[::GUEST] for the module (none by default).")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE for the module (the host's environment is not passed).")] = None,
    invoke: Annotated[str | None, typer.Option("--invoke", "--call", help="Call this export instead of _start; ARGS are its parameters (i32, i64, f32, f64).")] = None,
    fuel: Annotated[int | None, typer.Option("--fuel", min=0, help="Stop the module after N units of fuel (about one per instruction); exit 152.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.0, help="Stop the module after SECONDS of wall time; exit 142.", metavar="SECONDS")] = None,
    max_memory: Annotated[str | None, typer.Option("--max-memory", help="Cap each linear memory at BYTES (suffixes K, M, G, KiB, MiB, GiB); exit 137 when reached.", metavar="BYTES")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Compile the module afresh, without reading or writing the compiled-module cache.")] = False,
) -> None:
    from pathlib import Path

    from wasmrun.cli.output import err, report_error
    from wasmrun.errors import UsageError
    from wasmrun.wasm.compile_cache import default_cache_dir
    from wasmrun.wasm.runner import ModuleTrap, RunRequest, parse_dir, parse_env, parse_size, run_module

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
        fuel=fuel,
        timeout=timeout,
        max_memory=None if max_memory is None else parse_size(max_memory, "--max-memory"),
        cache_dir=None if no_cache else default_cache_dir(),
    )
    try:
        outcome = run_module(request)
    except ModuleTrap as exc:
        report_error(exc)
        if exc.backtrace:
            err("wasm backtrace:")
            for line in exc.backtrace:
                err(line)
        raise typer.Exit(exc.exit_code) from None
    for value in outcome.formatted_results():
        typer.echo(value)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


exec_command.__doc__ = EXEC_HELP


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
    app.command("inspect")(inspect_command)
    app.command("exec", context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})(exec_command)
