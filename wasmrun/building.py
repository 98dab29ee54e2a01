"""Building, cleaning and checking a project through its plugin (chosen by :mod:`wasmrun.detection`,
whose functions are importable from here too).

These are the functions the CLI is a thin layer over; tests call them directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wasmrun import manifests, postprocess, toolchain
from wasmrun.build_inputs import BUILD_DIRS
from wasmrun.detection import Detection as Detection
from wasmrun.detection import choose
from wasmrun.detection import choose_plugin as choose_plugin
from wasmrun.detection import detect as detect
from wasmrun.errors import BuildError, MissingToolchainError, NoPluginError, PluginError, UsageError
from wasmrun.models import BuildConfig, BuildResult, Optimization, Target, ToolStatus, unusable_tools
from wasmrun.outputs import Staging, configured_output_dir, remove_outputs, resolve_output_dir
from wasmrun.plugins import Plugins, configured_plugins
from wasmrun.project_config import load_project_config

log = logging.getLogger("wasmrun.toolchain")  # shown by -v, beside the commands run

#: Directories never searched for sources: where toolchains write.
SKIPPED_DIRS = BUILD_DIRS


def default_plugins() -> Plugins:
    """The plugins as the user configured them: config file, then environment."""
    return configured_plugins()


def project_path(path: str | Path) -> Path:
    """An existing project directory, absolute; a clear error otherwise."""
    project = Path(path).expanduser()
    if not project.exists():
        raise UsageError(f"no such file or directory: {path}")
    if not project.is_dir():
        raise UsageError(f"not a project directory: {path}")
    return project.resolve()


def check_toolchain(plugins: Plugins, name: str, target: Target, *, probe: bool = False) -> list[ToolStatus]:
    """The plugin's tools for ``target``; raises when a build could not run."""
    statuses = plugins.call(name, "check_dependencies", target=target, probe=probe) or []
    missing = unusable_tools(statuses)
    if missing:
        required = [s for s in missing if not s.optional]
        raise MissingToolchainError(_missing_message(name, target, required[:1] or missing))
    return statuses


def _missing_message(plugin: str, target: Target, tools: list[ToolStatus]) -> str:
    names = " or ".join(t.name for t in tools)
    hints = "; ".join(f"{t.name}: {t.install_hint}" for t in tools if t.install_hint)
    broken = [t for t in tools if t.found and t.probe_ok is False]
    what = "is installed but cannot build" if broken and len(tools) == 1 else "is needed"
    line = f"{names} {what} to build {plugin} for --target {target.value}"
    return f"{line} ({hints})" if hints else line


def compile_project(
    project_dir: Path,
    plugins: Plugins,
    *,
    output_dir: Path | None = None,
    optimization: Optimization | None = None,
    target: Target | None = None,
    language: str | None = None,
    toolchain_name: str | None = None,
    extra_args: list[str] | None = None,
    debug_info: bool = False,
    verbose: bool = False,
    use_cache: bool = True,
    optimize: bool = True,
) -> BuildResult:
    """Build the project with the plugin that claims it; outputs land in ``output_dir``.

    An invocation whose every input is as an earlier stored build recorded it is restored from the
    build cache without choosing a plugin or running a tool (:mod:`wasmrun.recording`);
    ``use_cache=False`` builds anyway (and stores the build beside the others).
    Settings not given here come from the project's ``wasmrun.toml`` (:mod:`wasmrun.project_config`).
    Release and size builds go through wasm-opt when it is installed (:mod:`wasmrun.postprocess`);
    ``optimize=False`` (``--no-opt``) keeps the toolchain's output as it is.
    """
    from wasmrun.cache import BuildCache
    from wasmrun.recording import CachedCompile

    if target is Target.COMPONENT:  # installed before the build starts, so that this build can be stored
        from wasmrun.componentize import ensure_tools

        ensure_tools()
    settings = load_project_config(project_dir)
    options = manifests.invocation(project_dir, output_dir=output_dir, optimization=optimization, target=target,
                                   language=language, toolchain=toolchain_name, extra_args=list(extra_args or []),
                                   debug_info=debug_info, optimize=optimize,
                                   default_output=configured_output_dir(project_dir, settings))
    cache = BuildCache.default()
    cached = CachedCompile(options, project_dir, read=use_cache, cache=cache) if cache.enabled else None
    restored = cached.lookup() if cached is not None else None
    if restored is not None:
        return BuildResult.model_validate(restored)
    started = time.perf_counter()
    commands = toolchain.start_recording()
    optimization = optimization or settings.optimization or Optimization.RELEASE
    language = language or settings.language
    toolchain_name = toolchain_name or settings.toolchain
    extra_args = extra_args or settings.extra_args
    out = (output_dir or configured_output_dir(project_dir, settings)).absolute()
    name, claim = choose(project_dir, plugins, language)
    chosen_by_plugin = target is None and settings.target is None and claim is not None and claim.target is not None
    target = target or settings.target or (claim.target if claim is not None else None) or Target.WASM
    why_target = f"{target.value} is this project's default target" + (
        f" ({claim.target_reason})" if claim is not None and claim.target_reason else "")
    if chosen_by_plugin:
        log.info("target %s", why_target.removeprefix(f"{target.value} is "))
    problems = plugins.call(name, "validate_project", project_dir=project_dir) or []
    if problems:
        raise UsageError(f"{project_dir} cannot be built by {name}: {problems[0]}")
    plugin_target = _plugin_target(plugins, name, target)
    try:
        check_toolchain(plugins, name, plugin_target)
    except MissingToolchainError as exc:
        if not chosen_by_plugin:
            raise
        raise MissingToolchainError(f"{exc.message}; {why_target}: --target names another",
                                    hint=exc.hint) from None
    staging = Staging(out)
    try:
        config = BuildConfig(project_dir=project_dir, output_dir=staging.path, optimization=optimization,
                             target=plugin_target, debug_info=debug_info, toolchain=toolchain_name,
                             extra_args=list(extra_args or []), verbose=verbose)
        if cached is not None:
            cached.before_build(out)
        result, optimize_problem = _build(plugins, name, config, optimize, component=target is Target.COMPONENT)
        if not isinstance(result, BuildResult):
            raise PluginError(f"plugin '{name}' returned {type(result).__name__} from build, not BuildResult")
        if not result.wasm_path.is_file():
            raise BuildError(f"{name} reported {result.wasm_path} but did not write it")
        if cached is not None:
            cached.store(plugins, name, result, staging.path, optimize_problem)
        placed = staging.commit(result.files(), replace_previous=True)  # the output directory holds one build
        moves = {staged.resolve(): final for staged, final in placed.items()}
    finally:
        staging.discard()

    def moved(path: Path | None) -> Path | None:
        return None if path is None else moves.get(path.resolve(), path)

    final = result.model_copy(update={
        "wasm_path": moved(result.wasm_path),
        "js_path": moved(result.js_path),
        "html_path": moved(result.html_path),
        "additional_files": [moved(p) for p in result.additional_files],
        "plugin": name,
        "commands": list(commands),
        "duration_s": round(time.perf_counter() - started, 4),
        "cached": False,
    })
    if cached is not None:
        cached.remember(final.model_dump(mode="json"))
    return final


