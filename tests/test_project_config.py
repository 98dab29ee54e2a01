"""A project's wasmrun.toml (or [tool.wasmrun] in pyproject.toml) sets build options; flags win."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult
from wasmrun.testing import require_tool
from wasmrun.wasm.sections import iter_sections

Cli = Callable[..., CliResult]
WAT = '(module (func $f (export "answer") (result i32) i32.const 42))'


def _has_names(wasm: Path) -> bool:
    return any(s.id == 0 and s.name == "name" for s in iter_sections(wasm.read_bytes()))


def test_wasmrun_toml_sets_output_and_optimization(cli: Cli, make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": WAT, "wasmrun.toml": 'output_dir = "dist"\noptimization = "debug"\n'})
    result = cli("compile", project, "--json")
    assert result.exit_code == 0, result.stderr
    wasm = Path(json.loads(result.stdout)["wasm_path"])
    assert wasm == project / "dist" / "main.wasm"
    assert _has_names(wasm)  # debug keeps the name section
    # A flag wins over the file.
    flagged = cli("compile", project, "--optimization", "release", "--json")
    assert not _has_names(Path(json.loads(flagged.stdout)["wasm_path"]))


def test_language_from_pyproject_tool_table(cli: Cli, make_project: Callable[..., Path]) -> None:
    require_tool("clang")
    project = make_project({"main.wat": WAT, "main.c": "int main(void){return 0;}\n",
                            "pyproject.toml": '[project]\nname = "x"\n'})
    # Detected, the WAT plugin builds it (C declines a directory holding another manifest) ...
    assert json.loads(cli("compile", project, "--json").stdout)["plugin"] == "wat"
    # ... but the project's own setting picks C, and --language still wins over that.
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.wasmrun]\nlanguage = "c"\n')
    result = cli("compile", project, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["plugin"] == "c"
    assert json.loads(cli("compile", project, "--json", "--language", "wat").stdout)["plugin"] == "wat"


def test_bad_project_config_is_one_line_naming_file_and_key(cli: Cli, make_project: Callable[..., Path]) -> None:
    project = make_project({"main.wat": WAT, "wasmrun.toml": 'optimization = "fastest"\n'})
    result = cli("compile", project)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {project / 'wasmrun.toml'}: optimization: Input should be ")
    (project / "wasmrun.toml").write_text("optimisation = 'size'\n")
    assert "optimisation: Extra inputs are not permitted" in cli("compile", project).stderr
    (project / "wasmrun.toml").write_text("optimization = \n")
    broken = cli("compile", project)
    assert broken.exit_code == 2 and "is not valid TOML" in broken.stderr


def test_output_dir_may_not_leave_the_project(cli: Cli, make_project: Callable[..., Path], tmp_path: Path) -> None:
    project = make_project({"main.wat": WAT, "wasmrun.toml": 'output_dir = "../elsewhere"\n'})
    result = cli("compile", project)
    assert result.exit_code == 2
    assert result.stderr.strip() == \
        f"error: {project / 'wasmrun.toml'}: output_dir '../elsewhere' leaves the project directory"
    assert not (tmp_path / "elsewhere").exists()
