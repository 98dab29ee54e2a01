"""``exec``, ``verify``, ``inspect``, ``compile`` and ``run --headless`` without typer: the commands
people run in loops (and in CI) start in a fraction of the time.

:func:`wasmrun.cli.main` tries :func:`try_fast` first. It understands exactly the options the
typer commands declare (tests keep the two in step) and hands anything else (``--help``, an
unknown option, a malformed value, ``run`` without ``--headless``) back to typer, which then gives
the full help or the usual error. Both routes run the same functions (:func:`exec_main`,
:func:`verify_main`, :func:`inspect_main`, :func:`compile_main` and
:func:`wasmrun.headless.command.headless_main`), so they cannot disagree on behaviour.

``compile`` looks the invocation's manifest (:mod:`wasmrun.manifests`) up first: a stored build
whose every input is unchanged is restored without loading a plugin or pydantic; otherwise the
project is built through its plugin, still without typer. ``run --headless`` starts the browser
before anything else, then serves the project (restored from the manifest the same way, see
:func:`wasmrun.server.app.prepare_site`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from wasmrun.errors import EXIT_FAILURE, WasmrunError, error_lines

#: Options of ``exec`` that take a value, by their names; flags separately.
EXEC_VALUE_OPTIONS = {"--dir": "dirs", "--env": "env", "--invoke": "invoke", "--call": "invoke",
                      "--fuel": "fuel", "--timeout": "timeout", "--max-memory": "max_memory"}
EXEC_FLAGS = {"--no-cache": "no_cache"}
VERIFY_FLAGS = {"--detailed": "detailed", "--json": "as_json"}
INSPECT_FLAGS = {"--json": "as_json"}
#: Options of ``compile`` direct mode understands; anything else (``-v``, ``--no-cache``, ``--``)
#: goes to typer.
COMPILE_VALUE_OPTIONS = {"--output": "output", "-o": "output", "--optimization": "optimization",
                         "--language": "language", "-l": "language", "--target": "target", "--toolchain": "toolchain"}
COMPILE_FLAGS = {"--debug-info": "debug_info", "--json": "as_json", "--no-opt": "no_opt", "--verbose": "verbose",
                 "-v": "verbose", "--no-cache": "no_cache"}
COMPILE_CHOICES = {"optimization": ("debug", "release", "size"), "target": ("wasm", "web", "component")}
#: Options of ``run --headless`` this route understands; ``--watch`` and ``--open`` (refused with
#: --headless), ``--help`` and anything malformed go to typer, which says what is wrong.
RUN_VALUE_OPTIONS = {"--port": "port", "-p": "port", "--host": "host", "--env": "env", "--target": "target",
                     "--optimization": "optimization", "--language": "language", "-l": "language",
                     "--output": "output", "-o": "output", "--toolchain": "toolchain", "--timeout": "timeout",
                     "--browser": "browser"}
RUN_FLAGS = {"--no-opt": "no_opt", "--log-requests": "log_requests", "--headless": "headless"}
#: ``run``'s names: ``serve`` and ``dev`` are the same command.
RUN_NAMES = ("run", "serve", "dev")
#: The longest --timeout typer's ``run`` accepts.
MAX_TIMEOUT_S = 365 * 24 * 3600


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def exec_main(target: str, args: list[str], *, dirs: list[str], env: list[str], invoke: str | None,
              fuel: int | None, timeout: float | None, max_memory: str | None, no_cache: bool) -> int:
    """Run a module (or a project, built first) and return the exit code to end with."""
    from wasmrun.errors import UsageError
    from wasmrun.wasm.compile_cache import default_cache_dir
    from wasmrun.wasm.runner import ModuleTrap, RunRequest, check_limits, parse_dir, parse_env, run_module

    try:
        limits = check_limits(fuel=fuel, timeout=timeout, max_memory=max_memory)  # before anything is built or read
        path = Path(target)
        if path.is_dir():
            path = _built_module(path)
        elif not path.exists():
            raise UsageError(f"no such file or directory: {target}")
        request = RunRequest(
            wasm_path=path, args=list(args), env=dict(parse_env(e) for e in env),
            dirs=[parse_dir(d) for d in dirs], invoke=invoke, fuel=limits.fuel, timeout=limits.timeout,
            max_memory=limits.max_memory, cache_dir=None if no_cache else default_cache_dir(),
        )
        outcome = run_module(request)
    except ModuleTrap as exc:
        _err(f"error: {exc.message}")
        if exc.backtrace:
            _err("wasm backtrace:")
            for line in exc.backtrace:
                _err(line)
        return exc.exit_code
    except WasmrunError as exc:
        _report(exc)
        return exc.exit_code
    for value in outcome.formatted_results():
        print(value)
    return outcome.exit_code


def _built_module(project: Path) -> Path:
    """The module ``compile PROJECT`` would give: from the build cache when the invocation's
    manifest shows an unchanged build (no plugin loaded), else built the usual way."""
    from wasmrun.manifests import invocation, restore

    restored, _ = restore(invocation(project.expanduser().resolve()))
    if restored is not None:
        return Path(restored["wasm_path"])
    from wasmrun.building import compile_project, default_plugins, project_path
    from wasmrun.progress import build_progress, wanted  # only now a build runs (rich only if it is long)

    where = project_path(project)
    with build_progress(f"building {where.name}", enabled=wanted()):
        return compile_project(where, default_plugins()).wasm_path


def verify_main(file: str, *, detailed: bool, as_json: bool) -> int:
    """Check a module; print the verdict; return 0 (valid), 1 (not) or 2 (usage)."""
    from wasmrun.wasm.verify import verify_file

    try:
        result = verify_file(Path(file))
    except WasmrunError as exc:
        _report(exc)
        return exc.exit_code
    if as_json:
        print(json.dumps(result.as_dict(detailed=detailed), indent=2, default=str))
    elif result.valid:
        print(result.message)
        if detailed and result.module is not None:
            from wasmrun.wasm.inspect import section_lines

            data = result.as_dict(detailed=True)
            print("\nSections:")
            for line in section_lines(data["sections"]):
                print(f"  {line}")
            print("\nSummary:")
            for key, value in (data["summary"] or {}).items():
                print(f"  {key}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    for warning in result.warnings:
        _err(f"warning: {warning}")
    if not result.valid:
        _err(f"error: {result.message}")
        return EXIT_FAILURE
    return 0


def inspect_main(file: str, *, as_json: bool) -> int:
    """Describe a module; print the report; return 0, 1 (malformed or invalid) or 2 (usage)."""
    from wasmrun.wasm.inspect import inspect_file, invalid_line, render_text
    from wasmrun.wasm.report_json import report_json

    try:
        report = inspect_file(Path(file), columnar=True)
    except WasmrunError as exc:
        _report(exc)
        return exc.exit_code
    print(report_json(report) if as_json else render_text(report))
    invalid = invalid_line(report)
    if invalid is not None:
        _err(f"error: {invalid}")
        return EXIT_FAILURE
    return 0


def compile_lines(result: dict[str, object]) -> list[str]:
    """What ``compile`` prints for a build (``result`` as in ``--json``)."""
    wasm = str(result["wasm_path"])
    size = Path(wasm).stat().st_size
    toolchain = f" ({result['toolchain']})" if result.get("toolchain") else ""
    lines = [f"built {wasm} ({size:,} bytes) with {result['plugin']}{toolchain} in {result['duration_s']:.2f} s"
             f"{' (cached)' if result.get('cached') else ''}"]
    if result.get("optimized_by"):
        lines.append(f"      optimized with {result['optimized_by']}")
    if result.get("componentized_by"):
        lines.append(f"      component: {result['componentized_by']}")
    extras = [result.get("js_path"), result.get("html_path"), *result.get("additional_files", [])]  # type: ignore[misc]
    lines += [f"      {extra}" for extra in extras if extra is not None]
    return lines


def compile_main(path: str, *, output: str | None, optimization: str | None, language: str | None,
                 target: str | None, toolchain: str | None, debug_info: bool, as_json: bool,
                 no_opt: bool, verbose: bool = False, no_cache: bool = False,
                 extra_args: list[str] | None = None) -> int:
    """``compile`` on both routes: print the build (or its JSON) and return the exit code. A
    build the invocation's manifest has is restored before any plugin is loaded; otherwise the
    project is built (:func:`wasmrun.building.compile_project`), with ``-v`` the commands shown."""
    if path.startswith("-"):  # `wasmrun compile -- -DX`: no PATH before the extra arguments
        extra_args = [path, *(extra_args or [])]
        path = "."
    try:
        for option, value in (("--optimization", optimization), ("--target", target)):
            choices = COMPILE_CHOICES[option.removeprefix("--")]
            if value is not None and value not in choices:
                from wasmrun.errors import UsageError

                raise UsageError(f"{option} must be one of {', '.join(choices)}, not '{value}'")
        result = None if no_cache else _compile_hit(path, output=output, optimization=optimization, language=language,
                                                    target=target, toolchain=toolchain, debug_info=debug_info,
                                                    no_opt=no_opt, extra_args=extra_args or [], verbose=verbose)
        if result is None:
            result = _compile_build(path, output=output, optimization=optimization, language=language, target=target,
                                    toolchain=toolchain, debug_info=debug_info, as_json=as_json, no_opt=no_opt,
                                    verbose=verbose, no_cache=no_cache, extra_args=extra_args or [])
    except WasmrunError as exc:
        _report(exc, verbose=verbose)
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C (and SIGTERM, see wasmrun.cli.main): the build's own cleanup has run
        from wasmrun.errors import EXIT_INTERRUPTED

        _err("interrupted")
        return EXIT_INTERRUPTED
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print("\n".join(compile_lines(result)))
    return 0


def _compile_hit(path: str, *, output: str | None, optimization: str | None, language: str | None,
                 target: str | None, toolchain: str | None, debug_info: bool, no_opt: bool,
                 extra_args: list[str], verbose: bool) -> dict[str, object] | None:
    """The build the invocation's manifest has, restored in place (no plugin, no pydantic), or None
    (the full road then looks once more, and says why it missed)."""
    from wasmrun.manifests import invocation, restore

    project = Path(path).expanduser()
    if not project.is_dir() or target == "component":  # the full road says what is wrong; installs jco's tools
        return None
    options = invocation(project.resolve(), output_dir=None if output is None else Path(output).expanduser(),
                         optimization=optimization, target=target, language=language, toolchain=toolchain,
                         extra_args=extra_args, debug_info=debug_info, optimize=not no_opt)
    result, why = restore(options)
    if result is not None and verbose:
        _err(f"build cache: hit: {why}")  # as wasmrun.recording logs it on the full road
    return result


def _compile_build(path: str, *, output: str | None, optimization: str | None, language: str | None,
                   target: str | None, toolchain: str | None, debug_info: bool, as_json: bool, no_opt: bool,
                   verbose: bool, no_cache: bool, extra_args: list[str]) -> dict[str, object]:
    """The project built through its plugin (the cache looked up once more, and the build stored)."""
    from wasmrun.building import compile_project, default_plugins, project_path
    from wasmrun.models import Optimization, Target
    from wasmrun.progress import build_progress, wanted

    project = project_path(path)
    with log_commands(verbose), build_progress(f"building {project.name}", enabled=wanted(as_json=as_json)):
        result = compile_project(
            project, default_plugins(), output_dir=None if output is None else Path(output),
            optimization=Optimization(optimization) if optimization else None,
            target=Target(target) if target else None, language=language, toolchain_name=toolchain,
            extra_args=extra_args, debug_info=debug_info, verbose=verbose, use_cache=not no_cache,
            optimize=not no_opt)
    return result.model_dump(mode="json")


@contextmanager
def log_commands(enabled: bool) -> Iterator[None]:
    """While building, print each toolchain command, and why the build cache did or did not have
    the build, to stderr (``-v``)."""
    if not enabled:
        yield
        return
    import logging

    class ToStderr(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            sys.stderr.write(record.getMessage() + "\n")  # the stderr of now, not of import time

    loggers = [logging.getLogger("wasmrun.toolchain"), logging.getLogger("wasmrun.cache")]
    handler = ToStderr()
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _parse_compile(argv: list[str]) -> dict[str, object] | None:
    values: dict[str, object] = {"path": ".", "output": None, "optimization": None, "language": None,
                                 "target": None, "toolchain": None, "debug_info": False, "as_json": False,
                                 "no_opt": False, "verbose": False, "no_cache": False, "extra_args": []}
    paths: list[str] = []
    i = 0
    while i < len(argv):
        name, eq, inline = argv[i].partition("=")
        if argv[i] == "--":
            rest = argv[i + 1:]
            if not paths and rest:  # click fills PATH first (compile_main moves an option back)
                paths.append(rest.pop(0))
            values["extra_args"] = rest
            break
        if not name.startswith("-") or name == "-":
            paths.append(argv[i])
            i += 1
        elif name in COMPILE_FLAGS and not eq:
            values[COMPILE_FLAGS[name]] = True
            i += 1
        elif name in COMPILE_VALUE_OPTIONS:
            if eq and name.startswith("--"):
                value, i = inline, i + 1
            elif not eq and i + 1 < len(argv):
                value, i = argv[i + 1], i + 2
            else:
                return None
            key = COMPILE_VALUE_OPTIONS[name]
            if value.startswith("-") or value not in COMPILE_CHOICES.get(key, (value,)):
                return None
            values[key] = value
        else:
            return None  # --help, unknown options: typer decides
    if len(paths) > 1:
        return None
    if paths:
        values["path"] = paths[0]
    return values


def _report(exc: WasmrunError, *, verbose: bool = False) -> None:
    """The error's lines on stderr; ``-v`` or ``WASMRUN_DEBUG=1`` add where in a plugin its
    exception came from."""
    for line in error_lines(exc, debug=verbose or bool(os.environ.get("WASMRUN_DEBUG"))):
        _err(line)


def _parse_exec(argv: list[str]) -> dict[str, object] | None:
    values: dict[str, object] = {"dirs": [], "env": [], "invoke": None, "fuel": None, "timeout": None,
                                 "max_memory": None, "no_cache": False}
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        name, eq, inline = argv[i].partition("=")
        if name in EXEC_FLAGS and not eq:
            values[EXEC_FLAGS[name]] = True
            i += 1
            continue
        if name not in EXEC_VALUE_OPTIONS:
            return None  # --help, --, unknown options: typer decides
        if eq:
            value, i = inline, i + 1
        elif i + 1 < len(argv):
            value, i = argv[i + 1], i + 2
        else:
            return None
        key = EXEC_VALUE_OPTIONS[name]
        if key in ("dirs", "env"):
            values[key].append(value)  # type: ignore[attr-defined]
            continue
        try:
            values[key] = int(value) if key == "fuel" else float(value) if key == "timeout" else value
        except ValueError:
            return None  # not a number at all: typer's usage error
    if i >= len(argv):
        return None  # no FILE: typer's usage error
    values["target"], values["args"] = argv[i], argv[i + 1:]
    return values


def run_headless_main(argv: list[str], values: dict[str, object]) -> int:
    """``run --headless`` with options :func:`_parse_run` took: the browser starts first, then the
    project is served (restored from the build cache when its manifest allows, see
    :func:`wasmrun.server.app.prepare_site`) without typer; the exit code is the program's."""
    from wasmrun.headless.prelaunch import prelaunch

    prelaunch(argv)
    from wasmrun.headless.command import err, headless_main
    from wasmrun.server.app import BuildOptions, ServeOptions

    output = values["output"]
    build = BuildOptions(output_dir=None if output is None else Path(str(output)), optimization=values["optimization"],  # type: ignore[arg-type]
                         target=values["target"], language=values["language"], toolchain=values["toolchain"],  # type: ignore[arg-type]
                         optimize=not values["no_opt"])
    serve = ServeOptions(host=str(values["host"]), port=values["port"], args=list(values["args"]),  # type: ignore[arg-type, call-overload]
                         env=dict(values["env"]), log_requests=bool(values["log_requests"]), log=err)  # type: ignore[call-overload]
    return headless_main(str(values["path"]), serve, build, timeout=values["timeout"], browser=values["browser"],  # type: ignore[arg-type]
                         leave=True)


