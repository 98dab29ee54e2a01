"""``wasmrun clean``: what wasmrun wrote goes, what the user wrote stays, no symlink is followed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from wasmrun.building import clean_project, compile_project
from wasmrun.errors import UsageError
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


def _tree(directory: Path) -> list[str]:
    """Everything under ``directory`` but wasmrun's manifest."""
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.name != MANIFEST_NAME)


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
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["removed 1 file(s)", "kept wasmrun-out/mine/: not made by wasmrun",
                                          "kept wasmrun-out/notes.txt: not made by wasmrun"]
    assert _tree(out) == ["mine", "mine/data.bin", "notes.txt"]
    assert (project / "main.wat").read_text() == WAT
    assert cli("clean", str(project)).stdout.splitlines()[0] == "nothing to clean"


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
    recorded = json.loads(manifest.read_text())["files"]["main.wasm"]
    manifest.write_text(json.dumps({"files": {name: recorded for name in
                                              ("main.wasm", "sub/main.wasm", "../main.wat", "/etc/passwd")}}))
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


def _commit(out: Path, files: dict[str, bytes]) -> None:
    """What a build that writes ``files`` (output-relative) does: stage them, then commit."""
    staging = Staging(out)
    try:
        for rel, data in files.items():
            (staging.path / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging.path / rel).write_bytes(data)
        staging.commit([])
    finally:
        staging.discard()


def test_a_file_the_user_changed_is_kept_said_and_not_overwritten(project: Path, cli: Callable[..., CliResult]) -> None:
    out = project / "wasmrun-out"
    (out / "main.wasm").write_bytes(b"the user's own module")
    result = cli("clean", str(project))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["nothing to clean",
                                          "kept wasmrun-out/main.wasm: changed since wasmrun wrote it"]
    assert (out / "main.wasm").read_bytes() == b"the user's own module"
    build = cli("compile", str(project), "--no-opt", "--no-cache")
    assert build.exit_code == 2 and "main.wasm was changed since wasmrun wrote it" in build.stderr
    assert (out / "main.wasm").read_bytes() == b"the user's own module"


def test_in_a_subdirectory_only_what_wasmrun_wrote_and_still_matches_goes(
        project: Path, cli: Callable[..., CliResult]) -> None:
    out = project / "wasmrun-out"
    _commit(out, {"pkg/glue.js": b"// glue", "pkg/types.d.ts": b"// types"})
    (out / "pkg" / "types.d.ts").write_text("// the user's edit")
    (out / "pkg" / "notes.txt").write_text("mine")
    result = cli("clean", str(project))
    assert result.stdout.splitlines() == [
        "removed 2 file(s)",
        "kept wasmrun-out/pkg/types.d.ts: changed since wasmrun wrote it",
        "kept wasmrun-out/pkg/notes.txt: not made by wasmrun",
    ]
    assert _tree(out) == ["pkg", "pkg/notes.txt", "pkg/types.d.ts"]
    # Once the user's files are gone, the directories wasmrun made go too.
    (out / "pkg" / "notes.txt").unlink()
    (out / "pkg" / "types.d.ts").unlink()
    assert cli("clean", str(project)).stdout.splitlines() == ["nothing to clean"]
    assert not out.exists()


def test_a_directory_the_user_made_stays_even_empty(project: Path, cli: Callable[..., CliResult]) -> None:
    out = project / "wasmrun-out"
    (out / "empty").mkdir()
    result = cli("clean", str(project))
    assert result.stdout.splitlines() == ["removed 1 file(s)", "kept wasmrun-out/empty/: not made by wasmrun"]
    assert (out / "empty").is_dir()


def test_an_output_directory_that_was_there_before_the_build_stays(
        make_project: Callable[..., Path], cli: Callable[..., CliResult]) -> None:
    root = make_project({"main.wat": WAT})
    (root / "wasmrun-out").mkdir()
    compile_project(root, _plugins(), optimize=False)
    result = cli("clean", str(root))
    assert result.stdout.splitlines() == ["removed 1 file(s)",
                                          "kept wasmrun-out/: existed before wasmrun wrote into it"]
    assert (root / "wasmrun-out").is_dir() and _tree(root / "wasmrun-out") == []


def test_clean_json_lists_what_was_removed_and_what_was_kept_with_why(
        project: Path, cli: Callable[..., CliResult]) -> None:
    out = project / "wasmrun-out"
    _commit(out, {"extra.txt": b"wasmrun's"})
    (out / "main.wasm").write_bytes(b"mine")
    (out / "notes.txt").write_text("mine")
    result = cli("clean", str(project), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "output_dir": str(out),
        "removed": [str(out / "extra.txt")],
        "kept": [
            {"path": str(out / "main.wasm"), "reason": "changed", "message": "changed since wasmrun wrote it"},
            {"path": str(out / "notes.txt"), "reason": "not-wasmrun", "message": "not made by wasmrun"},
        ],
    }


