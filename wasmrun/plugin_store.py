"""Installing, updating and removing plugin distributions: ``wasmrun plugin install`` and friends.

Each plugin distribution is installed by pip into a directory of its own under wasmrun's data
directory (``plugins/<distribution>/``), so it is removable in one piece and never touches the
user's environment. That directory is appended to ``sys.path`` when plugins load: the host's
packages come first, so a plugin never shadows wasmrun's own dependencies. A plugin's requirements
that the running environment already satisfies (``wasmrun`` itself above all) are not installed
again; the rest go into the plugin's directory.

Installs are serialised by a lock, and happen in a staging directory that is renamed into place
only after the plugin proved to declare a ``wasmrun`` entry point: a failed install leaves nothing.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from wasmrun import plugin_names
from wasmrun.config import InstalledPlugin, load_config, update_config
from wasmrun.errors import UsageError, WasmrunError
from wasmrun.languages import BUILTIN_PLUGINS
from wasmrun.locations import Locations
from wasmrun.locking import file_lock
from wasmrun.plugins import ENTRY_POINT_GROUP


class InstallError(WasmrunError):
    """pip could not install the plugin, or what it installed is not a wasmrun plugin."""


@dataclass
class Installed:
    """What an install or update did."""

    distribution: str
    version: str
    entry_points: list[str]
    path: Path
    changed: bool = True


def _builtin_names() -> set[str]:
    names = {m.rsplit(".", 1)[-1] for m in BUILTIN_PLUGINS}
    return names | {"cpp", "c++", "asc"}


@contextlib.contextmanager
def _store_lock(where: Locations) -> Iterator[None]:
    """The lock serialising changes to the plugin store; a store that cannot be written (a
    read-only ``WASMRUN_HOME``) is one clear error before anything is changed."""
    try:
        where.plugins_dir.mkdir(parents=True, exist_ok=True)
        lock = file_lock(where.plugins_dir / ".install.lock")
        lock.__enter__()
    except OSError as exc:
        raise UsageError(f"cannot write to the plugin directory {where.plugins_dir}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _pip(args: list[str], what: str) -> str:
    """Run pip with this Python; an error names what failed with pip's last error line."""
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR:")] or lines or ["pip failed"]
        raise InstallError(f"cannot install {what}: {errors[0].removeprefix('ERROR: ')}")
    return proc.stdout


def normalise_source(source: str) -> str:
    """A local path becomes absolute (so update finds it again); names and git URLs stay as given."""
    if source.startswith(("git+", "http://", "https://", "file:")):
        return source
    path = Path(source).expanduser()
    if path.exists():
        return str(path.resolve())
    if os.sep in source or source.startswith("."):
        raise UsageError(f"no such file or directory: {source}")
    return source


def _dist_in(directory: Path) -> metadata.Distribution:
    dists = [d for d in metadata.distributions(path=[str(directory)])]
    if not dists:
        raise InstallError(f"pip installed nothing into {directory}")
    # The plugin is the distribution declaring wasmrun entry points (its dependencies do not).
    for dist in dists:
        if any(ep.group == ENTRY_POINT_GROUP for ep in dist.entry_points):
            return dist
    names = ", ".join(sorted(d.metadata["Name"] for d in dists))
    raise InstallError(f"{names} declares no wasmrun plugin (no entry point in the '{ENTRY_POINT_GROUP}' group)")


def _host_satisfies(requirement: str) -> bool:
    """Whether the running environment already has what ``requirement`` asks for."""
    from packaging.requirements import Requirement

    req = Requirement(requirement)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        return True  # not needed on this platform / only for an extra
    if req.name.lower().replace("_", "-") == "wasmrun":
        return True  # the running wasmrun always satisfies a plugin's dependency on wasmrun
    try:
        installed = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        return False
    return req.specifier.contains(installed, prereleases=True)


def _install_into(staging: Path, source: str) -> metadata.Distribution:
    """pip-install ``source`` and its missing requirements into ``staging``."""
    _pip(["install", "--quiet", "--no-deps", "--target", str(staging), source], source)
    dist = _dist_in(staging)
    missing = [r for r in (dist.requires or []) if not _host_satisfies(r)]
    if missing:
        _pip(["install", "--quiet", "--target", str(staging), *missing], f"the requirements of {source}")
    return dist


