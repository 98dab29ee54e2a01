"""``wasmrun plugin health``: is each plugin usable right now, and if not, why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wasmrun.errors import WasmrunError
from wasmrun.models import Target
from wasmrun.plugins import Plugins

HEALTHY = "Healthy"
MISSING_DEPENDENCIES = "MissingDependencies"
NOT_FOUND = "NotFound"
LOAD_ERROR = "LoadError"
DISABLED = "Disabled"


@dataclass
class Health:
    name: str
    status: str
    detail: str = ""
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "missing": self.missing}


def check(plugins: Plugins, name: str, installed_paths: dict[str, str] | None = None) -> Health:
    """One plugin's health. ``installed_paths`` maps plugin names recorded by ``plugin install``
    to their directories, so a plugin whose files were deleted shows as NotFound."""
    path = (installed_paths or {}).get(name)
    if path is not None and not Path(path).is_dir():
        return Health(name, NOT_FOUND, f"its directory {path} is gone (reinstall it)")
    record = plugins.records.get(name)
    if record is None:
        return Health(name, NOT_FOUND, "no such plugin")
    if record.error:
        return Health(name, LOAD_ERROR, record.error)
    if not record.enabled:
        return Health(name, DISABLED, f"enable it with: wasmrun plugin enable {name}")
    try:
        tools = plugins.call(name, "check_dependencies", target=Target.WASM, probe=False) or []
    except WasmrunError as exc:
        return Health(name, LOAD_ERROR, exc.message)
    missing = [t for t in tools if not t.optional and not t.usable]
    alternatives = [t for t in tools if t.optional]
    if alternatives and not any(t.usable for t in alternatives):
        missing += alternatives
    if missing:
        hints = "; ".join(f"{t.name}: {t.install_hint}" for t in missing if t.install_hint)
        return Health(name, MISSING_DEPENDENCIES, hints, [t.name for t in missing])
    return Health(name, HEALTHY)


def check_all(plugins: Plugins, installed_paths: dict[str, str] | None = None) -> list[Health]:
    names = list(plugins.records)
    names += [n for n in (installed_paths or {}) if n not in names]
    return [check(plugins, name, installed_paths) for name in names]
