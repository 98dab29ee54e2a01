"""The dev server behind ``wasmrun run``: a page that runs the module, web apps as they are, and
live reload. See docs/run.md.

Nothing is imported here, so that ``import wasmrun.server.records`` (used by ``wasmrun stop``)
stays cheap; the server itself is :mod:`wasmrun.server.app`.
"""
