"""``wasmrun --version``: the version and every plugin, from metadata alone.

Runs before typer and pydantic are imported (see :func:`wasmrun.cli.main`), so it must use the
standard library only: it reads dist-info directories and the config file directly and imports no
plugin.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wasmrun.locations import Locations


def _entry_point_section(text: str, group: str = "wasmrun") -> list[str]:
    names: list[str] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and "=" in line:
            names.append(line.split("=", 1)[0].strip())
    return names


def environment_plugins(paths: list[str] | None = None) -> Iterator[tuple[str, str, str]]:
    """(plugin name, distribution, version) for each ``wasmrun`` entry point on ``sys.path``."""
    seen: set[str] = set()
    for entry in paths if paths is not None else sys.path:
        try:
            children = list(os.scandir(entry or "."))
        except OSError:
            continue
        for child in children:
            if not child.name.endswith(".dist-info") or child.name in seen:
                continue
            seen.add(child.name)
            try:
                text = Path(child.path, "entry_points.txt").read_text(encoding="utf-8")
            except OSError:
                continue
            if "[wasmrun]" not in text:
                continue
            dist, _, version = child.name.removesuffix(".dist-info").partition("-")
            for name in _entry_point_section(text):
                yield name, dist, version


def _config(locations: Locations) -> dict[str, object]:
    import tomllib

    try:
        return tomllib.loads(locations.config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}  # --version never fails on a bad config; every other command reports it


def _failed(locations: Locations) -> dict[str, dict[str, str]]:
    """The plugins the last command that loaded plugins found broken, by name (the record is
    written by :func:`wasmrun.plugins.save_status`; ``--version`` imports no plugin to find out)."""
    import json

    try:
        data = json.loads((locations.state_dir / "plugins.json").read_text(encoding="utf-8"))
        return {str(item["name"]): {k: str(v) for k, v in item.items()} for item in data["failed"]}
    except (OSError, ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return {}


def version_text() -> str:
    from wasmrun import __version__
    from wasmrun.locations import Locations

    locations = Locations.from_environment()
    config = _config(locations)
    failed = _failed(locations)
    plugins_table = config.get("plugins", {})
    table = plugins_table if isinstance(plugins_table, dict) else {}
    disabled_list = table.get("disabled", [])
    disabled = set(disabled_list) if isinstance(disabled_list, list) else set()
    disabled |= {p.strip() for p in os.environ.get("WASMRUN_DISABLE_PLUGINS", "").split(",") if p.strip()}
    lines = [f"wasmrun {__version__} (Python {sys.version.split()[0]})", "plugins:"]
    shown: set[str] = set()

    def line(name: str, version: str, where: str, *, builtin: bool = False) -> str:
        note = " [disabled]" if name in disabled else ""
        problem = failed.get(name)
        if problem and not builtin:
            shown.add(name)
            if problem.get("version") in ("", version):  # a newer version may well load
                note += f" [failed to load when last used: {problem.get('error', '')}]"
        return f"  {name} {version or '?'} ({where}){note}"

    from wasmrun.languages import BUILTIN_PLUGINS

    for module in BUILTIN_PLUGINS:
        lines.append(line(module.rsplit(".", 1)[-1], __version__, "built-in", builtin=True))
    installed = table.get("installed", {})
    installed_names: set[str] = set()
    for record in (installed.values() if isinstance(installed, dict) else []):
        if not isinstance(record, dict):
            continue
        for name in record.get("entry_points", []):
            installed_names.add(name)
            lines.append(line(name, record.get("version", ""), f"{record.get('distribution', '')}, installed"))
    for name, dist, version in environment_plugins():
        if name not in installed_names:
            lines.append(line(name, version, dist))
    commands = table.get("commands", {})
    for name, spec in (commands.items() if isinstance(commands, dict) else []):
        if isinstance(spec, dict):
            lines.append(line(name, spec.get("version", ""), f"command {spec.get('command', '')}"))
    for name, problem in failed.items():
        if name not in shown:  # one --version cannot list from metadata (a name clash, say)
            lines.append(f"  {name} {problem.get('version') or '?'} ({problem.get('source', '')}) "
                         f"[failed to load when last used: {problem.get('error', '')}]")
    return "\n".join(lines)
