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

import contextlib
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from wasmrun import __version__, hookspecs, plugin_contract, plugin_names
from wasmrun.errors import NoPluginError, PluginError, UsageError, WasmrunError
from wasmrun.languages import BUILTIN_PLUGINS as BUILTIN_PLUGINS  # re-exported
from wasmrun.models import Claim, PluginInfo

if TYPE_CHECKING:
    from wasmrun.locations import Locations

ENTRY_POINT_GROUP = "wasmrun"

#: The hooks every plugin must implement (the one list lives in :mod:`wasmrun.plugin_contract`).
REQUIRED_HOOKS = plugin_contract.REQUIRED_HOOKS
LANGUAGE_PLUGIN_HOOKS = REQUIRED_HOOKS  # the name the conformance check used before the lists were one

#: Where the last command that loaded plugins recorded which failed (read by ``--version``).
STATUS_FILE = "plugins.json"


@dataclass
class PluginRecord:
    """One plugin as wasmrun knows it: loaded, disabled, or failed to load."""

    name: str
    builtin: bool
    source: str
    version: str
    enabled: bool = True
    origin: str = ""  # builtin | environment (pip) | editable (pip install -e) | installed | command
    plugin: object | None = None
    error: str | None = None
    #: Quality problems of a plugin that loads (:mod:`wasmrun.plugin_contract`).
    warnings: list[str] = field(default_factory=list)
    #: Where it is: the source directory of an editable install, a plugin's store directory.
    path: str = ""
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


def _stderr_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _plugins_fault(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a plugin, is that plugin's failure: anything (``SystemExit``
    included) but the user's Ctrl-C."""
    return not isinstance(exc, KeyboardInterrupt)