def _entry_point_names(dist: metadata.Distribution) -> list[str]:
    return sorted(ep.name for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP)


def install(source: str, *, locations: Locations | None = None) -> Installed:
    """Install a plugin from an index name (``NAME[==VERSION]``), a path (project or wheel) or a
    ``git+URL``, record it in the config and make it loadable at once."""
    where = locations or Locations.from_environment()
    load_config(where)  # a broken config file stops us before pip runs, not after
    source = normalise_source(source)
    with _store_lock(where):
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=where.plugins_dir))
        try:
            dist = _install_into(staging, source)
            name, version, names = dist.metadata["Name"], dist.version, _entry_point_names(dist)
            _refuse_clashes(name, names, where)
            final = where.plugins_dir / _canonical(name)
            os.rename(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        record = InstalledPlugin(distribution=name, version=version, source=source,
                                 installed_at=_now(), path=str(final), entry_points=names)
        try:
            update_config(lambda config: config.plugins.installed.__setitem__(_canonical(name), record), where)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)  # no half-registered plugin
            raise
    return Installed(name, version, record.entry_points, final)


def _refuse_clashes(distribution: str, names: list[str], where: Locations) -> None:
    builtins = _builtin_names()
    config = load_config(where)
    if _canonical(distribution) in config.plugins.installed:
        raise InstallError(f"{distribution} is already installed (use: wasmrun plugin update {distribution})")
    taken = {ep for rec in config.plugins.installed.values() for ep in rec.entry_points}
    taken |= {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    taken |= set(config.plugins.commands)
    for name in names:
        problem = plugin_names.problem(name)
        if problem:
            raise InstallError(f"{distribution} declares an entry point with an {problem}")
        if name in builtins:
            raise InstallError(f"plugin name '{name}' is already built into wasmrun")
        if name in taken:
            raise InstallError(f"a plugin named '{name}' is already installed")


def uninstall(name: str, *, locations: Locations | None = None) -> Path:
    """Remove a plugin installed by wasmrun (by distribution or plugin name): its whole directory
    and its config entry."""
    where = locations or Locations.from_environment()
    with _store_lock(where):
        key = _find_installed(name, where)
        record = load_config(where).plugins.installed[key]

        def forget(config: object) -> None:
            from wasmrun.config import Config

            assert isinstance(config, Config)
            config.plugins.installed.pop(key, None)
            config.plugins.disabled = [d for d in config.plugins.disabled if d not in record.entry_points]

        update_config(forget, where)
        path = Path(record.path)
        if path.is_dir() and path.resolve().parent == where.plugins_dir.resolve():
            shutil.rmtree(path)
    return path


def _find_installed(name: str, where: Locations) -> str:
    config = load_config(where)
    if _canonical(name) in config.plugins.installed:
        return _canonical(name)
    for key, record in config.plugins.installed.items():
        if name in record.entry_points:
            return key
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name and ep.dist is not None:
            raise UsageError(f"plugin '{name}' was installed with pip, not by wasmrun; "
                             f"remove it with: pip uninstall {ep.dist.metadata['Name']}")
    if name in _builtin_names():
        raise UsageError(f"'{name}' is built into wasmrun and cannot be uninstalled (disable it: "
                         f"wasmrun plugin disable {name})")
    raise UsageError(f"no installed plugin named {plugin_names.shown(name)}")


def update(name: str, *, locations: Locations | None = None) -> Installed:
    """Reinstall from the recorded source when it offers a newer version; else leave it be."""
    from packaging.version import Version

    where = locations or Locations.from_environment()
    with _store_lock(where):
        key = _find_installed(name, where)
        record = load_config(where).plugins.installed[key]
        source = _unpinned(record.source)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=where.plugins_dir))
        try:
            dist = _install_into(staging, source)
            version, names = dist.version, _entry_point_names(dist)
            if Version(version) <= Version(record.version):
                return Installed(record.distribution, record.version, record.entry_points, Path(record.path),
                                 changed=False)
            final = Path(record.path)
            old = final.with_name(f".old-{final.name}")
            os.rename(final, old)
            os.rename(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        new = record.model_copy(update={"version": version, "installed_at": _now(), "entry_points": names})
        update_config(lambda config: config.plugins.installed.__setitem__(key, new), where)
    return Installed(new.distribution, new.version, new.entry_points, final)


def installed_names(locations: Locations | None = None) -> list[str]:
    return sorted(load_config(locations or Locations.from_environment()).plugins.installed)


def _unpinned(source: str) -> str:
    """``NAME==1.0`` updates to the newest ``NAME``; paths and URLs are taken as they are now."""
    if "==" in source and not Path(source).exists() and not source.startswith("git+"):
        return source.split("==", 1)[0]
    return source


def _canonical(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def install_command(command: str, *, name: str | None = None, metadata_file: Path | None = None,
                    options: dict[str, list[str] | str] | None = None,
                    locations: Locations | None = None) -> str:
    """Register an executable plugin (docs/plugins/command.md). Metadata comes from ``metadata_file``
    (a TOML file; default: ``<command>.toml`` or ``wasmrun-plugin.toml`` beside the executable when
    present), then ``options`` (the command-line flags) override it."""
    from wasmrun.command_plugin import PROTOCOL_SUBCOMMANDS, load_metadata
    from wasmrun.config import CommandPluginConfig

    where = locations or Locations.from_environment()
    exe = Path(command).expanduser()
    if not exe.is_file():
        raise UsageError(f"no such executable: {command}")
    if not os.access(exe, os.X_OK):
        raise UsageError(f"{command} is not executable (chmod +x it)")
    exe = exe.resolve()
    data: dict[str, object] = {}
    candidates = [metadata_file] if metadata_file else [exe.with_suffix(".toml"), exe.parent / "wasmrun-plugin.toml"]
    for candidate in candidates:
        if candidate is not None and (candidate.is_file() or metadata_file is not None):
            data.update(load_metadata(candidate))
            break
    data.update({k: v for k, v in (options or {}).items() if v})
    plugin_name = str(name or data.pop("name", "") or exe.stem)
    data.pop("name", None)
    problem = plugin_names.problem(plugin_name)
    if problem:
        raise UsageError(problem + ("" if name or "name" in (options or {}) else " (give one with --name)"))
    offered = data.get("subcommands", ["compile"])
    unknown = [s for s in offered if s not in PROTOCOL_SUBCOMMANDS] if isinstance(offered, list) else [offered]
    if unknown:
        known = ", ".join(PROTOCOL_SUBCOMMANDS)
        raise UsageError(f"unknown subcommand(s) {', '.join(map(str, unknown))} (known: {known})")
    try:
        spec = CommandPluginConfig.model_validate({**data, "command": str(exe), "installed_at": _now()})
    except ValueError as exc:
        first = str(exc).splitlines()
        raise UsageError(f"bad plugin metadata: {first[1] if len(first) > 1 else first[0]}") from None
    with _store_lock(where):
        _refuse_clashes(f"command:{plugin_name}", [plugin_name], where)
        update_config(lambda config: config.plugins.commands.__setitem__(plugin_name, spec), where)
    return plugin_name


def uninstall_command(name: str, *, locations: Locations | None = None) -> bool:
    """Forget an executable plugin (the executable itself is the user's and stays)."""
    where = locations or Locations.from_environment()
    if name not in load_config(where).plugins.commands:
        return False
    update_config(lambda config: config.plugins.commands.pop(name, None), where)
    return True


def set_enabled(name: str, enabled: bool, *, known: set[str], locations: Locations | None = None) -> bool:
    """Enable or disable a plugin by name (built-ins too); returns whether anything changed."""
    if name not in known:
        raise UsageError(f"no plugin named {plugin_names.shown(name)} (known: {', '.join(sorted(known))})")
    where = locations or Locations.from_environment()
    before = name in load_config(where).plugins.disabled

    def change(config: object) -> None:
        from wasmrun.config import Config

        assert isinstance(config, Config)
        rest = [d for d in config.plugins.disabled if d != name]
        config.plugins.disabled = rest if enabled else [*rest, name]

    update_config(change, where)
    return before == enabled
