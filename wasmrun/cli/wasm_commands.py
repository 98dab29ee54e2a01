"""``verify``, ``inspect`` and ``exec``: know what a .wasm is, and run it natively with WASI."""

from __future__ import annotations

from typing import Annotated

import typer

from wasmrun.cli.output import handles_errors

EXEC_HELP = """Run a module (or a WASI 0.2 component) natively through wasmtime. Options go before FILE; the rest goes to the module.

Exit codes: the module's own exit code (proc_exit); 1 invalid or refused module;
2 bad usage; 130 interrupted (Ctrl-C); 134 trap; 137 --max-memory reached;
142 --timeout; 152 out of --fuel.
"""


@handles_errors
def verify_command(
    file: Annotated[str, typer.Argument(help="The .wasm file to check.", metavar="FILE")],
    detailed: Annotated[bool, typer.Option("--detailed", help="Also show the section table and a summary.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check that FILE is a valid WebAssembly module: magic and version, structure, then full
    validation. Exit 0 when valid, 1 when not (with the reason and byte offset), 2 for usage errors."""
    from wasmrun.cli.fast import verify_main

    code = verify_main(file, detailed=detailed, as_json=as_json)
    if code:
        raise typer.Exit(code)


@handles_errors
def inspect_command(
    file: Annotated[str, typer.Argument(help="The .wasm file to describe.", metavar="FILE")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (schema wasmrun.inspect/1).")] = False,
) -> None:
    """Describe FILE: sections, types, imports and exports, functions, memories, tables, globals,
    data and element segments, custom sections, findings, and how to run it. Exit 1 when the
    module is malformed or invalid (the report is still printed for an invalid one), 2 for usage errors."""
    from wasmrun.cli.fast import inspect_main

    code = inspect_main(file, as_json=as_json)  # the typer-free route runs the same function
    if code:
        raise typer.Exit(code)


@handles_errors
def exec_command(
    target: Annotated[str, typer.Argument(help="A .wasm file, or a project directory to build first.", metavar="FILE|PROJECT")],
    args: Annotated[list[str] | None, typer.Argument(help="Arguments for the module (its argv after its name), or for --invoke.", show_default=False)] = None,
    dirs: Annotated[list[str] | None, typer.Option("--dir", help="Preopen HOST[::GUEST] for the module (none by default).")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE for the module (the host's environment is not passed).")] = None,
    invoke: Annotated[str | None, typer.Option("--invoke", "--call", help="Call this export instead of _start: NAME with ARGS as its parameters, or a call such as 'add(1, 2)' (WAVE values for a component's functions; INTERFACE#NAME inside an exported interface).")] = None,
    fuel: Annotated[int | None, typer.Option("--fuel", help="Stop the module after N units of fuel (about one per instruction; at most 2**64 - 1); exit 152.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Stop the module after SECONDS of wall time (above 0, at most a year); exit 142.", metavar="SECONDS")] = None,
    max_memory: Annotated[str | None, typer.Option("--max-memory", help="Cap each linear memory at BYTES (suffixes K, M, G, KiB, MiB, GiB; at most 2**63 - 1); exit 137 when reached.", metavar="BYTES")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Compile the module afresh, without reading or writing the compiled-module cache.")] = False,
) -> None:
    from wasmrun.cli.fast import exec_main

    # the limits are checked by exec_main (wasmrun.wasm.runner.check_limits), on both routes alike
    code = exec_main(target, list(args or []), dirs=list(dirs or []), env=list(env or []), invoke=invoke, fuel=fuel,
                     timeout=timeout, max_memory=max_memory, no_cache=no_cache)
    if code:
        raise typer.Exit(code)


exec_command.__doc__ = EXEC_HELP


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
    app.command("inspect")(inspect_command)
    app.command("exec", context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})(exec_command)
