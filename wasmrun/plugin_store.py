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


def _pip(args: list[str], what: str, *, action: str = "install") -> str:
    """Run pip with this Python; an error names what failed with pip's last error line."""
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR:")] or lines or ["pip failed"]
        raise InstallError(f"cannot {action} {what}: {errors[0].removeprefix('ERROR: ')}")
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


def install(source: str, *, force: bool = False, locations: Locations | None = None) -> Installed:
    """Install a plugin from an index name (``NAME[==VERSION]``), a path (project or wheel) or a
    ``git+URL``, record it in the config and make it loadable at once.

    :param force: when wasmrun installed this distribution already, install it again over the old
        copy, even at the same version (the plugin author's loop: a path whose files changed).
    """
    where = locations or Locations.from_environment()
    load_config(where)  # a broken config file stops us before pip runs, not after
    source = normalise_source(source)
    _refuse_provided(_declared_plugins(Path(source)) if Path(source).is_dir() else [])  # before pip builds it
    with _store_lock(where):
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=where.plugins_dir))
        try:
            dist = _install_into(staging, source)
            name, version, names = dist.metadata["Name"], dist.version, _entry_point_names(dist)
            if force and _canonical(name) in load_config(where).plugins.installed:
                return _replace(_canonical(name), staging, dist, where, source=source)
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


def _replace(key: str, staging: Path, dist: metadata.Distribution, where: Locations, *,
             source: str | None = None) -> Installed:
    """Put a freshly installed copy (in ``staging``) in place of the installed plugin ``key``."""
    record = load_config(where).plugins.installed[key]
    version, names = dist.version, _entry_point_names(dist)  # read before its files move
    final = Path(record.path)
    old = final.with_name(f".old-{final.name}")
    if final.exists():
        os.rename(final, old)
    os.rename(staging, final)
    shutil.rmtree(old, ignore_errors=True)
    new = record.model_copy(update={"version": version, "installed_at": _now(), "entry_points": names,
                                    "source": source or record.source})
    update_config(lambda config: config.plugins.installed.__setitem__(key, new), where)
    return Installed(new.distribution, new.version, new.entry_points, final)


def _refuse_clashes(distribution: str, names: list[str], where: Locations) -> None:
    builtins = _builtin_names()
    config = load_config(where)
    if _canonical(distribution) in config.plugins.installed:
        raise InstallError(f"{distribution} is already installed (reinstall it: wasmrun plugin install --force "
                           f"SOURCE, or update it from its source: wasmrun plugin update {distribution})")
    taken = {ep for rec in config.plugins.installed.values() for ep in rec.entry_points}
    taken |= set(config.plugins.commands)
    for name in names:
        problem = plugin_names.problem(name)
        if problem:
            raise InstallError(f"{distribution} declares an entry point with an {problem}")
        if name in builtins:
            raise InstallError(f"plugin name '{name}' is already built into wasmrun")
        _refuse_provided([name])
        if name in taken:
            raise InstallError(f"a plugin named '{name}' is already installed")


def _declared_plugins(project: Path) -> list[str]:
    """The plugin names a project directory's pyproject.toml declares (none when it cannot tell)."""
    import tomllib

    try:
        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    eps = data.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    return [str(name) for name in eps] if isinstance(eps, dict) else []


