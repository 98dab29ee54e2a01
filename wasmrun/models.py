"""The data that crosses the hook boundary, as pydantic models.

Plugins receive a :class:`BuildConfig` and return a :class:`BuildResult`, a :class:`PluginInfo`,
a :class:`Claim` and :class:`ToolStatus` entries. Everything here serialises to the JSON that
``--json`` prints, so field names are part of the stable interface.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Optimization(StrEnum):
    """How hard the toolchain optimises: fast builds, fast code, or small code."""

    DEBUG = "debug"
    RELEASE = "release"
    SIZE = "size"


class Target(StrEnum):
    """What the build produces: a plain module (WASI or exports), browser output with JS glue, or a
    component (WASI 0.2: the module wrapped by wasmrun unless the plugin builds components itself)."""

    WASM = "wasm"
    WEB = "web"
    COMPONENT = "component"


class Capability(StrEnum):
    """What a language plugin can produce; ``wasmrun plugin list --capability`` filters on these."""

    WASM = "wasm"  # a plain module
    WASI = "wasi"  # a WASI command that runs natively
    LIBRARY = "library"  # a module of exports, no _start
    WEB = "web"  # browser output with its JS glue
    OPTIMIZATION_LEVELS = "optimization-levels"  # debug/release/size give different code
    DEBUG_INFO = "debug-info"  # DWARF or a name section on request
    COMPONENT = "component"  # component-model binaries


class GlueKind(StrEnum):
    """What an output needs around it to run: how ``exec`` and the dev server treat it."""

    NONE = "none"  # a module of exports, instantiated with no imports
    WASI = "wasi"  # a WASI preview1 module: run with WASI imports
    EMSCRIPTEN = "emscripten"  # emscripten's JS glue (and maybe its HTML page)
    WASM_BINDGEN = "wasm-bindgen"  # wasm-bindgen's ES module
    GO = "go"  # Go's wasm_exec.js
    ASSEMBLYSCRIPT = "assemblyscript"  # AssemblyScript's ESM bindings
    HTML = "html"  # the project's own page
    COMPONENT = "component"  # a component: a wasi:cli/command, or a library exporting a WIT world


class PluginInfo(_Model):
    """Who a plugin is and what it can do."""

    name: str
    version: str
    aliases: list[str] = Field(default_factory=list, description="other names accepted by --language")
    description: str = ""
    author: str = ""
    extensions: list[str] = Field(default_factory=list, description="source file extensions, with the dot")
    entry_files: list[str] = Field(default_factory=list, description="files that mark a project root")
    builtin: bool = False
    source: str = Field("", description="where it came from: 'builtin', a distribution, a path")
    tools: list[str] = Field(default_factory=list, description="external tools the plugin may call")
    capabilities: list[Capability] = Field(default_factory=list)
    hook_api: str = Field("1.0", description="the hook contract version the plugin was written for")


class Claim(_Model):
    """A plugin's answer to "is this project yours?", with the files that convinced it."""

    evidence: list[str] = Field(description="project-relative files that show the language")
    fallback: bool = Field(False, description="claim only when no other plugin claims the project")
    note: str = ""
    target: Target | None = Field(None, description="the target that suits the project when the user names "
                                  "none (hook API 1.1): e.g. web for a program that can only run in a browser")
    target_reason: str = Field("", description="why that target, in a few words shown by detect and compile")


class ToolStatus(_Model):
    """One external tool a plugin needs: found (with version) or missing (with an install hint)."""

    name: str
    found: bool
    path: str | None = None
    version: str | None = None
    required_for: str = Field("", description="what needs it, e.g. 'wasm' or 'web' or 'C++'")
    optional: bool = Field(False, description="an alternative exists; missing it is not an error")
    install_hint: str = ""
    probe_ok: bool | None = Field(None, description="a probe compile worked (None: not probed)")
    probe_error: str | None = None

    @property
    def usable(self) -> bool:
        return self.found and self.probe_ok is not False


def unusable_tools(tools: list[ToolStatus]) -> list[ToolStatus]:
    """What keeps a build from running: each required tool that is not usable, then the whole
    group of alternatives (the ``optional`` tools) when not one of them is. The one rule for
    ``compile``, ``doctor`` and ``plugin health``."""
    missing = [t for t in tools if not t.optional and not t.usable]
    alternatives = [t for t in tools if t.optional]
    if alternatives and not any(t.usable for t in alternatives):
        missing += alternatives
    return missing


class BuildConfig(_Model):
    """Everything a plugin's ``build`` hook needs to know."""

    project_dir: Path
    output_dir: Path
    optimization: Optimization = Optimization.RELEASE
    target: Target = Target.WASM
    debug_info: bool = False
    toolchain: str | None = Field(None, description="pick one of the plugin's toolchains by name")
    extra_args: list[str] = Field(default_factory=list, description="passed to the compiler as-is")
    verbose: bool = False


class BuildInputs(_Model):
    """What a build depended on, as its toolchain reported it (hook API 1.1). The build cache keys
    the output by these; a plugin that reports nothing gets the conservative default: every file
    under the project, and the whole environment."""

    files: list[Path] | None = Field(None, description="files the toolchain read (dependency output: "
                                     "clang -MD, cargo dep-info, go list); None: unknown, every project file counts")
    probed: list[Path] = Field(default_factory=list, description="paths looked at to choose a toolchain, found or "
                               "not (sysroots, target directories): a directory by its listing, a file by content")
    environment: list[str] | None = Field(None, description="environment variables the tools read; "
                                          "None: unknown, the whole environment counts")
    written: list[Path] = Field(default_factory=list, description="files the build wrote inside the project "
                                "(outputs, not inputs): e.g. a Makefile's module beside its sources, Cargo.lock")


class BuildResult(_Model):
    """What a build produced. Paths are absolute."""

    wasm_path: Path
    js_path: Path | None = None
    html_path: Path | None = None
    additional_files: list[Path] = Field(default_factory=list)
    glue: GlueKind = GlueKind.WASI
    plugin: str = ""
    toolchain: str = Field("", description="which compiler built it, e.g. 'clang 14.0.6'")
    commands: list[list[str]] = Field(default_factory=list, description="the toolchain commands run")
    duration_s: float = 0.0
    cached: bool = Field(False, description="restored from the build cache; no toolchain ran")
    post_process: bool = Field(True, description="False: the plugin's module must stay as built (no wasm-opt)")
    optimized_by: str | None = Field(None, description="the post-processing that optimized the module, "
                                     "e.g. 'wasm-opt 108 -O2'; None: the toolchain's output as it was")
    componentized_by: str | None = Field(None, description="--target component: how wasmrun wrapped the module, "
                                         "e.g. 'wasi:cli/command: wasm-tools 1.262.0.0, jco 1.35.0 command "
                                         "adapter'; None: not wrapped (a module, or the plugin built a component)")
    inputs: BuildInputs | None = Field(None, description="what the build read (hook API 1.1); not part of "
                                       "--json output", exclude=True)

    def files(self) -> list[Path]:
        """Every file the build produced."""
        found = [self.wasm_path, self.js_path, self.html_path, *self.additional_files]
        return [p for p in found if p is not None]
