"""JavaScript: a ``package.json`` project with a ``.js``/``.mjs`` entry becomes a WASI 0.2 component.

A command (``wasi:cli/command``: ``console`` on stdout and stderr, ``process.argv``,
``process.env``, ``process.exit``) or, with a ``wit/`` directory, a library exporting that world.
npm packages the program imports are bundled by esbuild; componentize-qjs (QuickJS) builds the
component. Both are installed by wasmrun on first use (:mod:`wasmrun.component_tools`). TypeScript
projects go the same road after ``tsc`` (:mod:`wasmrun.languages.typescript`). See
docs/languages/javascript.md.
"""

from wasmrun.languages.javascript.hooks import Hooks

PLUGIN_NAME = "javascript"
#: The hookimpls, shared with the typescript plugin (:mod:`wasmrun.languages.javascript.hooks`).
PLUGIN = Hooks(typescript=False)
