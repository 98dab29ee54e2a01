"""The one config file, ``config.toml`` in the config directory, and its schema.

A file that cannot be parsed or does not match the schema is a :class:`ConfigError` naming the
file and the offending line or key; it is never silently ignored, reset or rewritten. Files of an
older schema version are migrated forward in memory and written back only when wasmrun next saves
the config; a file from a newer wasmrun is refused rather than downgraded.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wasmrun.atomic import atomic_write
from wasmrun.errors import ConfigError, WasmrunError
from wasmrun.locations import Locations

#: The one atomic write (:mod:`wasmrun.atomic`), under the name this module always gave it.
write_atomic = atomic_write

#: The config file's schema version; :data:`MIGRATIONS` brings older files up to it.
SCHEMA_VERSION = 2


class InstalledPlugin(BaseModel):
    """A plugin distribution installed by ``wasmrun plugin install`` into its own directory."""

    model_config = ConfigDict(extra="forbid")

    distribution: str
    version: str
    source: str = Field(description="what was asked for: NAME[==VERSION], a path, or git+URL")
    installed_at: str
    path: str = Field(description="the directory holding the plugin and its own dependencies")
    entry_points: list[str] = Field(default_factory=list, description="plugin names it provides")


class CommandPluginConfig(BaseModel):
    """A plugin that is an executable speaking the command protocol (docs/plugins/command.md)."""

    model_config = ConfigDict(extra="forbid")

    command: str = Field(description="absolute path of the executable")
    version: str = "0"
    description: str = ""
    extensions: list[str] = Field(default_factory=list)
    entry_files: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    capabilities: list[str] = Field(default_factory=lambda: ["wasm"])
    subcommands: list[str] = Field(default_factory=lambda: ["compile"],
                                   description="which of compile, can-handle, check-deps, clean it offers")
    installed_at: str = ""


class PluginsConfig(BaseModel):
    """The ``[plugins]`` table."""

    model_config = ConfigDict(extra="forbid")

    disabled: list[str] = Field(default_factory=list, description="plugins not to load, built-ins too")
    installed: dict[str, InstalledPlugin] = Field(default_factory=dict, description="by distribution name")
    commands: dict[str, CommandPluginConfig] = Field(default_factory=dict, description="by plugin name")


class Config(BaseModel):
    """The whole config file."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (no ``schema_version``) had only ``[plugins] disabled``: nothing to move."""
    return {**data, "schema_version": 2}


#: from-version -> function returning the data at the next version.
MIGRATIONS: dict[int, Any] = {1: _from_v1}


def migrate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Bring ``data`` forward to :data:`SCHEMA_VERSION`, step by step."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"config file {path}: schema_version must be a positive integer")
    if version > SCHEMA_VERSION:
        raise ConfigError(f"config file {path} has schema version {version}, newer than this wasmrun "
                          f"understands ({SCHEMA_VERSION}); upgrade wasmrun")
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    return data


def load_config(locations: Locations | None = None) -> Config:
    """Read the config file; a missing file is the default config."""
    path = (locations or Locations.from_environment()).config_file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    return parse_config(raw, path)


def parse_toml(raw: bytes, label: str, error: type[WasmrunError] = ConfigError) -> dict[str, Any]:
    """The TOML document in ``raw``; whatever is wrong with it (not UTF-8, not TOML, nested past
    what a parser can follow) is one ``error`` line starting with ``label`` (the file, named).
    Every TOML file wasmrun reads goes through here."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise error(f"{label} is not UTF-8 text (byte {exc.start}, line {line})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = str(exc).replace("(at end of document)", f"(at the end of the file, line {text.count(chr(10)) + 1})")
        raise error(f"{label} is not valid TOML: {where}") from None
    except RecursionError:
        raise error(f"{label} is nested too deeply to be read") from None


def parse_config(raw: bytes, path: Path) -> Config:
    """The config in ``raw``, the bytes of the file at ``path`` (which every error names)."""
    data = migrate(parse_toml(raw, f"config file {path}"), path)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        if len(where) > 200:
            where = where[:200] + "..."
        raise ConfigError(f"config file {path}: {where}: {first['msg']}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is nested too deeply to be read") from None


def dump_toml(data: dict[str, Any]) -> str:
    """``data`` as TOML, by tomli-w: every key quoted where it must be, every string escaped."""
    import tomli_w

    return tomli_w.dumps(data)


def save_config(config: Config, locations: Locations | None = None) -> Path:
    """Write the config atomically: a crash mid-write leaves the old file intact. What would not
    read back as the same config is refused before anything is written."""
    path = (locations or Locations.from_environment()).config_file
    data = config.model_dump(mode="json")
    text = dump_toml(data)
    if tomllib.loads(text) != data:  # pragma: no cover - tomli-w's promise, checked all the same
        raise ConfigError(f"refusing to write config file {path}: it would not read back as written")
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise _write_error(path, exc) from None
    return path


def update_config(change: Any, locations: Locations | None = None) -> Config:
    """Read, change and write the config under the config lock, so two processes do not lose
    each other's changes. ``change`` mutates the :class:`Config` it is given. A config that
    cannot be written (a read-only directory, a full disk) is a :class:`ConfigError`, and the
    file is left as it was."""
    from wasmrun.locking import file_lock

    where = locations or Locations.from_environment()
    load_config(where)  # a broken file is named before anything is created
    try:
        with file_lock(where.config_dir / ".config.lock"):
            config = load_config(where)
            change(config)
            save_config(config, where)
    except OSError as exc:
        raise _write_error(where.config_file, exc) from None
    return config


def _write_error(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(f"cannot write config file {path}: {exc.strerror or exc} (the file is unchanged)")
