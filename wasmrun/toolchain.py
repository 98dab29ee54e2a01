"""Finding and running external tools, for language plugins.

Plugins call :func:`run` for every toolchain command: it logs the exact command line (shown by
``wasmrun compile -v``), records it in the build's command list, and turns a failure into a
:class:`~wasmrun.errors.BuildError` carrying the tool's own output.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from wasmrun.errors import BuildError, MissingToolchainError

log = logging.getLogger("wasmrun.toolchain")

#: Commands run during the current build, in order (reset by :func:`start_recording`).
_recorded: list[list[str]] = []


def start_recording() -> list[list[str]]:
    """Start a fresh list of the commands :func:`run` executes; returns it."""
    _recorded.clear()
    return _recorded


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
    shown = shlex.join(argv)
    if env:
        shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shown
    log.info("$ %s", shown if cwd is None else f"(cd {shlex.quote(str(cwd))} && {shown})")
    full_env = {**os.environ, **env} if env else None
    name = what or Path(argv[0]).name
    try:
        proc = subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True,
                              errors="replace", timeout=timeout, check=False)
    except FileNotFoundError:
        raise MissingToolchainError(f"{name} not found: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{name} did not finish within {timeout:g} s") from None
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        raise BuildError(f"{name} failed (exit code {proc.returncode})", output=output)
    return proc


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

    Remembered on disk by the program's path, size and modification time, so a build does not
    pay for starting every compiler just to ask its version (build cache keys need it)."""
    sys.audit("wasmrun.tool_version", program)  # direct mode notes the program (wasmrun.direct)
    return _tool_version(program, *args)


@functools.lru_cache(maxsize=64)
def _tool_version(program: str, *args: str) -> str | None:
    memo_key = _memo_key(program, args)
    memo = _read_memo()
    if memo_key is not None and memo_key in memo:
        return memo[memo_key]
    try:
        proc = subprocess.run([program, *(args or ("--version",))], capture_output=True, text=True,
                              errors="replace", timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"\d+\.\d+(?:\.\d+)?(?:[-+.~][0-9A-Za-z.]+)?", proc.stdout + proc.stderr)
    version = match.group(0) if match else None
    if memo_key is not None and version is not None and proc.returncode == 0:
        _write_memo({**memo, memo_key: version})
    return version


def _memo_key(program: str, args: tuple[str, ...]) -> str | None:
    path = shutil.which(program) or program
    try:
        info = os.stat(os.path.realpath(path))
    except OSError:
        return None
    return f"{os.path.realpath(path)}|{info.st_size}|{info.st_mtime_ns}|{' '.join(args)}"


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
    import json

    path = _memo_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo, indent=0, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # only a memo: never fail a build over it
