"""``wasmrun plugin health``: is each plugin usable right now, and if not, why."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from wasmrun.errors import WasmrunError
from wasmrun.models import Target, unusable_tools
from wasmrun.plugins import PluginRecord, Plugins

HEALTHY = "Healthy"
MISSING_DEPENDENCIES = "MissingDependencies"
NOT_FOUND = "NotFound"
LOAD_ERROR = "LoadError"
DISABLED = "Disabled"
BROKEN = "Broken"  # loads, but raises (or answers nonsense) when asked


@dataclass
class Health:
    name: str
    status: str
    detail: str = ""
    missing: list[str] = field(default_factory=list)
    #: Quality problems of a plugin that loads (:mod:`wasmrun.plugin_contract`); they do not make
    #: it unhealthy.
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "missing": self.missing,
                "warnings": self.warnings}


def check(plugins: Plugins, name: str, installed_paths: dict[str, str] | None = None) -> Health:
    """One plugin's health. ``installed_paths`` maps plugin names recorded by ``plugin install``
    to their directories, so a plugin whose files were deleted shows as NotFound."""
    path = (installed_paths or {}).get(name)
    if path is not None and not Path(path).is_dir():
        return Health(name, NOT_FOUND, f"its directory {path} is gone (reinstall it)")
    record = plugins.records.get(name)
    if record is None:
        return Health(name, NOT_FOUND, "no such plugin")
    return _check_record(plugins, record)


def _check_record(plugins: Plugins, record: PluginRecord) -> Health:
    name = record.name
    if record.error:
        return Health(name, LOAD_ERROR, record.error)
    if not record.enabled:
        return Health(name, DISABLED, f"enable it with: wasmrun plugin enable {name}")
    try:
        _exercise_claim(plugins, name)
        tools = plugins.call(name, "check_dependencies", target=Target.WASM, probe=False) or []
    except WasmrunError as exc:
        return Health(name, BROKEN, exc.message)
    missing = unusable_tools(tools)
    if missing:
        hints = "; ".join(f"{t.name}: {t.install_hint}" for t in missing if t.install_hint)
        return Health(name, MISSING_DEPENDENCIES, hints, [t.name for t in missing], warnings=record.warnings)
    return Health(name, HEALTHY, warnings=record.warnings)


def _exercise_claim(plugins: Plugins, name: str) -> None:
    """Ask the plugin's claim about an empty project and about one holding a file of each kind
    it says it builds: a claim that raises would make the plugin useless (and be skipped)."""
    info = plugins.info(name)
    with tempfile.TemporaryDirectory(prefix="wasmrun-health-") as root:
        empty = Path(root, "empty")
        empty.mkdir()
        plugins.claim(name, empty)
        sample = Path(root, "sample")
        sample.mkdir()
        files = [f"main{ext}" for ext in info.extensions if _plain(ext)]
        files += [entry for entry in info.entry_files if _plain(entry)]
        for file in files:
            with contextlib.suppress(OSError):
                (sample / file).write_text("")
        plugins.claim(name, sample)


def _plain(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in {".", ".."}


def check_all(plugins: Plugins, installed_paths: dict[str, str] | None = None) -> list[Health]:
    """Every plugin's health, those that lost their name to another (:attr:`Plugins.shadowed`)
    included."""
    reports = [check(plugins, name, installed_paths) for name in plugins.records]
    reports += [_check_record(plugins, record) for record in plugins.shadowed]
    reports += [check(plugins, name, installed_paths) for name in (installed_paths or {})
                if name not in plugins.records]
    return reports
