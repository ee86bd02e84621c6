# shellcheck shell=bash
# Sourced by the real-driver scripts: paths, logging, and apt done the way
# this machine needs (one lock for every apt-get/dpkg call, a broken secondary
# index tolerated, foreign-architecture packages downloaded, never installed).

real_driver_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$real_driver_dir/../../.." && pwd)"
# .tmp/ is ignored by git, npm pack, eslint and prettier alike.
cache="${IBMVMC_POWER_CACHE:-$repo_root/.tmp/power}/real-driver"
debs="$cache/debs"
apt_lock=/tmp/ibmvmc-apt.lock
: "${REAL_DRIVER_T0:=$(date +%s)}"
export REAL_DRIVER_T0

log() { printf 'real-driver [%4ss] %s\n' "$(($(date +%s) - REAL_DRIVER_T0))" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

apt_get() { flock "$apt_lock" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }

# apt-get update exits 100 when any index fails (today the bookworm-security
# ppc64el index has a size mismatch although the main index is fine): go on,
# and let the look-ups that follow say whether what we need is there.
apt_update() {
  log "apt-get update"
  if ! apt_get update -qq >"$cache/apt-update.log" 2>&1; then
    log "apt-get update failed for some index (tolerated): $(grep -m1 '^E:' "$cache/apt-update.log" || true)"
  fi
}

ensure_ppc64el_arch() {
  if ! flock "$apt_lock" dpkg --print-foreign-architectures | grep -qx ppc64el; then
    log "dpkg --add-architecture ppc64el"
    flock "$apt_lock" dpkg --add-architecture ppc64el
    apt_update
  elif ! apt-cache show busybox-static:ppc64el >/dev/null 2>&1; then
    apt_update
  fi
}

# Host tools, installed only when missing: install_host <command-or-path> <package> ...
install_host() {
  local need=() probe pkg
  while [ $# -gt 0 ]; do
    probe="$1" pkg="$2"
    shift 2
    if [[ "$probe" == /* ]]; then [ -e "$probe" ] || need+=("$pkg"); else command -v "$probe" >/dev/null || need+=("$pkg"); fi
  done
  [ ${#need[@]} -eq 0 ] && return 0
  log "apt-get install ${need[*]}"
  if ! apt_get install -y -qq --no-install-recommends "${need[@]}" >"$cache/apt-install.log" 2>&1; then
    apt_update
    apt_get install -y -qq --no-install-recommends "${need[@]}" >"$cache/apt-install.log" 2>&1 ||
      die "apt-get install ${need[*]} failed: $(tail -3 "$cache/apt-install.log")"
  fi
}

# The .deb of each package[:arch][=version] into $debs, unless there already;
# sets deb[spec] to its path. One apt-get call says which file each is; a
# failed download is retried once after an apt-get update (a stale index can
# name files the mirror no longer has).
declare -A deb=()
download_debs() {
  local specs=("$@") files=() missing=()
  mkdir -p "$debs"
  mapfile -t files < <(apt_get download --print-uris "${specs[@]}" 2>/dev/null | awk '{print $2}')
  if [ ${#files[@]} -ne ${#specs[@]} ]; then
    apt_update
    mapfile -t files < <(apt_get download --print-uris "${specs[@]}" 2>/dev/null | awk '{print $2}')
    [ ${#files[@]} -eq ${#specs[@]} ] || die "apt knows only ${#files[@]} of: ${specs[*]}"
  fi
  # The files come in another order: match them by package name.
  local spec name file
  for spec in "${specs[@]}"; do
    name="${spec%%[:=]*}"
    for file in "${files[@]}"; do [ "${file%%_*}" = "$name" ] && deb[$spec]="$debs/$file"; done
    [ -n "${deb[$spec]:-}" ] || die "apt-get download --print-uris named no file for $spec"
    [ -s "${deb[$spec]}" ] || missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get download ${missing[*]}"
  if ! (cd "$debs" && apt_get -o APT::Sandbox::User=root -qq download "${missing[@]}") >"$cache/apt-download.log" 2>&1; then
    apt_update
    (cd "$debs" && apt_get -o APT::Sandbox::User=root -qq download "${missing[@]}") >"$cache/apt-download.log" 2>&1 ||
      die "apt-get download failed: $(tail -3 "$cache/apt-download.log")"
  fi
  for spec in "${specs[@]}"; do [ -s "${deb[$spec]}" ] || die "apt-get download gave no ${deb[$spec]}"; done
}
