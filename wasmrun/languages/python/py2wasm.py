"""The py2wasm backend: full CPython semantics (Nuitka compiles the script with CPython for WASI).

Chosen with ``--toolchain py2wasm`` or ``[tool.wasmrun] backend = "py2wasm"`` in a ``pyproject.toml``
beside ``main.py``. It needs the ``py2wasm`` package (``pip install py2wasm``) and a wasi-sdk in
``WASI_SDK_DIR``: py2wasm downloads one on first use otherwise, which fails where only package
registries are reachable. A build takes 45 to 85 s and writes a module of about 22 MB.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from wasmrun import toolchain
from wasmrun.errors import MissingToolchainError
from wasmrun.models import BuildConfig, BuildResult, GlueKind, ToolStatus

NAME = "py2wasm"
PY2WASM_HINT = "pip install py2wasm (needs patchelf: apt-get install patchelf)"
WASI_SDK_HINT = ("download a wasi-sdk release and set WASI_SDK_DIR to it "
                 "(py2wasm's own download does not work offline)")


def py2wasm_path() -> str | None:
    return toolchain.find_tool("py2wasm", [Path(sys.executable).parent])


def wasi_sdk_dir() -> Path | None:
    """``WASI_SDK_DIR`` when it names a wasi-sdk (a directory with ``bin/clang``)."""
    value = os.environ.get("WASI_SDK_DIR")
    if not value:
        return None
    path = Path(value).expanduser()
    return path if (path / "bin" / "clang").exists() else None


def statuses() -> list[ToolStatus]:
    """The backend's tools; optional, since the embedded backend needs neither."""
    found = py2wasm_path()
    sdk = wasi_sdk_dir()
    return [
        ToolStatus(name="py2wasm", found=found is not None, path=found, optional=True,
                   required_for="python --toolchain py2wasm", install_hint=PY2WASM_HINT),
        ToolStatus(name="wasi-sdk", found=sdk is not None, path=str(sdk) if sdk else None, optional=True,
                   required_for="python --toolchain py2wasm", install_hint=WASI_SDK_HINT),
    ]


def missing_message() -> str | None:
    """One line naming every missing tool and how to get it, or None when all are there."""
    missing = [s for s in statuses() if not s.found]
    if not missing:
        return None
    names = " and ".join(s.name for s in missing)
    hints = "; ".join(f"{s.name}: {s.install_hint}" for s in missing)
    return f"{names} {'is' if len(missing) == 1 else 'are'} needed to build python with --toolchain py2wasm " \
           f"(install {hints}; or use the embedded backend, the default)"


def build(config: BuildConfig, entry: Path, out: Path) -> BuildResult:
    problem = missing_message()
    if problem:
        raise MissingToolchainError(problem)
    py2wasm = py2wasm_path()
    sdk = wasi_sdk_dir()
    assert py2wasm is not None and sdk is not None
    toolchain.run([py2wasm, str(entry), "-o", str(out), *config.extra_args], cwd=config.project_dir,
                  env={"WASI_SDK_DIR": str(sdk)}, what="py2wasm", timeout=900)
    version = toolchain.tool_version(py2wasm)
    return BuildResult(wasm_path=out, glue=GlueKind.WASI, toolchain=f"py2wasm {version or ''}".strip())
