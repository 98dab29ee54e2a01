"""The plugin manager: built-in languages, entry-point plugins, and which of them are on.

Built-in plugins are modules listed in :data:`BUILTIN_PLUGINS`; external ones come from the
``wasmrun`` entry-point group. Each entry point is loaded on its own, so one that fails to
import, or whose hookimpls match no spec, is recorded with its error and the others keep working.

Environment (overrides the config file):

``WASMRUN_LOAD_PLUGINS``
    unset: load every external plugin; a comma-separated list: load only those; empty: none
    (built-ins only). The way out when a broken plugin gets in the way.
``WASMRUN_DISABLE_PLUGINS``
    comma-separated names not to load, built-ins included (adds to ``[plugins] disabled``).
``WASMRUN_TRACE_PLUGINS=1``
    print every hook call and its result to stderr.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from wasmrun import HOOK_API_VERSION, __version__, hookspecs
from wasmrun.errors import NoPluginError, PluginError, WasmrunError
from wasmrun.languages import BUILTIN_PLUGINS as BUILTIN_PLUGINS  # re-exported
from wasmrun.models import Claim, PluginInfo

ENTRY_POINT_GROUP = "wasmrun"


_REQUIRED_HOOKS = ("plugin_info", "can_handle_project")


@dataclass
class PluginRecord:
    """One plugin as wasmrun knows it: loaded, disabled, or failed to load."""

    name: str
    builtin: bool
    source: str
    version: str
    enabled: bool = True
    origin: str = ""  # builtin | environment (pip) | installed (wasmrun plugin install) | command
    plugin: object | None = None
    error: str | None = None
    _info: PluginInfo | None = field(default=None, repr=False)

    @property
    def loaded(self) -> bool:
        return self.plugin is not None

    @property
    def state(self) -> str:
        if self.error:
            return f"error: {self.error}"
        if not self.enabled:
            return "disabled"
        return "loaded"


def _split_names(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


class Plugins:
    """The loaded plugins and the calls wasmrun makes on them."""

    def __init__(self, *, trace: bool = False) -> None:
        self.pm = pluggy.PluginManager("wasmrun")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        # (hook, plugin) -> a caller of that hook on that plugin alone (plus wrappers); rebuilt
        # whenever the set of language plugins changes.
        self._callers: dict[tuple[str, str], Any] = {}
        if trace:
            self.pm.add_hookcall_monitoring(_trace_before, _trace_after)

    # -- registration -------------------------------------------------------------------------

    def register(self, plugin: object, name: str, *, builtin: bool = False, source: str = "",
                 version: str | None = None, origin: str = "") -> PluginRecord:
        """Register ``plugin`` under ``name``; a plugin that does not fit the contract is
        recorded with its error instead of raising."""
        self._callers.clear()
        record = PluginRecord(name=name, builtin=builtin, source=source or ("builtin" if builtin else name),
                              version=version or __version__, origin=origin or ("builtin" if builtin else ""))
        self.records[name] = record
        try:
            self.pm.register(plugin, name=name)
            self._check_hookimpls(plugin)
        except Exception as exc:  # noqa: BLE001 - any failure is this plugin's, not ours
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
            record.error = _describe(exc)
            return record
        record.plugin = plugin
        try:
            info = self._call_on(record, "plugin_info")
            if not isinstance(info, PluginInfo):
                raise PluginError(f"plugin_info returned {type(info).__name__}, not PluginInfo")
            _check_api(info)
        except Exception as exc:  # noqa: BLE001
            self.pm.unregister(name=name)
            self._callers.clear()
            record.plugin = None
            record.error = _describe(exc)
            return record
        record._info = info.model_copy(update={"builtin": builtin, "source": record.source,
                                               "version": version or info.version})
        record.version = record._info.version
        return record

    def record_failure(self, name: str, error: str, *, source: str, version: str = "", origin: str = "") -> None:
        self.records[name] = PluginRecord(name=name, builtin=False, source=source, version=version, error=error,
                                          origin=origin)

    def record_disabled(self, name: str, *, builtin: bool, source: str, version: str, origin: str = "") -> None:
        self.records[name] = PluginRecord(name=name, builtin=builtin, source=source, version=version, enabled=False,
                                          origin=origin or ("builtin" if builtin else ""))

    def unregister(self, name: str) -> None:
        self._callers.clear()
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)
        self.records.pop(name, None)

    def _check_hookimpls(self, plugin: object) -> None:
        """After registering: every hookimpl must match a spec, and the required ones be there."""
        callers = self.pm.get_hookcallers(plugin) or []
        unknown = sorted(caller.name for caller in callers if not caller.has_spec())
        if unknown:
            raise PluginError(f"hookimpl '{unknown[0]}' matches no wasmrun hook")
        found = {caller.name for caller in callers}
        missing = [hook for hook in _REQUIRED_HOOKS if hook not in found]
        if missing:
            raise PluginError(f"missing required hook(s): {', '.join(missing)}")

    # -- queries ------------------------------------------------------------------------------

    def loaded(self) -> list[PluginRecord]:
        """Language plugins that are loaded, enabled and healthy, in registration order."""
        return [r for r in self.records.values() if r.loaded]

    def get(self, name: str) -> PluginRecord:
        """The loaded plugin called ``name``; a clear error naming the choices otherwise."""
        record = self.records.get(name)
        if record is None:
            for candidate in self.records.values():
                if candidate._info and name in (candidate._info.name, *candidate._info.aliases):
                    record = candidate
        if record is None:
            choices = ", ".join(sorted(r.name for r in self.loaded())) or "none"
            raise NoPluginError(f"unknown language plugin '{name}' (available: {choices})")
        if not record.enabled:
            raise NoPluginError(f"plugin '{name}' is disabled (enable it with: wasmrun plugin enable {name})")
        if not record.loaded:
            raise NoPluginError(f"plugin '{name}' failed to load: {record.error}")
        return record

    def info(self, name: str) -> PluginInfo:
        record = self.get(name)
        assert record._info is not None
        return record._info

    def call(self, name: str, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on one plugin (wrapper plugins still run around it). A plugin that
        raises becomes a :class:`PluginError` naming it; wasmrun's own errors pass through."""
        return self._call_on(self.get(name), hook, **kwargs)

    def _call_on(self, record: PluginRecord, hook: str, **kwargs: Any) -> Any:
        key = (hook, record.name)
        caller = self._callers.get(key)
        if caller is None:
            languages = {impl.plugin for impl in self.pm.hook.plugin_info.get_hookimpls()}
            others = [p for p in languages if p is not record.plugin]
            caller = self._callers[key] = self.pm.subset_hook_caller(hook, remove_plugins=others)
        try:
            return caller(**kwargs)
        except WasmrunError:
            raise
        except Exception as exc:  # a plugin's bug must not become our traceback
            raise PluginError(f"plugin '{record.name}' failed in {hook}: {_describe(exc)}") from exc

    def claims(self, project_dir: Path) -> list[tuple[str, Claim]]:
        """Every enabled plugin's claim on the project, best first.

        Order: real claims before fallback claims; among them external plugins before built-ins
        (an installed plugin overrides the built-in for its language); then later-registered first.
        """
        found: list[tuple[tuple[int, int, int], str, Claim]] = []
        for index, record in enumerate(self.loaded()):
            claim = self._call_on(record, "can_handle_project", project_dir=project_dir)
            if claim is None:
                continue
            if not isinstance(claim, Claim):
                raise PluginError(
                    f"plugin '{record.name}' returned {type(claim).__name__} from can_handle_project, not Claim")
            key = (int(claim.fallback), int(record.builtin), -index)
            found.append((key, record.name, claim))
        found.sort(key=lambda item: item[0])
        return [(name, claim) for _, name, claim in found]


