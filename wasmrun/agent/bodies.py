"""Request bodies of the HTTP API and the tools that :mod:`wasmrun.agent.models` does not hold
(sessions, files, env): validated by pydantic so a bad field is a 400 that names it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CreateSessionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limits: dict[str, Any] | None = Field(None, description="Limits fields, each at most the server's")


class WriteFileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096)
    content: str
    encoding: Literal["utf-8", "base64"] | None = Field(None, description="base64 for binary content")


class PathBody(BaseModel):
    """``DELETE /sessions/{id}/files`` with a JSON body instead of ``?path=``."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096)


class EnvBody(BaseModel):
    """``POST /sessions/{id}/env``: ``{"env": {...}}``; a flat ``{"NAME": "value"}`` map (the Rust
    wasmrun's body) is accepted too."""

    model_config = ConfigDict(extra="forbid")

    env: dict[str, str]

    @classmethod
    def parse(cls, data: object) -> EnvBody:
        if isinstance(data, dict) and not (set(data) == {"env"} and isinstance(data.get("env"), dict)):
            data = {"env": data}
        return cls.model_validate(data)