def _parse_run(argv: list[str]) -> dict[str, object] | None:
    """``run``'s options when they ask for a headless run this route can take as they are; None
    for typer (no --headless, --help, a malformed or out-of-range value, an unknown option)."""
    values: dict[str, object] = {"path": ".", "args": [], "port": 0, "host": "127.0.0.1", "env": {}, "target": None,
                                 "optimization": None, "language": None, "output": None, "toolchain": None,
                                 "timeout": None, "browser": None, "no_opt": False, "log_requests": False,
                                 "headless": False}
    paths: list[str] = []
    i = 0
    while i < len(argv):
        name, eq, inline = argv[i].partition("=")
        if argv[i] == "--":
            values["args"] = argv[i + 1:]
            break
        if not name.startswith("-") or name == "-":
            paths.append(argv[i])
            i += 1
        elif name in RUN_FLAGS and not eq:
            values[RUN_FLAGS[name]] = True
            i += 1
        elif name in RUN_VALUE_OPTIONS and (not eq or name.startswith("--")) and (eq or i + 1 < len(argv)):
            value, i = (inline, i + 1) if eq else (argv[i + 1], i + 2)
            key = RUN_VALUE_OPTIONS[name]
            if (value.startswith("-") and key not in ("port", "timeout")) or not _run_value(values, key, value):
                return None
        else:
            return None
    if not values["headless"] or len(paths) > 1 or (not paths and values["args"]):
        return None  # (after --, click fills a missing PATH first: typer's to decide)
    if paths:
        values["path"] = paths[0]
    return values


