#!/usr/bin/env bash
# Install the system toolchains wasmrun's tests build with (see ../shared/TOOLCHAINS.md).
# Idempotent: a package already present is not fetched again, and when everything is there
# the script finishes in about a second without touching the network.
set -euo pipefail

# Debian packages, by what they give the tests:
#   clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-dev-wasm32
#       C/C++ for WASI with Debian's clang
#   emscripten      C/C++ for the browser (--target web) with its JS glue
#   wabt binaryen   reference tools (wasm-objdump, wasm-validate) the tests compare against
APT_PACKAGES=(
  clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-dev-wasm32
  emscripten
  wabt binaryen
  make
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-toolchains: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-toolchains: all Debian packages present"
fi
