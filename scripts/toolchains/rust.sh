#!/usr/bin/env bash
# Rust: Debian's rustc and cargo with the wasm32 std (wasm32-wasi, wasm32-unknown-unknown) and lld.
# A rustup toolchain in ~/.cargo/bin may come first on PATH without a wasm std; the wasmrun-rust
# plugin looks past it (see docs/languages/rust.md).
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
apt_install rustc cargo libstd-rust-dev-wasm32 lld
