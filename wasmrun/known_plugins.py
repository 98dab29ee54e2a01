"""Language plugins wasmrun knows of but does not ship: their packages and the files that mark
their projects, so that a project (or ``init LANG``) for a plugin that is not installed, or is
disabled, gets told which package to install and how, instead of "no plugin claims it".

The one home of that table. Standard library only: it is read after a claim failed, and by
``init``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple


class KnownPlugin(NamedTuple):
    """A plugin package wasmrun can point to."""

    name: str  # the plugin's name (``--language``)
    package: str  # the distribution ``wasmrun plugin install`` takes
    language: str  # as a person says it
    aliases: tuple[str, ...]  # other names a user may type
    markers: tuple[str, ...]  # files at a project's root that show the language
    extensions: tuple[str, ...]  # sources at a project's root (or in src/) that show it


KNOWN_PLUGINS: tuple[KnownPlugin, ...] = (
    KnownPlugin("rust", "wasmrun-rust", "Rust", ("rs",), ("Cargo.toml",), (".rs",)),
    KnownPlugin("go", "wasmrun-go", "Go", ("golang", "tinygo"), ("go.mod",), (".go",)),
    KnownPlugin("zig", "wasmrun-zig", "Zig", (), ("build.zig", "build.zig.zon"), (".zig",)),
)


def by_name(name: str) -> KnownPlugin | None:
    """The known plugin called ``name`` (or with that alias)."""
    return next((known for known in KNOWN_PLUGINS if name == known.name or name in known.aliases), None)


def looks_like(project_dir: Path) -> tuple[KnownPlugin, list[str]] | None:
    """The known plugin whose project ``project_dir`` looks like, with the files that show it:
    a marker file at the root first, else sources at the root or in ``src/``."""
    for known in KNOWN_PLUGINS:
        found = [marker for marker in known.markers if (project_dir / marker).is_file()]
        if found:
            return known, found
    for known in KNOWN_PLUGINS:
        for directory in (project_dir, project_dir / "src"):
            try:
                sources = sorted(p.name for p in directory.iterdir() if p.suffix in known.extensions and p.is_file())
            except OSError:
                continue
            if sources:
                prefix = "" if directory == project_dir else "src/"
                return known, [prefix + name for name in sources[:3]]
    return None


def checkout_path(known: KnownPlugin) -> Path | None:
    """The plugin's directory in the wasmrun checkout this wasmrun runs from, if it does."""
    candidate = Path(__file__).resolve().parents[1] / "plugins" / known.package
    return candidate if (candidate / "pyproject.toml").is_file() else None


def how_to_install(known: KnownPlugin) -> str:
    """How to get the plugin: from a package index, or from a checkout of wasmrun."""
    checkout = checkout_path(known)
    local = str(checkout) if checkout is not None else f"PATH/TO/wasmrun/plugins/{known.package}"
    return (f"install it with `wasmrun plugin install {known.package}` (from a package index) "
            f"or `wasmrun plugin install {local}` (from a wasmrun checkout)")


def missing_plugin_message(known: KnownPlugin, *, installed: bool, environ: Mapping[str, str] | None = None) -> str:
    """What to say when the plugin for a project (or ``init``) is not loaded: how to install it,
    or, when it is installed, what keeps it off (the config file or the environment)."""
    if not installed:
        return f"the {known.name} plugin is not installed: {how_to_install(known)}"
    env = os.environ if environ is None else environ
    allowed = env.get("WASMRUN_LOAD_PLUGINS")
    if allowed is not None and known.name not in {n.strip() for n in allowed.split(",")}:
        return f"the {known.name} plugin ({known.package}) is installed but WASMRUN_LOAD_PLUGINS leaves it out"
    if known.name in {n.strip() for n in env.get("WASMRUN_DISABLE_PLUGINS", "").split(",")}:
        return f"the {known.name} plugin ({known.package}) is installed but WASMRUN_DISABLE_PLUGINS turns it off"
    return (f"the {known.name} plugin ({known.package}) is disabled: "
            f"enable it with `wasmrun plugin enable {known.name}`")
