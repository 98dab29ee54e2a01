"""The agent API's requests, results and limits: one definition shared by the HTTP server, the
MCP tools and the sandbox, so a field means the same everywhere.

Field names follow the Rust wasmrun's agent API where it has the same call, so its clients and
tool schemas work unchanged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wasmrun.agent.errors import BadRequest

MiB = 1024 * 1024

Language = Literal["python", "javascript", "typescript"]
LANGUAGE_ALIASES: dict[str, Language] = {
    "python": "python", "py": "python",
    "javascript": "javascript", "js": "javascript",
    "typescript": "typescript", "ts": "typescript",
}


class Limits(BaseModel):
    """Per-session limits. The server's are the ceiling; a tenant's and a request's may only lower
    them (:meth:`within` refuses anything higher)."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(30.0, gt=0, le=86_400, description="wall time of one exec")
    fuel: int = Field(20_000_000_000, gt=0, le=2**63 - 1, description="wasmtime fuel of one exec")
    memory_bytes: int = Field(512 * MiB, gt=0, description="linear memory of the interpreter")
    output_bytes: int = Field(1 * MiB, gt=0, description="stdout plus stderr kept from one exec")
    disk_bytes: int = Field(100 * MiB, gt=0, description="bytes of all the session's files")
    max_files: int = Field(10_000, gt=0, description="files and directories in the session")
    idle_timeout_s: float = Field(900.0, gt=0, description="a session unused this long expires")

    def within(self, ceiling: Limits, asked: dict[str, object] | None) -> Limits:
        """These limits lowered by ``asked`` (a client's partial limits); a value above
        ``ceiling`` is a :class:`BadRequest` naming the field and the ceiling."""
        if not asked:
            return self
        merged = Limits.model_validate({**self.model_dump(), **asked})
        for name in Limits.model_fields:
            if getattr(merged, name) > getattr(ceiling, name):
                raise BadRequest(f"limits.{name} = {getattr(merged, name)} is above the server's "
                                 f"cap of {getattr(ceiling, name)}")
        return merged


class ExecRequest(BaseModel):
    """``POST /sessions/{id}/exec``: run code in the session's interpreter."""

    model_config = ConfigDict(extra="forbid")

    language: Language
    source: str | None = None
    files: dict[str, str] | None = Field(None, description="written into the session before the run")
    entry: str | None = Field(None, description="with files: the file to run")
    stdin: str = ""
    env: dict[str, str] = Field(default_factory=dict)
    args: list[str] = Field(default_factory=list)
    timeout: float | None = Field(None, gt=0, description="seconds; at most the session's timeout_s")
    stream: bool = False
    packages: list[str] = Field(default_factory=list, description="Python: name or name==version (wheels); "
                                "JavaScript/TypeScript: name or name@version (npm)")
    fresh: bool = Field(False, description="start a new interpreter instead of keeping state")

    @field_validator("language", mode="before")
    @classmethod
    def _alias(cls, value: object) -> object:
        return LANGUAGE_ALIASES.get(value.lower(), value) if isinstance(value, str) else value


class ExecResult(BaseModel):
    """What an exec returns (also the last event of a streamed exec)."""

    stdout: str
    stderr: str
    exit_code: int
    duration_ms: float
    output_truncated: bool = False
    error: str | None = Field(None, description="why the run stopped early: timeout, fuel, memory, output, disk, "
                                                "files, crash")
    state_lost: bool = Field(False, description="the interpreter restarted: variables gone, files kept")


class SessionInfo(BaseModel):
    session_id: str
    created_at: str = Field(description="ISO 8601, UTC")
    last_used_at: str
    expires_at: str
    limits: Limits
    disk_bytes: int = 0
    file_count: int = 0


class FileEntry(BaseModel):
    path: str = Field(description="relative to the session root, with forward slashes")
    size: int
    is_dir: bool


class ServerLimits(BaseModel):
    """Server-wide caps (flags of ``wasmrun agent``)."""

    model_config = ConfigDict(extra="forbid")

    max_sessions: int = Field(100, gt=0)
    max_concurrent_execs: int = Field(8, gt=0)
    idle_memory_bytes: int = Field(2048 * MiB, gt=0, description="interpreters kept for idle sessions")
    max_request_bytes: int = Field(16 * MiB, gt=0)
    session: Limits = Field(default_factory=Limits, description="ceiling and default of every session")