def _plugin_target(plugins: Plugins, name: str, target: Target) -> Target:
    """The target the plugin builds for: ``component`` only when its toolchain emits components
    itself (its ``component`` capability); otherwise it builds a module that wasmrun wraps."""
    from wasmrun.models import Capability

    if target is Target.COMPONENT and Capability.COMPONENT not in plugins.info(name).capabilities:
        return Target.WASM
    return target


def _build(plugins: Plugins, name: str, config: BuildConfig, optimize: bool,
           component: bool = False) -> tuple[BuildResult, str | None]:
    """The plugin's build, then wasm-opt over it, then for ``--target component`` the wrapping into
    a component (all in the staging directory, so the cache keeps the result); and why wasm-opt
    failed, when it did (such a build is not stored)."""
    result: BuildResult = plugins.call(name, "build", config=config)
    problem = None
    if optimize and isinstance(result, BuildResult) and result.wasm_path.is_file():
        result, problem = postprocess.optimize(result, config)
    if component and isinstance(result, BuildResult) and result.wasm_path.is_file():
        from wasmrun.componentize import componentize

        result = componentize(result, config)
    return result, problem


def clean_project(project_dir: Path, plugins: Plugins, *, output_dir: Path | None = None,
                  language: str | None = None, make_clean: bool = False) -> list[Path]:
    """Remove what wasmrun built for the project: the outputs its manifest records, then what the
    plugin's ``clean`` hook names (its toolchain's build directories). Files the user wrote stay,
    and no symlink is followed (:func:`wasmrun.outputs.remove_outputs`). ``make_clean``: the
    plugin also runs the project's own clean rule (``make clean``)."""
    out = resolve_output_dir(project_dir, output_dir)
    removed = remove_outputs(out)
    try:
        name = choose_plugin(project_dir, plugins, language)
    except NoPluginError:
        return removed
    removed += plugins.call(name, "clean", project_dir=project_dir, output_dir=out, make_clean=make_clean) or []
    return removed


def source_files(project_dir: Path, plugins: Plugins, name: str) -> list[Path]:
    """The files that matter to the build: the plugin's answer, or its extensions and entry files."""
    listed = plugins.call(name, "source_files", project_dir=project_dir)
    if listed is not None:
        return sorted(listed)
    info = plugins.info(name)
    return walk_sources(project_dir, info.extensions, info.entry_files)


def walk_sources(project_dir: Path, extensions: Iterable[str], names: Iterable[str] = ()) -> list[Path]:
    """Files under ``project_dir`` with one of ``extensions`` or named in ``names``, skipping hidden
    and build directories."""
    import os

    found: list[Path] = []
    wanted_names = set(names)
    suffixes = tuple(extensions)
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for filename in files:
            if (filename in wanted_names or (suffixes and filename.endswith(suffixes))) and \
                    os.path.isfile(os.path.join(root, filename)):  # never a FIFO or device named like a source
                found.append(Path(root) / filename)
    return sorted(found)


@dataclass
class LanguageReport:
    """``wasmrun doctor`` for one plugin and target."""

    plugin: str
    target: Target
    tools: list[ToolStatus]
    error: str | None = None

    @property
    def ready(self) -> bool:
        if self.error:
            return False
        return not unusable_tools(self.tools)


def doctor(plugins: Plugins, *, probe: bool = True) -> list[LanguageReport]:
    """Every plugin's tools for each target it can build, probed."""
    from wasmrun.models import Capability

    reports: list[LanguageReport] = []
    for record in plugins.loaded():
        info = plugins.info(record.name)
        targets = [Target.WASM] + ([Target.WEB] if Capability.WEB in info.capabilities else [])
        for target in targets:
            try:
                tools = plugins.call(record.name, "check_dependencies", target=target, probe=probe) or []
                reports.append(LanguageReport(record.name, target, tools))
            except (PluginError, MissingToolchainError) as exc:
                reports.append(LanguageReport(record.name, target, [], error=exc.message))
    return reports
