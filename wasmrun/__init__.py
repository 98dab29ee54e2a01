"""wasmrun: build a project in any language to WebAssembly and run it.

Plugin authors import :data:`hookimpl` from here to mark their hook implementations.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wasmrun.cli.fast)

__version__ = "0.1.0"

#: The version of the hook contract in :mod:`wasmrun.hookspecs`. A plugin declares the
#: version it was written for; the major number must match.
HOOK_API_VERSION = "1.2"

if TYPE_CHECKING:
    from typing import Any

    import pluggy

    #: Marks a function as a wasmrun hook implementation.
    hookimpl: pluggy.HookimplMarker


def __getattr__(name: str) -> Any:
    # pluggy is imported on first use of ``hookimpl``, not by ``wasmrun --version`` or ``--help``.
    if name == "hookimpl":
        import pluggy

        marker = pluggy.HookimplMarker("wasmrun")
        globals()["hookimpl"] = marker
        return marker
    raise AttributeError(f"module 'wasmrun' has no attribute {name!r}")


__all__ = ["HOOK_API_VERSION", "__version__", "hookimpl"]
