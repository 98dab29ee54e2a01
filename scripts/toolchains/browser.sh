#!/usr/bin/env bash
# The browser the dev server's tests drive: Debian's chromium, launched by Playwright from PyPI
# (the `test` extra of wasmrun) with executable_path=/usr/bin/chromium. `playwright install`
# (its own browser download) is not needed.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
apt_install chromium