def _check_api(info: PluginInfo) -> None:
    wanted = HOOK_API_VERSION.split(".")[0]
    if info.hook_api.split(".")[0] != wanted:
        raise PluginError(
            f"written for hook API {info.hook_api}, but this wasmrun provides {HOOK_API_VERSION}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, WasmrunError):
        return exc.message
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _trace_before(hook_name: str, hook_impls: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    names = ", ".join(impl.plugin_name for impl in hook_impls)
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    print(f"wasmrun trace: {hook_name}({args}) -> [{names}]", file=sys.stderr)


def _trace_after(outcome: Any, hook_name: str, hook_impls: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    exc = outcome.exception
    shown = f"raised {exc!r}" if exc else repr(outcome.get_result())
    if len(shown) > 300:
        shown = shown[:300] + "..."
    print(f"wasmrun trace: {hook_name} returned {shown}", file=sys.stderr)


def _env_flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def load_plugins(
    *,
    environ: Mapping[str, str] | None = None,
    disabled: Iterable[str] = (),
    entry_points: bool = True,
    builtins: Iterable[str] = BUILTIN_PLUGINS,
    installed_dirs: Iterable[str] = (),
    commands: Mapping[str, Any] | None = None,
) -> Plugins:
    """Build the plugin manager: built-ins, then entry-point plugins, honouring enable/disable.

    :param disabled: names disabled in the config file (the environment adds to them).
    :param entry_points: ``False`` loads built-ins only (what core tests use).
    :param installed_dirs: directories of plugins installed by ``wasmrun plugin install``.
    :param commands: executable plugins by name (:class:`wasmrun.config.CommandPluginConfig`).
    """
    env = os.environ if environ is None else environ
    plugins = Plugins(trace=_env_flag(env, "WASMRUN_TRACE_PLUGINS"))
    off = set(disabled) | _split_names(env.get("WASMRUN_DISABLE_PLUGINS", ""))
    for module_name in builtins:
        module = importlib.import_module(module_name)
        name = getattr(module, "PLUGIN_NAME", module_name.rsplit(".", 1)[-1])
        if name in off:
            plugins.record_disabled(name, builtin=True, source="builtin", version=__version__)
            continue
        plugins.register(module, name, builtin=True, source="builtin", version=__version__)
    if entry_points:
        allow = env.get("WASMRUN_LOAD_PLUGINS")
        allowed = None if allow is None else _split_names(allow)
        managed = [(directory, ep) for directory in installed_dirs for ep in entry_points_in(directory)]
        # A plugin directory already on sys.path (loaded earlier in this process) shows up in the
        # environment's entry points too: load it once, as the installed plugin it is.
        managed_names = {ep.name for _, ep in managed}
        for ep in external_entry_points():
            if ep.name not in managed_names:
                _load_entry_point(plugins, ep, allowed=allowed, off=off, origin="environment")
        for directory, ep in managed:
            _load_entry_point(plugins, ep, allowed=allowed, off=off, origin="installed", path=directory)
        for name, spec in (commands or {}).items():
            if (allowed is not None and name not in allowed) or name in off:
                plugins.record_disabled(name, builtin=False, source=spec.command, version=spec.version,
                                        origin="command")
                continue
            from wasmrun.command_plugin import CommandPlugin

            plugins.register(CommandPlugin(name, spec), name, source=spec.command, version=spec.version,
                             origin="command")
    return plugins


def external_entry_points() -> list[Any]:
    """The ``wasmrun`` entry points of distributions in the environment, without importing them."""
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def entry_points_in(directory: str) -> list[Any]:
    """The ``wasmrun`` entry points of the distributions in one plugin directory."""
    from importlib.metadata import distributions

    return [ep for dist in distributions(path=[directory]) for ep in dist.entry_points
            if ep.group == ENTRY_POINT_GROUP]


def distribution_label(ep: Any) -> tuple[str, str]:
    """(source, version) of an entry point's distribution, read from metadata only."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return ep.value, ""
    return f"{dist.metadata['Name']}", dist.version


def _load_entry_point(plugins: Plugins, ep: Any, *, allowed: set[str] | None, off: set[str], origin: str,
                      path: str | None = None) -> None:
    source, version = distribution_label(ep)
    if ep.name in plugins.records and plugins.records[ep.name].builtin:
        # An external plugin named like a built-in replaces it (the user installed it for that).
        plugins.unregister(ep.name)
    if (allowed is not None and ep.name not in allowed) or ep.name in off:
        plugins.record_disabled(ep.name, builtin=False, source=source, version=version, origin=origin)
        return
    if path is not None and path not in sys.path:
        sys.path.append(path)  # after the host's own packages: a plugin never shadows them
    try:
        obj = ep.load()
    except Exception as exc:  # noqa: BLE001 - one broken plugin must not stop the others
        plugins.record_failure(ep.name, f"cannot import {ep.value}: {_describe(exc)}", source=source, version=version,
                               origin=origin)
        return
    plugins.register(obj, ep.name, builtin=False, source=source, version=version or None, origin=origin)


