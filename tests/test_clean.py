"""``wasmrun clean``: what wasmrun wrote goes, what the user wrote stays, no symlink is followed."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from wasmrun.building import clean_project, compile_project
from wasmrun.outputs import MANIFEST_NAME, Staging, read_manifest
from wasmrun.plugins import load_plugins

WAT = '(module (func (export "f") (result i32) (i32.const 1)))'


def _plugins():  # type: ignore[no-untyped-def]
    return load_plugins(entry_points=False)


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    root = make_project({"main.wat": WAT})
    compile_project(root, _plugins(), optimize=False)
    return root


def _commit_symlink(out: Path, name: str, target: Path) -> None:
    """What a plugin that writes a symlink into its output gets: the link, recorded as wasmrun's."""
    staging = Staging(out)
    try:
        (staging.path / name).symlink_to(target)
        staging.commit([])
    finally:
        staging.discard()


def test_clean_removes_outputs_and_keeps_user_files(project: Path, cli: Callable[..., CliResult]) -> None:
    out = project / "wasmrun-out"
    (out / "notes.txt").write_text("mine")
    (out / "mine").mkdir()
    (out / "mine" / "data.bin").write_bytes(b"x")
    result = cli("clean", str(project))
    assert result.exit_code == 0 and "removed 1 file(s)" in result.stdout
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["mine", "mine/data.bin", "notes.txt"]
    assert (project / "main.wat").read_text() == WAT
    assert cli("clean", str(project)).stdout.strip() == "nothing to clean"


def test_clean_removes_everything_when_all_is_wasmrun_s(project: Path) -> None:
    removed = clean_project(project, _plugins())
    assert [p.name for p in removed] == ["main.wasm"]
    assert not (project / "wasmrun-out").exists()


def test_a_symlink_wasmrun_wrote_is_removed_not_its_target(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.wasm"
    outside.write_bytes(b"precious")
    out = project / "wasmrun-out"
    _commit_symlink(out, "linked.wasm", outside)
    assert "linked.wasm" in read_manifest(out)
    removed = clean_project(project, _plugins())
    assert out / "linked.wasm" in removed
    assert not (out / "linked.wasm").is_symlink()
    assert outside.read_bytes() == b"precious"


def test_user_symlinks_are_untouched_and_not_followed(project: Path, tmp_path: Path) -> None:
    out = project / "wasmrun-out"
    outside_dir = tmp_path / "outside-dir"
    (outside_dir / "empty").mkdir(parents=True)
    (outside_dir / "keep.txt").write_text("keep")
    outside_file = tmp_path / "outside.txt"
    outside_file.write_text("keep")
    (out / "dir-link").symlink_to(outside_dir, target_is_directory=True)
    (out / "empty-dir-link").symlink_to(outside_dir / "empty", target_is_directory=True)
    (out / "file-link").symlink_to(outside_file)
    clean_project(project, _plugins())
    assert (out / "dir-link").is_symlink() and (out / "empty-dir-link").is_symlink()
    assert (out / "file-link").is_symlink()
    assert (outside_dir / "keep.txt").read_text() == "keep" and (outside_dir / "empty").is_dir()
    assert outside_file.read_text() == "keep"


def test_a_manifest_entry_behind_a_symlinked_directory_is_not_followed(project: Path, tmp_path: Path) -> None:
    """The user replaced a directory wasmrun wrote into with a link elsewhere: nothing there goes."""
    out = project / "wasmrun-out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "main.wasm").write_bytes(b"not wasmrun's")
    manifest = out / MANIFEST_NAME
    manifest.write_text('{"files": ["main.wasm", "sub/main.wasm", "../main.wat", "/etc/passwd"]}')
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)
    assert read_manifest(out) == ["main.wasm"]
    assert clean_project(project, _plugins()) == [out / "main.wasm"]
    assert (elsewhere / "main.wasm").read_bytes() == b"not wasmrun's"
    assert (project / "main.wat").exists() and (out / "sub").is_symlink()


def test_an_output_dir_that_is_a_symlink_out_of_the_project_is_left_alone(
        make_project: Callable[..., Path], tmp_path: Path) -> None:
    root = make_project({"main.wat": WAT})
    real = tmp_path / "real-out"
    compile_project(root, _plugins(), output_dir=real, optimize=False)
    (root / "wasmrun-out").symlink_to(real, target_is_directory=True)
    assert clean_project(root, _plugins()) == []
    assert (real / "main.wasm").is_file() and (root / "wasmrun-out").is_symlink()


@pytest.mark.skipif(importlib.util.find_spec("wasmrun_rust") is None, reason="wasmrun-rust not installed")
def test_rust_plugin_clean_removes_its_cargo_dirs_only(make_project: Callable[..., Path], tmp_path: Path) -> None:
    import wasmrun_rust
    from wasmrun_rust import cargo

    root = make_project({"Cargo.toml": '[package]\nname = "x"\nversion = "0.1.0"\n', "src/main.rs": "fn main() {}\n"})
    (root / "target").mkdir()
    (root / "target" / "user-build").write_text("the user's own cargo output")
    plugins = _plugins()
    plugins.register(wasmrun_rust, "rust")
    target, source_copy = cargo.cache_dirs(root)
    (target / "wasm32-wasip1").mkdir(parents=True)
    source_copy.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    (target / "link-out").symlink_to(outside, target_is_directory=True)
    removed = clean_project(root, plugins, language="rust")
    assert target in removed and source_copy in removed
    assert not target.exists() and not source_copy.exists()
    assert (outside / "keep").read_text() == "keep"
    assert (root / "target" / "user-build").exists()
