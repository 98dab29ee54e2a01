"""The sandbox's tools over MCP (the ``mcp`` package's low-level server, so the tools' schemas are
the very ones ``GET /tools`` serves): on stdio (``wasmrun agent --mcp``, tenant ``local``) and as
streamable HTTP at ``/mcp`` of the API server, behind its guard and auth (the tenant is the one
the request's key names).

A tool's result is its JSON as text (and as structured content); a refusal is an error result whose
text is ``{"error", "code"}``, the HTTP API's error body.
"""

from __future__ import annotations

import json
from typing import Any

from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager

from wasmrun.agent.auth import LOCAL_TENANT
from wasmrun.agent.errors import AgentError
from wasmrun.agent.operations import Operations
from wasmrun.agent.tools import TOOLS, call_tool

INSTRUCTIONS = ("A WebAssembly sandbox: create_session, then execute_code (Python keeps its variables between "
                "calls), write_file/read_file/list_files for the session's files, destroy_session when done.")


def _tenant_of(ctx: ServerRequestContext[Any]) -> str:
    """The tenant the HTTP request was authenticated as (the API's Access middleware put it in the
    scope); on stdio there is no request and the caller is the local user."""
    request = getattr(ctx, "request", None)
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        tenant = scope.get("state", {}).get("tenant")
        if isinstance(tenant, str):
            return tenant
        raise AgentError("the MCP request carries no tenant")  # never: Access runs before /mcp
    return LOCAL_TENANT


def build_server(ops: Operations) -> Server[Any]:
    from wasmrun import __version__

    async def list_tools(ctx: ServerRequestContext[Any],
                         params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[
            types.Tool(name=t["name"], description=t["description"], input_schema=t["parameters"]) for t in TOOLS
        ])

    async def call(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            result = await call_tool(ops, _tenant_of(ctx), params.name, params.arguments)
        except AgentError as exc:
            return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(exc.body()))],
                                        is_error=True)
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(result))],
                                    structured_content=result)

    return Server("wasmrun-agent", version=__version__, instructions=INSTRUCTIONS,
                  on_list_tools=list_tools, on_call_tool=call)


def http_endpoint(ops: Operations, max_body_bytes: int) -> tuple[StreamableHTTPSessionManager, StreamableHTTPASGIApp]:
    """The session manager (its ``run()`` must span the server's life) and the ASGI endpoint for
    ``/mcp``. Stateless: every request stands alone, so instances behind a load balancer need no
    affinity for MCP; JSON responses, no server-initiated streams. Host and Origin are checked by
    the API's guard, so the package's own DNS-rebinding check is left off."""
    from mcp.server.transport_security import TransportSecuritySettings

    manager = StreamableHTTPSessionManager(
        app=build_server(ops), stateless=True, json_response=True,
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=max_body_bytes,
    )
    return manager, StreamableHTTPASGIApp(manager)


async def serve_stdio(ops: Operations) -> None:
    """MCP over this process's stdin and stdout (nothing else may write to stdout)."""
    from mcp.server.stdio import stdio_server

    server = build_server(ops)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