class Plugins:
    """The loaded plugins and the calls wasmrun makes on them.

    :param warn: where warnings about plugins go (default: a ``warning:`` line on stderr); each
        one is given once per manager.
    """

    def __init__(self, *, trace: bool = False, warn: Callable[[str], None] | None = None) -> None:
        self.pm = pluggy.PluginManager("wasmrun")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        #: Plugins that did not get their name: one that failed (or was filtered out) where a
        #: built-in of that name stays in use, and one whose name another plugin holds already.
        self.shadowed: list[PluginRecord] = []
        self._warn = warn or _stderr_warning
        self._warned: set[str] = set()
        # (hook, plugin) -> a caller of that hook on that plugin alone (plus wrappers); rebuilt
        # whenever the set of language plugins changes.
        self._callers: dict[tuple[str, str], Any] = {}
        if trace:
            self.pm.add_hookcall_monitoring(_trace_before, _trace_after)

    # -- registration -------------------------------------------------------------------------

    def register(self, plugin: object, name: str, *, builtin: bool = False, source: str = "",
                 version: str | None = None, origin: str = "", path: str = "") -> PluginRecord:
        """Register ``plugin`` under ``name``; a plugin that does not fit the contract is
        recorded with its error instead of raising.

        An external plugin named like a built-in replaces it, but only once it has loaded: when it
        fails, the built-in stays and the failure is kept in :attr:`shadowed`. A plugin whose name
        another (non-built-in) plugin holds already fails, and the one holding it stays.
        """
        record = PluginRecord(name=name, builtin=builtin, source=source or ("builtin" if builtin else name),
                              version=version or __version__, origin=origin or ("builtin" if builtin else ""),
                              path=path)
        problem = plugin_names.problem(name)
        if problem:
            record.error = problem
            return self._place(record)
        holder = self.records.get(name)
        if holder is not None and holder.loaded and not (holder.builtin and not builtin):
            record.error = f"the name '{name}' is taken by {_describe_record(holder)}"
            self.shadowed.append(record)
            return record
        replaced = holder if holder is not None and holder.loaded else None
        if replaced is not None:
            self._detach(replaced)
        self._callers.clear()
        record.error = self._attach(plugin, record, builtin=builtin, version=version)
        if record.error is None:
            if replaced is not None:
                del self.records[name]  # the installed plugin replaces the built-in
            elif holder is not None and holder.error:
                self.shadowed.append(holder)  # an earlier failure under this name stays reported
            self.records[name] = record
            return record
        if replaced is not None:  # it failed: the built-in stays in use
            restored = self._attach(replaced.plugin, replaced, builtin=True, version=replaced.version)
            assert restored is None, restored
            self.shadowed.append(record)
            return record
        return self._place(record)

    def _place(self, record: PluginRecord) -> PluginRecord:
        """Keep a record that did not load: under its name, unless a plugin holds that name."""
        holder = self.records.get(record.name)
        if holder is not None and (holder.loaded or holder.builtin):
            self.shadowed.append(record)
        else:
            if holder is not None:
                self.shadowed.append(holder)
            self.records[record.name] = record
        return record

    def _attach(self, plugin: object, record: PluginRecord, *, builtin: bool, version: str | None) -> str | None:
        """Register ``plugin`` with pluggy and ask its ``plugin_info``; the error, or None."""
        problems = plugin_contract.hookimpl_problems(plugin)
        if plugin_contract.fatal(problems):
            return "; ".join(plugin_contract.fatal(problems))
        try:
            self.pm.register(plugin, name=record.name)
        except BaseException as exc:
            if not _plugins_fault(exc):
                raise
            if self.pm.is_registered(plugin) and self.pm.get_plugin(record.name) is plugin:
                self.pm.unregister(plugin)
            return _describe(exc)
        record.plugin = plugin
        try:
            with contextlib.redirect_stdout(sys.stderr):  # as while importing: stdout is for wasmrun's output
                info = self._call_on(record, "plugin_info")
            if not isinstance(info, PluginInfo):
                raise PluginError(f"plugin_info returned {type(info).__name__}, not PluginInfo")
            problems += plugin_contract.info_problems(record.name, info)
            if plugin_contract.fatal(problems):
                raise PluginError("; ".join(plugin_contract.fatal(problems)))
        except WasmrunError as exc:
            self.pm.unregister(plugin)
            self._callers.clear()
            record.plugin = None
            raised = f"plugin '{record.name}' failed in plugin_info: "  # already on the plugin's own line
            return exc.message.replace(raised, "plugin_info: ", 1) if exc.message.startswith(raised) else exc.message
        record.warnings = plugin_contract.warnings(problems)
        record._info = info.model_copy(update={"builtin": builtin, "source": record.source,
                                               "version": version or info.version})
        record.version = record._info.version
        return None

    def _detach(self, record: PluginRecord) -> None:
        self._callers.clear()
        if record.plugin is not None and self.pm.is_registered(record.plugin):
            self.pm.unregister(record.plugin)

    def record_failure(self, name: str, error: str, *, source: str, version: str = "", origin: str = "",
                       path: str = "") -> None:
        self._place(PluginRecord(name=name, builtin=False, source=source, version=version, error=error,
                                 origin=origin, path=path))

    def record_disabled(self, name: str, *, builtin: bool, source: str, version: str, origin: str = "",
                        path: str = "") -> None:
        record = PluginRecord(name=name, builtin=builtin, source=source, version=version, enabled=False,
                              origin=origin or ("builtin" if builtin else ""), path=path)
        if builtin:
            self.records[name] = record
        else:
            self._place(record)

    def unregister(self, name: str) -> None:
        self._callers.clear()
        record = self.records.pop(name, None)
        if record is not None:
            self._detach(record)
        elif self.pm.has_plugin(name):
            self.pm.unregister(name=name)

    # -- queries ------------------------------------------------------------------------------

    def loaded(self) -> list[PluginRecord]:
        """Language plugins that are loaded, enabled and healthy, in registration order."""
        return [r for r in self.records.values() if r.loaded]

    def all_records(self) -> list[PluginRecord]:
        """Every plugin wasmrun knows of, those in :attr:`shadowed` included."""
        return [*self.records.values(), *self.shadowed]

    def failures(self) -> list[PluginRecord]:
        """The plugins that failed to load (or to register), shadowed ones included."""
        return [r for r in self.all_records() if r.error]

    def get(self, name: str) -> PluginRecord:
        """The loaded plugin called ``name`` (or with that alias); a clear error naming the
        choices otherwise, and naming the plugins when two share an alias."""
        record = self.records.get(name)
        if record is None:
            matches = [c for c in self.records.values()
                       if c._info and name in (c._info.name, *c._info.aliases)]
            if len(matches) > 1:
                both = " and ".join(f"'{m.name}'" for m in matches)
                raise UsageError(f"'{name}' names more than one plugin ({both}): choose one by its name")
            record = matches[0] if matches else None
        from wasmrun.known_plugins import by_name, missing_plugin_message

        known = by_name(record.name if record is not None else name)
        if record is None:
            choices = ", ".join(sorted(r.name for r in self.loaded())) or "none"
            if known is not None:  # a language wasmrun knows of: say which package has it
                installed = known.name in self.records
                raise NoPluginError(f"{missing_plugin_message(known, installed=installed)} (available: {choices})")
            raise NoPluginError(f"unknown language plugin {plugin_names.shown(name)} (available: {choices})")
        if not record.enabled and known is not None:  # says what keeps it off: config or environment
            raise NoPluginError(missing_plugin_message(known, installed=True))
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
        except BaseException as exc:  # a plugin's bug (even a sys.exit) must not become our exit
            if not _plugins_fault(exc):
                raise
            raise PluginError(f"plugin '{record.name}' failed in {hook}: {_describe(exc)}",
                              details=plugin_frames(exc)) from exc

    def claim(self, name: str, project_dir: Path) -> Claim | None:
        """One plugin's claim on the project; a :class:`PluginError` naming the plugin when it
        raises or returns something that is not a :class:`Claim`."""
        record = self.get(name)
        claim = self._call_on(record, "can_handle_project", project_dir=project_dir)
        if claim is not None and not isinstance(claim, Claim):
            raise PluginError(
                f"plugin '{record.name}' returned {type(claim).__name__} from can_handle_project, not Claim")
        return claim

    def claims(self, project_dir: Path) -> list[tuple[str, Claim]]:
        """Every enabled plugin's claim on the project, best first.

        Order: real claims before fallback claims; among them external plugins before built-ins
        (an installed plugin overrides the built-in for its language); then later-registered first.
        A plugin that fails in its claim is named in a warning and skipped: the others decide.
        Plugins that failed to load are named in a warning too, since one of them might have
        claimed the project.
        """
        for failed in self.failures():
            self.warn_once(f"plugin '{failed.name}' failed to load, so it was not asked: {failed.error}"
                           + ("" if failed.name not in self.records or not self.records[failed.name].builtin
                              else f" (the built-in {failed.name} is used)"))
        found: list[tuple[tuple[int, int, int], str, Claim]] = []
        for index, record in enumerate(self.loaded()):
            try:
                claim = self.claim(record.name, project_dir)
            except WasmrunError as exc:
                self.warn_once(f"{exc.message}; skipped")
                continue
            if claim is None:
                continue
            key = (int(claim.fallback), int(record.builtin), -index)
            found.append((key, record.name, claim))
        found.sort(key=lambda item: item[0])
        return [(name, claim) for _, name, claim in found]

    def warn_once(self, message: str) -> None:
        """Give ``message`` to the warning sink, unless it was given before."""
        if message not in self._warned:
            self._warned.add(message)
            self._warn(message)


