"""TypeScript: a ``package.json`` project with a ``.ts``/``.mts`` entry. ``tsc`` (the project's own
``node_modules/typescript``, else a pinned one wasmrun installs) compiles it; then it goes the
JavaScript road (:mod:`wasmrun.languages.javascript`). See docs/languages/javascript.md.
"""

from wasmrun.languages.javascript.hooks import Hooks

PLUGIN_NAME = "typescript"
#: The hookimpls, shared with the javascript plugin (:mod:`wasmrun.languages.javascript.hooks`).
PLUGIN = Hooks(typescript=True)
