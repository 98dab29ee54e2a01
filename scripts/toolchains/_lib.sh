# Helpers for the per-language toolchain scripts. Source it; do not run it.

_apt_updated=""

# apt_install [-t SUITE] PKG...: install the Debian packages that are not installed yet.
apt_install() {
  local suite=()
  if [ "${1:-}" = "-t" ]; then suite=(-t "$2"); shift 2; fi
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "  apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$_apt_updated" ]; then apt-get update -qq; _apt_updated=1; fi
  apt-get install -y -qq --no-install-recommends "${suite[@]}" "${missing[@]}" >/dev/null
}
