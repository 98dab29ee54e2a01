#!/usr/bin/env bash
# Whole Python (componentize-py): wasmrun installs componentize-py itself on first use, from PyPI,
# into its managed tools directory (wasmrun/component_tools.py), and takes the WASI WIT packages
# from jco's npm package (warmed by components.sh). This script warms pip's cache with the pinned
# wheel (46 MB) so the first build does not wait on the network. The version must be the one
# component_tools.py pins (a test checks). Idempotent: a cached wheel is not downloaded again.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"

python="${PYTHON:-python3}"
if ! "$python" -m pip --version >/dev/null 2>&1; then
  echo "  no pip for $python: componentize-py will be fetched on first use instead"
  exit 0
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --dest "$scratch" componentize-py==0.25.1
