#!/usr/bin/env bash
# Builds qemu-system-ppc64 with the spapr-vmc device (spapr_vmc.c, hooked into
# hw/ppc/meson.build by meson.patch) from Debian bookworm's QEMU 7.2 source,
# Debian's own patches applied. Prints the binary's absolute path on its last
# stdout line; everything else goes to stderr.
#
#   build.sh           build (or reuse) and print the path
#   build.sh --patch   print the device as one unified diff against the
#                      Debian-patched tree (to apply elsewhere with patch -p1)
#
# Run the result with -L /usr/share/qemu (Debian's qemu-system-data gives
# slof.bin). Everything lives in ${IBMVMC_POWER_CACHE:-<repo>/.tmp/power}/qemu-vmc:
# a private apt setup for the source, the configured tree (kept, so a change to
# spapr_vmc.c rebuilds one file), and bin/qemu-system-ppc64. A warm run asks
# apt nothing; IBMVMC_QEMU_VMC_REFRESH=1 looks for a newer 7.2 source.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
cache="${IBMVMC_POWER_CACHE:-$repo_root/.tmp/power}/qemu-vmc"
# The version this was written and tested against; a newer 7.2 one is taken
# (and logged) if the archive no longer serves it.
want_version=1:7.2+dfsg-7+deb12u18
apt_lock=/tmp/ibmvmc-apt.lock # the real-driver scripts' lock for the system's apt
: "${QEMU_VMC_T0:=$(date +%s)}"

log() { printf 'qemu-vmc [%4ss] %s\n' "$(($(date +%s) - QEMU_VMC_T0))" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

mode='build'
case "${1:-}" in
  '') ;;
  --patch) mode='patch' ;;
  *) die "usage: $0 [--patch]" ;;
esac

mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
  log "waiting for another build.sh (lock $cache/lock)"
  flock 9
fi

# The key of a build: the source version and what we put into it.
key_of() { # version dir-with-spapr_vmc.c-and-meson.patch
  printf '%s %s\n' "$1" "$(cat "$2/spapr_vmc.c" "$2/meson.patch" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
}
bin="$cache/bin/qemu-system-ppc64"
if [ "$mode" = build ] && [ -z "${IBMVMC_QEMU_VMC_REFRESH:-}" ] && [ -s "$cache/source.version" ] &&
  [ -x "$bin" ] && [ "$(cat "$cache/built.key" 2>/dev/null)" = "$(key_of "$(cat "$cache/source.version")" "$here")" ]; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi

