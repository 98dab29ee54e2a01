"""Built-in language plugins, one module each.

Kept free of imports: ``wasmrun --version`` reads :data:`BUILTIN_PLUGINS` without loading any
plugin.
"""

#: Built-in language plugins, by module; each module's ``PLUGIN_NAME`` is its last name part. The
#: module's hookimpls are its own functions, or those of the object it names ``PLUGIN`` (two
#: plugins sharing one set of hooks: javascript and typescript).
BUILTIN_PLUGINS: tuple[str, ...] = (
    "wasmrun.languages.wat",
    "wasmrun.languages.c",
    "wasmrun.languages.python",
    "wasmrun.languages.assemblyscript",
    "wasmrun.languages.javascript",
    "wasmrun.languages.typescript",
)
