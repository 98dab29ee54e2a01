#!/usr/bin/env bash
# Components (--target component, `wasmrun run` of a component): wasmrun installs its component
# tools itself on first use (wasmrun/component_tools.py: wasm-tools from PyPI, jco's adapters and
# jco-transpile with the WASI 0.2 browser shim from npm). This script makes sure node and npm are
# there for that, and warms npm's cache with the pinned packages so the first use does not wait
# on the network. The versions must be the ones component_tools.py pins (a test checks).
# Idempotent: `npm cache add` of a package already cached is quick and offline-safe.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
npm cache add @bytecodealliance/jco@1.35.0 @bytecodealliance/jco@1.12.0 @bytecodealliance/jco-transpile@0.15.0 \
  @bytecodealliance/preview2-shim@0.26.1 --loglevel=error >/dev/null
