"""Start-up: ``wasmrun --version`` and ``--help`` beside ``python -c "import typer"``.

Target (issue 2): ``--version`` at most 1.25x the yardstick. ``--help`` is reported. Then
``python -X importtime`` lists every heavy package the two commands import beyond typer, with
the import chain that pulls it in, so a regression names its culprit.

    python benchmarks/bench_startup.py [--runs N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from _common import Row, Step, Target, compare, console_script, report, runs_argument

#: Packages wasmrun must not import to print its version or its help (typer's own, such as rich
#: for the help screen, are fine: they are the yardstick's).
HEAVY = frozenset({"pydantic", "pydantic_core", "annotated_types", "typing_inspection", "wasmtime", "ziglang"})


@dataclass
class Import:
    name: str
    cumulative_us: int
    level: int
    parent: int | None = None


def importtime(code: str, env: dict[str, str]) -> list[Import]:
    """The imports ``python -X importtime -c code`` reports, each linked to its importer."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env, capture_output=True,
                          text=True, check=False)
    imports: list[Import] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _self_us, cumulative_us, name = line.split(":", 1)[1].split("|")
        indent = len(name) - len(name.lstrip()) - 1
        imports.append(Import(name.strip(), int(cumulative_us), indent // 2))
    # importtime prints a module after the modules it imported: its importer is the next line a level up.
    for index, item in enumerate(imports):
        for later in range(index + 1, len(imports)):
            if imports[later].level < item.level:
                item.parent = later
                break
    return imports


def packages(imports: list[Import]) -> set[str]:
    return {item.name.split(".")[0] for item in imports}


def chain(imports: list[Import], index: int | None) -> str:
    names = []
    while index is not None:
        names.append(imports[index].name)
        index = imports[index].parent
    return " <- ".join(names)


def beyond(imports: list[Import], baseline: set[str]) -> list[dict[str, object]]:
    """Each non-stdlib package imported that the baseline does not import: its cost and who pulled it in."""
    found: dict[str, dict[str, object]] = {}
    for item in imports:
        package = item.name.split(".")[0]
        parent = item.parent
        if package in baseline or package in sys.stdlib_module_names or package == "wasmrun" or package in found:
            continue
        if parent is not None and imports[parent].name.split(".")[0] == package:
            continue  # not the package's outermost import
        if package.startswith("_sysconfigdata"):
            continue
        entry: dict[str, object] = {"package": package, "ms": round(item.cumulative_us / 1000, 1),
                                    "heavy": package in HEAVY, "imported_by": chain(imports, parent)}
        ancestor = parent
        while ancestor is not None and not imports[ancestor].name.startswith("wasmrun"):
            ancestor = imports[ancestor].parent
        if ancestor is not None:  # the wasmrun module that pulls it in, and what that module costs in all
            entry["wasmrun_module"] = imports[ancestor].name
            entry["wasmrun_module_ms"] = round(imports[ancestor].cumulative_us / 1000, 1)
        found[package] = entry
    return sorted(found.values(), key=lambda entry: (not entry["heavy"], str(entry["package"])))


def main() -> int:
    runs = runs_argument(20, quick=8)
    wasmrun = console_script("wasmrun")
    with tempfile.TemporaryDirectory(prefix="wasmrun-bench-home-") as home:
        env = {**os.environ, "WASMRUN_HOME": home}
        yardstick = [Step([sys.executable, "-c", "import typer"])]
        rows: list[Row] = [
            compare("wasmrun --version", [Step([wasmrun, "--version"])], "import typer", yardstick, runs=runs,
                    target=Target(1.25), env=env),
            compare("wasmrun --help", [Step([wasmrun, "--help"])], "import typer", yardstick, runs=runs, env=env),
        ]
        baseline = packages(importtime("import typer", env))
        extra: dict[str, object] = {}
        for flag in ("--version", "--help"):
            code = f"import sys; sys.argv = ['wasmrun', '{flag}']; from wasmrun.cli import main; main()"
            extra[f"imports_beyond_typer {flag}"] = beyond(importtime(code, env), baseline)
    status = report("startup", rows, **extra)
    for flag in ("--version", "--help"):
        found = extra[f"imports_beyond_typer {flag}"]
        assert isinstance(found, list)
        heavy = [entry for entry in found if entry["heavy"]]
        print(f"\nwasmrun {flag} imports beyond `import typer`: {', '.join(e['package'] for e in found) or 'nothing'}"
              f" -> {'HEAVY: ' + ', '.join(e['package'] for e in heavy) if heavy else 'nothing heavy'}")
        for entry in found:
            label = f"HEAVY {entry['package']}" if entry["heavy"] else entry["package"]
            culprit = (f" ({entry['wasmrun_module']}: {entry['wasmrun_module_ms']} ms with all it imports)"
                       if "wasmrun_module" in entry else "")
            print(f"  {label}: {entry['ms']} ms, via {entry['imported_by']}{culprit}")
        if heavy:
            status = 1
    return status

if __name__ == "__main__":
    sys.exit(main())
