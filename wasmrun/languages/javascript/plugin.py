"""The JavaScript and TypeScript plugins' hooks, shared: the two differ only in which entry files
they claim (``.js``/``.mjs`` or ``.ts``/``.mts``) and in their templates, so ``detect`` names the
language and ``init javascript`` / ``init typescript`` each write their own project."""

from __future__ import annotations

import time
from pathlib import Path

from wasmrun import __version__, component_tools, toolchain
from wasmrun.errors import UsageError
from wasmrun.languages.javascript import build as steps
from wasmrun.languages.javascript import project as projects
from wasmrun.languages.javascript import templates
from wasmrun.models import (
    BuildConfig,
    BuildInputs,
    BuildResult,
    Capability,
    Claim,
    GlueKind,
    PluginInfo,
    ToolStatus,
)

LOCK_FILES = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml")


def language(typescript: bool) -> str:
    return "typescript" if typescript else "javascript"


def info(typescript: bool) -> PluginInfo:
    what = "TypeScript (tsc, then as JavaScript)" if typescript else "JavaScript"
    return PluginInfo(
        name=language(typescript),
        aliases=["ts"] if typescript else ["js", "node"],
        version=__version__,
        description=f"{what}: bundled with esbuild, built into a WASI 0.2 component by componentize-qjs (QuickJS)",
        author="wasmrun",
        extensions=list(projects.TYPESCRIPT_SUFFIXES if typescript else (".js", ".mjs")),
        entry_files=["package.json"],
        builtin=True,
        source="builtin",
        tools=["node", *(["tsc"] if typescript else []), "esbuild", "componentize-qjs"],
        capabilities=[Capability.COMPONENT, Capability.WASI, Capability.LIBRARY],
    )


def claim(root: Path, typescript: bool) -> Claim | None:
    """A ``package.json`` project with an entry file of this language, unless it is AssemblyScript's
    (or another language's: a Rust, Go or Zig manifest beside it)."""
    if not (root / "package.json").is_file() or any((root / m).exists() for m in projects.FOREIGN_MANIFESTS):
        return None
    if projects.is_assemblyscript(root):
        return None
    note = ""
    try:
        package = projects.read_package_json(root)
    except UsageError as exc:  # claimed by its entry file, so the build says what is wrong
        package, note = {}, f"; {exc.message}: the build stops there"
    entry = projects.find_entry(root, package)
    if entry is None or (entry.suffix in projects.TYPESCRIPT_SUFFIXES) != typescript:
        return None
    library = (root / projects.WIT_DIR).is_dir()
    evidence = ["package.json", entry.relative_to(root).as_posix(), *([projects.WIT_DIR + "/"] if library else [])]
    kind = "a library component exporting the world in wit/" if library else "a wasi:cli/command component"
    return Claim(evidence=evidence,
                 note=f"not AssemblyScript (no asconfig.json, no assemblyscript dependency): {kind}{note}")


def validate(root: Path) -> list[str]:
    try:
        projects.load(root)
    except UsageError as exc:
        return [exc.message]
    return []


def sources(root: Path, typescript: bool) -> list[Path]:
    from wasmrun.building import walk_sources

    suffixes = [".js", ".mjs", ".cjs", ".json", *([".ts", ".mts", ".cts"] if typescript else []), ".wit"]
    return walk_sources(root, suffixes, ["package.json", *LOCK_FILES])


def statuses() -> list[ToolStatus]:
    """node; and npm while componentize-qjs or esbuild is still to be installed (wasmrun does that
    on first use; ``doctor`` lists them among the component tools)."""
    node = toolchain.find_tool("node")
    out = [ToolStatus(name="node", found=node is not None, path=node,
                      version=toolchain.tool_version(node) if node else None, required_for="every build",
                      install_hint=steps.NODE_HINT)]
    missing = [t.name for t in (component_tools.COMPONENTIZE_QJS, component_tools.ESBUILD)
               if component_tools.installed(t) is None]
    if missing:
        npm = toolchain.find_tool("npm")
        out.append(ToolStatus(name="npm", found=npm is not None, path=npm,
                              required_for=f"installing {' and '.join(missing)} on first use",
                              install_hint=steps.NODE_HINT))
    return out


def build(config: BuildConfig, typescript: bool) -> BuildResult:
    if config.toolchain not in (None, "componentize-qjs", "qjs"):
        raise UsageError(f"unknown {language(typescript)} toolchain '{config.toolchain}' (componentize-qjs is the one)")
    project = projects.load(config.project_dir)
    from wasmrun.project_config import load_project_config

    started = time.monotonic()
    scratch = steps.scratch_directory()
    try:
        read: list[Path] = []
        entry, by = project.entry, ["esbuild " + component_tools.ESBUILD.version]
        if project.typescript:
            entry, configs, tsc = steps.compile_typescript(project, scratch)
            read += configs
            by.insert(0, tsc)
        bundled, bundled_inputs = steps.bundle(project, entry, scratch, library=project.library)
        wit, wit_files = steps.wit_directory(project, scratch)
        source = bundled.read_text(encoding="utf-8") if project.library else \
            steps.command_source(project, bundled, scratch)
        world = load_project_config(config.project_dir).world if project.library else None
        out = config.output_dir / f"{project.name}.wasm"
        steps.componentize(source, wit, out, scratch, world)
    finally:
        steps.remove(scratch)
    by.append(f"componentize-qjs {component_tools.COMPONENTIZE_QJS.version}")
    if project.typescript:  # tsc read the project's TypeScript: every such file counts
        read += [p for p in sources(config.project_dir, True) if p.suffix in (".ts", ".mts", ".cts")]
    files = sorted({*read, *bundled_inputs, *wit_files,
                    *(config.project_dir / n for n in ("package.json", *LOCK_FILES)
                      if (config.project_dir / n).is_file()),
                    steps.PRELUDE, steps.TYPES})
    tools = [component_tools.COMPONENTIZE_QJS, component_tools.ESBUILD, component_tools.TYPESCRIPT]
    probed = [config.project_dir / "tsconfig.json", config.project_dir / projects.WIT_DIR,
              config.project_dir / "node_modules" / "typescript" / "package.json",
              *(t.directory() / t.marker for t in tools)]
    return BuildResult(
        wasm_path=out, glue=GlueKind.COMPONENT, toolchain=", ".join(by), post_process=False,
        duration_s=time.monotonic() - started,
        inputs=BuildInputs(files=files, probed=probed,
                           environment=["NODE_PATH", "NODE_OPTIONS", component_tools.TOOLS_DIR_VARIABLE]))


def template(flavour: str, typescript: bool) -> dict[str, str] | None:
    return templates.template(flavour, typescript)


def versions(typescript: bool) -> dict[str, str]:
    out = {s.name: s.version or "unknown" for s in statuses() if s.found and s.name == "node"}
    out["componentize-qjs"] = component_tools.COMPONENTIZE_QJS.version
    out["esbuild"] = component_tools.ESBUILD.version
    if typescript:
        out["typescript"] = f"{component_tools.TYPESCRIPT.version} (unless the project has its own)"
    return out
