"""Building a crate with cargo: for WASI, for wasm32-unknown-unknown, or for the web.

Where things go:

- cargo's target directory is ``<wasmrun cache>/cargo-target/<project>-<hash>/`` (``CARGO_TARGET_DIR``),
  so the project's own ``target/`` is never touched and ``wasmrun clean`` can remove exactly what
  wasmrun built. Size builds get a subdirectory of their own, so switching between release and
  size does not rebuild each time.
- The finished modules are copied into the build's output directory.
- cargo writes a ``Cargo.lock`` into a project that has none; wasmrun removes the one it caused.
- A ``Cargo.lock`` of version 4 that the installed cargo cannot read (cargo before 1.78, such as
  Debian 12's 1.65) is left alone: the build runs on a copy of the project without it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wasmrun import toolchain as tools
from wasmrun.errors import BuildError, MissingToolchainError, UsageError
from wasmrun.locations import Locations
from wasmrun.models import BuildConfig, BuildInputs, BuildResult, GlueKind, Optimization

from wasmrun_rust import crate as crates
from wasmrun_rust import toolchain as rust_tools
from wasmrun_rust.crate import Crate, Kind
from wasmrun_rust.inputs import cargo_inputs
from wasmrun_rust.toolchain import BARE_TARGET, RustToolchain

#: The first cargo that reads Cargo.lock version 4.
LOCK_V4_CARGO = (1, 78)
#: Copied into a shadow build of the project: everything except these.
_SHADOW_IGNORE = shutil.ignore_patterns("target", "wasmrun-out", ".git", "node_modules", "Cargo.lock")


# -- where cargo works ----------------------------------------------------------------------------

def _project_key(project: Path) -> str:
    digest = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:16]
    return f"{project.name or 'crate'}-{digest}"


def cache_dirs(project: Path) -> list[Path]:
    """The directories wasmrun's builds of ``project`` may create in its cache: cargo's target
    directory and the shadow copy of the sources."""
    cache = Locations.from_environment().cache_dir
    key = _project_key(project)
    return [cache / "cargo-target" / key, cache / "cargo-src" / key]


def target_dir(project: Path, optimization: Optimization) -> Path:
    base = cache_dirs(project)[0]
    return base / "size" if optimization is Optimization.SIZE else base


def _version_tuple(version: str | None) -> tuple[int, ...]:
    parts = []
    for piece in (version or "0").split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


@contextmanager
def _build_root(crate: Crate, rust: RustToolchain) -> Iterator[Path]:
    """The directory cargo builds in: the crate itself, or a copy of its workspace when the
    lockfile is too new for this cargo. A lockfile cargo creates in the user's project is removed."""
    workspace = crates.workspace_root(crate.root)
    lock = workspace / "Cargo.lock"
    cargo_version = _version_tuple(tools.tool_version(rust.cargo or "cargo", "--version"))
    if (crates.lock_version(lock) or 0) >= 4 and cargo_version < LOCK_V4_CARGO:
        shadow = cache_dirs(crate.root)[1]
        if shadow.exists():
            shutil.rmtree(shadow)
        shadow.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(workspace, shadow, ignore=_SHADOW_IGNORE, symlinks=True)
        yield shadow / crate.root.relative_to(workspace)
        return
    existed = lock.exists()
    try:
        yield crate.root
    finally:
        if not existed and lock.is_file() and not lock.is_symlink():
            lock.unlink()


