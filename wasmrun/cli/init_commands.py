"""``init``: write a language plugin's starter project into a directory.

Every language plugin offers its templates through the ``project_template(flavour)`` hook: a
command printing hello, or a library of exports. ``init`` writes one into the target directory
and never overwrites: when any file of the template is already there, nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated

import typer

from wasmrun.cli.output import handles_errors, print_json

if TYPE_CHECKING:
    from wasmrun.plugins import Plugins

FLAVOURS = ("command", "library")


@dataclass
class InitResult:
    """What ``init`` wrote: the plugin, the flavour, the directory and its new files."""

    plugin: str
    flavour: str
    directory: Path
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"plugin": self.plugin, "flavour": self.flavour, "directory": str(self.directory),
                "files": self.files}


def _safe_relative(plugin: str, rel: object) -> PurePosixPath:
    """A template path, checked: relative, no ``..``, not empty; a plugin's bad path is its bug."""
    from wasmrun.errors import PluginError

    if not isinstance(rel, str) or not rel.strip():
        raise PluginError(f"plugin '{plugin}' gave a template path that is not a file name: {rel!r}")
    path = PurePosixPath(rel.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or rel.startswith(("/", "~")) or ":" in path.parts[0]:
        raise PluginError(f"plugin '{plugin}' gave a template path outside the project: {rel}")
    return path


def init_project(plugins: Plugins, language: str, directory: Path, flavour: str = "command") -> InitResult:
    """Write ``language``'s ``flavour`` template into ``directory`` (created when missing).

    Refuses, writing nothing, when any template file already exists, when a template path would
    land outside ``directory`` (also through a symlink already there), or when the plugin offers
    no such template.
    """
    from wasmrun.errors import PluginError, UsageError

    if flavour not in FLAVOURS:
        raise UsageError(f"--flavour must be one of {', '.join(FLAVOURS)}, not '{flavour}'")
    name = plugins.get(language).name
    template = plugins.call(name, "project_template", flavour=flavour)
    if template is None:
        offered = [f for f in FLAVOURS if f != flavour and plugins.call(name, "project_template", flavour=f)]
        raise UsageError(f"plugin '{name}' offers no {flavour} template"
                         + (f" (try --flavour {offered[0]})" if offered else ""))
    if not isinstance(template, dict) or not template:
        raise PluginError(f"plugin '{name}' returned {type(template).__name__} from project_template, "
                          "not a {path: text} dict")
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a directory")
    root = directory.resolve()
    planned: list[tuple[str, Path, str]] = []
    for rel, text in template.items():
        safe = _safe_relative(name, rel)
        if not isinstance(text, str):
            raise PluginError(f"plugin '{name}' gave {type(text).__name__} for template file {rel}, not text")
        target = root.joinpath(*safe.parts)
        try:
            target.resolve().relative_to(root)  # a symlinked directory inside must not lead out
        except ValueError:
            raise UsageError(f"{directory / safe} leads outside {directory} (through a symlink); "
                             "nothing was written") from None
        planned.append((safe.as_posix(), target, text))
    existing = [rel for rel, target, _ in planned if target.exists() or target.is_symlink()]
    if existing:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise UsageError(f"{directory} already has {shown}: nothing was written "
                         "(init never overwrites; choose an empty directory)")
    written: list[str] = []
    for rel, target, text in planned:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8", newline="") as handle:  # "x": never replace a file
            handle.write(text)
        written.append(rel)
    return InitResult(name, flavour, directory, written)


def next_steps(result: InitResult, shown_path: str) -> list[str]:
    """The commands to run next, for the text output."""
    import shlex

    path = shlex.quote(shown_path)
    steps: list[str] = []
    if "package.json" in result.files:
        steps.append(f"(cd {path} && npm install)")
    if result.flavour == "command":
        steps.append(f"wasmrun exec {path}")
    else:
        steps.append(f"wasmrun compile {path}")
        steps.append("wasmrun exec --invoke NAME MODULE.wasm ARGS...  (call one of its exports)")
    return steps


@handles_errors
def init_command(
    first: Annotated[str | None, typer.Argument(
        metavar="LANG", show_default=False,
        help="The language plugin, by name (or give it with --language; then this is PATH).")] = None,
    second: Annotated[str | None, typer.Argument(
        metavar="PATH", show_default=False, help="The project directory [default: the current one].")] = None,
    language: Annotated[str | None, typer.Option("--language", "-l", help="The language plugin, by name.")] = None,
    flavour: Annotated[str, typer.Option("--flavour", "--flavor", help="command (prints hello) or library (exports only).")] = "command",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Start a project from a language's template: `wasmrun init zig hello` or `wasmrun init hello -l zig`."""
    from wasmrun.building import default_plugins
    from wasmrun.errors import UsageError

    positional = [arg for arg in (first, second) if arg is not None]
    if language is None:
        if not positional:
            raise UsageError("which language? wasmrun init LANG [PATH] (see wasmrun plugin list)")
        language = positional.pop(0)
    if len(positional) > 1:
        raise UsageError(f"too many arguments: {' '.join(positional)} (wasmrun init [PATH] --language LANG)")
    shown = positional[0] if positional else "."
    result = init_project(default_plugins(), language, Path(shown).expanduser(), flavour)
    if as_json:
        print_json(result.as_dict())
        return
    typer.echo(f"created {shown} from the {result.plugin} {result.flavour} template:")
    for rel in result.files:
        typer.echo(f"  {rel}")
    typer.echo("next:")
    for step in next_steps(result, shown):
        typer.echo(f"  {step}")


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
