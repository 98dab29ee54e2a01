#!/usr/bin/env bash
# Go: Go 1.23 from bookworm-backports (GOOS=wasip1 needs Go 1.21+; Debian bookworm's golang-go is 1.19).
# It installs into /usr/lib/go-1.23/bin, where the wasmrun-go plugin finds it (see docs/languages/go.md).
set -euo pipefail
source "$(dirname "$0")/_lib.sh"

backports=/etc/apt/sources.list.d/wasmrun-backports.sources
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Copy the first deb.debian.org stanza of debian.sources, with the backports suite.
  awk 'BEGIN { RS=""; ORS="\n\n" } /deb\.debian\.org\/debian(\n|$| )/ && !done {
         sub(/Suites:[^\n]*/, "Suites: bookworm-backports"); print; done=1 }' \
    /etc/apt/sources.list.d/debian.sources > "$backports.tmp"
  if ! grep -q "Suites: bookworm-backports" "$backports.tmp"; then
    rm -f "$backports.tmp"
    echo "go.sh: no deb.debian.org stanza in /etc/apt/sources.list.d/debian.sources to copy" >&2
    exit 1
  fi
  mv "$backports.tmp" "$backports"
  echo "  added $backports"
  _apt_updated=""
fi
apt_install -t bookworm-backports golang-1.23-go
