"""Built-in language plugins, one module each; listed in :data:`wasmrun.plugins.BUILTIN_PLUGINS`."""
