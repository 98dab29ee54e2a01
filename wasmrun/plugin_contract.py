"""The plugin contract's rules, in one place: what the loader, ``plugin list``, ``plugin health``,
``plugin check``, ``compile`` and the conformance check (:mod:`wasmrun.testing`) say about a plugin.

Each rule gives a :class:`Problem`. A *fatal* one makes the plugin unusable, so it is not loaded
(a misspelt or undecorated hook, a parameter the hook does not pass, a required hook missing, a
``PluginInfo`` that does not validate, another major hook API); the others are warnings about
quality (an empty description, no capabilities, no extensions) and the plugin loads. Every
problem is reported, not only the first, and each with the same words wherever it is shown.
"""

from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from wasmrun import HOOK_API_VERSION, hookspecs, plugin_names
from wasmrun.models import PluginInfo

#: The hooks every plugin must implement: wasmrun's plugins are language plugins, and one that
#: cannot build is of no use to any command (``compile`` would fail on every project it claims).
REQUIRED_HOOKS = ("plugin_info", "can_handle_project", "build")


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``fatal`` ones keep the plugin from loading, the others are warnings."""

    message: str
    fatal: bool = True


def hook_specs() -> dict[str, Any]:
    """wasmrun's hooks by name: the functions of :mod:`wasmrun.hookspecs` marked as specs."""
    return {name: f for name, f in vars(hookspecs).items() if callable(f) and hasattr(f, "wasmrun_spec")}


def is_hookimpl(value: object) -> bool:
    return getattr(value, "wasmrun_impl", None) is not None


def hookimpl_problems(plugin: object) -> list[Problem]:
    """Problems with a plugin's hook functions, all fatal: a name that matches no hook (with the
    nearest one), a parameter the hook does not pass (with those it does), a function named like a
    hook but not marked ``@wasmrun.hookimpl``, and each required hook that is missing."""
    specs = hook_specs()
    problems: list[Problem] = []
    found: set[str] = set()
    for attr in sorted(dir(plugin)):
        if attr.startswith("__"):
            continue
        try:
            value = getattr(plugin, attr, None)
        except Exception:  # noqa: BLE001 - a property that raises is not a hook
            continue
        if not callable(value):
            continue
        if not is_hookimpl(value):
            if attr in specs and _defined_by(plugin, value):
                problems.append(Problem(f"'{attr}' is named like a hook but not marked @wasmrun.hookimpl"))
            continue
        opts = getattr(value, "wasmrun_impl", {}) or {}
        hook = opts.get("specname") or attr
        if hook not in specs:
            import difflib  # only for a plugin with a misspelt hook

            near = difflib.get_close_matches(hook, list(specs), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else f" (hooks: {', '.join(sorted(specs))})"
            problems.append(Problem(f"hookimpl '{attr}' matches no wasmrun hook{hint}"))
            continue
        found.add(hook)
        wanted = list(_spec_parameters(hook))
        try:
            taken = [p for p in inspect.signature(value).parameters if p != "self"]
        except (TypeError, ValueError):
            continue
        extra = [p for p in taken if p not in wanted]
        if extra:
            problems.append(Problem(f"hookimpl '{attr}' takes {', '.join(extra)}, which the hook does not pass "
                                    f"(it passes: {', '.join(wanted) or 'nothing'})"))
    problems += [Problem(f"missing required hook '{hook}'") for hook in REQUIRED_HOOKS if hook not in found]
    return problems


@functools.cache
def _spec_parameters(hook: str) -> tuple[str, ...]:
    """The parameters a hook passes (read once per process: every plugin's hookimpls are checked)."""
    return tuple(inspect.signature(hook_specs()[hook]).parameters)


def _defined_by(plugin: object, value: object) -> bool:
    # A function the plugin's own module defines (not one it imported from elsewhere).
    module = getattr(plugin, "__name__", None) if isinstance(plugin, ModuleType) else type(plugin).__module__
    return getattr(value, "__module__", None) == module


def info_problems(name: str, info: PluginInfo) -> list[Problem]:
    """Problems with what ``plugin_info()`` returned for the plugin registered as ``name``: another
    major hook API is fatal; the rest are warnings."""
    problems: list[Problem] = []
    if info.hook_api.split(".")[0] != HOOK_API_VERSION.split(".")[0]:
        problems.append(Problem(f"written for hook API {info.hook_api}, but this wasmrun provides {HOOK_API_VERSION}"))
    if info.name != name:
        problems.append(Problem(f"plugin_info().name is '{info.name}' but it is registered as '{name}' "
                                "(make the entry point's name and plugin_info().name the same)", fatal=False))
    problem = plugin_names.problem(info.name)
    if problem and info.name != name:
        problems.append(Problem(f"plugin_info().name: {problem}", fatal=False))
    if not is_version(info.version):
        problems.append(Problem(f"plugin_info().version '{info.version}' is not a version (PEP 440)", fatal=False))
    if not info.description.strip():
        problems.append(Problem("plugin_info().description is empty", fatal=False))
    if not info.extensions and not info.entry_files:
        problems.append(Problem("plugin_info() lists no extensions and no entry_files "
                                "(which files matter to a build?)", fatal=False))
    problems += [Problem(f"plugin_info().extensions: '{ext}' does not start with a dot", fatal=False)
                 for ext in info.extensions if not ext.startswith(".")]
    if not info.capabilities:
        problems.append(Problem("plugin_info().capabilities is empty (say what it builds: "
                                f"{', '.join(_capabilities())})", fatal=False))
    return problems


_RELEASE = re.compile(r"[0-9]+(\.[0-9]+)*")


def is_version(text: str) -> bool:
    """Whether ``text`` is a PEP 440 version. Plain release numbers (``1.2.3``), nearly every
    plugin's, are answered without importing ``packaging`` (the loader asks on every start)."""
    if _RELEASE.fullmatch(text):
        return True
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _capabilities() -> list[str]:
    from wasmrun.models import Capability

    return [c.value for c in Capability]


def describe_validation_error(exc: Any) -> str:
    """A pydantic ``ValidationError`` as one line naming each wrong field, what it was given and
    what it accepts: ``PluginInfo.capabilities[0] is 'browser': Input should be 'wasm', ...``."""
    model = getattr(exc, "title", "") or "value"
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in error.get("loc", ()))
        field = field.replace(".[", "[")
        where = f"{model}.{field}" if field else model
        given = error.get("input")
        shown = "" if error.get("type") == "missing" else f" is {given!r}"
        parts.append(f"{where}{shown}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or str(exc)


def fatal(problems: list[Problem]) -> list[str]:
    return [p.message for p in problems if p.fatal]


def warnings(problems: list[Problem]) -> list[str]:
    return [p.message for p in problems if not p.fatal]
