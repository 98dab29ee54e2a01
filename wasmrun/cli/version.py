"""``wasmrun --version``: the version and every plugin, read from metadata without importing any."""

from __future__ import annotations

import os
import sys


def version_text() -> str:
    from wasmrun import __version__
    from wasmrun.plugins import BUILTIN_PLUGINS, distribution_label, external_entry_points

    lines = [f"wasmrun {__version__} (Python {sys.version.split()[0]})", "plugins:"]
    disabled = {p.strip() for p in os.environ.get("WASMRUN_DISABLE_PLUGINS", "").split(",") if p.strip()}
    for module in BUILTIN_PLUGINS:
        name = module.rsplit(".", 1)[-1]
        lines.append(f"  {name} {__version__} (built-in){' [disabled]' if name in disabled else ''}")
    for ep in external_entry_points():
        source, version = distribution_label(ep)
        lines.append(f"  {ep.name} {version or '?'} ({source}){' [disabled]' if ep.name in disabled else ''}")
    return "\n".join(lines)
