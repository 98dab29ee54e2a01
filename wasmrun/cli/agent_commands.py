"""``wasmrun agent``: the sandbox API for AI agents (docs/agent/), or its MCP server on stdio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wasmrun.cli.output import handles_errors

AGENT_HELP = """Serve a sandbox API where AI agents run Python, JavaScript and TypeScript as WebAssembly.

Sessions keep their files and interpreter state between calls; every exec has fuel, memory, time
and output limits. Listens on 127.0.0.1:8430 (loopback only, unless --auth gives API keys);
GET /ready says when the language runtimes are ready. With --mcp, speaks MCP on stdin/stdout
instead. SIGTERM or Ctrl-C stops it, letting running execs finish within --grace seconds.
"""

EXTRA_MODULES = ("starlette", "uvicorn", "prometheus_client", "mcp", "sse_starlette")


@handles_errors
def agent_command(
    host: Annotated[str, typer.Option("--host", help="Listen on this address; anything but loopback needs --auth.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Listen on this port (0: any free one).")] = 8430,
    auth: Annotated[Path | None, typer.Option("--auth", help="TOML file of tenants and their key hashes (docs/agent/index.md).", show_default=False)] = None,
    max_sessions: Annotated[int, typer.Option("--max-sessions", min=1, help="Sessions alive at once, all tenants.")] = 100,
    max_concurrent_execs: Annotated[int, typer.Option("--max-concurrent-execs", min=1, help="Execs running at once; more are refused with 429.")] = 8,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Worker processes that run execs.", show_default="the number of CPUs")] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="Where sessions keep their files.", show_default="wasmrun's data directory")] = None,
    grace: Annotated[float, typer.Option("--grace", min=0, help="Seconds running execs may take to finish at shutdown.")] = 10.0,
    allow_host: Annotated[list[str] | None, typer.Option("--allow-host", help="Also answer requests whose Host header is NAME[:PORT] (a name a proxy or load balancer uses; repeatable).", show_default=False)] = None,
    mcp: Annotated[bool, typer.Option("--mcp", help="Speak MCP on stdin/stdout instead of serving HTTP.")] = False,
    hash_key: Annotated[str | None, typer.Option("--hash-key", help="Print the SHA-256 of KEY (the auth file's key_sha256) and exit.", metavar="KEY", show_default=False)] = None,
) -> None:
    import sys

    if hash_key is not None:
        import hashlib

        typer.echo(hashlib.sha256(hash_key.encode("utf-8")).hexdigest())
        return
    _require_extra()
    from wasmrun.agent.models import ServerLimits
    from wasmrun.agent.serve import AgentOptions, serve, serve_mcp_stdio

    options = AgentOptions(
        state_dir=state_dir if state_dir is not None else _default_state_dir(),
        host=host, port=port, auth_file=auth, workers=workers, grace_s=grace, allow_hosts=list(allow_host or []),
        limits=ServerLimits(max_sessions=max_sessions, max_concurrent_execs=max_concurrent_execs),
    )
    code = serve_mcp_stdio(options) if mcp else serve(options, lambda line: print(line, flush=True))
    sys.stdout.flush()
    raise typer.Exit(code)


def _require_extra() -> None:
    import importlib.util

    from wasmrun.errors import UsageError

    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"agent mode needs the agent extra ({', '.join(missing)} not installed): "
                         "pip install 'wasmrun[agent]'")


def _default_state_dir() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().state_dir / "agent"


agent_command.__doc__ = AGENT_HELP


def register(app: typer.Typer) -> None:
    app.command("agent")(agent_command)
