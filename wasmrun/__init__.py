"""wasmrun: build a project in any language to WebAssembly and run it.

Plugin authors import :data:`hookimpl` from here to mark their hook implementations.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: The version of the hook contract in :mod:`wasmrun.hookspecs`. A plugin declares the
#: version it was written for; the major number must match.
HOOK_API_VERSION = "1.0"

#: Marks a function as a wasmrun hook implementation.
hookimpl = pluggy.HookimplMarker("wasmrun")

__all__ = ["HOOK_API_VERSION", "__version__", "hookimpl"]
