"""What a ``go build`` read, for wasmrun's build cache (:class:`wasmrun.models.BuildInputs`).

``go list -deps -json`` with the build's own environment (GOOS, GOARCH, GOFLAGS, ...) and flags
names every package the build compiles, the files of each that were compiled or read for their
build constraints, its ``//go:embed`` files, and the module it came from (with the directory of a
``replace`` to a local path, or of a module ``go.work`` uses). It runs beside the build, so it
adds next to nothing to the time a build takes. To its files this module adds:

* ``go.mod`` and ``go.sum`` of every module (a ``go.sum`` the build itself wrote is an output),
  and ``go.work``/``go.work.sum`` in the module's directory and every directory above it, found
  or not (a ``go.work`` that appears changes which modules are used);
* ``vendor/modules.txt``, the ``go env -w`` settings file, and of the Go installation its
  ``VERSION``, ``go.env`` and compiler and linker (the standard library's sources are not listed:
  they belong to that installation);
* the git state the go command stamps into a program (``HEAD`` and what it points to).

Only the go command reports this: a TinyGo build counts every project file and the whole
environment.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from wasmrun.models import BuildInputs

#: What the go command reads from the environment (a ``*`` ends a prefix); cgo's compilers too.
ENVIRONMENT = ["GO*", "CGO_*", "CC", "CXX", "AR", "PKG_CONFIG", "GIT_*"]
#: The package fields that name files the build read (each relative to the package's ``Dir``).
FILE_FIELDS = ("GoFiles", "CgoFiles", "IgnoredGoFiles", "IgnoredOtherFiles", "EmbedFiles", "CFiles", "CXXFiles",
               "MFiles", "HFiles", "FFiles", "SFiles", "SwigFiles", "SwigCXXFiles", "SysoFiles")
_FIELDS = ",".join(("Dir", "ImportPath", "Standard", "Module", "Error", *FILE_FIELDS))
#: ``go list -json=FIELDS`` (only what is asked for is computed) arrived in Go 1.19.
FIELDS_MIN = (1, 19)


class GoList:
    """``go list -deps -json`` of the package a build compiles, started before the build and read
    after it (``with``: a failed build stops it)."""

    def __init__(self, go: str, version: tuple[int, ...], goroot: Path, project_dir: Path, env: Mapping[str, str],
                 flags: list[str]) -> None:
        self.go, self.goroot, self.project_dir = go, goroot, project_dir
        self.env = {**os.environ, **env}
        self.go_sum = project_dir / "go.sum"
        self.had_go_sum = self.go_sum.exists()
        json_flag = f"-json={_FIELDS}" if version >= FIELDS_MIN else "-json"
        try:
            self.child: subprocess.Popen[bytes] | None = subprocess.Popen(
                [go, "list", "-deps", json_flag, *flags, "."], cwd=project_dir, env=self.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            self.child = None

    def __enter__(self) -> GoList:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.communicate()

    def inputs(self) -> BuildInputs:
        """What the build read; the conservative default when ``go list`` failed."""
        if self.child is None:
            return BuildInputs()
        try:
            out, _ = self.child.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            return BuildInputs()
        if self.child.returncode != 0:
            return BuildInputs()
        try:
            packages = list(_decode_stream(out.decode("utf-8", "surrogateescape")))
        except ValueError:
            return BuildInputs()
        inputs = module_inputs(packages, project_dir=self.project_dir, goroot=self.goroot, env=self.env)
        if not self.had_go_sum and self.go_sum.exists():  # written by this build (-mod=mod): an output
            inputs.written = [self.go_sum]
            inputs.probed = [p for p in inputs.probed if p != self.go_sum]
        return inputs


def _decode_stream(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects ``go list -json`` prints one after another."""
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return
        value, index = decoder.raw_decode(text, index)
        if isinstance(value, dict):
            yield value


def module_inputs(packages: Iterable[dict[str, Any]], *, project_dir: Path, goroot: Path,
                  env: Mapping[str, str]) -> BuildInputs:
    files: set[Path] = set()
    probed: set[Path] = set()
    module_dirs: set[Path] = {project_dir}
    for package in packages:
        if package.get("Error"):
            return BuildInputs()
        module = package.get("Module") or {}
        for info in (module, module.get("Replace") or {}):
            if info.get("GoMod"):
                files.add(Path(info["GoMod"]))
            if info.get("Dir"):
                module_dirs.add(Path(info["Dir"]))
        if package.get("Standard") or not package.get("Dir"):
            continue
        directory = Path(package["Dir"])
        probed.add(directory)  # a new file in a package's directory may join the package
        for field in FILE_FIELDS:
            files.update(directory / name for name in package.get(field) or [])
        for name in package.get("EmbedFiles") or []:  # the directories an embed pattern walked
            parent = (directory / name).parent
            while parent != directory and parent.is_relative_to(directory):
                probed.add(parent)
                parent = parent.parent
    for module_dir in module_dirs:
        probed.update(module_dir / name for name in ("go.mod", "go.sum", "vendor/modules.txt"))
    for directory in (project_dir, *project_dir.parents):
        probed.update(directory / name for name in ("go.work", "go.work.sum"))
    if env.get("GOWORK") and env["GOWORK"] != "off":
        work = Path(env["GOWORK"])
        probed.update([work, work.with_name(work.name + ".sum")])
    probed.add(_go_env_file(env))
    probed.update(goroot / name for name in ("VERSION", "go.env"))
    probed.update(_tools(goroot))
    probed.update(_git_state(project_dir))
    return BuildInputs(files=sorted(files), probed=sorted(probed - files), environment=ENVIRONMENT)


def _go_env_file(env: Mapping[str, str]) -> Path:
    """Where ``go env -w`` keeps its settings (``GOENV``, else the user's configuration directory)."""
    if env.get("GOENV") and env["GOENV"] != "off":
        return Path(env["GOENV"])
    config = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME") or str(Path.home()), ".config")
    return Path(config) / "go" / "env"


def _tools(goroot: Path) -> list[Path]:
    """The compiler and linker the go command runs (``pkg/tool/<host>/``)."""
    try:
        hosts = sorted(p for p in (goroot / "pkg" / "tool").iterdir() if p.is_dir())
    except OSError:
        return []
    return [host / name for host in hosts for name in ("compile", "link", "asm", "cgo")]


def _git_state(project_dir: Path) -> list[Path]:
    """The commit the go command stamps into a program built in a git checkout (``vcs.revision``):
    ``.git/HEAD``, the branch it names, and ``packed-refs``."""
    for directory in (project_dir, *project_dir.parents):
        git = directory / ".git"
        if not git.is_dir():
            continue
        paths = [git / "HEAD", git / "packed-refs"]
        try:
            head = (git / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return paths
        if head.startswith("ref: "):
            paths.append(git / head.removeprefix("ref: ").strip())
        return paths
    return []
