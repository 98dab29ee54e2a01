"""Building a Go module: TinyGo when present, else ``go build`` with GOOS=wasip1 (or GOOS=js for
the web, with Go's own ``wasm_exec.js`` next to the module).

The go command's build cache goes to ``<wasmrun cache>/go-build`` unless ``GOCACHE`` is set, and
``GOTOOLCHAIN=local`` stops Go from downloading another toolchain for a newer ``go`` line in
go.mod (wasmrun picks an installed Go that satisfies it, or says which one is needed).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from wasmrun import toolchain as tools
from wasmrun.errors import MissingToolchainError, UsageError
from wasmrun.locations import Locations
from wasmrun.models import BuildConfig, BuildInputs, BuildResult, GlueKind, Optimization, Target

from wasmrun_go import toolchain as go_tools
from wasmrun_go.inputs import GoList
from wasmrun_go.toolchain import GoToolchain, TinyGo, Version

TOOLCHAINS = ("tinygo", "go")
_MODULE = re.compile(r"^module\s+\"?([^\s\"]+)", re.MULTILINE)
_GO_LINE = re.compile(r"^go\s+(\d+\.\d+(?:\.\d+)?)", re.MULTILINE)
_WASMEXPORT = re.compile(r"^//go:wasmexport\s", re.MULTILINE)


@dataclass
class Module:
    """What go.mod and the sources say."""

    root: Path
    path: str | None
    go_version: Version | None
    exports: bool  # some source has //go:wasmexport: a reactor library

    @property
    def output_name(self) -> str:
        last = (self.path or self.root.name).rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"[^A-Za-z0-9_.-]", "_", last) or "main"


def _go_sources(root: Path) -> list[Path]:
    from wasmrun.building import walk_sources

    return [p for p in walk_sources(root, [".go"]) if not p.name.endswith("_test.go")]


def module_path(root: Path) -> str | None:
    """The ``module`` line of go.mod (None: unreadable or absent)."""
    try:
        match = _MODULE.search((root / "go.mod").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return match.group(1) if match else None


def read_module(root: Path) -> Module:
    try:
        text = (root / "go.mod").read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {root / 'go.mod'}: {exc.strerror}") from None
    module, go_line = _MODULE.search(text), _GO_LINE.search(text)
    exports = False
    for source in _go_sources(root):
        try:
            if _WASMEXPORT.search(source.read_text(encoding="utf-8", errors="replace")):
                exports = True
                break
        except OSError:
            continue
    return Module(root=root, path=module.group(1) if module else None,
                  go_version=go_tools.parse_version(go_line.group(1)) if go_line else None, exports=exports)


def has_sources(root: Path) -> bool:
    return bool(_go_sources(root))


# -- the environment ------------------------------------------------------------------------------

def go_env(goos: str) -> dict[str, str]:
    env = {"GOOS": goos, "GOARCH": "wasm", "GOTOOLCHAIN": "local"}
    if not os.environ.get("GOCACHE"):
        env["GOCACHE"] = str(Locations.from_environment().cache_dir / "go-build")
    return env


# -- choosing -------------------------------------------------------------------------------------

def _needed(module: Module, target: Target) -> tuple[Version, str]:
    """The lowest Go version the build can use, and why."""
    minimum: Version
    if target is Target.WEB:
        minimum, why = go_tools.JS_MIN, "GOOS=js"
    elif module.exports:
        minimum, why = go_tools.WASMEXPORT_MIN, "//go:wasmexport (a library of exports)"
    else:
        minimum, why = go_tools.WASI_MIN, "GOOS=wasip1"
    if module.go_version is not None and module.go_version > minimum:
        minimum, why = module.go_version, f"go.mod's 'go {go_tools.show(module.go_version)}'"
    return minimum, why


def choose(config: BuildConfig, module: Module) -> GoToolchain | TinyGo:
    if config.toolchain not in (None, *TOOLCHAINS):
        raise UsageError(f"unknown Go toolchain '{config.toolchain}' (choose {' or '.join(TOOLCHAINS)})")
    if config.toolchain in (None, "tinygo"):
        tinygo = go_tools.find_tinygo()
        if tinygo is not None:
            return tinygo
        if config.toolchain == "tinygo":
            raise MissingToolchainError("tinygo is needed for --toolchain tinygo", hint=go_tools.TINYGO_HINT)
    minimum, why = _needed(module, config.target)
    go = go_tools.find(minimum)
    if go is None:
        raise MissingToolchainError(go_tools.too_old_explanation(minimum, why))
    return go


# -- building -------------------------------------------------------------------------------------

def _go_flags(config: BuildConfig) -> list[str]:
    if config.optimization is Optimization.DEBUG:
        return ["-gcflags=all=-N -l"]
    flags = [] if config.debug_info else ["-ldflags=-s -w"]
    if config.optimization is Optimization.SIZE:
        flags.append("-trimpath")
    return flags


def _tinygo_flags(config: BuildConfig) -> list[str]:
    opt = {Optimization.DEBUG: "1", Optimization.RELEASE: "2", Optimization.SIZE: "z"}[config.optimization]
    return [f"-opt={opt}", *([] if config.debug_info or config.optimization is Optimization.DEBUG else ["-no-debug"])]


def build(config: BuildConfig) -> BuildResult:
    module = read_module(config.project_dir)
    chosen = choose(config, module)
    out = config.output_dir / f"{module.output_name}.wasm"
    web = config.target is Target.WEB
    library = module.exports and not web
    inputs: BuildInputs | None = None  # TinyGo's: not reported (every project file counts)
    if isinstance(chosen, TinyGo):
        target = "wasm" if web else chosen.wasi_target
        cmd = [chosen.path, "build", f"-target={target}", *(["-buildmode=c-shared"] if library else []),
               *_tinygo_flags(config), *config.extra_args, "-o", str(out), "."]
        tools.run(cmd, cwd=config.project_dir, env={"GOTOOLCHAIN": "local"}, what="tinygo build")
        label = f"tinygo {go_tools.show(chosen.version)}"
        glue_js = chosen.wasm_exec_js() if web else None
    else:
        flags = [*(["-buildmode=c-shared"] if library else []), *_go_flags(config), *config.extra_args]
        env = go_env("js" if web else "wasip1")
        # go list runs beside the build, with the same environment and flags: what the build read.
        with GoList(chosen.go, chosen.version, chosen.goroot, config.project_dir, env, flags) as listing:
            tools.run([chosen.go, "build", *flags, "-o", str(out), "."], cwd=config.project_dir, env=env,
                      what="go build")
            inputs = listing.inputs()
        label = f"go {go_tools.show(chosen.version)} ({'js' if web else 'wasip1'}/wasm)"
        glue_js = chosen.wasm_exec_js() if web else None
    if not web:
        return BuildResult(wasm_path=out, glue=GlueKind.WASI, toolchain=label, inputs=inputs)
    if glue_js is None:
        raise MissingToolchainError(f"{label} has no wasm_exec.js (looked in its lib/wasm and misc/wasm)")
    js = config.output_dir / "wasm_exec.js"
    shutil.copyfile(glue_js, js)
    if inputs is not None and inputs.files is not None:  # the glue copied out is read too
        inputs = inputs.model_copy(update={"files": [*inputs.files, glue_js]})
    return BuildResult(wasm_path=out, js_path=js, glue=GlueKind.GO, toolchain=label, inputs=inputs)
