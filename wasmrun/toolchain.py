"""Finding and running external tools, for language plugins.

Plugins call :func:`run` for every toolchain command: it logs the exact command line (shown by
``wasmrun compile -v``), records it in the build's command list, and turns a failure into a
:class:`~wasmrun.errors.BuildError` carrying the tool's own output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from wasmrun.errors import BuildError, MissingToolchainError

log = logging.getLogger("wasmrun.toolchain")

#: Commands run during the current build, in order (reset by :func:`start_recording`).
_recorded: list[list[str]] = []
#: The files that are the programs run or asked for their version during the current build (the
#: build cache keys a build by them: the same ``--version`` from another binary is another tool).
_programs: set[str] = set()


#: The command :func:`run` is running now (None between commands), for the progress line.
_running: list[str] | None = None


def running() -> list[str] | None:
    """The toolchain command running at this moment, if any (read by :mod:`wasmrun.progress`)."""
    return _running


def start_recording() -> list[list[str]]:
    """Start a fresh list of the commands :func:`run` executes; returns it."""
    _recorded.clear()
    _programs.clear()
    return _recorded


def programs_used() -> set[str]:
    """The program files run (or asked for a version) since :func:`start_recording`."""
    return set(_programs)


def program_files(argv: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
    """The files that decide what ``argv`` runs: the program (resolved on ``PATH``, symlinks
    followed), and for ``python -m MODULE`` the module's package as well (``ziglang``'s compiler
    lives there, not in the interpreter)."""
    if not argv:
        return []
    path_var = (env or {}).get("PATH") or os.environ.get("PATH")
    found = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=path_var)
    if found is None:
        return []
    files = [os.path.realpath(found)]
    if len(argv) > 2 and argv[1] == "-m" and os.path.basename(argv[0]).startswith("python"):
        files += _module_files(argv[2])
    return files


def _module_files(module: str) -> list[str]:
    """The program files of an importable module's package (executables and shared libraries at
    its top, plus the module's own source)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return []
    if spec is None or spec.origin is None:
        return []
    files = [spec.origin]
    package = os.path.dirname(spec.origin)
    if spec.submodule_search_locations:
        try:
            for entry in os.scandir(package):
                if entry.is_file() and (os.access(entry.path, os.X_OK) or entry.name.endswith((".py", ".so"))):
                    files.append(entry.path)
        except OSError:
            pass
    return sorted(set(files))


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    what: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a toolchain command; raise :class:`BuildError` with its output if it fails.

    :param env: variables added to (not replacing) the current environment.
    :param what: how to name the step in the error, e.g. ``"clang"`` (default: the program).
    """
    argv = [os.fspath(part) for part in command]
    _recorded.append(argv)
    _programs.update(program_files(argv, env))
    shown = shlex.join(argv)
    if env:
        shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shown
    log.info("$ %s", shown if cwd is None else f"(cd {shlex.quote(str(cwd))} && {shown})")
    full_env = {**os.environ, **env} if env else None
    name = what or Path(argv[0]).name
    global _running
    _running = argv
    try:
        proc = run_in_group(argv, cwd=cwd, env=full_env, timeout=timeout)
    except FileNotFoundError:
        raise MissingToolchainError(f"{name} not found: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{name} did not finish within {timeout:g} s") from None
    finally:
        _running = None
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        raise BuildError(f"{name} failed (exit code {proc.returncode})", output=output)
    return proc


def run_in_group(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion, its output captured as text, in a process group of its own:
    a timeout, Ctrl-C or SIGTERM then ends it and every process it started (make's children,
    cargo's rustc, a plugin executable's helpers), not only the one wasmrun ran. Raises what
    ``subprocess.run`` raises (``FileNotFoundError``, ``TimeoutExpired``)."""
    with subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, errors="replace", process_group=0) as child:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except BaseException:
            import signal

            with contextlib.suppress(OSError):
                if os.name == "posix":
                    os.killpg(child.pid, signal.SIGKILL)
                else:  # pragma: no cover - wasmrun's CI is Linux
                    child.kill()
            raise
    return subprocess.CompletedProcess(list(argv), child.returncode, stdout, stderr)


def find_tool(name: str, extra_dirs: Iterable[str | Path] = ()) -> str | None:
    """The first ``name`` on PATH, else in ``extra_dirs``."""
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def tool_version(program: str, *args: str) -> str | None:
    """The first version number a tool prints for ``args`` (default ``--version``).

    Remembered (in this process and on disk) by the identity of the files that make up the tool
    (:func:`program_files`: path, size, times, inode), so a build does not pay for starting every
    compiler just to ask its version, and a compiler replaced in place, or another ``ziglang``
    behind the same ``python -m``, is asked again."""
    files = program_files([program, *args])
    _programs.update(files)
    memo_key = _memo_key(files, args)
    if memo_key is not None and memo_key in _seen_versions:
        return _seen_versions[memo_key]
    memo = _read_memo()
    if memo_key is not None and memo_key in memo:
        _seen_versions[memo_key] = memo[memo_key]
        return memo[memo_key]
    try:
        proc = subprocess.run([program, *(args or ("--version",))], capture_output=True, text=True,
                              errors="replace", timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"\d+\.\d+(?:\.\d+)?(?:[-+.~][0-9A-Za-z.]+)?", proc.stdout + proc.stderr)
    version = match.group(0) if match else None
    if memo_key is not None and version is not None and proc.returncode == 0:
        _seen_versions[memo_key] = version
        _write_memo({**memo, memo_key: version})
    return version


#: Versions asked in this process, by :func:`_memo_key` (which changes when the tool does).
_seen_versions: dict[str, str] = {}


def _memo_key(files: list[str], args: tuple[str, ...]) -> str | None:
    if not files:
        return None
    parts = []
    for path in files:
        try:
            info = os.stat(path)
        except OSError:
            return None
        parts.append(f"{path}|{info.st_size}|{info.st_mtime_ns}|{info.st_ctime_ns}|{info.st_ino}")
    return ";".join(parts) + "|" + " ".join(args)


def _memo_path() -> Path:
    from wasmrun.locations import Locations

    return Locations.from_environment().cache_dir / "tool-versions.json"


def _read_memo() -> dict[str, str]:
    import json

    try:
        data = json.loads(_memo_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _write_memo(memo: dict[str, str]) -> None:
    from wasmrun.fingerprints import write_json

    with contextlib.suppress(OSError):  # only a memo: never fail a build over it
        write_json(_memo_path(), memo)
