"""Post-processing: binaryen's ``wasm-opt`` over release and size builds of every language.

After a plugin's build (and before the outputs leave the staging directory), :func:`optimize`
runs ``wasm-opt -O3`` (release) or ``-Oz`` (size) on the module when ``wasm-opt`` is on PATH.

* Features: ``wasm-opt`` gets ``--mvp-features`` plus ``--enable-X`` for each feature the module
  already uses (its ``target_features`` section, and a scan of the module itself:
  :mod:`wasmrun.wasm.features`), never ``-all``: with a feature enabled the optimizer may start
  using it, and the result would then need more of the engine than the toolchain's output did.
* Skipped: debug builds, ``--no-opt``, emscripten output (``emcc`` runs ``wasm-opt`` itself),
  components, and modules with DWARF when ``--debug-info`` asked for it. A name section is kept
  (``-g``) when the toolchain left one.
* Never fails a build: when ``wasm-opt`` fails or its output does not validate, the module as the
  toolchain built it is kept and a warning logged; an output larger than the input is dropped too
  (quietly: the toolchain's own optimizer did better).

The build cache stores the post-processed module. ``--no-opt`` is part of the invocation, and
wasm-opt's binary (by content) and the directories on ``PATH`` are among a build's recorded
inputs, so another binaryen, or installing or removing one, never restores the other's output;
a build whose wasm-opt failed is not stored at all (:mod:`wasmrun.recording`).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path

from wasmrun import toolchain
from wasmrun.errors import WasmrunError
from wasmrun.models import BuildConfig, BuildResult, GlueKind, Optimization, ToolStatus

log = logging.getLogger("wasmrun.postprocess")

TOOL = "wasm-opt"
INSTALL_HINT = "apt-get install binaryen (or npm install -g binaryen)"
LEVEL_FLAGS = {Optimization.RELEASE: ["-O3"], Optimization.SIZE: ["-Oz"]}
TIMEOUT_S = 600.0
#: The name of wasm-opt's entry in ``wasmrun doctor``.
POSTPROCESS_REPORT = "post-processing"


def find_wasm_opt() -> str | None:
    return toolchain.find_tool(TOOL)


@functools.lru_cache(maxsize=8)
def _version(path: str, mtime_ns: int) -> str | None:
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, errors="replace",
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = (proc.stdout or proc.stderr).split()  # "wasm-opt version 108 (version_108)"
    if proc.returncode != 0 or "version" not in words[:-1]:
        return None
    return words[words.index("version") + 1]


def wasm_opt_version(path: str) -> str | None:
    """wasm-opt's version: binaryen numbers its releases (``108``), so no dotted version to find."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    return _version(path, mtime)


def tool_status() -> ToolStatus:
    """``wasmrun doctor``'s line for wasm-opt: optional, builds work without it."""
    path = find_wasm_opt()
    return ToolStatus(name=TOOL, found=path is not None, path=path,
                      version=wasm_opt_version(path) if path else None,
                      required_for="post-processing release and size builds (every language)",
                      optional=True, install_hint=INSTALL_HINT)


def level_flags(config: BuildConfig) -> list[str] | None:
    """wasm-opt's optimization flags for the build, None when it is not post-processed."""
    return LEVEL_FLAGS.get(config.optimization)


def optimize(result: BuildResult, config: BuildConfig) -> tuple[BuildResult, str | None]:
    """Run wasm-opt over ``result.wasm_path`` in place (see the module docstring): the result,
    with ``optimized_by`` set when the optimized module was kept; and what went wrong when wasm-opt
    failed or wrote a bad module (the build cache then does not store the build, so the next
    build tries again), None when it worked or was not for this module."""
    flags = level_flags(config)
    wasm_opt = find_wasm_opt()
    if flags is None or wasm_opt is None or result.glue is GlueKind.EMSCRIPTEN or not result.post_process:
        return result, None
    wasm = result.wasm_path
    command = _command(wasm_opt, flags, wasm, config)
    if command is None:
        return result, None
    optimized = wasm.with_name(f".{wasm.name}.wasm-opt")
    command += ["-o", str(optimized)]
    try:
        try:
            toolchain.run(command, what=TOOL, timeout=TIMEOUT_S)
        except WasmrunError as exc:
            output = getattr(exc, "output", "") or ""
            detail = output.strip().splitlines()[-1] if output.strip() else exc.message
            return _keep(result, f"{TOOL} failed: {detail}")
        original = wasm.read_bytes()
        if optimized.stat().st_size > len(original):  # not an error: the toolchain did better
            log.info("%s made %s larger; kept it as built", TOOL, wasm.name)
            return result, None
        problem = _check(original, optimized)
        if problem:
            return _keep(result, problem)
        shutil.copymode(wasm, optimized)
        os.replace(optimized, wasm)
    finally:
        optimized.unlink(missing_ok=True)
    version = wasm_opt_version(wasm_opt)
    return result.model_copy(update={"optimized_by": " ".join([TOOL, *([version] if version else []), *flags])}), None


def _command(wasm_opt: str, flags: list[str], wasm: Path, config: BuildConfig) -> list[str] | None:
    """The wasm-opt command line (without ``-o``), None when the module is not for wasm-opt."""
    from wasmrun.errors import WasmFormatError
    from wasmrun.wasm.features import declared_features, feature_flags, used_features
    from wasmrun.wasm.reader import WasmModule

    try:
        module = WasmModule.from_file(wasm)
        if module.is_component:
            return None
        custom = {section.name for section in module.custom_sections()}
        has_dwarf = any(name and name.startswith(".debug_") for name in custom)
        if has_dwarf and config.debug_info:
            return None  # wasm-opt's DWARF rewriting is partial; keep what was asked for intact
        features = used_features(module)
        enabled = features.used | declared_features(module)
    except (OSError, WasmFormatError) as exc:
        log.warning("warning: %s not run on %s: %s", TOOL, wasm.name, exc)
        return None
    keep = (["-g"] if "name" in custom else []) + (["--strip-dwarf"] if has_dwarf else [])
    return [wasm_opt, *flags, "--mvp-features", *feature_flags(enabled), *keep, str(wasm)]


def _check(original: bytes, optimized: Path) -> str | None:
    """Why the optimized module must not replace the original; None when it may."""
    from wasmrun.errors import WasmFormatError
    from wasmrun.wasm.reader import WasmModule

    try:
        data = optimized.read_bytes()
        WasmModule(data).check_order()
    except (OSError, WasmFormatError) as exc:
        return f"{TOOL} wrote an unreadable module ({exc})"
    engine_error = _validate(data)
    if engine_error and _validate(original) is None:
        return f"{TOOL} output does not validate: {engine_error}"
    return None


def _validate(data: bytes) -> str | None:
    import wasmtime

    try:
        wasmtime.Module.validate(wasmtime.Engine(), data)  # not kept: an engine alive at exit fails
    except wasmtime.WasmtimeError as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return None


def _keep(result: BuildResult, problem: str) -> tuple[BuildResult, str]:
    log.warning("warning: %s; kept %s as built", problem, result.wasm_path.name)
    return result, problem
