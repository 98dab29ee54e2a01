"""Agent mode: a sandbox API where AI agents run Python, JavaScript and TypeScript as WebAssembly.

``wasmrun agent`` serves it over HTTP (and MCP). The pieces, one responsibility each:

- :mod:`wasmrun.agent.models`: requests, results and limits (pydantic), shared by every layer.
- :mod:`wasmrun.agent.errors`: the errors a client can cause, each with its HTTP status and code.
- :mod:`wasmrun.agent.sandbox`: sessions, their files and execs (no HTTP), driven by the server.
- :mod:`wasmrun.agent.server`: the HTTP API (Starlette) over the sandbox, through
  :mod:`~wasmrun.agent.operations` (what each call does, shared with the tools).
- The edge, one module each: :mod:`~wasmrun.agent.guard` (Host, Origin, content type, body cap),
  :mod:`~wasmrun.agent.access` (keys, tenant rates), :mod:`~wasmrun.agent.auth` (the auth file),
  :mod:`~wasmrun.agent.ratelimit` (token buckets), :mod:`~wasmrun.agent.metrics` (Prometheus),
  :mod:`~wasmrun.agent.connections` (header deadline).
- :mod:`wasmrun.agent.tools` and :mod:`wasmrun.agent.mcp_server`: the tool schemas, and MCP.
- :mod:`wasmrun.agent.serve`: running it all on uvicorn (or MCP on stdio) for ``wasmrun agent``.

Nothing here is imported by the rest of wasmrun: the ``agent`` extra brings its dependencies.
"""