def _run_value(values: dict[str, object], key: str, value: str) -> bool:
    """Take ``value`` for ``key``; False when typer's ``run`` would refuse it."""
    if key == "port":
        try:
            port = int(value)
        except ValueError:
            return False
        if not 0 <= port <= 65535:
            return False
        values[key] = port
    elif key == "timeout":
        try:
            seconds = float(value)
        except ValueError:
            return False
        if not 0 < seconds <= MAX_TIMEOUT_S:
            return False
        values[key] = seconds
    elif key == "env":
        env_key, sep, env_value = value.partition("=")
        if not sep or not env_key:
            return False
        values["env"][env_key] = env_value  # type: ignore[index]
    elif key in COMPILE_CHOICES and value not in COMPILE_CHOICES[key]:
        return False
    else:
        values[key] = value
    return True


def plan(argv: list[str]) -> Callable[[], int | None] | None:
    """What the fast route would run for ``argv`` (``exec``, ``verify`` or ``inspect`` of a file,
    a ``compile`` the build cache's manifest may answer), or None when it is typer's to handle. Nothing runs until the returned
    function is called; for ``compile`` it may still return None: typer's then."""
    if not argv:
        return None
    command, rest = argv[0], argv[1:]
    if command == "exec":
        parsed = _parse_exec(rest)
        if parsed is None:
            return None
        target, args = str(parsed.pop("target")), list(parsed.pop("args"))  # type: ignore[call-overload]
        return lambda: exec_main(target, args, **parsed)  # type: ignore[arg-type]
    if command in ("verify", "inspect"):
        flags = [a for a in rest if a.startswith("-")]
        files = [a for a in rest if not a.startswith("-")]
        known = VERIFY_FLAGS if command == "verify" else INSPECT_FLAGS
        if len(files) != 1 or any(f not in known for f in flags):
            return None
        if command == "inspect":
            return lambda: inspect_main(files[0], as_json="--json" in flags)
        return lambda: verify_main(files[0], detailed="--detailed" in flags, as_json="--json" in flags)
    if command in RUN_NAMES and "--headless" in rest:
        values = _parse_run(rest)
        if values is None:
            return None
        return lambda: run_headless_main(rest, values)
    if command == "compile":
        options = _parse_compile(rest)
        if options is None:
            return None
        target = str(options.pop("path"))
        return lambda: compile_main(target, **options)  # type: ignore[arg-type]
    return None


def try_fast(argv: list[str]) -> int | None:
    """The exit code, when ``argv`` is a command this module could run; else None (typer's)."""
    run = plan(argv)
    return None if run is None else run()