def _refuse_provided(names: list[str]) -> None:
    provided = {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    for name in names:
        if name in provided:
            raise InstallError(provided_by_pip(name, provided[name]))


def provided_by_pip(name: str, ep: metadata.EntryPoint) -> str:
    """Why a plugin pip already provides is not installed again, where that copy is, and what to do."""
    from wasmrun.plugins import distribution_label, distribution_location, editable_path

    dist_name, version = distribution_label(ep)
    editable = editable_path(ep.dist)
    if editable:
        return (f"pip already provides '{name}' ({dist_name} {version}, editable, from {editable}): wasmrun "
                "uses it as it is, edits included; to install a copy instead, first remove it: "
                f"wasmrun plugin uninstall {name}")
    return (f"pip already provides '{name}' ({dist_name} {version}, in {distribution_location(ep.dist)}): "
            f"upgrade it with pip there, or remove it (pip uninstall {dist_name}) to install it with wasmrun")


def install_editable(source: str, *, locations: Locations | None = None) -> Installed:
    """``pip install -e PATH`` into the environment wasmrun runs in: the plugin author's loop.
    wasmrun imports the plugin from its source directory, so an edit is in use at the next command
    with nothing reinstalled. Refused when wasmrun installed a copy of the same plugin (two copies
    of one module cannot both be imported)."""
    where = locations or Locations.from_environment()
    path = Path(source).expanduser()
    if not path.is_dir() or not any((path / f).is_file() for f in ("pyproject.toml", "setup.py", "setup.cfg")):
        raise UsageError(f"an editable install needs a project directory (with pyproject.toml): {source}")
    path = path.resolve()
    distribution = _project_name(path)
    from wasmrun.plugins import editable_path

    for dist in metadata.distributions():
        if editable_path(dist) == str(path) and _entry_point_names(dist):  # done already: nothing to do
            return Installed(dist.metadata["Name"], dist.version, _entry_point_names(dist), path, changed=False)
    if (path / "pyproject.toml").is_file() and not _declared_plugins(path):  # refused before pip touches anything
        raise InstallError(f"{path} declares no wasmrun plugin (no [project.entry-points.{ENTRY_POINT_GROUP}] "
                           "in its pyproject.toml)")
    _refuse_provided(_declared_plugins(path))
    config = load_config(where)
    if distribution and _canonical(distribution) in config.plugins.installed:
        record = config.plugins.installed[_canonical(distribution)]
        raise InstallError(f"{record.distribution} {record.version} is installed by wasmrun in {record.path}; "
                           f"remove that copy first: wasmrun plugin uninstall {_canonical(distribution)}")
    with _store_lock(where):
        _pip(["install", "--quiet", "-e", str(path)], str(path))
    import importlib

    importlib.invalidate_caches()
    for dist in metadata.distributions():
        if editable_path(dist) == str(path) and _entry_point_names(dist):
            return Installed(dist.metadata["Name"], dist.version, _entry_point_names(dist), path)
    raise InstallError(f"{path} declares no wasmrun plugin (no entry point in the '{ENTRY_POINT_GROUP}' group)")


def _project_name(path: Path) -> str:
    """The distribution name a project directory's pyproject.toml declares ("" when it does not)."""
    import tomllib

    try:
        data = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    name = data.get("project", {}).get("name", "")
    return name if isinstance(name, str) else ""


def uninstall_editable(name: str) -> Path | None:
    """Remove an editable install (``plugin install -e``) of the plugin or distribution ``name``:
    pip forgets it; its source directory, the author's, stays. ``None`` when it is not one."""
    from wasmrun.plugins import editable_path

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        if dist is None or name not in (ep.name, dist.metadata["Name"], _canonical(dist.metadata["Name"])):
            continue
        source = editable_path(dist)
        if source is None:
            return None
        _pip(["uninstall", "--yes", "--quiet", dist.metadata["Name"]], dist.metadata["Name"], action="uninstall")
        return Path(source)
    return None


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
            new, old = Version(dist.version), Version(record.version)
            if new < old or not (new > old or _files_differ(staging, Path(record.path))):
                return Installed(record.distribution, record.version, record.entry_points, Path(record.path),
                                 changed=False)
            return _replace(key, staging, dist, where)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


#: What differs between two installs of the same files: bytecode (it holds the time it was made)
#: and pip's own bookkeeping.
_NOT_COMPARED = ("__pycache__", "RECORD", "INSTALLER", "REQUESTED", "direct_url.json")


def _files_differ(new: Path, old: Path) -> bool:
    """Whether a fresh install holds other files, or other contents, than the installed copy (a
    path source whose files changed without a new version)."""
    from wasmrun.testing import snapshot

    def files(root: Path) -> dict[str, str]:
        return {path: digest for path, digest in snapshot(root).items()
                if not any(part in _NOT_COMPARED or part.endswith(".pyc") for part in path.split("/"))}

    return not old.is_dir() or files(new) != files(old)


def is_installed(name: str, locations: Locations | None = None) -> bool:
    """Whether wasmrun's store holds the plugin or distribution ``name``."""
    config = load_config(locations or Locations.from_environment())
    return _canonical(name) in config.plugins.installed or any(
        name in record.entry_points for record in config.plugins.installed.values())


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
