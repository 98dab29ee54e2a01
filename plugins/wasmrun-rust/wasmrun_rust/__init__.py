"""wasmrun's Rust plugin: a crate with ``Cargo.toml`` built by cargo.

- Binary crates (``src/main.rs``, ``src/bin/``, ``[[bin]]``) build as WASI commands for
  ``wasm32-wasip1``, or ``wasm32-wasi`` on a rustc older than 1.78.
- A library crate with ``crate-type = ["cdylib"]`` builds for ``wasm32-unknown-unknown``: a module
  of its ``#[no_mangle] pub extern "C"`` exports, with no imports.
- ``--target web`` runs wasm-bindgen, wasm-pack or trunk (``--toolchain`` picks one); the
  default for a crate that depends on ``wasm-bindgen`` (or ``web-sys``, ``js-sys``).
- A workspace builds its member with a binary; several: ``-- --package NAME`` picks one.

The toolchain is the first Rust (PATH order, then Debian's and rustup's) that has the wasm std
the build needs: see :mod:`wasmrun_rust.toolchain`. The hooks here only translate between
wasmrun and the modules that do the work.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from wasmrun import hookimpl
from wasmrun import toolchain as tools
from wasmrun.errors import UsageError
from wasmrun.models import BuildConfig, BuildResult, Capability, Claim, PluginInfo, Target, ToolStatus

from wasmrun_rust import cargo as builder
from wasmrun_rust import crate as crates
from wasmrun_rust import toolchain as rust_tools
from wasmrun_rust.toolchain import BARE_TARGET, RustToolchain

__version__ = "0.1.0"

PLUGIN_NAME = "rust"


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        name=PLUGIN_NAME,
        aliases=["rs"],
        version=__version__,
        description="Rust: cargo for WASI commands and cdylib exports; wasm-bindgen, wasm-pack or trunk for the web",
        author="wasmrun",
        extensions=[".rs"],
        entry_files=["Cargo.toml", "Cargo.lock"],
        tools=["cargo", "rustc", *rust_tools.WEB_TOOLS],
        capabilities=[Capability.WASM, Capability.WASI, Capability.LIBRARY, Capability.WEB,
                      Capability.OPTIMIZATION_LEVELS, Capability.DEBUG_INFO],
    )


@hookimpl
def can_handle_project(project_dir: Path) -> Claim | None:
    """Cargo.toml claims the project, whatever else is there (a Makefile, a package.json)."""
    if not (project_dir / "Cargo.toml").is_file():
        return None
    sources = [f"src/{name}" for name in ("main.rs", "lib.rs") if (project_dir / "src" / name).is_file()]
    evidence = ["Cargo.toml", *sources]
    try:
        crate = crates.select(project_dir)
    except UsageError:  # unreadable, or a workspace of several candidates: the build says which
        return Claim(evidence=evidence)
    if crate.root != project_dir.resolve() and crate.package:
        evidence.append(f"{crate.root.relative_to(project_dir.resolve()).as_posix()}/Cargo.toml")
    if crate.web_dependency is None:
        return Claim(evidence=evidence)
    where = "Cargo.toml" if crate.root == project_dir.resolve() else f"member {crate.package}"
    return Claim(evidence=evidence, target=Target.WEB, target_reason=f"{where} depends on {crate.web_dependency}")


@hookimpl
def validate_project(project_dir: Path) -> list[str]:
    crate = crates.read(project_dir)
    if crates.candidates(crate):
        return []
    problem = crate.problem()
    return [problem] if problem else []


# -- tools ----------------------------------------------------------------------------------------

def _probe(rust: RustToolchain, triple: str) -> str | None:
    """Compile and link a tiny program for ``triple``; None when it works, else the first error."""
    program = "fn main() {}\n" if triple != BARE_TARGET else "#[no_mangle] pub extern \"C\" fn f() {}\n"
    kind = [] if triple != BARE_TARGET else ["--crate-type", "cdylib"]
    with tempfile.TemporaryDirectory(prefix="wasmrun-rust-probe-") as tmp:
        src = Path(tmp) / "probe.rs"
        src.write_text(program)
        try:
            cmd = [rust.rustc, "--target", triple, *kind, "-o", str(Path(tmp) / "probe.wasm"), str(src)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, cwd=tmp)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
    if proc.returncode == 0:
        return None
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line), lines[0] if lines else "probe compile failed")


def _rust_statuses(target: Target, probe: bool) -> list[ToolStatus]:
    wanted = BARE_TARGET if target is Target.WEB else None
    # For --target wasm a Rust with only the wasm32-unknown-unknown std still builds cdylibs;
    # a binary crate then gets the precise "no WASI std" error from the build.
    rust = rust_tools.find(wanted) or (rust_tools.find(BARE_TARGET) if wanted is None else None)
    needs = f"{target.value} ({BARE_TARGET if wanted else ' or '.join(rust_tools.WASI_TARGETS)} std)"
    if rust is None:
        return [ToolStatus(name="rustc", found=False, required_for=needs,
                           install_hint=rust_tools.missing_explanation(wanted))]
    triple = wanted or rust.wasi_target or BARE_TARGET
    rustc = ToolStatus(name="rustc", found=True, path=rust.rustc, version=rust.version, required_for=needs,
                       install_hint=rust_tools.RUST_HINT)
    if probe:
        error = _probe(rust, triple)
        rustc.probe_ok, rustc.probe_error = error is None, error
    cargo = ToolStatus(name="cargo", found=True, path=rust.cargo, required_for=target.value,
                       version=tools.tool_version(rust.cargo or "cargo", "--version"),
                       install_hint=rust_tools.RUST_HINT)
    return [rustc, cargo]


@hookimpl
def check_dependencies(target: Target, probe: bool) -> list[ToolStatus]:
    statuses = _rust_statuses(target, probe)
    if target is Target.WEB:
        for name in rust_tools.WEB_TOOLS:
            path = rust_tools.web_tool(name)
            statuses.append(ToolStatus(
                name=name, found=path is not None, path=path, optional=True, required_for="web",
                version=tools.tool_version(path, "--version") if path else None,
                install_hint=rust_tools.WEB_HINTS[name]))
    return statuses


@hookimpl
def toolchain_versions(target: Target) -> dict[str, str]:
    return {s.name: s.version or "unknown" for s in check_dependencies(target, False) if s.found}


# -- building -------------------------------------------------------------------------------------

@hookimpl
def build(config: BuildConfig) -> BuildResult:
    package, extra_args = crates.package_option(config.extra_args)  # a workspace member, chosen
    crate = crates.select(config.project_dir, package)
    config = config.model_copy(update={"extra_args": extra_args})
    problem = crate.problem()
    if problem:
        raise UsageError(problem)
    if config.target is Target.WEB:
        return builder.build_web(config, crate)
    return builder.build_wasm(config, crate)


@hookimpl
def clean(project_dir: Path, output_dir: Path) -> list[Path]:
    """Remove cargo's target directory (and source copy) that wasmrun keeps for this project (and
    each member of its workspace) in its cache. The project's own ``target/`` is not wasmrun's and stays."""
    removed = []
    try:
        members = crates.read(project_dir).members  # a workspace's builds are keyed by the member built
    except UsageError:
        members = []
    for directory in [*builder.cache_dirs(project_dir), *(d for m in members for d in builder.cache_dirs(m))]:
        if directory.is_dir() and not directory.is_symlink():
            shutil.rmtree(directory)
            removed.append(directory)
    return removed


@hookimpl
def project_template(flavour: str) -> dict[str, str] | None:
    manifest = '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n\n'
    if flavour == "command":
        return {"Cargo.toml": manifest + "[dependencies]\n",
                "src/main.rs": 'fn main() {\n    println!("hello from Rust");\n}\n',
                ".gitignore": "/target\n/wasmrun-out\n"}
    if flavour == "library":
        return {"Cargo.toml": manifest + '[lib]\ncrate-type = ["cdylib"]\n\n[dependencies]\n',
                "src/lib.rs": '#[no_mangle]\npub extern "C" fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n',
                ".gitignore": "/target\n/wasmrun-out\n"}
    return None
