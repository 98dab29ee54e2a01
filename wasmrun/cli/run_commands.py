"""``run`` (also ``serve`` and ``dev``) and ``stop``: the dev server, see docs/run.md."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from wasmrun.cli.output import err, handles_errors

if TYPE_CHECKING:
    from wasmrun.server.app import BuildOptions, ServeOptions

RUN_HELP = """Build a project (or take a .wasm file) and serve it with a page that runs it.

A plain module runs on wasmrun's page (with a browser WASI shim, its exports callable from forms);
a build with its own page or JS glue, or a project with an index.html, is served as it is. ARGS
after -- are the module's argv on the page. Ctrl-C stops the server.

With --headless, the page runs in a headless browser instead: the program's stdout and stderr
stream to the terminal, piped stdin reaches it, and wasmrun exits with its exit code.
"""


@handles_errors
def run_command(
    path: Annotated[str, typer.Argument(help="A project directory, a .wasm file, or a directory with an index.html.")] = ".",
    args: Annotated[list[str] | None, typer.Argument(help="After --: the module's arguments (its argv after its name).", show_default=False)] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", min=0, max=65535, help="Listen on this port (an error when taken) [default: 8420, or the next free one].")] = None,
    host: Annotated[str, typer.Option("--host", help="Listen on this address; anything but loopback makes the files reachable from other machines.")] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Rebuild when a source file changes, and reload open pages.")] = False,
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE in the module's environment on the page (repeatable).")] = None,
    target: Annotated[str | None, typer.Option("--target", help="wasm (a plain or WASI module, run on wasmrun's page), web (the toolchain's own page and JS glue) or component (a WASI 0.2 component, transpiled by jco for wasmrun's page).", show_default="wasm, or the project's wasmrun.toml")] = None,
    optimization: Annotated[str | None, typer.Option("--optimization", help="debug, release or size.", show_default="release, or the project's wasmrun.toml")] = None,
    language: Annotated[str | None, typer.Option("--language", "-l", help="Use this language plugin, by name.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output directory [default: PATH/wasmrun-out].")] = None,
    toolchain: Annotated[str | None, typer.Option("--toolchain", help="Pick one of the plugin's toolchains.")] = None,
    no_opt: Annotated[bool, typer.Option("--no-opt", help="Do not run wasm-opt over release and size builds.")] = False,
    log_requests: Annotated[bool, typer.Option("--log-requests", help="Print a line for every request.")] = False,
    headless: Annotated[bool, typer.Option("--headless", help="Run the page in a headless browser: its output here, its exit code as wasmrun's.")] = False,
    timeout: Annotated[float | None, typer.Option("--timeout", help="With --headless: stop after SECONDS from opening the page; exit 142.", metavar="SECONDS")] = None,
    browser: Annotated[str | None, typer.Option("--browser", help="With --headless: the browser to drive, a name doctor lists or a path.", show_default="the first Chromium or Chrome found")] = None,
) -> None:
    import os

    from wasmrun.errors import EXIT_INTERRUPTED, UsageError
    from wasmrun.server.app import DEFAULT_PORT, BuildOptions, ServeOptions, open_server
    from wasmrun.server.records import ServerRecord

    for option, value, choices in (("--target", target, ("wasm", "web", "component")),
                                   ("--optimization", optimization, ("debug", "release", "size"))):
        if value is not None and value not in choices:
            raise UsageError(f"{option} must be one of {', '.join(choices)}, not '{value}'")
    environment: dict[str, str] = {}
    for item in env or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env takes KEY=VALUE, not '{item}'")
        environment[key] = value
    if headless:
        if watch or open_browser:
            raise UsageError(f"--headless runs the program once: {'--watch' if watch else '--open'} does not apply")
        if timeout is not None and not 0 < timeout <= 365 * 24 * 3600:
            raise UsageError("--timeout takes SECONDS above 0, at most a year")
        build = BuildOptions(output_dir=output, optimization=optimization, target=target, language=language,
                             toolchain=toolchain, optimize=not no_opt)
        serve = ServeOptions(host=host, port=0 if port is None else port, args=list(args or []), env=environment,
                             log_requests=log_requests, log=err)
        _run_headless(path, serve, build, timeout, browser)
    for option, given in (("--timeout", timeout is not None), ("--browser", browser is not None)):
        if given:
            raise UsageError(f"{option} applies only with --headless")
    options = ServeOptions(host=host, port=port, watch=watch, args=list(args or []), env=environment,
                           log_requests=log_requests, log=err)
    build = BuildOptions(output_dir=output, optimization=optimization, target=target, language=language,
                         toolchain=toolchain, optimize=not no_opt)
    from wasmrun.progress import build_progress, wanted

    with build_progress(f"building {Path(path).resolve().name}", enabled=wanted()):  # the first build
        server = open_server(path, options, build)
    try:
        if not server.loopback:
            err(f"warning: listening on {host}: anyone who can reach this machine can read the served files")
        if port is None and server.port != DEFAULT_PORT:
            err(f"port {DEFAULT_PORT} is in use; using {server.port}")
        result = server.site.result
        if result is not None:
            typer.echo(f"built {result.wasm_path} with {result.plugin} in {result.duration_s:.2f} s"
                       f"{' (cached)' if result.cached else ''}")
        record = ServerRecord(pid=os.getpid(), host=host, port=server.port, url=server.url,
                              project=str(Path(path).resolve()), token=server.token)
        record.write()
    except BaseException:
        server.close()
        raise
    interrupted = False
    try:
        typer.echo(f"serving {server.site.name} at {server.url}"
                   f"{' (watching for changes)' if watch else ''}; press Ctrl-C to stop", color=False)
        if open_browser:
            import threading
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
        interrupted = server.serve()
    except KeyboardInterrupt:  # before serving began
        interrupted = True
        server.close()
    finally:
        record.remove()
    err("stopped")
    if interrupted:  # Ctrl-C: 130, as for every command; `wasmrun stop` (SIGTERM) is a normal end
        raise typer.Exit(EXIT_INTERRUPTED)


run_command.__doc__ = RUN_HELP


def _run_headless(path: str, serve: ServeOptions, build: BuildOptions, timeout: float | None,
                  browser: str | None) -> NoReturn:
    """``run --headless``: stdout is the program's alone; wasmrun's lines go to stderr. As its own
    process wasmrun leaves at once when the program ends (:func:`~wasmrun.headless.command.headless_main`);
    in-process (a test's CLI runner) it returns the exit code through typer."""
    from wasmrun import cli
    from wasmrun.headless.command import headless_main

    raise typer.Exit(headless_main(path, serve, build, timeout=timeout, browser=browser, leave=cli.process_entry))


@handles_errors
def stop_command(
    path: Annotated[str | None, typer.Argument(help="Stop the servers of this project (or .wasm file) [default: the current directory].", show_default=False)] = None,
    stop_all: Annotated[bool, typer.Option("--all", help="Stop every server wasmrun started.")] = False,
    port: Annotated[int | None, typer.Option("--port", "-p", help="Stop the server on this port.")] = None,
) -> None:
    """Stop dev servers started by `wasmrun run`."""
    from wasmrun.server.records import is_live, read_records, stop_servers

    records = read_records()
    if stop_all:
        chosen = records
    elif port is not None:
        chosen = [r for r in records if r.port == port]
    else:
        wanted = str(Path(path or ".").resolve())
        chosen = [r for r in records if r.project == wanted]
    outcome = stop_servers(chosen)
    for record in outcome.stopped:
        typer.echo(f"stopped {record.url} ({record.project}, pid {record.pid})")
    for record in outcome.stale:
        typer.echo(f"removed a stale record of {record.url} (pid {record.pid} no longer serves it)")
    if outcome.stopped or stop_all:
        if not outcome.stopped:
            typer.echo("no wasmrun server was running")
        return
    where = f" on port {port}" if port is not None else f" for {Path(path or '.').resolve()}"
    err(f"no running wasmrun server{where}")
    others = [r for r in records if r not in chosen and is_live(r)]
    if others:
        err("running: " + ", ".join(f"{r.url} ({r.project})" for r in others) + "; `wasmrun stop --all` stops them all")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    settings = {"allow_interspersed_args": True}
    app.command("run", context_settings=settings)(run_command)
    app.command("serve", context_settings=settings, hidden=True, help="The same as `wasmrun run`.")(run_command)
    app.command("dev", context_settings=settings, hidden=True, help="The same as `wasmrun run`.")(run_command)
    app.command("stop")(stop_command)
