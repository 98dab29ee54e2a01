#!/usr/bin/env bash
# JavaScript and TypeScript projects: wasmrun installs componentize-qjs, esbuild and typescript
# itself on first use (wasmrun/component_tools.py, from npm). This script makes sure node and npm
# are there for that, and warms npm's cache with the pinned packages (and the Linux x64 binaries
# they pull in as optional dependencies) so the first build does not wait on the network. The
# versions must be the ones component_tools.py pins (tests/test_javascript.py checks).
# Idempotent: `npm cache add` of a package already cached is quick.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
npm cache add componentize-qjs@0.4.5 @andreiltd/componentize-qjs-binding-linux-x64-gnu@0.4.5 \
  esbuild@0.28.2 @esbuild/linux-x64@0.28.2 typescript@5.9.3 --loglevel=error >/dev/null
