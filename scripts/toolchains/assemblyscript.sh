#!/usr/bin/env bash
# AssemblyScript: Node 20+ with npm, and the npm cache warmed with the examples' packages
# (assemblyscript, @assemblyscript/wasi-shim) so that tests install node_modules with
# `npm ci --prefer-offline` without the network. The examples carry no node_modules.
# Idempotent: a stamp holding the lock files' checksum skips everything when nothing changed.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
repo="$(cd "$(dirname "$0")/../.." && pwd)"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  # Debian's nodejs is 18 on bookworm; AssemblyScript 0.28 asks for 20 (NodeSource's nodejs
  # carries npm itself: install Debian's npm only beside Debian's nodejs).
  apt_install nodejs npm
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "  warning: node $(node --version) is older than AssemblyScript 0.28 wants (20+)" >&2
fi

locks=("$repo"/examples/asc-*/package-lock.json)
stamp="${XDG_CACHE_HOME:-$HOME/.cache}/wasmrun/asc-npm-cache.sha256"
sum="$( (cat "${locks[@]}"; echo "${npm_config_cache:-$HOME/.npm}") | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for lock in "${locks[@]}"; do
  dir="$tmp/$(basename "$(dirname "$lock")")"
  mkdir -p "$dir"
  cp "$lock" "$(dirname "$lock")/package.json" "$dir/"
  echo "  npm ci ($(basename "$dir")) into the npm cache"
  (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
done
mkdir -p "$(dirname "$stamp")"
echo "$sum" > "$stamp"