def _describe_record(record: PluginRecord) -> str:
    if record.builtin:
        return "a built-in plugin"
    return f"{record.source} {record.version}".strip() if record.source else "another plugin"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, WasmrunError):
        return exc.message
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):  # which field of which model, given what, accepting what
        return plugin_contract.describe_validation_error(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def plugin_frames(exc: BaseException) -> str:
    """The traceback of an exception a plugin raised, without wasmrun's and pluggy's own frames:
    where in the plugin it came from (printed with ``WASMRUN_DEBUG=1`` or ``-v``)."""
    import traceback

    skipped = (str(Path(__file__).resolve().parent), str(Path(pluggy.__file__).resolve().parent))
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if not str(Path(frame.filename).resolve()).startswith(skipped)]
    if not frames:
        return ""
    last = "".join(traceback.format_exception_only(exc)).rstrip()
    return ("Traceback (the plugin's frames, most recent call last):\n"
            + "".join(traceback.format_list(frames)) + last)


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
        hooks = getattr(module, "PLUGIN", module)  # a module, or the object it names as its hookimpls
        plugins.register(hooks, name, builtin=True, source="builtin", version=__version__)
    if entry_points:
        allow = env.get("WASMRUN_LOAD_PLUGINS")
        allowed = None if allow is None else _split_names(allow)
        managed = [(directory, ep) for directory in installed_dirs for ep in entry_points_in(directory)]
        # A plugin directory already on sys.path (loaded earlier in this process) shows up in the
        # environment's entry points too: load it once, as the installed plugin it is.
        managed_dirs = {str(Path(directory).resolve()) for directory in installed_dirs}
        provided: dict[str, Any] = {}  # plugins pip provides, by name
        for ep in external_entry_points():
            if distribution_location(getattr(ep, "dist", None)) not in managed_dirs:
                provided[ep.name] = ep
                _load_entry_point(plugins, ep, allowed=allowed, off=off, origin="environment")
        for directory, ep in managed:
            if ep.name in provided:  # two copies of one plugin: Python imports the one pip provides
                source, version = distribution_label(ep)
                plugins.record_failure(ep.name, _two_copies(ep.name, provided[ep.name]), source=source,
                                       version=version, origin="installed", path=directory)
                continue
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


