"""The build cache never serves a stale Rust build (issue 13): a cargo build is keyed by what cargo
reported it read, plus the configuration cargo looks for. Each ``test_stale_*`` builds a real
crate, changes one thing, and checks that the next compile is not a hit and runs the new code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from wasmrun.building import compile_project
from wasmrun.errors import BuildError
from wasmrun.models import BuildConfig, BuildResult
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool, run_wasm

import wasmrun_rust
from wasmrun_rust import toolchain as rust_tools

pytestmark = pytest.mark.slow

MakeProject = Callable[..., Path]

MANIFEST = '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n'


@pytest.fixture
def plugins() -> Plugins:
    require_tool("cargo", found=rust_tools.find() is not None)
    loaded = load_plugins(entry_points=False)
    loaded.register(wasmrun_rust, "rust", source="wasmrun-rust", version=wasmrun_rust.__version__)
    return loaded


def settle() -> None:
    """Let the file-system clock pass the files just written: a file changed in the tick a build
    starts in may be newer than what the build read, and such a build is used once, not stored."""
    time.sleep(0.03)


def compiled(project: Path, plugins: Plugins) -> tuple[BuildResult, str]:
    result = compile_project(project, plugins)
    return result, run_wasm(result.wasm_path).stdout


def built_and_stored(project: Path, plugins: Plugins, expected: str) -> None:
    """Build, check the output, and check that the build was stored (the next compile is a hit)."""
    settle()
    _, output = compiled(project, plugins)
    assert output == expected
    again, output = compiled(project, plugins)
    assert again.cached and again.commands == [] and output == expected


def rebuilt(project: Path, plugins: Plugins, expected: str) -> None:
    settle()
    result, output = compiled(project, plugins)
    assert not result.cached, "served the build from before the change"
    assert output == expected


def test_cargo_reports_what_it_read(make_project: MakeProject, plugins: Plugins, tmp_path: Path) -> None:
    """The inputs come from cargo's dependency file: the crate's sources, not its notes."""
    project = make_project({"Cargo.toml": MANIFEST, "src/main.rs": 'mod words;\nfn main() { words::say(); }\n',
                            "src/words.rs": 'pub fn say() { println!("one"); }\n'}, name="hello")
    config = BuildConfig(project_dir=project, output_dir=tmp_path / "out")
    (tmp_path / "out").mkdir()
    result = wasmrun_rust.build(config)
    assert result.inputs is not None and result.inputs.files is not None
    assert {project / "src" / "main.rs", project / "src" / "words.rs", project / "Cargo.toml"} <= \
        set(result.inputs.files)
    assert not any("cargo-target" in str(p) for p in result.inputs.files), "cargo's own outputs are no inputs"
    probed = set(result.inputs.probed)
    assert project / ".cargo" / "config.toml" in probed and tmp_path / ".cargo" / "config.toml" in probed
    assert result.inputs.environment is not None and "RUST*" in result.inputs.environment


def test_stale_include_str_of_a_file_outside_the_crate(make_project: MakeProject, plugins: Plugins,
                                                       tmp_path: Path) -> None:
    word = tmp_path / "shared" / "word.txt"
    word.parent.mkdir()
    word.write_text("one")
    project = make_project({"Cargo.toml": MANIFEST,
                            "src/main.rs": 'fn main() { println!("{}", include_str!("../../shared/word.txt")); }\n'})
    built_and_stored(project, plugins, "one\n")
    word.write_text("two")
    rebuilt(project, plugins, "two\n")


def test_stale_path_dependency_outside_the_crate(make_project: MakeProject, plugins: Plugins, tmp_path: Path) -> None:
    library = tmp_path / "word"
    (library / "src").mkdir(parents=True)
    (library / "Cargo.toml").write_text('[package]\nname = "word"\nversion = "0.1.0"\nedition = "2021"\n')
    (library / "src" / "lib.rs").write_text('pub fn word() -> &\'static str { "one" }\n')
    project = make_project({"Cargo.toml": MANIFEST + '\n[dependencies]\nword = { path = "../word" }\n',
                            "src/main.rs": 'fn main() { println!("{}", word::word()); }\n'})
    built_and_stored(project, plugins, "one\n")
    (library / "src" / "lib.rs").write_text('pub fn word() -> &\'static str { "two" }\n')
    rebuilt(project, plugins, "two\n")


WORD_BY_CFG = '#[cfg(not(word_two))]\nconst WORD: &str = "one";\n#[cfg(word_two)]\nconst WORD: &str = "two";\n' \
              'fn main() { println!("{}", WORD); }\n'


@pytest.mark.parametrize("where", ["project", "parent directory"])
def test_stale_cargo_config_added(make_project: MakeProject, plugins: Plugins, tmp_path: Path, where: str) -> None:
    """A ``.cargo/config.toml`` that appears where cargo looks for one (the crate's directory or any
    above it) changes the build, here through ``[build] rustflags``."""
    project = make_project({"Cargo.toml": MANIFEST, "src/main.rs": WORD_BY_CFG})
    built_and_stored(project, plugins, "one\n")
    config = (project if where == "project" else tmp_path) / ".cargo" / "config.toml"
    config.parent.mkdir()
    config.write_text('[build]\nrustflags = ["--cfg", "word_two"]\n')
    rebuilt(project, plugins, "two\n")
    config.unlink()
    config.parent.rmdir()
    settle()
    back, output = compiled(project, plugins)
    assert back.cached and output == "one\n", "the first build is kept beside the second"


def test_stale_rustflags_changed(make_project: MakeProject, plugins: Plugins, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUSTFLAGS", raising=False)
    project = make_project({"Cargo.toml": MANIFEST, "src/main.rs": WORD_BY_CFG})
    built_and_stored(project, plugins, "one\n")
    monkeypatch.setenv("RUSTFLAGS", "--cfg word_two")
    rebuilt(project, plugins, "two\n")


def test_stale_variable_read_by_env_macro(make_project: MakeProject, plugins: Plugins,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """rustc records the variables ``option_env!`` read; they count, though not CARGO_* or RUST*."""
    monkeypatch.setenv("HELLO_WORD", "one")
    source = 'fn main() { println!("{}", option_env!("HELLO_WORD").unwrap_or("none")); }\n'
    project = make_project({"Cargo.toml": MANIFEST, "src/main.rs": source})
    built_and_stored(project, plugins, "one\n")
    monkeypatch.setenv("HELLO_WORD", "two")
    rebuilt(project, plugins, "two\n")


def test_stale_toolchain_earlier_on_path_gains_its_wasm_target(
        make_project: MakeProject, plugins: Plugins, fake_tool: Callable[[str, str], Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A rustc first on PATH without the wasm std is passed over; once its sysroot gains the target
    it is the one a build uses, so the earlier build (by another toolchain) must not be served."""
    sysroot = tmp_path / "fake-sysroot"
    (sysroot / "lib" / "rustlib" / "x86_64-unknown-linux-gnu" / "lib").mkdir(parents=True)
    fake_tool("rustc", f'case "$*" in\n  "--print sysroot") echo {sysroot} ;;\n'
                       '  *) echo "rustc 1.99.0-fake" ;;\nesac\n')
    fake_bin = fake_tool("cargo", 'echo "the fake cargo ran" >&2\nexit 99\n')
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    rust_tools.forget()
    project = make_project({"Cargo.toml": MANIFEST, "src/main.rs": 'fn main() { println!("one"); }\n'})
    built_and_stored(project, plugins, "one\n")
    (sysroot / "lib" / "rustlib" / rust_tools.WASI_TARGETS[0] / "lib").mkdir(parents=True)
    rust_tools.forget()  # a new wasmrun process would look again
    settle()
    with pytest.raises(BuildError) as info:  # the fake toolchain is chosen now: its cargo ran
        compile_project(project, plugins)
    assert "the fake cargo ran" in info.value.output
