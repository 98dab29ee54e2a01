#!/usr/bin/env bash
# C and C++: clang + wasi-libc for WASI, emscripten for the web, make for Makefile projects,
# cmake and ninja for CMake projects;
# wabt and binaryen as reference tools for the binary-format tests.
# (zig cc comes from PyPI: the `c` extra of wasmrun.)
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
apt_install clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-dev-wasm32 emscripten make cmake ninja-build wabt binaryen