# --- host packages, installed only when missing ------------------------------
apt_get() { flock "$apt_lock" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
need=()
for pkg in meson ninja-build pkg-config libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev \
  python3 gcc make patch xz-utils qemu-system-data; do
  [ "$(dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null || true)" = installed ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  if ! apt_get install -y -qq --no-install-recommends "${need[@]}" >"$cache/apt-install.log" 2>&1; then
    # A stale index can name files the mirror no longer has. apt-get update
    # exits non-zero when any one index fails (the security one sometimes
    # does): go on, and let the install say whether what we need is there.
    log "apt-get update"
    apt_get update -qq >"$cache/apt-update.log" 2>&1 || log "apt-get update failed for some index (tolerated)"
    apt_get install -y -qq --no-install-recommends "${need[@]}" >"$cache/apt-install.log" 2>&1 ||
      die "apt-get install ${need[*]} failed: $(tail -3 "$cache/apt-install.log")"
  fi
fi

# --- the source, through a private apt setup ----------------------------------
# Its own sources list, lists and caches under $cache/apt: the machine's apt
# configuration and state are left alone (no deb-src line is added anywhere).
aptdir="$cache/apt"
apt_src=(-o "Dir::Etc::sourcelist=$aptdir/sources.list" -o Dir::Etc::sourceparts=/nonexistent
  -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache" -o APT::Sandbox::User=root)
fetch_source() {
  mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/src"
  cat >"$aptdir/sources.list" <<'EOF'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian-security bookworm-security main
deb-src http://deb.debian.org/debian bookworm-updates main
EOF
  log "apt-get update (private deb-src lists in $aptdir)"
  apt-get "${apt_src[@]}" -qq update >"$aptdir/update.log" 2>&1 ||
    log "apt-get update failed for some index (tolerated): $(grep -m1 '^E:' "$aptdir/update.log" || true)"
  local v best='' offered
  offered="$(apt-cache "${apt_src[@]}" showsrc qemu 2>/dev/null | sed -n 's/^Version: //p')"
  for v in $offered; do
    [[ "$v" == 1:7.2+* ]] || continue
    [ "$v" = "$want_version" ] && best="$v" && break
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best="$v"; fi
  done
  [ -n "$best" ] || die "the deb-src lists offer no qemu 1:7.2+* source (they offer: ${offered//$'\n'/ })"
  version="$best"
  [ "$version" = "$want_version" ] || log "note: $want_version is not offered any more; taking $version"
  log "qemu source $version"
  (cd "$aptdir/src" && apt-get "${apt_src[@]}" -qq source --download-only "qemu=$version") \
    >"$aptdir/source.log" 2>&1 || die "apt-get source qemu=$version failed: $(tail -3 "$aptdir/source.log")"
}

if [ -z "${IBMVMC_QEMU_VMC_REFRESH:-}" ] && [ -s "$cache/source.version" ]; then
  version="$(cat "$cache/source.version")"
else
  fetch_source
fi
upstream="${version#*:}"   # 7.2+dfsg-7+deb12u18
upstream="${upstream%-*}"  # 7.2+dfsg
tree="$cache/qemu-${version#*:}"
if [ ! -d "$tree" ]; then
  dsc_dir="$aptdir/src"
  orig="$dsc_dir/qemu_${upstream}.orig.tar.xz"
  debian="$dsc_dir/qemu_${version#*:}.debian.tar.xz"
  if [ ! -s "$orig" ] || [ ! -s "$debian" ]; then fetch_source; fi
  if [ ! -s "$orig" ] || [ ! -s "$debian" ]; then die "no $orig and $debian after apt-get source"; fi
  # dpkg-source may not be installed: unpack and apply debian/patches/series
  # the way it would (no fuzz).
  log "unpacking $(basename "$orig") and $(basename "$debian"), applying Debian's patches"
  rm -rf "$tree.tmp"
  mkdir -p "$tree.tmp"
  tar -xJf "$orig" -C "$tree.tmp" --strip-components=1
  tar -xJf "$debian" -C "$tree.tmp"
  n=0
  while read -r name level _; do
    case "$name" in '' | '#'*) continue ;; esac
    patch -d "$tree.tmp" -s -F0 -N --no-backup-if-mismatch "${level:--p1}" \
      <"$tree.tmp/debian/patches/$name" || die "Debian patch $name does not apply"
    n=$((n + 1))
  done <"$tree.tmp/debian/patches/series"
  log "applied $n Debian patches"
  mkdir -p "$tree.tmp/.ibmvmc"
  cp "$tree.tmp/hw/ppc/meson.build" "$tree.tmp/.ibmvmc/meson.build.debian"
  # Only one tree is kept: drop the ones of other versions.
  for old in "$cache"/qemu-*; do
    [ "$old" = "$tree.tmp" ] || [ ! -d "$old" ] || rm -rf "$old"
  done
  mv "$tree.tmp" "$tree"
fi
printf '%s\n' "$version" >"$cache/source.version"

# --- our two changes, made only when they change something --------------------
# (an untouched mtime keeps ninja, and meson's regeneration, from rerunning)
# Built from a snapshot, so that the key written at the end is the one of
# what was built even when the files are edited meanwhile.
inputs="$(mktemp -d)"
trap 'rm -rf "$inputs"' EXIT
cp "$here/spapr_vmc.c" "$here/meson.patch" "$inputs/"
key="$(key_of "$version" "$inputs")"
patched_meson="$inputs/meson.build"
cp "$tree/.ibmvmc/meson.build.debian" "$patched_meson"
patch -s -F0 --no-backup-if-mismatch "$patched_meson" <"$inputs/meson.patch" >&2 ||
  die "meson.patch does not apply to hw/ppc/meson.build of qemu $version"

if [ "$mode" = patch ]; then
  log "the spapr-vmc device against qemu $version (Debian-patched), for patch -p1"
  # Labels instead of the temporary files' names and times: the same input
  # gives the same diff.
  diff -u --label a/hw/ppc/meson.build --label b/hw/ppc/meson.build \
    "$tree/.ibmvmc/meson.build.debian" "$patched_meson" || [ $? -eq 1 ]
  diff -u --label /dev/null --label b/hw/ppc/spapr_vmc.c /dev/null "$inputs/spapr_vmc.c" || [ $? -eq 1 ]
  exit 0
fi

cmp -s "$patched_meson" "$tree/hw/ppc/meson.build" || cp "$patched_meson" "$tree/hw/ppc/meson.build"
cmp -s "$inputs/spapr_vmc.c" "$tree/hw/ppc/spapr_vmc.c" || cp "$inputs/spapr_vmc.c" "$tree/hw/ppc/spapr_vmc.c"

# --- configure once, then ninja -----------------------------------------------
# Debian's python3 and meson, whatever else is on PATH (pyenv, pip's meson):
# configure takes PYTHON from the environment (its --python would insist on
# the Meson bundled with QEMU, which Debian's source does not have), and the
# build runs with the system's PATH only.
configure=(./configure --prefix=/usr --target-list=ppc64-softmmu --without-default-features
  --enable-fdt=system --disable-werror --disable-debug-info --disable-docs --disable-tools
  --disable-guest-agent --disable-user --disable-install-blobs --meson=/usr/bin/meson)
export PYTHON=/usr/bin/python3 PATH=/usr/sbin:/usr/bin:/sbin:/bin
if [ "$(cat "$tree/build/.ibmvmc-configured" 2>/dev/null)" != "${configure[*]}" ]; then
  log "configure (log: $tree/configure.log)"
  rm -rf "$tree/build"
  (cd "$tree" && nice -n 10 "${configure[@]}") >"$tree/configure.log" 2>&1 || {
    tail -20 "$tree/configure.log" >&2
    die "configure failed"
  }
  printf '%s\n' "${configure[*]}" >"$tree/build/.ibmvmc-configured"
fi

log "ninja -C build qemu-system-ppc64 (log: $tree/build.log)"
nice -n 10 ninja -C "$tree/build" qemu-system-ppc64 >"$tree/build.log" 2>&1 || {
  grep -E -A5 'error|FAILED' "$tree/build.log" | head -40 >&2
  die "ninja failed"
}
log "$(grep -c '^\[' "$tree/build.log" || true) build steps"

# Copied and renamed into place: a QEMU still running the previous binary is
# not disturbed, and the path stays the same from one build to the next.
mkdir -p "$cache/bin"
cp "$tree/build/qemu-system-ppc64" "$bin.tmp"
mv -f "$bin.tmp" "$bin"
printf '%s\n' "$key" >"$cache/built.key"
log "built: $bin"
echo "$bin"
