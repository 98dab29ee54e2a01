#!/usr/bin/env bash
# Install the system toolchains wasmrun's tests build with (see ../shared/TOOLCHAINS.md).
# Idempotent: what is already present is not fetched again, and when everything is there the
# script finishes in a few seconds without touching the network.
#
# Each language keeps its own script in scripts/toolchains/NAME.sh; they all source
# scripts/toolchains/_lib.sh for `apt_install PKG...` (installs only what is missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for script in "$here"/toolchains/*.sh; do
  case "$(basename "$script")" in _*) continue ;; esac
  echo "install-toolchains: $(basename "$script" .sh)"
  bash "$script"
done
