"""Around one ``compile``: look the invocation up before anything runs, and after a build, record
what it read and store it, unless something changed while it ran.

:func:`wasmrun.building.compile_project` makes one call before the build (:meth:`CachedCompile.lookup`)
and two after it (:meth:`CachedCompile.store`, while the outputs are still staged, and
:meth:`CachedCompile.remember`, once they are in place). What counts as an input:

* what the toolchain read, as the plugin reports it (:class:`wasmrun.models.BuildInputs`): the
  dependency output of clang, cargo, go, ...; a plugin that reports nothing gets every file under
  the project (hidden ones too), except wasmrun's output directory, version control, and files the
  build itself created;
* the paths the plugin probed to choose a toolchain (a sysroot, a target directory), and the
  environment variables its tools read (a plugin that does not say: the whole environment);
* the programs that ran, by content (:func:`wasmrun.toolchain.programs_used`: the resolved binary,
  and for ``python -m X`` the package of ``X``);
* what decides which plugin and toolchain are chosen: the project's directory listings and its
  settings files, wasmrun's config file, ``PATH`` and the directories on it, the directories on
  ``sys.path`` (a plugin installed or removed) and the code of every loaded plugin and of wasmrun.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wasmrun import manifests
from wasmrun.build_inputs import BUILD_DIRS, InputSpec, ProjectTree, record_inputs, walk_project
from wasmrun.cache import BuildCache
from wasmrun.fingerprints import DigestMemo, fs_clock_ns

if TYPE_CHECKING:
    from wasmrun.models import BuildResult
    from wasmrun.plugins import Plugins

log = logging.getLogger("wasmrun.cache")

#: Variables that change which plugins load, where wasmrun keeps its files, or which tools are
#: found, whatever the plugin's tools read.
CORE_ENVIRONMENT = ("PATH", "WASMRUN_LOAD_PLUGINS", "WASMRUN_DISABLE_PLUGINS", "WASMRUN_HOME", "PYTHONPATH",
                    "XDG_CONFIG_HOME", "XDG_DATA_HOME", "HOME")
#: A project's own settings files (:mod:`wasmrun.project_config`).
SETTINGS_FILES = ("wasmrun.toml", "pyproject.toml")


class CachedCompile:
    """The build cache's part in one ``compile`` invocation."""

    def __init__(self, options: dict[str, Any], project_dir: Path, *, read: bool = True,
                 cache: BuildCache | None = None) -> None:
        self.options = options
        self.project_dir = project_dir
        self.read = read
        self.cache = cache or BuildCache.default()
        self.started_ns = fs_clock_ns(self.cache.root / "tmp")
        self.before: ProjectTree | None = None
        self.output_dir: Path | None = None
        self.key: str | None = None
        self.inputs: dict[str, Any] | None = None
        self.why = ""

    # -- before -----------------------------------------------------------------------------------

    def lookup(self) -> dict[str, Any] | None:
        """The earlier result of this invocation, its outputs restored in place, when every input
        matches (the same road the typer-free ``compile`` takes); None: build."""
        if not self.read:
            self.why = "--no-cache"
            return None
        result, self.why = manifests.restore(self.options, cache=self.cache)
        log.info("build cache: %s: %s", "hit" if result else "miss", self.why)
        return result

    def before_build(self, output_dir: Path) -> None:
        """The project as the build begins (to tell afterwards what the build created)."""
        self.output_dir = output_dir
        self.before = walk_project(self.project_dir, skip=[output_dir], everything=True)

    # -- after ------------------------------------------------------------------------------------

    def store(self, plugins: Plugins, name: str, result: BuildResult, staged_dir: Path,
              postprocess_problem: str | None = None) -> bool:
        """Record the build's inputs and keep its staged outputs; False (and why, in ``self.why``)
        when it must not be kept: an input changed while it ran, or its post-processing failed."""
        if not self.cache.enabled or self.before is None or self.output_dir is None:
            return False
        if postprocess_problem:
            return self._not_stored(f"post-processing failed ({postprocess_problem}); used once, not stored")
        after = walk_project(self.project_dir, skip=[self.output_dir], everything=True)
        written = {os.path.abspath(p) for p in (result.inputs.written if result.inputs else [])}
        changed = (after.changes_since(self.before, written) or _gone(result)
                   or after.touched_since(self.started_ns, written | {str(self.output_dir)}))
        if changed:
            return self._not_stored(f"{changed}; used once, not stored")
        spec = self._spec(plugins, result, after, written)
        memo = DigestMemo(self.cache.root / "digests.json")
        inputs, too_new = record_inputs(spec, started_ns=self.started_ns, memo=memo)
        if too_new:
            return self._not_stored(f"{too_new}; used once, not stored")
        self.inputs = inputs
        self.key = manifests.entry_key(self.options, inputs)
        stored = self.cache.store(self.key, staged_dir, result)
        self.why = f"stored ({len(inputs['files'])} files and {len(inputs['dirs'])} directories recorded)"
        return stored

    def remember(self, final: dict[str, Any]) -> None:
        """Add the stored build to the invocation's manifest, with its result as ``compile``
        reported it (paths in place)."""
        if self.key is None or self.inputs is None or self.output_dir is None:
            return
        manifests.remember(self.cache, self.options, {
            "key": self.key, "inputs": self.inputs, "output_dir": str(self.output_dir),
            "result": {**final, "commands": [], "cached": True}, "created_ns": self.started_ns})

    def _not_stored(self, why: str) -> bool:
        self.why = why
        log.info("build cache: %s", why)
        return False

    def _spec(self, plugins: Plugins, result: BuildResult, after: ProjectTree, written: set[str]) -> InputSpec:
        from wasmrun import toolchain
        from wasmrun.locations import Locations

        reported = result.inputs
        spec = InputSpec(env=None if reported is None or reported.environment is None
                         else [*reported.environment, *CORE_ENVIRONMENT])
        assert self.before is not None and self.output_dir is not None
        spec.listing_skips.add(str(self.output_dir))
        if reported is not None and reported.files is not None:
            output = str(self.output_dir) + os.sep  # what earlier builds put there is output, not input
            files = {a for a in (os.path.abspath(p) for p in reported.files) if not a.startswith(output)}
            spec.add_files(files)
            # a new file beside one read may shadow it (an include path), in the project or not
            spec.add_dirs(os.path.dirname(p) for p in files)
            tree = walk_project(self.project_dir, skip=[self.output_dir])
            spec.add_dirs(tree.dirs)
            # the toolchains' build directories are not walked, but a file appearing at their top
            # is seen (a header probed there, `__has_include("target/x.h")`, found nowhere else)
            spec.add_dirs(os.path.join(d, n) for d, names in tree.dirs.items() for n in names
                          if n in BUILD_DIRS and os.path.isdir(os.path.join(d, n)))
        else:
            existed = set(self.before.files)
            spec.add_files(p for p in after.files if p in existed and p not in written)
            spec.add_dirs(after.dirs)
        spec.own_dirs.update(after.dirs)  # checked against the listing before the build instead
        for probed in reported.probed if reported is not None else []:
            (spec.add_dirs if probed.is_dir() else spec.add_files)([probed])
        spec.add_files(self.project_dir / name for name in SETTINGS_FILES)
        locations = Locations.from_environment()
        spec.add_files([locations.config_file, *toolchain.programs_used(), *code_files(plugins)])
        spec.add_dirs(p for p in os.environ.get("PATH", "").split(os.pathsep) if p)
        # not the temporary directory: `python -m wasmrun` started there puts it first on sys.path,
        # and toolchains make their scratch directories in it while they run (so no build would be
        # stored); plugins are not installed there
        scratch = os.path.realpath(tempfile.gettempdir())
        spec.add_dirs(p for p in sys.path if p and os.path.isdir(p) and os.path.realpath(p) != scratch)
        spec.add_dirs([locations.plugins_dir])
        return spec


