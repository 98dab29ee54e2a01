"""The one config file, ``config.toml`` in the config directory, and its schema.

A file that cannot be parsed or does not match the schema is a :class:`ConfigError` naming the
file and the offending key; it is never silently ignored or rewritten.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wasmrun.errors import ConfigError
from wasmrun.locations import Locations


class PluginsConfig(BaseModel):
    """The ``[plugins]`` table."""

    model_config = ConfigDict(extra="forbid")

    disabled: list[str] = Field(default_factory=list, description="plugins not to load, built-ins too")


class Config(BaseModel):
    """The whole config file."""

    model_config = ConfigDict(extra="forbid")

    plugins: PluginsConfig = Field(default_factory=PluginsConfig)


def load_config(locations: Locations | None = None) -> Config:
    """Read the config file; a missing file is the default config."""
    path = (locations or Locations.from_environment()).config_file
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"config file {path}: {where}: {first['msg']}") from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Write nested tables of scalars and lists: all the config file holds."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines = [f"{key} = {_toml_value(value)}" for key, value in scalars.items()]
    out = ""
    if prefix and (lines or not tables):
        out += f"[{prefix}]\n"
    if lines:
        out += "\n".join(lines) + "\n\n"
    for key, table in tables.items():
        out += dump_toml(table, f"{prefix}.{key}" if prefix else key)
    return out


def save_config(config: Config, locations: Locations | None = None) -> Path:
    """Write the config atomically: a crash mid-write leaves the old file intact."""
    path = (locations or Locations.from_environment()).config_file
    write_atomic(path, dump_toml(config.model_dump(mode="json")))
    return path


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` via a temporary file in the same directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
