"""Plugins written in any language: an executable driven through a small command protocol.

Registered with ``wasmrun plugin install --command PATH`` (plus flags or a metadata file), the
executable is called as follows (the full contract is in docs/plugins/command.md):

``EXE compile -p PROJECT -o OUTDIR [-- EXTRA_ARGS...]``
    Build; ``WASMRUN_OPTIMIZATION``, ``WASMRUN_TARGET`` and ``WASMRUN_DEBUG_INFO`` are set in its
    environment. Exit 0: the module is the last line of stdout ending in ``.wasm`` (relative to
    OUTDIR or absolute), else the only ``.wasm`` in OUTDIR. Non-zero: the build failed, and its
    output is shown as the compiler's.
``EXE can-handle -p PROJECT`` (optional)
    Exit 0 claims the project, each stdout line naming a file as evidence; exit 1 declines.
    Without it, the project is claimed when it holds one of the entry files, or a file with one
    of the extensions at its root or in ``src/``.
``EXE check-deps`` (optional)
    Prints a JSON list of ``{"name", "found", "version", "install_hint", "optional"}``.
``EXE clean -p PROJECT`` (optional)
    Removes what the plugin's own build left; prints the removed paths, one a line.

Any other exit code from ``can-handle``, ``check-deps`` or ``clean`` is a plugin error; an
executable that is gone is reported as NotFound by ``wasmrun plugin health``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from wasmrun import HOOK_API_VERSION, hookimpl, toolchain
from wasmrun.config import CommandPluginConfig
from wasmrun.errors import BuildError, PluginError
from wasmrun.models import BuildConfig, BuildResult, Capability, Claim, GlueKind, PluginInfo, Target, ToolStatus

PROTOCOL_SUBCOMMANDS = ("compile", "can-handle", "check-deps", "clean")


class CommandPlugin:
    """The hookimpls for one executable plugin."""

    def __init__(self, name: str, spec: CommandPluginConfig) -> None:
        self.name = name
        self.spec = spec

    def _run(self, args: list[str], *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        try:
            return toolchain.run_in_group([self.spec.command, *args], timeout=timeout)
        except FileNotFoundError:
            raise PluginError(f"plugin '{self.name}': executable {self.spec.command} not found") from None
        except PermissionError:
            raise PluginError(f"plugin '{self.name}': {self.spec.command} is not executable") from None
        except subprocess.TimeoutExpired:
            raise PluginError(f"plugin '{self.name}': '{args[0]}' did not answer within {timeout:g} s") from None

    def _offers(self, subcommand: str) -> bool:
        return subcommand in self.spec.subcommands

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        known = {c.value for c in Capability}
        return PluginInfo(
            name=self.name, version=self.spec.version, description=self.spec.description,
            extensions=self.spec.extensions, entry_files=self.spec.entry_files, builtin=False,
            source=self.spec.command, tools=self.spec.tools,
            capabilities=[Capability(c) for c in self.spec.capabilities if c in known],
            hook_api=HOOK_API_VERSION,
        )

    @hookimpl
    def can_handle_project(self, project_dir: Path) -> Claim | None:
        if self._offers("can-handle"):
            proc = self._run(["can-handle", "-p", str(project_dir)])
            if proc.returncode == 1:
                return None
            if proc.returncode != 0:
                raise PluginError(f"plugin '{self.name}': can-handle exited with {proc.returncode}: "
                                  f"{_first_line(proc.stderr)}")
            evidence = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
            return Claim(evidence=evidence or ["(claimed by the plugin)"])
        found = [f for f in self.spec.entry_files if (project_dir / f).exists()]
        for directory in (project_dir, project_dir / "src"):
            if directory.is_dir() and self.spec.extensions:
                found += sorted(p.relative_to(project_dir).as_posix() for p in directory.iterdir()
                                if p.is_file() and p.suffix in self.spec.extensions)
        return Claim(evidence=found) if found else None

    @hookimpl
    def check_dependencies(self, target: Target, probe: bool) -> list[ToolStatus]:
        if not Path(self.spec.command).is_file():
            return [ToolStatus(name=Path(self.spec.command).name, found=False,
                               install_hint=f"the plugin's executable {self.spec.command} is missing")]
        if not self._offers("check-deps"):
            return []
        proc = self._run(["check-deps"])
        if proc.returncode != 0:
            raise PluginError(f"plugin '{self.name}': check-deps exited with {proc.returncode}: "
                              f"{_first_line(proc.stderr)}")
        try:
            items: Any = json.loads(proc.stdout or "[]")
            return [ToolStatus.model_validate(item) for item in items]
        except (ValueError, TypeError) as exc:
            raise PluginError(f"plugin '{self.name}': check-deps printed no valid JSON list ({exc})") from None

    @hookimpl
    def build(self, config: BuildConfig) -> BuildResult:
        args = ["compile", "-p", str(config.project_dir), "-o", str(config.output_dir)]
        if config.extra_args:
            args += ["--", *config.extra_args]
        env = {"WASMRUN_OPTIMIZATION": config.optimization.value, "WASMRUN_TARGET": config.target.value,
               "WASMRUN_DEBUG_INFO": "1" if config.debug_info else "0"}
        proc = toolchain.run([self.spec.command, *args], env=env, what=self.name)
        return BuildResult(wasm_path=self._find_module(config.output_dir, proc.stdout),
                           glue=GlueKind.WASI, toolchain=f"{self.name} {self.spec.version}")

    def _find_module(self, out: Path, stdout: str) -> Path:
        for line in reversed(stdout.splitlines()):
            line = line.strip()
            if line.endswith(".wasm"):
                path = Path(line) if os.path.isabs(line) else out / line
                if path.is_file():
                    return path
        modules = sorted(out.rglob("*.wasm"))
        if len(modules) == 1:
            return modules[0]
        if not modules:
            raise BuildError(f"plugin '{self.name}' reported success but wrote no .wasm into {out}")
        raise BuildError(f"plugin '{self.name}' wrote several modules; print the main one's path as the last line")

    @hookimpl
    def clean(self, project_dir: Path, output_dir: Path) -> list[Path]:
        if not self._offers("clean"):
            return []
        proc = self._run(["clean", "-p", str(project_dir)])
        if proc.returncode != 0:
            raise PluginError(f"plugin '{self.name}': clean exited with {proc.returncode}: {_first_line(proc.stderr)}")
        return [Path(line.strip()) for line in proc.stdout.splitlines() if line.strip()]


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0].strip() if lines else "(no output)"


def load_metadata(path: Path) -> dict[str, Any]:
    """A command plugin's metadata file (TOML, the keys of :class:`CommandPluginConfig`)."""
    from wasmrun.config import parse_toml
    from wasmrun.errors import UsageError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_toml(raw, str(path), UsageError)
