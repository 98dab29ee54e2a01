"""Agent mode: a sandbox API where AI agents run Python, JavaScript and TypeScript as WebAssembly.

``wasmrun agent`` serves it over HTTP (and MCP). The pieces, one responsibility each:

- :mod:`wasmrun.agent.models`: requests, results and limits (pydantic), shared by every layer.
- :mod:`wasmrun.agent.errors`: the errors a client can cause, each with its HTTP status and code.
- :mod:`wasmrun.agent.sandbox`: sessions, their files and execs (no HTTP), driven by the server.
- :mod:`wasmrun.agent.server`: the HTTP API, auth, rate limits and metrics over the sandbox.

Nothing here is imported by the rest of wasmrun: the ``agent`` extra brings its dependencies.
"""
