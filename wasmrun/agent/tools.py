"""The sandbox as tools for a language model: one list of JSON schemas (served by ``GET /tools`` in
OpenAI's or Anthropic's format, and by the MCP server) and one dispatcher that runs a call.

Tool names are the Rust wasmrun's (``create_session``, ``execute_code``, ``write_file``,
``read_file``, ``list_files``, ``list_sessions``, ``destroy_session``), so prompts and clients
written for it work unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from wasmrun.agent.bodies import CreateSessionBody, WriteFileBody
from wasmrun.agent.errors import BadRequest, NotFound
from wasmrun.agent.models import ExecRequest
from wasmrun.agent.operations import Operations

_SESSION_ID = {"type": "string", "description": "The session id returned by create_session"}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


TOOLS: list[dict[str, Any]] = [
    {
        "name": "create_session",
        "description": "Create an isolated WebAssembly sandbox session with its own files, environment and "
                       "Python/JavaScript interpreter state. Returns its session_id.",
        "parameters": _schema({"limits": {
            "type": "object",
            "description": "Optional lower limits: timeout_s, fuel, memory_bytes, output_bytes, disk_bytes, "
                           "max_files, idle_timeout_s (never above the server's)",
        }}, []),
    },
    {
        "name": "execute_code",
        "description": "Run Python, JavaScript or TypeScript code in a session. Python keeps its variables "
                       "between calls like a notebook (fresh=true starts a new interpreter). The working directory "
                       "is the session's root. Returns stdout, stderr, exit_code and duration_ms.",
        "parameters": _schema({
            "session_id": _SESSION_ID,
            "language": {"type": "string", "enum": ["python", "py", "javascript", "js", "typescript", "ts"],
                         "description": "The language of source (or of the entry file)"},
            "source": {"type": "string", "description": "The code to run"},
            "files": {**_STRING_MAP, "description": "Files (path -> text) written into the session before the "
                                                    "run; use with entry"},
            "entry": {"type": "string", "description": "With files: the file to run"},
            "stdin": {"type": "string", "description": "Standard input of this run"},
            "env": {**_STRING_MAP, "description": "Environment variables of this run"},
            "args": {"type": "array", "items": {"type": "string"}, "description": "Arguments (sys.argv[1:])"},
            "timeout": {"type": "number", "description": "Seconds (at most the session's timeout)"},
            "packages": {"type": "array", "items": {"type": "string"},
                         "description": "Packages to install first: Python wheels as name or name==version; "
                                        "npm packages (JavaScript, TypeScript) as name or name@version"},
            "fresh": {"type": "boolean", "description": "Start a new interpreter instead of keeping state"},
        }, ["session_id", "language"]),
    },
    {
        "name": "write_file",
        "description": "Write a file into the session (parent directories are created). For binary content "
                       "send base64 with encoding='base64'.",
        "parameters": _schema({
            "session_id": _SESSION_ID,
            "path": {"type": "string", "description": "Path relative to the session root"},
            "content": {"type": "string", "description": "The file's text, or its bytes in base64"},
            "encoding": {"type": "string", "enum": ["utf-8", "base64"], "description": "base64 for binary"},
        }, ["session_id", "path", "content"]),
    },
    {
        "name": "read_file",
        "description": "Read a file of the session: its text, or base64 (encoding says which) when it is not "
                       "UTF-8 or encoding='base64' is asked.",
        "parameters": _schema({
            "session_id": _SESSION_ID,
            "path": {"type": "string", "description": "Path relative to the session root"},
            "encoding": {"type": "string", "enum": ["utf-8", "base64"]},
        }, ["session_id", "path"]),
    },
    {
        "name": "list_files",
        "description": "List the files and directories at a path of the session.",
        "parameters": _schema({
            "session_id": _SESSION_ID,
            "path": {"type": "string", "description": "Directory relative to the session root (default /)"},
        }, ["session_id"]),
    },
    {
        "name": "list_sessions",
        "description": "List your sandbox sessions.",
        "parameters": _schema({}, []),
    },
    {
        "name": "destroy_session",
        "description": "Destroy a session and delete its files.",
        "parameters": _schema({"session_id": _SESSION_ID}, ["session_id"]),
    },
]

TOOL_NAMES = tuple(t["name"] for t in TOOLS)


def openai_tools() -> list[dict[str, Any]]:
    return [{"type": "function", "function": dict(t)} for t in TOOLS]


def anthropic_tools() -> list[dict[str, Any]]:
    return [{"name": t["name"], "description": t["description"], "input_schema": t["parameters"]} for t in TOOLS]


def _session_id(args: dict[str, Any]) -> str:
    value = args.get("session_id")
    if not isinstance(value, str) or not value:
        raise BadRequest("session_id is required")
    return value


def _text(args: dict[str, Any], name: str, default: str | None = None) -> str:
    value = args.get(name, default)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


async def call_tool(ops: Operations, tenant: str, name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """Run one tool call as ``tenant``; errors are :class:`AgentError` (the caller reports them)."""
    args = dict(arguments or {})
    try:
        if name == "create_session":
            return ops.create_session(tenant, CreateSessionBody.model_validate(args).limits)
        if name == "list_sessions":
            return ops.list_sessions(tenant)
        if name not in TOOL_NAMES:
            raise NotFound(f"no tool named '{name}' (tools: {', '.join(TOOL_NAMES)})")
        session_id = _session_id(args)
        args.pop("session_id")
        if name == "execute_code":
            return await ops.exec(tenant, session_id, ExecRequest.model_validate({**args, "stream": False}))
        if name == "write_file":
            return ops.write_file(tenant, session_id, WriteFileBody.model_validate(args))
        if name == "read_file":
            encoding = args.get("encoding")
            return ops.read_file(tenant, session_id, _text(args, "path"),
                                 encoding if isinstance(encoding, str) else None)
        if name == "list_files":
            return ops.list_files(tenant, session_id, _text(args, "path", "/"))
        return await ops.destroy_session(tenant, session_id)
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from None


def validation_message(exc: ValidationError) -> str:
    """The first problem of a pydantic error, naming its field: ``language: Input should be ...``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"
