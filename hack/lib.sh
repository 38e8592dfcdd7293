# shellcheck shell=bash
# Shared helpers for the repository tooling under hack/. Sourced, never executed.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HACK_DIR/.." && pwd)
# Caches live outside the work tree so that a fresh clone reuses them.
CACHE_DIR=${GARDENER_AUTONOMOUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gardener-autonomous}
KUBERNETES_VERSION=${KUBERNETES_VERSION:-v1.20.2}
export CACHE_DIR KUBERNETES_VERSION REPO_ROOT HACK_DIR

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages that are missing; a no-op (no apt call) when all are present.
apt_install() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  info "apt-get install ${missing[*]}"
  if [ ! -f /var/lib/apt/periodic/gardener-autonomous-updated ] || \
     [ -n "$(find /var/lib/apt/periodic/gardener-autonomous-updated -mmin +360 2>/dev/null)" ]; then
    as_root apt-get update -qq
    as_root mkdir -p /var/lib/apt/periodic && as_root touch /var/lib/apt/periodic/gardener-autonomous-updated
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The machine's own Debian mirror (first URI of the main suite). Read at run time so that no
# mirror host name is ever written into the repository.
debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot find the Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  printf '%s\n' "$uri"
}

# Adds a deb-src stanza mirroring the machine's main Debian source, once.
ensure_deb_src() {
  local file=/etc/apt/sources.list.d/gardener-autonomous-src.sources
  [ -f "$file" ] && return 0
  local signed_by
  signed_by=$(awk '/^Signed-By:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  info "adding deb-src for bookworm"
  as_root tee "$file" >/dev/null <<SRC
Types: deb-src
URIs: $(debian_mirror)
Suites: bookworm
Components: main
Signed-By: ${signed_by:-/usr/share/keyrings/debian-archive-keyring.gpg}
SRC
  as_root apt-get update -qq
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Hash of files and directories (content and names), used to key images by their inputs.
content_hash() {
  (cd "$REPO_ROOT" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-12
}

docker_ready() { docker info >/dev/null 2>&1; }

# Runs a command quietly; shows its output only when it fails.
quietly() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    die "failed: $*"
  fi
  rm -f "$log"
}
