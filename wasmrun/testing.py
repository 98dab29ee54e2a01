"""Testing wasmrun plugins (and wasmrun itself): helpers, a conformance check, and pytest fixtures.

Installed with wasmrun, this module is a pytest plugin (the ``pytest11`` entry point
``wasmrun.testing``), so every pytest run in an environment holding wasmrun can ask for these
fixtures. None is autouse: a project that does not ask for them is not touched.

``wasmrun_home``
    ``WASMRUN_HOME`` in a temporary directory, and no plugin switched on or off by the environment.
``wasmrun_plugins``
    a factory: ``wasmrun_plugins(my_plugin)`` is a plugin manager holding the built-ins and your
    plugin, nothing else installed. The in-process CLI of the same test uses it.
``wasmrun_project``
    a factory: ``wasmrun_project({"main.wat": "(module)"})`` writes the files into ``tmp_path``.
``wasmrun_cli``
    ``wasmrun_cli("compile", project)`` runs ``wasmrun`` in-process: exit code, stdout, stderr.
``run_wasm``
    ``run_wasm(wasm, ["arg"], env={...}, stdin="...")`` runs a WASI command: stdout, stderr, exit code.
``run_headless``
    ``run_headless(project, ["arg"], target="web")`` builds and runs a project in a headless
    browser (``wasmrun run --headless``): stdout, stderr, exit code.
``wasmrun_conformance``
    ``wasmrun_conformance(my_plugin)`` is :func:`check_plugin` inside the test's isolated home.

Importing this module is cheap and does nothing: pytest, pluggy, pydantic and wasmtime are
imported when a fixture or helper runs, never here (a test runs ``python -X importtime`` to keep
it so). The fixtures themselves live in :mod:`wasmrun._testing_fixtures`, which pytest imports
(through ``pytest_plugins`` below) only when it loads this plugin.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wasmrun.paths import is_inside

if TYPE_CHECKING:
    from wasmrun.models import BuildResult, PluginInfo
    from wasmrun.plugins import Plugins

#: pytest imports and registers these when it loads this module as a plugin.
pytest_plugins = ["wasmrun._testing_fixtures"]

#: Tools that cannot be installed on wasmrun's CI machines; tests needing them may skip even
#: under ``WASMRUN_REQUIRE_TOOLCHAINS=1`` (their routes still test the "missing tool" message).
UNINSTALLABLE_TOOLS = frozenset({"wasm-bindgen", "wasm-pack", "trunk", "tinygo", "wasi-sdk"})

#: Directories a copied project leaves out: build outputs and tool caches, never sources.
IGNORED_DIRS = ("wasmrun-out", "target", "node_modules", "zig-cache", ".zig-cache", "zig-out", "__pycache__", ".git")


# -- running a module ------------------------------------------------------------------------------

@dataclass
class WasmRun:
    """What a module did: its exit code and everything it wrote."""

    exit_code: int
    stdout: str
    stderr: str


def run_wasm(
    wasm: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    stdin: str | bytes = b"",
) -> WasmRun:
    """Run a WASI command (``_start``) under wasmtime and capture stdout and stderr.

    :param wasm: the ``.wasm`` file (for a build: ``result.wasm_path``).
    :param args: the arguments after the program name (``argv[0]`` is the file's name).
    :param env: the module's whole environment (nothing is inherited).
    :param stdin: what the module reads from standard input.
    """
    import wasmtime

    path = Path(wasm)
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(path))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    with tempfile.TemporaryDirectory(prefix="wasmrun-run-") as tmp:
        out, err, inp = (Path(tmp) / name for name in ("stdout", "stderr", "stdin"))
        inp.write_bytes(stdin.encode() if isinstance(stdin, str) else stdin)
        config = wasmtime.WasiConfig()
        config.argv = [path.name, *args]
        config.env = list((env or {}).items())
        config.stdout_file = str(out)
        config.stderr_file = str(err)
        config.stdin_file = str(inp)
        store.set_wasi(config)
        instance = linker.instantiate(store, module)
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        code = 0
        try:
            start(store)
        except wasmtime.ExitTrap as exc:
            code = exc.code
        return WasmRun(code, out.read_text(errors="replace"), err.read_text(errors="replace"))


def run_headless(
    project: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    stdin: str | bytes = b"",
    target: str | None = None,
    language: str | None = None,
    timeout: float | None = 60.0,
    browser: str | None = None,
) -> WasmRun:
    """Build ``project`` (or take a ``.wasm`` file) and run it in a headless browser, as
    ``wasmrun run --headless`` does, in-process: the exit code, and stdout and stderr as the
    terminal would show them (wasmrun's own lines and errors on stderr). Skips the calling test
    (``require_tool``) when Playwright or a browser is missing.

    :param args: the program's arguments (its argv after its name), as after ``--``.
    :param env: the program's whole environment on the page, as ``--env``.
    :param stdin: what the program reads from standard input.
    :param target: ``wasm`` or ``web`` (``--target``); ``language`` as ``--language``.
    :param timeout: seconds from opening the page before the run ends with 142 (None: no limit).
    :param browser: a browser name or path (``--browser``); None: the first found.
    """
    from wasmrun.errors import WasmrunError, error_lines
    from wasmrun.headless.browsers import find_browsers, playwright_installed
    from wasmrun.headless.driver import HeadlessOptions
    from wasmrun.headless.run import run_headless as run
    from wasmrun.server.app import BuildOptions, ServeOptions

    require_tool("playwright", found=playwright_installed())
    if browser is None:
        require_tool("chromium", found=bool(find_browsers()))
    out: list[str] = []
    err: list[str] = []
    serve = ServeOptions(port=0, args=list(args), env=dict(env or {}), log=lambda line: err.append(f"{line}\n"))
    data = stdin.encode() if isinstance(stdin, str) else stdin
    options = HeadlessOptions(browser=browser, timeout=timeout, stdin=data)
    try:
        build = BuildOptions(target=target, language=language)
        outcome = run(Path(project), serve, build, options, out.append, err.append)
    except WasmrunError as exc:
        return WasmRun(exc.exit_code, "".join(out), "".join(err) + "".join(f"{line}\n" for line in error_lines(exc)))
    if outcome.message:
        err.append(f"error: {outcome.message}\n")
    return WasmRun(outcome.exit_code, "".join(out), "".join(err))


# -- toolchains ------------------------------------------------------------------------------------

def toolchains_required() -> bool:
    """CI sets ``WASMRUN_REQUIRE_TOOLCHAINS=1``: a missing toolchain then fails instead of skipping."""
    return os.environ.get("WASMRUN_REQUIRE_TOOLCHAINS", "") not in ("", "0")


def require_tool(name: str, *, found: bool | None = None) -> None:
    """Skip the calling test when ``name`` is missing, or fail under WASMRUN_REQUIRE_TOOLCHAINS=1
    unless the tool is one of :data:`UNINSTALLABLE_TOOLS`.

    :param found: whether the tool is there, when ``shutil.which(name)`` cannot tell.
    """
    import pytest

    present = shutil.which(name) is not None if found is None else found
    if present:
        return
    if toolchains_required() and name not in UNINSTALLABLE_TOOLS:
        pytest.fail(f"{name} is required (WASMRUN_REQUIRE_TOOLCHAINS=1) but not installed; "
                    "run scripts/install-toolchains.sh")
    pytest.skip(f"{name} not installed")


# -- projects --------------------------------------------------------------------------------------

def write_project(root: str | os.PathLike[str], files: Mapping[str, str | bytes]) -> Path:
    """Write ``{relative path: content}`` under ``root`` (created); returns ``root``."""
    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = base / rel
        if not is_inside(base, path):
            raise ValueError(f"project file {rel!r} is outside the project")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return base


def copy_project(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Copy a project directory, leaving out build outputs (:data:`IGNORED_DIRS`)."""
    destination = Path(target)
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*IGNORED_DIRS), symlinks=True)
    return destination


