"""Which Rust gets used: past a rustc without wasm std that comes first on PATH; and what the user
reads when no installed Rust can build for wasm, or when the web tools are missing."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wasmrun.testing import require_tool, run_wasm

from wasmrun_rust import toolchain as rust_tools

FakeTool = Callable[[str, str], Path]


def _fake_rustup(fake_tool: FakeTool, tmp_path: Path) -> Path:
    """A rustc (and a cargo that must never run) whose sysroot has no wasm std, like a rustup
    toolchain with only the host target."""
    sysroot = tmp_path / "fake-sysroot"
    (sysroot / "lib" / "rustlib" / "x86_64-unknown-linux-gnu" / "lib").mkdir(parents=True)
    fake_tool("rustc", f'case "$*" in\n  "--print sysroot") echo {sysroot} ;;\n'
                       '  *) echo "rustc 1.99.0-fake (no wasm std)" ;;\nesac\n')
    return fake_tool("cargo", 'echo "the fake cargo ran: $*" >&2\nexit 99\n')


def test_a_rustc_without_wasm_std_first_on_path_is_passed_over(
        example: Callable[[str], Path], fake_tool: FakeTool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        cli: Callable[..., object]) -> None:
    fake_bin = _fake_rustup(fake_tool, tmp_path)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    rust_tools.forget()
    assert rust_tools.installed()[0].rustc == str(fake_bin / "rustc")
    rust = rust_tools.find()
    require_tool("cargo", found=rust is not None)
    assert rust is not None and not rust.rustc.startswith(str(fake_bin))
    project = example("rust-hello")
    result = cli("compile", project)
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert run_wasm(project / "wasmrun-out" / "rust-hello.wasm").stdout.startswith("hello from Rust")


def test_when_no_rust_can_build_for_wasm_the_user_is_told_how_to_get_one(
        example: Callable[[str], Path], fake_tool: FakeTool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        cli: Callable[..., object]) -> None:
    fake_bin = _fake_rustup(fake_tool, tmp_path)

    def only_the_fake() -> Iterator[str]:
        yield str(fake_bin / "rustc")

    monkeypatch.setattr(rust_tools, "_candidate_rustcs", only_the_fake)
    rust_tools.forget()
    result = cli("compile", example("rust-hello"))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    message = result.stderr  # type: ignore[attr-defined]
    assert "no installed Rust can build for wasm32-wasip1 or wasm32-wasi" in message
    assert f"rustc 1.99.0-fake at {fake_bin / 'rustc'} has no wasm std" in message
    assert "apt-get install rustc cargo libstd-rust-dev-wasm32 lld" in message
    assert "rustup target add wasm32-wasip1" in message
    assert "Traceback" not in message
    assert len(message.strip().splitlines()) <= 2


def test_with_no_rust_at_all_the_message_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rust_tools, "_candidate_rustcs", lambda: iter(()))
    rust_tools.forget()
    assert rust_tools.find() is None
    assert rust_tools.missing_explanation().startswith("no Rust toolchain is installed")


def test_web_without_wasm_bindgen_wasm_pack_or_trunk_is_a_clear_exit_2(
        example: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, cli: Callable[..., object]) -> None:
    require_tool("cargo", found=rust_tools.find(rust_tools.BARE_TARGET) is not None)
    monkeypatch.setattr(rust_tools, "web_tool", lambda name: None)
    project = example("rust-lib")
    result = cli("compile", project, "--target", "web")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    message = result.stderr  # type: ignore[attr-defined]
    assert "wasm-bindgen or wasm-pack or trunk is needed to build rust for --target web" in message
    assert "cargo install wasm-bindgen-cli" in message
    assert not (project / "wasmrun-out" / "rust_lib.wasm").exists()


@pytest.mark.parametrize("tool", ["wasm-bindgen", "wasm-pack", "trunk"])
def test_the_real_web_tools_when_installed(tool: str, example: Callable[[str], Path],
                                           cli: Callable[..., object]) -> None:
    require_tool(tool, found=rust_tools.web_tool(tool) is not None)  # on UNINSTALLABLE_TOOLS: skips here
    project = example("rust-lib")
    result = cli("compile", project, "--target", "web", "--toolchain", tool)
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert list((project / "wasmrun-out").glob("*.js"))


def test_web_through_a_wasm_bindgen_on_path(example: Callable[[str], Path], fake_tool: FakeTool,
                                            monkeypatch: pytest.MonkeyPatch, cli: Callable[..., object]) -> None:
    """The wiring of the wasm-bindgen route, with a stand-in for the real tool (not installable here):
    cargo builds the cdylib for wasm32-unknown-unknown, wasm-bindgen gets it and --target web."""
    require_tool("cargo", found=rust_tools.find(rust_tools.BARE_TARGET) is not None)
    fake_bin = fake_tool("wasm-bindgen", 'if [ "$1" = --version ]; then echo "wasm-bindgen 0.2.99"; exit 0; fi\n'
                                         'echo "$@" > "$4/args.txt"\n'
                                         'cp "$5" "$4/rust_lib_bg.wasm"\n'
                                         'echo "export default function init() {}" > "$4/rust_lib.js"\n')
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    project = example("rust-lib")
    result = cli("compile", project, "--target", "web", "--json")
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    out = project / "wasmrun-out"
    assert (out / "rust_lib_bg.wasm").is_file() and (out / "rust_lib.js").is_file()
    args = (out / "args.txt").read_text().split()
    assert args[:4] == ["--target", "web", "--out-dir", args[3]]
    assert args[4].endswith("wasm32-unknown-unknown/release/rust_lib.wasm")
    assert '"glue": "wasm-bindgen"' in result.stdout  # type: ignore[attr-defined]
    assert "wasm-bindgen 0.2.99" in result.stdout  # type: ignore[attr-defined]