def _gone(result: BuildResult) -> str | None:
    """A file the toolchain reports it read that is no longer there: it appeared and went while
    the build ran (recorded as absent, the build would be served for a state it never saw)."""
    read = result.inputs.files if result.inputs is not None and result.inputs.files is not None else []
    return next((f"{path}, which the build read, was removed while it ran" for path in read
                 if not os.path.lexists(path)), None)


def code_files(plugins: Plugins) -> list[str]:
    """The source files of wasmrun and of every loaded plugin: an edited plugin (an editable or
    path install, whose version does not change) is another build."""
    import wasmrun

    files = set(_package_files(os.path.dirname(os.path.abspath(wasmrun.__file__))))
    for record in plugins.loaded():
        files.update(_plugin_files(record.plugin))
    return sorted(files)


def _plugin_files(plugin: object) -> list[str]:
    import inspect

    module = plugin if inspect.ismodule(plugin) else inspect.getmodule(type(plugin))
    path = getattr(module, "__file__", None)
    if not path:
        return []
    path = os.path.abspath(path)
    if os.path.basename(path) == "__init__.py":
        return list(_package_files(os.path.dirname(path)))
    return [path]


@cache
def _package_files(directory: str) -> tuple[str, ...]:
    """Every file of a package (its data too), leaving out byte code."""
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += (os.path.join(root, f) for f in files if not f.endswith((".pyc", ".pyo")))
    return tuple(sorted(found))