def snapshot(root: str | os.PathLike[str]) -> dict[str, str]:
    """Every file and directory under ``root``: relative path to a digest of its content
    (``"dir"`` for a directory, ``"-> target"`` for a symlink). Two snapshots are equal when
    nothing was added, removed or changed."""
    import hashlib

    base = Path(root)
    found: dict[str, str] = {}
    for current, dirs, files in os.walk(base):
        here = Path(current)
        for name in dirs:
            path = here / name
            rel = path.relative_to(base).as_posix()
            found[rel] = f"-> {os.readlink(path)}" if path.is_symlink() else "dir"
        for name in files:
            path = here / name
            rel = path.relative_to(base).as_posix()
            if path.is_symlink():
                found[rel] = f"-> {os.readlink(path)}"
            else:
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def snapshot_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """What changed between two :func:`snapshot` results, one line each, sorted."""
    lines = [f"left behind: {p}" for p in after.keys() - before.keys()]
    lines += [f"removed: {p}" for p in before.keys() - after.keys()]
    lines += [f"changed: {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    return sorted(lines, key=lambda line: line.split(": ", 1)[1])


# -- the command line, in-process -----------------------------------------------------------------

@dataclass
class CliResult:
    """What ``wasmrun ARGS`` did: its exit code and what it printed."""

    exit_code: int
    stdout: str
    stderr: str


def invoke_cli(*args: str | os.PathLike[str], input: str | None = None,
               env: Mapping[str, str] | None = None) -> CliResult:
    """Run ``wasmrun ARGS`` in this process (typer's runner). An exception the CLI did not turn
    into an exit code is re-raised, so a test shows the traceback of a bug.

    A module that ``wasmrun exec`` runs writes to the process's file descriptors, not to Python's
    ``sys.stdout``: those are captured too, and what the module printed follows what wasmrun printed.

    :param input: standard input, for wasmrun and for a module it runs.
    :param env: environment variables set while the command runs.
    """
    from typer.testing import CliRunner

    from wasmrun.cli.app import app

    runner = CliRunner()
    with _capture_fds((input or "").encode()) as captured:
        result = runner.invoke(app, [os.fspath(a) for a in args], input=input, env=dict(env or {}))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout + captured.get("stdout", ""),
                     result.stderr + captured.get("stderr", ""))


