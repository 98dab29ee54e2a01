"""A project's own settings: ``wasmrun.toml`` at its root, or ``[tool.wasmrun]`` in its
``pyproject.toml``. They set what a command line would (language, output directory, optimization,
target, toolchain, extra toolchain arguments); flags given on the command line win over them. Two
more say which Makefile target a C project runs and which of several modules a build delivers.

A malformed file is one clear error naming the file and the key. An output directory that would
leave the project is refused: a project cloned from elsewhere must not write outside itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wasmrun.errors import ConfigError
from wasmrun.models import Optimization, Target

FILE_NAME = "wasmrun.toml"


class ProjectConfig(BaseModel):
    """The settings a project may carry."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    language: str | None = None
    output_dir: str | None = Field(None, description="relative to the project; must stay inside it")
    optimization: Optimization | None = None
    target: Target | None = None
    toolchain: str | None = Field(None, alias="backend", description="'backend' is accepted as a synonym")
    extra_args: list[str] = Field(default_factory=list)
    make_target: str | None = Field(None, description="the Makefile target a C/C++ build runs (default: wasm)")
    module: str | None = Field(None, description="which of several modules a build makes is the one it delivers "
                               "(a Makefile's NAME.wasm, a CMake executable target)")
    world: str | None = Field(None, description="--target component: the world of wit/ a library exports "
                              "(needed when wit/ holds several)")
    python_modules: list[str] = Field(default_factory=list, description="whole Python: modules the program "
                                      "imports by computed name (importlib.import_module(name)), bundled too")
    source: Path | None = Field(None, exclude=True, description="the file these came from")

    def output_path(self, project_dir: Path) -> Path | None:
        """The output directory, checked to stay inside the project."""
        if not self.output_dir:
            return None
        path = (project_dir / self.output_dir).resolve()
        try:
            path.relative_to(project_dir.resolve())
        except ValueError:
            raise ConfigError(f"{self.source}: output_dir {self.output_dir!r} leaves the project directory") from None
        return path


def _read(path: Path) -> dict[str, Any]:
    from wasmrun.config import parse_toml

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_toml(raw, str(path))


def load_project_config(project_dir: Path) -> ProjectConfig:
    """The project's settings; none when it has neither file (``wasmrun.toml`` wins if both)."""
    own = project_dir / FILE_NAME
    pyproject = project_dir / "pyproject.toml"
    if own.is_file():
        data, source, prefix = _read(own), own, ""
    elif pyproject.is_file():
        tool = _read(pyproject).get("tool", {})
        table = tool.get("wasmrun") if isinstance(tool, dict) else None
        if table is None:
            return ProjectConfig()
        data, source, prefix = table, pyproject, "tool.wasmrun."
    else:
        return ProjectConfig()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: [{prefix.rstrip('.')}] must be a table")
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = prefix + ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{source}: {where}: {first['msg']}") from None
    config.source = source
    return config
