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


def _table(value: object) -> dict[str, object]:
    """``value`` when it is a table, else an empty one: --version reads what it can."""
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _failed(locations: Locations) -> dict[str, dict[str, str]]:
    """The plugins the last command that loaded plugins found broken, by name (the record is
    written by :func:`wasmrun.plugins.save_status`; ``--version`` imports no plugin to find out)."""
    import json

    try:
        data = json.loads((locations.state_dir / "plugins.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    items = _table(data).get("failed")
    failed: dict[str, dict[str, str]] = {}
    for item in items if isinstance(items, list) else []:
        entry = {key: _text(value) for key, value in _table(item).items()}
        if entry.get("name") and entry.get("error"):
            failed[entry["name"]] = entry
    return failed


def version_text() -> str:
    """What ``--version`` prints. Whatever the config file or the failure record hold, it never
    fails: every other command reports a bad config."""
    from wasmrun import __version__
    from wasmrun.locations import Locations

    locations = Locations.from_environment()
    table = _table(_config(locations).get("plugins"))
    failed = _failed(locations)
    disabled = set(_strings(table.get("disabled")))
    disabled |= {p.strip() for p in os.environ.get("WASMRUN_DISABLE_PLUGINS", "").split(",") if p.strip()}
    lines = [f"wasmrun {__version__} (Python {sys.version.split()[0]})", "plugins:"]
    shown: set[str] = set()

    def line(name: str, version: str, where: str, *, builtin: bool = False) -> str:
        note = " [disabled]" if name in disabled else ""
        problem = failed.get(name)
        if problem and not builtin:
            shown.add(name)
            if problem.get("version", "") in ("", version):  # a newer version may well load
                note += f" [failed to load when last used: {problem['error']}]"
        return f"  {name} {version or '?'} ({where}){note}"

    from wasmrun.languages import BUILTIN_PLUGINS

    for module in BUILTIN_PLUGINS:
        lines.append(line(module.rsplit(".", 1)[-1], __version__, "built-in", builtin=True))
    installed_names: set[str] = set()
    for record in map(_table, _table(table.get("installed")).values()):
        for name in _strings(record.get("entry_points")):
            installed_names.add(name)
            lines.append(line(name, _text(record.get("version")), f"{_text(record.get('distribution'))}, installed"))
    for name, dist, version in environment_plugins():
        if name not in installed_names:
            lines.append(line(name, version, dist))
    for name, spec in _table(table.get("commands")).items():
        if isinstance(spec, dict):
            lines.append(line(name, _text(spec.get("version")), f"command {_text(spec.get('command'))}"))
    for name, problem in failed.items():
        if name not in shown:  # one --version cannot list from metadata (a name clash, say)
            lines.append(f"  {name} {problem.get('version') or '?'} ({problem.get('source', '')}) "
                         f"[failed to load when last used: {problem['error']}]")
    return "\n".join(lines)