def _two_copies(name: str, provided: Any) -> str:
    dist = getattr(provided, "dist", None)
    label = " ".join(part for part in distribution_label(provided) if part)
    editable = editable_path(dist)
    where = f"editable, from {editable}" if editable else f"in {distribution_location(dist)}"
    pip_name = distribution_label(provided)[0]
    return (f"pip also provides '{name}' ({label}, {where}), and that is the copy Python imports: "
            f"keep one (wasmrun plugin uninstall {name}, or pip uninstall {pip_name})")


def editable_path(dist: Any) -> str | None:
    """The source directory of a distribution pip installed editable (``pip install -e``), read
    from its ``direct_url.json`` (PEP 610); ``None`` for any other install."""
    import json
    from urllib.parse import unquote, urlparse

    try:
        text = dist.read_text("direct_url.json") if dist is not None else None
        data = json.loads(text) if text else None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not (data.get("dir_info") or {}).get("editable"):
        return None
    url = urlparse(str(data.get("url", "")))
    return unquote(url.path) if url.scheme == "file" else None


def distribution_location(dist: Any) -> str:
    """Where an installed distribution lives (its site directory), for messages."""
    located = getattr(dist, "_path", None)  # importlib.metadata.PathDistribution: its .dist-info
    return str(Path(located).resolve().parent) if located is not None else "?"


def distribution_label(ep: Any) -> tuple[str, str]:
    """(source, version) of an entry point's distribution, read from metadata only."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return ep.value, ""
    metadata = dist.metadata  # parsed once: both .name and .version would parse the file again
    return f"{metadata['Name']}", metadata["Version"]


def _load_entry_point(plugins: Plugins, ep: Any, *, allowed: set[str] | None, off: set[str], origin: str,
                      path: str | None = None) -> None:
    source, version = distribution_label(ep)
    where = path or ""
    if origin == "environment":
        editable = editable_path(getattr(ep, "dist", None))
        if editable:  # pip install -e: the plugin author's loop (docs/plugins/writing.md)
            origin, where = "editable", editable
    problem = plugin_names.problem(ep.name)
    if problem:  # refused before its code runs
        plugins.record_failure(ep.name, problem, source=source, version=version, origin=origin, path=where)
        return
    if (allowed is not None and ep.name not in allowed) or ep.name in off:
        plugins.record_disabled(ep.name, builtin=False, source=source, version=version, origin=origin, path=where)
        return
    if path is not None and path not in sys.path:
        sys.path.append(path)  # after the host's own packages: a plugin never shadows them
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is wasmrun's (--json): a chatty import goes to stderr
            obj = ep.load()
    except BaseException as exc:  # one broken plugin (even one calling sys.exit) must not stop the others
        if not _plugins_fault(exc):
            raise
        plugins.record_failure(ep.name, f"cannot import {ep.value}: {_describe(exc)}", source=source, version=version,
                               origin=origin, path=where)
        return
    # Named like a built-in, it replaces the built-in, but only now that it has loaded.
    plugins.register(obj, ep.name, builtin=False, source=source, version=version or None, origin=origin,
                     path=where)


def configured_plugins(locations: Locations | None = None) -> Plugins:
    """The plugins as the user configured them: config file, then environment. Which plugins
    failed to load is recorded for ``wasmrun --version`` (see :func:`save_status`)."""
    from wasmrun.config import load_config
    from wasmrun.locations import Locations

    where = locations or Locations.from_environment()
    config = load_config(where)
    plugins = load_plugins(disabled=config.plugins.disabled,
                           installed_dirs=[record.path for record in config.plugins.installed.values()],
                           commands=config.plugins.commands)
    save_status(plugins, where)
    return plugins


def status_path(locations: Locations) -> Path:
    return locations.state_dir / STATUS_FILE


def save_status(plugins: Plugins, locations: Locations) -> None:
    """Record which plugins failed to load, for ``--version`` (which imports no plugin and so
    cannot find out itself). Written only when it changed; a state directory that cannot be
    written is no reason to fail the command."""
    failed = [{"name": r.name, "source": r.source, "version": r.version, "error": r.error}
              for r in plugins.failures()]
    text = json.dumps({"failed": failed}, indent=1) + "\n"
    path = status_path(locations)
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, ValueError):
        pass
    from wasmrun.atomic import atomic_write

    with contextlib.suppress(OSError):
        atomic_write(path, text, durable=False)