@contextmanager
def _capture_fds(stdin: bytes) -> Iterator[dict[str, str]]:
    """Point file descriptors 0, 1 and 2 at temporary files while the block runs; the dict gets
    what was written to 1 and 2 afterwards (it stays empty where descriptors cannot be moved)."""
    captured: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="wasmrun-cli-") as tmp:
        files = {0: Path(tmp) / "stdin", 1: Path(tmp) / "stdout", 2: Path(tmp) / "stderr"}
        files[0].write_bytes(stdin)
        try:
            saved = {fd: os.dup(fd) for fd in files}
        except OSError:
            yield captured
            return
        try:
            for fd, path in files.items():
                opened = os.open(path, os.O_RDONLY if fd == 0 else os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(opened, fd)
                os.close(opened)
            yield captured
        finally:
            for fd, original in saved.items():
                os.dup2(original, fd)
                os.close(original)
        captured["stdout"] = files[1].read_text(errors="replace")
        captured["stderr"] = files[2].read_text(errors="replace")


# -- plugin managers -------------------------------------------------------------------------------

class PluginLoadError(AssertionError):
    """The plugin under test did not load; the message says why (``reason``: without the
    ``plugin 'NAME' did not load:`` in front)."""

    def __init__(self, message: str, *, plugin: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.plugin = plugin
        self.reason = reason or message


def isolated_plugins(*plugins: object | str, name: str | None = None, check: bool = True) -> Plugins:
    """A plugin manager holding wasmrun's built-ins and ``plugins``, nothing else installed.

    Each plugin is a module or object with hookimpls, or the name of an installed plugin (an
    entry point in the ``wasmrun`` group: this tests your packaging too). A plugin named like a
    built-in replaces it, as an installed one does.

    :param name: the name to register a single object plugin under (default: its
        ``plugin_info().name``, or its ``PLUGIN_NAME``).
    :param check: raise :class:`PluginLoadError` when a plugin does not load (``False``: leave the
        error in ``plugins.records[name].error``).
    """
    from wasmrun.plugins import BUILTIN_PLUGINS, load_plugins

    if name is not None and len(plugins) != 1:
        raise TypeError("name= applies to one plugin; register several under their own names")
    modules = {getattr(p, "__name__", None) for p in plugins if not isinstance(p, str)}
    # The plugin under test may be a built-in module itself (pluggy refuses one object twice).
    builtins = [module for module in BUILTIN_PLUGINS if module not in modules]
    manager = load_plugins(entry_points=False, builtins=builtins, environ=_plugin_environ())
    for plugin in plugins:
        if isinstance(plugin, str):
            obj, source, version = installed_plugin(plugin)
            plugin_name = plugin
        else:
            obj, plugin_name, source, version = plugin, name or plugin_name_of(plugin), "", ""
        if plugin_name in manager.records and manager.records[plugin_name].builtin:
            manager.unregister(plugin_name)
        record = manager.register(obj, plugin_name, source=source, version=version or None)
        if check and record.error:
            raise PluginLoadError(f"plugin '{plugin_name}' did not load: {record.error}")
    return manager


def installed_plugin(name: str) -> tuple[object, str, str]:
    """The object an installed plugin's entry point names, its distribution and version."""
    from wasmrun.plugins import distribution_label, external_entry_points

    found = [ep for ep in external_entry_points() if ep.name == name]
    if not found:
        raise PluginLoadError(f"no installed plugin '{name}' (no '{name}' entry point in the 'wasmrun' group: "
                              "is the package installed in this environment?)")
    source, version = distribution_label(found[0])
    try:
        return found[0].load(), source, version
    except Exception as exc:
        raise PluginLoadError(f"plugin '{name}' did not load: cannot import {found[0].value}: "
                              f"{type(exc).__name__}: {exc}") from exc


def plugin_name_of(plugin: object) -> str:
    """The name a plugin object calls itself: ``plugin_info().name``, else ``PLUGIN_NAME``, else
    its module's last component."""
    from wasmrun.plugin_contract import is_hookimpl

    info = getattr(plugin, "plugin_info", None)
    if callable(info) and is_hookimpl(info):
        try:
            name = getattr(info(), "name", None)
        except Exception:  # noqa: BLE001 - registration reports the error properly
            name = None
        if isinstance(name, str) and name:
            return name
    declared = getattr(plugin, "PLUGIN_NAME", None)
    if isinstance(declared, str) and declared:
        return declared
    module = getattr(plugin, "__name__", None) or type(plugin).__module__
    return str(module).rsplit(".", 1)[-1]


def _plugin_environ() -> dict[str, str]:
    # Only tracing passes through: an isolated manager ignores the user's enable/disable lists.
    trace = os.environ.get("WASMRUN_TRACE_PLUGINS")
    return {"WASMRUN_TRACE_PLUGINS": trace} if trace else {}


# -- conformance -----------------------------------------------------------------------------------

#: Projects that clearly belong to a language; a plugin must not claim one that is not its own
#: (its own: the key is its name or one of its aliases).
FOREIGN_PROJECTS: dict[str, dict[str, str]] = {
    "rust": {"Cargo.toml": '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n',
             "src/main.rs": 'fn main() {\n    println!("hello");\n}\n'},
    "go": {"go.mod": "module example.com/hello\n\ngo 1.21\n",
           "main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n'},
    "wat": {"main.wat": "(module)\n"},
    "c": {"main.c": '#include <stdio.h>\n\nint main(void) {\n    puts("hello");\n    return 0;\n}\n'},
    "zig": {"build.zig": 'const std = @import("std");\n\npub fn build(b: *std.Build) void {\n    _ = b;\n}\n',
            "src/main.zig": 'pub fn main() void {\n    @import("std").debug.print("hi", .{});\n}\n'},
    "assemblyscript": {
        "asconfig.json": '{"targets": {"release": {"outFile": "build/release.wasm"}}}\n',
        "package.json": '{"name": "hello", "devDependencies": {"assemblyscript": "^0.27.0"}}\n',
        "assembly/index.ts": "export function add(a: i32, b: i32): i32 {\n  return a + b;\n}\n"},
    "python": {"main.py": 'print("hello")\n'},
}

_LANGUAGE_NAMES = {"rust": "a Rust crate", "go": "a Go module", "wat": "a WebAssembly text project",
                   "c": "a C project", "zig": "a Zig project", "assemblyscript": "an AssemblyScript project",
                   "python": "a Python project"}



class ConformanceError(AssertionError):
    """A plugin breaks wasmrun's plugin contract; the message lists every problem found."""

    def __init__(self, name: str, problems: Sequence[str]) -> None:
        self.name = name
        self.problems = list(problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"plugin '{name}' does not conform ({count}):\n"
                         + "\n".join(f"  - {problem}" for problem in problems))


@dataclass
class ConformanceReport:
    """What :func:`check_plugin` checked, for a test that wants to look further."""

    name: str
    info: PluginInfo
    passed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    build: BuildResult | None = None


def check_plugin(
    plugin: object | str,
    *,
    name: str | None = None,
    example_project: Mapping[str, str | bytes] | str | os.PathLike[str] | None = None,
    foreign_projects: Mapping[str, Mapping[str, str | bytes]] | None = None,
    build: bool = True,
    expect_stdout: str | None = None,
    workdir: str | os.PathLike[str] | None = None,
    skip_missing_toolchain: bool = False,
) -> ConformanceReport:
    """Check that a language plugin keeps wasmrun's contract; raises :class:`ConformanceError`
    listing every problem, or returns what was checked.

    The checks: its hookimpls match the specs (names and parameters) and it has the required
    ones; it loads beside the built-ins; its ``plugin_info`` is complete; it does not claim an
    empty project nor one of :data:`FOREIGN_PROJECTS` in another language; it claims its own
    example; the example builds to a module that validates; and ``clean`` afterwards leaves the
    project exactly as it was. When the plugin's toolchain is missing the build checks are
    skipped (``pytest.skip``), or fail under ``WASMRUN_REQUIRE_TOOLCHAINS=1``.

    :param plugin: the module or object with the hookimpls, or the name of an installed plugin.
    :param name: the name to register it under (default: what it calls itself).
    :param example_project: a project the plugin builds: ``{path: content}``, or a directory
        (copied first; the original is never written to). Default: its ``project_template("command")``.
    :param foreign_projects: replaces :data:`FOREIGN_PROJECTS`.
    :param build: ``False`` skips building and cleaning (for a plugin whose toolchain is slow).
    :param expect_stdout: run the built module as a WASI command and compare what it prints.
    :param workdir: where to write the projects (default: a temporary directory, removed after).
    :param skip_missing_toolchain: a missing toolchain skips the build checks and is noted in
        ``report.skipped`` instead of skipping the test (``wasmrun plugin check``: no pytest).
    """
    __tracebackhide__ = True  # pytest shows the problems, not this function's insides
    with _workspace(workdir) as root:
        if isinstance(plugin, str):
            label, obj = plugin, installed_plugin(plugin)[0]
        else:
            label, obj = name or plugin_name_of(plugin), plugin
        problems = check_hookimpls(obj)
        if problems:
            raise ConformanceError(label, problems)
        manager = isolated_plugins(obj, name=label, check=False)
        record = manager.records[label]
        if record.error:
            raise ConformanceError(label, [f"does not load: {record.error}"])
        info = manager.info(label)
        report = ConformanceReport(label, info, passed=["hookimpls", "loads"])
        problems += _check_info(label, info)
        report.passed.append("plugin_info")
        problems += _check_claims(manager, label, info, root, foreign_projects)
        report.passed.append("claims")
        if example_project is None:
            template = manager.call(label, "project_template", flavour="command") \
                or manager.call(label, "project_template", flavour="library")
            if not template:
                problems.append("no example project: pass example_project=... or implement project_template")
                raise ConformanceError(label, problems)
            example_project = template
        project = root / "example"
        if isinstance(example_project, Mapping):
            write_project(project, example_project)
        else:
            copy_project(example_project, project)
        problems += _check_example(manager, label, project, report, build=build, expect_stdout=expect_stdout,
                                   skip_missing_toolchain=skip_missing_toolchain)
        if problems:
            raise ConformanceError(label, problems)
        return report


def check_hookimpls(plugin: object) -> list[str]:
    """Problems with a plugin's hookimpls (:func:`wasmrun.plugin_contract.hookimpl_problems`, the
    rules the loader applies too): a name that matches no hook (with the nearest one), a parameter
    the hook does not pass, a required hook missing, a hook-named function not marked
    ``@wasmrun.hookimpl``."""
    from wasmrun.plugin_contract import hookimpl_problems

    return [problem.message for problem in hookimpl_problems(plugin)]


def plugin_under_check(target: str | os.PathLike[str]) -> tuple[object, str, Path | None]:
    """What ``wasmrun plugin check TARGET`` checks: (the plugin object, its name, its example
    directory or ``None``). ``TARGET`` is a plugin project directory (the module its ``wasmrun``
    entry point names is imported from that directory, so what is checked is the code there) or
    the name of an installed plugin (pip's or ``wasmrun plugin install``'s).

    :raises wasmrun.errors.UsageError: no such plugin, or a project without one entry point.
    :raises PluginLoadError: the plugin's module does not import.
    """
    import sys

    from wasmrun.errors import UsageError

    path = Path(target).expanduser()
    if path.is_dir():
        name, value = _project_entry_point(path.resolve())
        root = path.resolve()
        home = root / "src" if (root / "src" / value.split(":")[0].split(".")[0]).exists() else root
        example = root / "example"
        return _import_from(home, value, name), name, example if example.is_dir() else None
    name = str(target)
    if os.sep in name or name.startswith("."):
        raise UsageError(f"no such plugin project directory: {name}")
    from wasmrun.config import load_config
    from wasmrun.plugins import entry_points_in, external_entry_points

    for record in load_config().plugins.installed.values():
        for ep in entry_points_in(record.path):
            if ep.name == name:
                if record.path not in sys.path:
                    sys.path.append(record.path)  # as the loader does: after the host's packages
                return _load(ep.load, ep.value, name), name, None
    for ep in external_entry_points():
        if ep.name == name:
            return _load(ep.load, ep.value, name), name, None
    raise UsageError(f"no installed plugin {name!r} and no such directory (give a plugin's name or its project)")


def _project_entry_point(root: Path) -> tuple[str, str]:
    import tomllib

    from wasmrun.errors import UsageError

    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except OSError:
        raise UsageError(f"{root} holds no pyproject.toml (is it a plugin project?)") from None
    except ValueError as exc:
        raise UsageError(f"{root / 'pyproject.toml'} is not valid TOML: {exc}") from None
    eps = data.get("project", {}).get("entry-points", {}).get("wasmrun", {})
    if not isinstance(eps, dict) or len(eps) != 1:
        found = ", ".join(eps) if isinstance(eps, dict) and eps else "none"
        raise UsageError(f"{root / 'pyproject.toml'} must declare one entry point in [project.entry-points.wasmrun] "
                         f"(found: {found})")
    (name, value), = eps.items()
    return str(name), str(value)


def _import_from(directory: Path, value: str, name: str) -> object:
    """Import ``module[:attr]`` from ``directory`` ahead of any installed copy of it."""
    import importlib
    import sys

    module_name, _, attr = value.partition(":")
    top = module_name.split(".")[0]
    for loaded in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[loaded]
    sys.path.insert(0, str(directory))
    importlib.invalidate_caches()

    def load() -> object:
        obj: object = importlib.import_module(module_name)
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
        return obj

    try:
        return _load(load, value, name)
    finally:
        sys.path.remove(str(directory))


def _load(load: Callable[[], object], value: str, name: str) -> object:
    try:
        return load()
    except Exception as exc:
        reason = f"cannot import {value}: {type(exc).__name__}: {exc}"
        raise PluginLoadError(f"plugin '{name}' did not load: {reason}", plugin=name, reason=reason) from exc


def _check_info(name: str, info: PluginInfo) -> list[str]:
    from wasmrun.plugin_contract import info_problems

    return [problem.message for problem in info_problems(name, info)]


def _check_claims(manager: Plugins, name: str, info: PluginInfo, root: Path,
                  foreign: Mapping[str, Mapping[str, str | bytes]] | None) -> list[str]:
    from wasmrun.models import Claim

    own = {name, *info.aliases}
    projects: dict[str, Mapping[str, str | bytes]] = {"": {}}
    projects.update({lang: files for lang, files in (FOREIGN_PROJECTS if foreign is None else foreign).items()
                     if lang not in own})
    problems: list[str] = []
    for lang, files in projects.items():
        project = write_project(root / "claims" / (lang or "empty"), files)
        try:
            claim = manager.call(name, "can_handle_project", project_dir=project)
        except Exception as exc:  # noqa: BLE001 - reported as the plugin's problem
            problems.append(f"can_handle_project raised on {_describe_project(lang, files)}: {exc}")
            continue
        if claim is None:
            continue
        if not isinstance(claim, Claim):
            problems.append(f"can_handle_project returned {type(claim).__name__}, not Claim or None")
            continue
        kind = "a fallback claim on" if claim.fallback else "claims"
        problems.append(f"{kind} {_describe_project(lang, files)} (evidence: {claim.evidence})")
    return problems


def _describe_project(lang: str, files: Mapping[str, object]) -> str:
    if not lang:
        return "an empty project"
    what = _LANGUAGE_NAMES.get(lang, f"a {lang} project")
    return f"{what} ({', '.join(files)}), which is not its language"


def _check_example(manager: Plugins, name: str, project: Path, report: ConformanceReport, *,
                   build: bool, expect_stdout: str | None, skip_missing_toolchain: bool = False) -> list[str]:
    from wasmrun.building import check_toolchain, clean_project, compile_project
    from wasmrun.errors import MissingToolchainError, WasmrunError
    from wasmrun.models import Target
    from wasmrun.wasm.verify import verify_file

    problems: list[str] = []
    claims = manager.claims(project)
    if not any(plugin == name for plugin, _ in claims):
        problems.append(f"does not claim its own example project ({', '.join(_files(project)) or 'empty'})")
    elif claims[0][0] != name:
        problems.append(f"its example project is claimed by '{claims[0][0]}' before it "
                        f"(claims, best first: {[plugin for plugin, _ in claims]})")
    report.passed.append("example claimed")
    if not build or problems:
        report.skipped.append("build" if not build else "build (the example is not claimed or not valid)")
        return problems
    try:
        check_toolchain(manager, name, Target.WASM)
    except MissingToolchainError as exc:
        if not skip_missing_toolchain:
            _missing_toolchain(manager, name, exc)
        report.skipped.append(f"build ({exc.message})")
        return problems
    before = snapshot(project)
    try:
        result = compile_project(project, manager, language=name, use_cache=False)
    except WasmrunError as exc:
        output = getattr(exc, "output", "")
        problems.append(f"its example does not build: {exc.message}" + (f"\n{output.strip()}" if output else ""))
        return problems
    report.build = result
    verdict = verify_file(result.wasm_path)
    if not verdict.valid:
        problems.append(f"the built module is not valid WebAssembly: {verdict.message}")
    problems += [f"build reported {path}, which does not exist" for path in result.files() if not path.exists()]
    if expect_stdout is not None and verdict.valid:
        ran = run_wasm(result.wasm_path)
        if ran.stdout != expect_stdout or ran.exit_code != 0:
            problems.append(f"the example printed {ran.stdout!r} (exit code {ran.exit_code}), "
                            f"expected {expect_stdout!r} (exit code 0); stderr: {ran.stderr.strip()!r}")
    report.passed.append("builds a valid module")
    clean_project(project, manager, language=name)
    changes = snapshot_changes(before, snapshot(project))
    if changes:
        problems.append("clean after a build leaves the project changed:\n      " + "\n      ".join(changes))
    else:
        report.passed.append("clean restores the project")
    return problems


def _missing_toolchain(manager: Plugins, name: str, exc: Exception) -> None:
    from wasmrun.models import Target

    statuses = manager.call(name, "check_dependencies", target=Target.WASM, probe=False) or []
    missing = [s.name for s in statuses if not s.usable] or [name]
    # Skips (or fails under WASMRUN_REQUIRE_TOOLCHAINS=1) on the first tool that can be installed.
    for tool in sorted(missing, key=lambda t: t in UNINSTALLABLE_TOOLS):
        require_tool(tool, found=False)
    raise AssertionError(str(exc))  # not reached: require_tool skips or fails


def _files(project: Path) -> list[str]:
    return sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())


@contextmanager
def _workspace(workdir: str | os.PathLike[str] | None) -> Iterator[Path]:
    """A directory for the check's projects, and ``WASMRUN_HOME`` inside it while the check runs
    (so a build cache or config written by the check never reaches the user's)."""
    with tempfile.TemporaryDirectory(prefix="wasmrun-conformance-") as tmp:
        root = Path(workdir) if workdir is not None else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        saved = os.environ.get("WASMRUN_HOME")
        os.environ["WASMRUN_HOME"] = str(root / "home")
        try:
            yield root
        finally:
            if saved is None:
                os.environ.pop("WASMRUN_HOME", None)
            else:
                os.environ["WASMRUN_HOME"] = saved


# -- the fixtures' types (for annotations in plugin authors' tests) -------------------------------

class PluginsFactory(Protocol):
    """The ``wasmrun_plugins`` fixture."""

    def __call__(self, *plugins: object | str, name: str | None = None, check: bool = True) -> Plugins: ...


class ProjectFactory(Protocol):
    """The ``wasmrun_project`` fixture."""

    def __call__(self, files: Mapping[str, str | bytes] | str | os.PathLike[str], name: str = "project") -> Path: ...


class CliInvoker(Protocol):
    """The ``wasmrun_cli`` fixture."""

    def __call__(self, *args: str | os.PathLike[str], input: str | None = None,
                 env: Mapping[str, str] | None = None) -> CliResult: ...


class Conformance(Protocol):
    """The ``wasmrun_conformance`` fixture (:func:`check_plugin` with ``workdir`` set)."""

    def __call__(self, plugin: object | str, **options: Any) -> ConformanceReport: ...


WasmRunner = Callable[..., WasmRun]
HeadlessRunner = Callable[..., WasmRun]
