"""The hook contract between wasmrun and its language plugins.

A language plugin is a module or object with functions marked ``@wasmrun.hookimpl`` whose names
match the specs below. wasmrun calls every hook on one plugin at a time (through
``PluginManager.subset_hook_caller``, so wrapper plugins such as a build cache still run around
it); each spec is ``firstresult``: the first non-``None`` result is the answer.

:func:`plugin_info`, :func:`can_handle_project` and :func:`build` are required (the one list:
:data:`wasmrun.plugin_contract.REQUIRED_HOOKS`); every other hook has a sensible default when a
plugin leaves it out (noted on each). The contract's version is
:data:`wasmrun.HOOK_API_VERSION`; docs/plugins/hooks.md documents each hook with its exact
signature and a test keeps the two in step.
"""

from __future__ import annotations

from pathlib import Path

import pluggy

from wasmrun.models import BuildConfig, BuildResult, Claim, PluginInfo, Target, ToolStatus

hookspec = pluggy.HookspecMarker("wasmrun")


@hookspec(firstresult=True)
def plugin_info() -> PluginInfo:
    """Describe the plugin: name, version, languages, tools and capabilities.

    Fires whenever wasmrun lists, chooses or reports on plugins. Required.

    :return: the plugin's :class:`~wasmrun.models.PluginInfo`. Its ``name`` is the name users
        type after ``--language`` and in ``wasmrun plugin ...`` commands.
    """


@hookspec(firstresult=True)
def can_handle_project(project_dir: Path) -> Claim | None:
    """Decide whether a project is written in this plugin's language.

    Fires for every enabled plugin when wasmrun picks the plugin for a project (``compile``,
    ``detect``, ``exec`` and ``run`` on a directory). Claim precisely: a project that merely
    contains a file of your language but is clearly another language's (a Rust crate with a
    Makefile is not C) must not be claimed. Must be fast and must not run tools. Required.

    :param project_dir: the project's root directory (absolute, exists).
    :return: a :class:`~wasmrun.models.Claim` listing the files that show the language (shown by
        ``wasmrun detect``), or ``None`` to decline. ``Claim(fallback=True)`` claims only when no
        other plugin does. Since hook API 1.1 a claim may carry ``target`` (and ``target_reason``):
        the target that suits the project when the user names none on the command line or in
        ``wasmrun.toml``, e.g. ``Target.WEB`` for a Go program that imports ``syscall/js``.
        ``compile``, ``run``, ``exec`` and ``detect`` honour it; ``None`` means ``wasm``.
    """


@hookspec(firstresult=True)
def validate_project(project_dir: Path) -> list[str] | None:
    """Check that a claimed project can be built, before any tool runs.

    Fires after the plugin is chosen and before :func:`build`. Default: no problems.

    :param project_dir: the project's root directory.
    :return: a list of problems, each one line a user can act on (empty or ``None``: fine).
    """


@hookspec(firstresult=True)
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus] | None:
    """Report the external tools the plugin needs, found or missing.

    Fires before a build (``probe=False``: look the tools up, cheaply) and from ``wasmrun doctor``
    (``probe=True``: also try a tiny compile, to catch a tool that is present yet broken, such as
    clang without the wasm32 runtime library). Default: no tools needed.

    :param target: the output the caller wants; report the tools that target needs.
    :param probe: whether to run a probe compile.
    :return: one :class:`~wasmrun.models.ToolStatus` per tool. A build is refused when a
        non-optional tool is missing, and when every alternative of an optional group is.
    """


@hookspec(firstresult=True)
def build(config: BuildConfig) -> BuildResult | None:
    """Build the project to WebAssembly.

    Fires on the chosen plugin for ``compile``, and for ``exec``/``run`` on a project. Write
    outputs only under ``config.output_dir`` (wasmrun moves them into place afterwards, so it
    never overwrites a file it did not build). Run tools through :func:`wasmrun.toolchain.run`,
    which logs the exact command for ``-v`` and raises :class:`~wasmrun.errors.BuildError` with
    the tool's own output when it fails. Required.

    :param config: where the project is, where outputs go, optimization level, target, extra
        toolchain arguments.
    :return: the :class:`~wasmrun.models.BuildResult` with absolute paths; since hook API 1.1
        with ``inputs`` (:class:`~wasmrun.models.BuildInputs`): the files the toolchain read, the
        paths probed to choose it, the environment variables its tools read. The build cache keys
        the output by them; left out, every project file and the whole environment count.
    """


@hookspec(firstresult=True)
def clean(project_dir: Path, output_dir: Path, make_clean: bool) -> list[Path] | None:
    """Remove build artefacts the plugin's tools left outside wasmrun's output directory.

    Fires for ``wasmrun clean``, after wasmrun has removed the files it recorded in the output
    directory. Delete only what the plugin's own build created (for example a ``target/`` that a
    build made); never sources or files the user made. Default: nothing to do.

    :param project_dir: the project's root directory.
    :param output_dir: wasmrun's output directory for this project.
    :param make_clean: (hook API 1.2) the user asked for the project's own clean rule too
        (``wasmrun clean --make-clean``: ``make clean``); never run it otherwise.
    :return: the paths removed.
    """


@hookspec(firstresult=True)
def project_template(flavour: str) -> dict[str, str] | None:
    """Provide a starter project, for ``wasmrun init``.

    :param flavour: ``"command"`` (a program printing hello) or ``"library"`` (exports only).
    :return: file contents keyed by project-relative path, or ``None`` when the flavour is not
        offered.
    """


@hookspec(firstresult=True)
def source_files(project_dir: Path) -> list[Path] | None:
    """List the files whose change changes the build: watched by ``run --watch`` (the build cache
    keys a build by what :func:`build` reports it read instead).

    Default: every file with one of the plugin's ``extensions`` plus its ``entry_files``, outside
    hidden and output directories.

    :param project_dir: the project's root directory.
    :return: absolute paths.
    """


@hookspec(firstresult=True)
def toolchain_versions(target: Target) -> dict[str, str] | None:
    """Report the versions of the tools a build for ``target`` would use, for ``wasmrun doctor``.

    :param target: the output the caller wants.
    :return: tool name to version string.
    """