def _profile_env(config: BuildConfig) -> dict[str, str]:
    """Profile settings through cargo's environment overrides (they win over Cargo.toml)."""
    if config.optimization is Optimization.DEBUG:
        return {}
    env: dict[str, str] = {}
    if config.optimization is Optimization.SIZE:
        env.update({"CARGO_PROFILE_RELEASE_OPT_LEVEL": "z", "CARGO_PROFILE_RELEASE_LTO": "true",
                    "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "1", "CARGO_PROFILE_RELEASE_PANIC": "abort"})
    if config.debug_info:
        env["CARGO_PROFILE_RELEASE_DEBUG"] = "true"
    else:
        env["CARGO_PROFILE_RELEASE_STRIP"] = "symbols" if config.optimization is Optimization.SIZE else "debuginfo"
    return env


def cargo_build(config: BuildConfig, crate: Crate, rust: RustToolchain, triple: str,
                selection: list[str], names: list[str]) -> tuple[Path, BuildInputs]:
    """Run ``cargo build`` for ``triple``; returns the directory holding the artefacts ``names``,
    and what the build read (from cargo's dependency files: :mod:`wasmrun_rust.inputs`)."""
    assert rust.cargo is not None
    tdir = target_dir(crate.root, config.optimization)
    debug = config.optimization is Optimization.DEBUG
    profile = "debug" if debug else "release"
    env = {**rust.env(), **_profile_env(config), "CARGO_TARGET_DIR": str(tdir)}
    with _build_root(crate, rust) as root:
        cmd = [rust.cargo, "build", "--manifest-path", str(root / "Cargo.toml"), "--target", triple,
               *selection, *([] if debug else ["--release"]),
               *([] if crate.registry_dependencies else ["--offline"]), *config.extra_args]
        _run_cargo(cmd, root, env, verbose=config.verbose)
        inputs = cargo_inputs(crate_root=crate.root, build_root=root, workspace=crates.workspace_root(crate.root),
                              target_dir=tdir, triple=triple, profile=profile, names=names,
                              probed=rust_tools.probes(rust, triple), output_dir=config.output_dir)
    return tdir / triple / profile, inputs


#: What cargo says when a dependency cannot be had: no network and not vendored, or not in the
#: directory source that replaces the registry (first group: the crate's name).
_UNFETCHABLE = (
    re.compile(r"failed to get `([^`]+)` as a dependency"),
    re.compile(r"no matching package named `([^`]+)` found"),
    re.compile(r"failed to load source for dependency `([^`]+)`"),
    re.compile(r"failed to download (?:from `[^`]*`|`?([^`\s]+)`?)"),
)


def unfetchable_dependency(output: str) -> str | None:
    """The dependency cargo could not fetch (or ``"a dependency"``), from its output; None when
    the failure is something else."""
    for pattern in _UNFETCHABLE:
        match = pattern.search(output)
        if match:
            return f"`{match.group(1)}`" if match.group(1) else "a dependency"
    return None


def _run_cargo(cmd: list[str], root: Path, env: dict[str, str], *, verbose: bool) -> None:
    """``cargo build``; a dependency it cannot fetch is one line saying so and what to do, with
    cargo's own output only under ``-v``."""
    try:
        tools.run(cmd, cwd=root, env=env, what="cargo build")
    except BuildError as exc:
        missing = unfetchable_dependency(exc.output)
        if missing is None:
            raise
        raise BuildError(
            f"cargo cannot fetch the dependency {missing} (offline, and not in a vendored or local registry): "
            "vendor the crates with `cargo vendor` where the network is reachable (and add the [source] "
            f"table it prints to .cargo/config.toml), or build online{'' if verbose else '; -v shows what cargo said'}",
            output=exc.output if verbose else "") from None


def _copy_out(artefacts: Path, names: list[str], output_dir: Path) -> list[Path]:
    copied = []
    for name in names:
        built = artefacts / f"{name}.wasm"
        if built.is_file():
            dest = output_dir / built.name
            shutil.copyfile(built, dest)
            copied.append(dest)
    if not copied:
        raise BuildError(f"cargo finished but wrote none of {', '.join(n + '.wasm' for n in names)} in {artefacts}")
    return copied


def _label(rust: RustToolchain, triple: str) -> str:
    return f"cargo {tools.tool_version(rust.cargo or 'cargo', '--version') or ''} (rustc {rust.version}, {triple})"


# -- the two targets ------------------------------------------------------------------------------

def build_wasm(config: BuildConfig, crate: Crate) -> BuildResult:
    """Binaries as WASI commands; a cdylib as a module of exports for wasm32-unknown-unknown."""
    if crate.kind is Kind.COMMAND:
        rust = rust_tools.find()
        if rust is None or rust.wasi_target is None:
            raise MissingToolchainError(rust_tools.missing_explanation())
        triple = rust.wasi_target
        artefacts, inputs = cargo_build(config, crate, rust, triple, ["--bins"], crate.bins)
        files = _copy_out(artefacts, crate.bins, config.output_dir)
        glue = GlueKind.WASI
    else:
        rust = rust_tools.find(BARE_TARGET)
        if rust is None:
            raise MissingToolchainError(rust_tools.missing_explanation(BARE_TARGET))
        triple = BARE_TARGET
        assert crate.lib_name is not None
        artefacts, inputs = cargo_build(config, crate, rust, triple, ["--lib"], [crate.lib_name])
        files = _copy_out(artefacts, [crate.lib_name], config.output_dir)
        glue = GlueKind.NONE
    return BuildResult(wasm_path=files[0], additional_files=files[1:], glue=glue, toolchain=_label(rust, triple),
                       inputs=inputs)


def _choose_web_tool(config: BuildConfig, crate: Crate) -> tuple[str, str]:
    if config.toolchain is not None and config.toolchain not in rust_tools.WEB_TOOLS:
        raise UsageError(f"unknown Rust web toolchain '{config.toolchain}' (choose {', '.join(rust_tools.WEB_TOOLS)})")
    order = [config.toolchain] if config.toolchain else (
        ["trunk", "wasm-bindgen", "wasm-pack"] if (crate.root / "index.html").is_file()
        else ["wasm-bindgen", "wasm-pack", "trunk"])
    for name in order:
        path = rust_tools.web_tool(name)
        if path is not None:
            return name, path
    hints = "; ".join(f"{n}: {rust_tools.WEB_HINTS[n]}" for n in order)
    raise MissingToolchainError(f"{' or '.join(order)} is needed to build Rust for --target web (install {hints})")


def build_web(config: BuildConfig, crate: Crate) -> BuildResult:
    """JS glue and the module through wasm-bindgen, wasm-pack, or trunk (a page too)."""
    rust = rust_tools.find(BARE_TARGET)
    if rust is None:
        raise MissingToolchainError(rust_tools.missing_explanation(BARE_TARGET))
    tool, path = _choose_web_tool(config, crate)
    out = config.output_dir
    release = config.optimization is not Optimization.DEBUG
    env = {**rust.env(path_first=True), **_profile_env(config),
           "CARGO_TARGET_DIR": str(target_dir(crate.root, config.optimization))}
    # wasm-pack and trunk read what they like (index.html, assets, their own config): every project
    # file and the whole environment count for them (BuildInputs' defaults).
    inputs: BuildInputs | None = None
    if tool == "wasm-bindgen":
        kind = crate.kind
        name = crate.lib_name if kind is Kind.LIBRARY else crate.bins[0]
        assert name is not None
        artefacts, inputs = cargo_build(config, crate, rust, BARE_TARGET,
                                        ["--lib"] if kind is Kind.LIBRARY else ["--bins"], [name])
        tools.run([path, "--target", "web", "--out-dir", str(out), *([] if release else ["--debug", "--keep-debug"]),
                   str(artefacts / f"{name}.wasm")], env=env, what="wasm-bindgen")
    elif tool == "wasm-pack":
        with _build_root(crate, rust) as root:
            tools.run([path, "build", str(root), "--target", "web", "--out-dir", str(out),
                       "--release" if release else "--dev", *(["--", *config.extra_args] if config.extra_args else [])],
                      cwd=root, env=env, what="wasm-pack")
    else:
        with _build_root(crate, rust) as root:
            tools.run([path, "build", *(["--release"] if release else []), "--dist", str(out)],
                      cwd=root, env=env, what="trunk")
    return _web_result(out, tool, rust, inputs)


def _web_result(out: Path, tool: str, rust: RustToolchain, inputs: BuildInputs | None) -> BuildResult:
    wasm = sorted(out.rglob("*_bg.wasm")) or sorted(out.rglob("*.wasm"))
    if not wasm:
        raise BuildError(f"{tool} finished but wrote no .wasm into {out}")
    js = wasm[0].with_name(wasm[0].name.removesuffix("_bg.wasm") + ".js")
    html = out / "index.html"
    main = {wasm[0], js, html}
    others = sorted(p for p in out.rglob("*") if p.is_file() and p not in main)
    return BuildResult(wasm_path=wasm[0], js_path=js if js.is_file() else None,
                       html_path=html if html.is_file() else None, additional_files=others,
                       glue=GlueKind.WASM_BINDGEN, inputs=inputs,
                       toolchain=f"{tool} {tools.tool_version(rust_tools.web_tool(tool) or tool) or ''} "
                                 f"+ {_label(rust, BARE_TARGET)}")