def test_many_files_of_the_user_are_counted_not_listed(project: Path, cli: Callable[..., CliResult]) -> None:
    out = project / "wasmrun-out"
    for n in range(25):
        (out / f"mine-{n:02}.txt").write_text("mine")
    lines = cli("clean", str(project)).stdout.splitlines()
    assert lines[0] == "removed 1 file(s)" and len(lines) == 12
    assert lines[-1] == "kept 15 more not made by wasmrun (--json lists them all)"


def test_a_name_only_record_of_an_older_wasmrun_is_kept_until_rebuilt(
        project: Path, cli: Callable[..., CliResult]) -> None:
    out = project / "wasmrun-out"
    (out / MANIFEST_NAME).write_text('{"files": ["main.wasm"]}')
    result = cli("clean", str(project))
    assert result.stdout.splitlines() == [
        "nothing to clean",
        "kept wasmrun-out/main.wasm: recorded by an older wasmrun without a content hash; rebuild, or delete it",
    ]
    compile_project(project, _plugins(), optimize=False, use_cache=False)  # the name is wasmrun's: replaced
    assert clean_project(project, _plugins()) == [out / "main.wasm"]
    assert _tree(out) == []  # whether wasmrun made the directory is not known: it stays


def test_a_failed_first_build_leaves_no_output_directory(
        make_project: Callable[..., Path], cli: Callable[..., CliResult]) -> None:
    root = make_project({"main.wat": "(module (func"})
    assert cli("compile", str(root)).exit_code == 1
    assert not (root / "wasmrun-out").exists()


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_staging_left_by_a_build_that_is_gone_is_swept_by_the_next(
        project: Path, cli: Callable[..., CliResult]) -> None:
    out = project / "wasmrun-out"
    dead = out / f".staging-{_dead_pid()}-abc123"
    (dead / "sub").mkdir(parents=True)
    (dead / "sub" / "main.wasm").write_bytes(b"half a module")
    old = out / ".staging-k3j_x9"  # an older wasmrun's name, without a pid: swept after a day
    old.mkdir()
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (day_ago, day_ago))
    live = out / f".staging-{os.getppid()}-running"
    live.mkdir()
    compile_project(project, _plugins(), optimize=False, use_cache=False)
    assert not dead.exists() and not old.exists() and live.is_dir()
    result = cli("clean", str(project))
    assert result.stdout.splitlines() == ["removed 1 file(s)", f"kept wasmrun-out/{live.name}/: a build in progress"]
    live.rmdir()
    (out / f".staging-{_dead_pid()}-x").mkdir()
    assert cli("clean", str(project)).stdout.splitlines() == ["nothing to clean"]
    assert not out.exists()


WRITER = """
import sys
from pathlib import Path

from wasmrun.outputs import Staging

out, who = Path(sys.argv[1]), sys.argv[2]
for n in range(25):
    staging = Staging(out)
    try:
        (staging.path / f"{who}-{n}.txt").write_text(who)
        staging.commit([])
    finally:
        staging.discard()
"""


def test_concurrent_builds_into_one_directory_record_every_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(out), f"w{n}"], stderr=subprocess.PIPE, text=True)
               for n in range(6)]
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    expected = sorted(f"w{n}-{i}.txt" for n in range(6) for i in range(25))
    assert read_manifest(out) == expected
    assert sorted(p.name for p in out.iterdir()) == sorted([*expected, MANIFEST_NAME])  # no temporary file left
    assert len(clean_project(out, _plugins(), output_dir=out)) == len(expected)
    assert not out.exists()


def test_a_dangling_output_symlink_is_one_clear_error(make_project: Callable[..., Path],
                                                      cli: Callable[..., CliResult], tmp_path: Path) -> None:
    root = make_project({"main.wat": WAT})
    (root / "wasmrun-out").symlink_to(tmp_path / "gone", target_is_directory=True)
    result = cli("compile", str(root))
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: output directory {root / 'wasmrun-out'} is a symlink to "
                                     f"{tmp_path / 'gone'}, which does not exist")


def test_a_file_of_the_user_in_the_way_of_a_directory_stops_the_build(project: Path) -> None:
    out = project / "wasmrun-out"
    (out / "pkg").write_text("mine")
    with pytest.raises(UsageError, match=r"pkg is in the way of .*glue\.js and was not built by wasmrun"):
        _commit(out, {"pkg/glue.js": b"// glue"})
    assert (out / "pkg").read_text() == "mine"
    assert not list(out.glob(".staging-*"))
