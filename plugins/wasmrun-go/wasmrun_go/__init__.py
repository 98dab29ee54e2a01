"""wasmrun's Go plugin: a module with ``go.mod`` built by TinyGo or the go command.

- ``--target wasm``: a WASI command. TinyGo (``-target=wasip1``) when installed, else Go 1.21+
  with ``GOOS=wasip1 GOARCH=wasm``; a package with ``//go:wasmexport`` functions builds as a
  library of exports (``-buildmode=c-shared``, Go 1.24+). ``--toolchain go|tinygo`` picks one.
- ``--target web``: ``GOOS=js GOARCH=wasm``, with the toolchain's own ``wasm_exec.js`` copied
  next to the module. The default for a ``main`` package that imports ``syscall/js`` (directly or
  through the module's packages: :mod:`wasmrun_go.browser`), which builds for nothing else.

A new enough Go is found even when an older ``go`` comes first on PATH: see
:mod:`wasmrun_go.toolchain`. The hooks here only translate between wasmrun and the modules that
do the work.
"""

from __future__ import annotations

from pathlib import Path

from wasmrun import hookimpl
from wasmrun.models import BuildConfig, BuildResult, Capability, Claim, PluginInfo, Target, ToolStatus

from wasmrun_go import browser, compiler
from wasmrun_go import toolchain as go_tools

__version__ = "0.1.0"

PLUGIN_NAME = "go"


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name=PLUGIN_NAME,
        aliases=["golang", "tinygo"],
        version=__version__,
        description="Go: TinyGo or Go 1.21+ (GOOS=wasip1) for WASI, GOOS=js with wasm_exec.js for the web",
        author="wasmrun",
        extensions=[".go"],
        entry_files=["go.mod", "go.sum"],
        tools=["go", "tinygo"],
        capabilities=[Capability.WASM, Capability.WASI, Capability.LIBRARY, Capability.WEB,
                      Capability.OPTIMIZATION_LEVELS, Capability.DEBUG_INFO],
    )


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    """go.mod claims the project, whatever else is there (a package.json for tooling, a Makefile);
    a main package that imports syscall/js (itself or through the module's packages) is a browser
    program, so the claim names web as its target."""
    if not (project_dir / "go.mod").is_file():
        return None
    evidence = ["go.mod", *(name for name in ("main.go",) if (project_dir / name).is_file())]
    chain = browser.js_import_chain(project_dir, compiler.module_path(project_dir))
    if chain is None:
        return Claim(evidence=evidence)
    # syscall/js exists only for GOOS=js: such a program builds for the browser or not at all.
    return Claim(evidence=evidence, target=Target.WEB, target_reason=browser.describe(chain))


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    return [] if compiler.has_sources(project_dir) else ["no .go sources beside go.mod"]


# -- tools ----------------------------------------------------------------------------------------

def _go_status(target: Target) -> ToolStatus:
    minimum, purpose = (go_tools.JS_MIN, "GOOS=js") if target is Target.WEB else (go_tools.WASI_MIN, "GOOS=wasip1")
    needs = f"{target.value} (Go {go_tools.show(minimum)}+ for {purpose})"
    go = go_tools.find(minimum)
    if go is not None:
        return ToolStatus(name="go", found=True, path=go.go, version=go_tools.show(go.version), optional=True,
                          required_for=needs, install_hint=go_tools.GO_HINT)
    found = go_tools.installed()
    if not found:
        return ToolStatus(name="go", found=False, optional=True, required_for=needs, install_hint=go_tools.GO_HINT)
    newest = max(found, key=lambda g: g.version)
    explanation = go_tools.too_old_explanation(minimum, purpose)
    return ToolStatus(name="go", found=True, path=newest.go, version=go_tools.show(newest.version), optional=True,
                      required_for=needs, probe_ok=False, probe_error=explanation, install_hint=explanation)


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    tinygo = go_tools.find_tinygo()
    return [
        ToolStatus(name="tinygo", found=tinygo is not None, path=tinygo.path if tinygo else None,
                   version=go_tools.show(tinygo.version) if tinygo else None, optional=True,
                   required_for=target.value, install_hint=go_tools.TINYGO_HINT),
        _go_status(target),
    ]


@hookimpl
def toolchain_versions(target: Target) -> dict[str, str]:
    return {s.name: s.version or "unknown" for s in check_dependencies(target, False) if s.usable}


# -- building -------------------------------------------------------------------------------------

@hookimpl
def build(config: BuildConfig) -> BuildResult:
    return compiler.build(config)


@hookimpl
def clean(project_dir: Path, output_dir: Path) -> list[Path]:
    """Nothing to do: the go command writes only into wasmrun's output directory and its shared
    build cache (``<wasmrun cache>/go-build``), never into the project."""
    return []


@hookimpl
def project_template(flavour: str) -> dict[str, str] | None:
    if flavour == "command":
        return {"go.mod": "module example.com/hello\n\ngo 1.21\n",
                "main.go": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello from Go")\n}\n'}
    if flavour == "library":
        return {"go.mod": "module example.com/hello\n\ngo 1.24\n",
                "main.go": "// Built with -buildmode=c-shared: needs Go 1.24+ (or TinyGo).\npackage main\n\n"
                           "//go:wasmexport add\nfunc add(a, b int32) int32 {\n\treturn a + b\n}\n\nfunc main() {}\n"}
    return None
