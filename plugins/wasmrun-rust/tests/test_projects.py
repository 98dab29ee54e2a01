"""Crates shaped like real ones (tests/projects/): a Cargo workspace, a wasm-bindgen crate, a
dependency cargo cannot fetch offline. Built with the real cargo and run under wasmtime; the
wasm-bindgen tools cannot be installed here, so their missing-tool message is what is checked."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from wasmrun.testing import require_tool, run_wasm

from wasmrun_rust import crate as crates
from wasmrun_rust import toolchain as rust_tools

PROJECTS = Path(__file__).resolve().parent / "projects"
Cli = Callable[..., Any]
MakeProject = Callable[..., Path]

TOOL_MEMBER = {"tool/Cargo.toml": '[package]\nname = "tool"\nversion = "0.1.0"\nedition = "2021"\n',
               "tool/src/main.rs": 'fn main() {\n    println!("hello from the tool");\n}\n'}


def require_rust() -> None:
    require_tool("cargo", found=rust_tools.find() is not None)


def workspace(make_project: MakeProject, *extra: dict[str, str]) -> Path:
    project = make_project(PROJECTS / "workspace", name="workspace")
    for files in extra:
        for rel, text in files.items():
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / rel).write_text(text)
    return project


@pytest.mark.slow
def test_a_workspace_builds_its_member_with_a_binary_and_runs(make_project: MakeProject, cli: Cli) -> None:
    require_rust()
    project = workspace(make_project)
    detected = json.loads(cli("detect", project, "--json").stdout)
    assert detected["plugin"] == "rust"
    assert detected["candidates"][0]["evidence"] == ["Cargo.toml", "app/Cargo.toml"]
    built = cli("compile", project, "--json")
    assert built.exit_code == 0, built.stderr
    wasm = Path(json.loads(built.stdout)["wasm_path"])
    assert wasm == project / "wasmrun-out" / "app.wasm"
    run = run_wasm(wasm)
    assert (run.exit_code, run.stdout) == (0, "hello from the workspace\n")
    assert not (project / "Cargo.lock").exists()  # the lockfile cargo wrote was wasmrun's doing


def test_several_members_with_a_binary_are_one_line_naming_them_and_how_to_choose(
        make_project: MakeProject, cli: Cli) -> None:
    project = workspace(make_project, TOOL_MEMBER)
    (project / "Cargo.toml").write_text('[workspace]\nmembers = ["app", "greeting", "tool"]\n')
    result = cli("compile", project)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: the workspace has 2 members wasmrun can build (app, tool): choose one with "
        '`wasmrun compile PATH -- --package NAME`, or extra_args = ["--package", "NAME"] in wasmrun.toml']
    wrong = cli("compile", project, "--", "--package", "nope")
    assert wrong.exit_code == 2
    assert wrong.stderr.strip() == ("error: --package nope: no such package in the workspace "
                                    "(packages: app, greeting, tool)")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["option", "wasmrun.toml"])
def test_package_chooses_the_member(how: str, make_project: MakeProject, cli: Cli) -> None:
    require_rust()
    project = workspace(make_project, TOOL_MEMBER)
    (project / "Cargo.toml").write_text('[workspace]\nmembers = ["*"]\nexclude = ["wasmrun-out"]\n')
    if how == "option":
        built = cli("compile", project, "--json", "--", "-p", "tool")
    else:
        (project / "wasmrun.toml").write_text('extra_args = ["--package=tool"]\n')
        built = cli("compile", project, "--json")
    assert built.exit_code == 0, built.stderr
    run = run_wasm(Path(json.loads(built.stdout)["wasm_path"]))
    assert run.stdout == "hello from the tool\n"


def test_member_globs_stay_inside_the_workspace(make_project: MakeProject) -> None:
    project = workspace(make_project)
    outside = project.parent / "outside"
    (outside / "src").mkdir(parents=True)
    (outside / "Cargo.toml").write_text('[package]\nname = "outside"\nversion = "0.1.0"\n')
    (outside / "src" / "main.rs").write_text("fn main() {}\n")
    (project / "Cargo.toml").write_text('[workspace]\nmembers = ["../outside", "app", "/etc", "app/../../outside", '
                                        '"../*", "/etc/*", "", ".", "[", 7]\n')
    assert [c.package for c in crates.candidates(crates.read(project))] == ["app"]


@pytest.mark.slow
def test_clean_removes_what_a_workspace_build_left_in_the_cache(make_project: MakeProject, cli: Cli) -> None:
    require_rust()
    from wasmrun_rust import cargo as builder

    project = workspace(make_project)
    assert cli("compile", project).exit_code == 0
    member_target = builder.cache_dirs(project / "app")[0]
    assert member_target.is_dir()
    cleaned = cli("clean", project)
    assert cleaned.exit_code == 0, cleaned.stderr
    assert not member_target.exists()
    assert sorted(p.name for p in project.iterdir()) == ["Cargo.toml", "app", "greeting"]  # the sources stay


def test_a_wasm_bindgen_crate_defaults_to_web_and_says_which_tool_is_missing(
        make_project: MakeProject, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    require_rust()
    # None of them can be installed here; on a machine that has one, this test hides it.
    monkeypatch.setattr(rust_tools, "web_tool", lambda name: None)
    project = make_project(PROJECTS / "bindgen", name="bindgen")
    detected = cli("detect", project)
    assert "target: web (Cargo.toml depends on wasm-bindgen)" in detected.stdout
    assert json.loads(cli("detect", project, "--json").stdout)["target"] == "web"
    result = cli("compile", project)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: wasm-bindgen or wasm-pack or trunk is needed to build rust for --target web")
    assert "cargo install wasm-bindgen-cli" in lines[0]
    assert lines[0].endswith("web is this project's default target (Cargo.toml depends on wasm-bindgen): "
                             "--target names another")
    assert not (project / "wasmrun-out").exists()


def test_a_dev_dependency_on_wasm_bindgen_does_not_make_a_browser_crate(make_project: MakeProject, cli: Cli) -> None:
    project = make_project({"Cargo.toml": '[package]\nname = "t"\nversion = "0.1.0"\n\n'
                                          '[dev-dependencies]\nwasm-bindgen = "0.2"\n',
                            "src/main.rs": "fn main() {}\n"})
    assert json.loads(cli("detect", project, "--json").stdout)["target"] == "wasm"


@pytest.mark.slow
@pytest.mark.parametrize("verbose", [False, True])
def test_a_dependency_cargo_cannot_fetch_is_one_line(verbose: bool, make_project: MakeProject, cli: Cli,
                                                     tmp_path: Path) -> None:
    """No network here, and the registry replaced by an empty vendored directory (a project set up
    with `cargo vendor`, missing one crate): the same one line either way; cargo's words under -v."""
    require_rust()
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    project = make_project({
        "Cargo.toml": '[package]\nname = "needs-itoa"\nversion = "0.1.0"\nedition = "2021"\n\n'
                      '[dependencies]\nitoa = "1"\n',
        "src/main.rs": 'fn main() {\n    println!("{}", itoa::Buffer::new().format(42));\n}\n',
        ".cargo/config.toml": f'[source.crates-io]\nreplace-with = "vendored"\n\n[source.vendored]\n'
                              f'directory = "{vendor}"\n'})
    result = cli("compile", project, *(["-v"] if verbose else []))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: cargo cannot")]
    assert errors == [
        "error: cargo cannot fetch the dependency `itoa` (offline, and not in a vendored or local registry): "
        "vendor the crates with `cargo vendor` where the network is reachable (and add the [source] table it "
        "prints to .cargo/config.toml), or build online" + ("" if verbose else "; -v shows what cargo said")]
    if verbose:
        assert "no matching package named `itoa` found" in result.stderr  # cargo's own output
    else:
        assert result.stderr.strip() == errors[0]
    assert not (project / "Cargo.lock").exists()
    shutil.rmtree(vendor)


@pytest.mark.parametrize(("args", "expected"), [
    (["--package", "a", "-v"], ("a", ["-v"])), (["-p", "b"], ("b", [])), (["--package=c"], ("c", [])),
    (["-pd", "--locked"], ("d", ["--locked"])), (["--features", "x"], (None, ["--features", "x"])),
    (["--package"], (None, ["--package"])),  # no value: cargo's to complain about
])
def test_package_option(args: list[str], expected: tuple[str | None, list[str]]) -> None:
    assert crates.package_option(args) == expected
