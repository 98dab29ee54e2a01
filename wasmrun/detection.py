"""Which plugin a project is for: every plugin's claim, the best one, and, when none claims it,
the known plugin package (:mod:`wasmrun.known_plugins`) it looks like it needs.

A claim may also name the target that suits the project (hook API 1.1, ``Claim.target``):
:func:`choose` returns the claim with the plugin so that the build can take it as its default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wasmrun.errors import NoPluginError, WasmrunError
from wasmrun.models import Claim, Target
from wasmrun.plugins import Plugins


@dataclass
class Detection:
    """Which plugin claims a project, who else could have, and (when none does) which known
    plugin that is not loaded would have."""

    project_dir: Path
    claims: list[tuple[str, Claim]]
    missing: MissingPlugin | None = None

    @property
    def chosen(self) -> str | None:
        return self.claims[0][0] if self.claims else None

    @property
    def target(self) -> Target | None:
        """The target the chosen plugin says suits the project (None: it says nothing, so wasm)."""
        return self.claims[0][1].target if self.claims else None

    def as_dict(self) -> dict[str, object]:
        chosen = self.claims[0][1] if self.claims else None
        return {
            "project": str(self.project_dir),
            "plugin": self.chosen,
            "target": None if chosen is None else (chosen.target or Target.WASM).value,
            "target_reason": None if chosen is None else chosen.target_reason,
            "candidates": [
                {"plugin": name, "evidence": claim.evidence, "fallback": claim.fallback, "note": claim.note,
                 "target": claim.target.value if claim.target else None, "target_reason": claim.target_reason}
                for name, claim in self.claims
            ],
            "missing_plugin": None if self.missing is None else self.missing.as_dict(),
        }


@dataclass
class MissingPlugin:
    """A project that looks like a known plugin's language, whose plugin is not loaded."""

    plugin: str
    package: str
    evidence: list[str]
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"plugin": self.plugin, "package": self.package, "evidence": self.evidence, "message": self.message}


def missing_plugin(project_dir: Path, plugins: Plugins) -> MissingPlugin | None:
    """The known plugin (:mod:`wasmrun.known_plugins`) the project looks like, when it is not
    loaded: not installed, disabled, or broken; with the one line that says what to do."""
    from wasmrun import known_plugins

    found = known_plugins.looks_like(project_dir)
    if found is None:
        return None
    known, evidence = found
    record = plugins.records.get(known.name)
    if record is not None and record.loaded and record.enabled:
        return None  # it is there and declined the project
    if record is not None and record.error:
        why = f"the {known.name} plugin ({known.package}) failed to load: {record.error}"
    else:
        why = known_plugins.missing_plugin_message(known, installed=record is not None)
    message = f"{project_dir} looks like a {known.language} project ({', '.join(evidence)}); {why}"
    return MissingPlugin(known.name, known.package, evidence, message)


def detect(project_dir: Path, plugins: Plugins) -> Detection:
    claims = plugins.claims(project_dir)
    return Detection(project_dir, claims, None if claims else missing_plugin(project_dir, plugins))


def choose_plugin(project_dir: Path, plugins: Plugins, language: str | None = None) -> str:
    """``language`` when given (by name, always); else the best claim on the project."""
    return choose(project_dir, plugins, language)[0]


def choose(project_dir: Path, plugins: Plugins, language: str | None = None) -> tuple[str, Claim | None]:
    """The plugin for the project, and its claim (which may say which target suits the project):
    ``language`` when given (by name, always; its claim may be None), else the best claim."""
    if language:
        name = plugins.get(language).name
        try:  # asked only for the target it may name: a failing claim does not stop the build
            return name, plugins.claim(name, project_dir)
        except WasmrunError as exc:
            plugins.warn_once(f"{exc.message}; the default target is taken to be wasm")
            return name, None
    detection = detect(project_dir, plugins)
    if detection.chosen is None:
        if detection.missing is not None:
            raise NoPluginError(detection.missing.message)
        known = sorted({ext for record in plugins.loaded() for ext in plugins.info(record.name).extensions})
        raise NoPluginError(
            f"no language plugin claims {project_dir}"
            + (f" (looked for {', '.join(known)} sources and project files)" if known else ""))
    return detection.chosen, detection.claims[0][1]
