#!/usr/bin/env bash
# A ppc64le (Debian ppc64el) sysroot with Node.js, made from Debian's packages
# without installing them: apt-get download + dpkg-deb -x.
#
#   scripts/power/sysroot.sh [extra-package ...]
#
# Makes $IBMVMC_POWER_CACHE/sysroot (default .cache/power/sysroot) holding
# nodejs:ppc64el, libnode108:ppc64el, every ppc64el library they depend on, and
# the architecture-independent node-* modules Debian's Node loads at run time
# (acorn, cjs-module-lexer, undici). Extra packages (e.g. busybox-static) are
# added with their ppc64el dependencies. Absolute symlinks are made relative,
# so that under qemu-user (-L sysroot) and in a chroot they stay inside it.
# Idempotent: reuses downloaded .debs and skips extraction when nothing changed.
# The last line of output is "sysroot: <path>".
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${IBMVMC_POWER_CACHE:-$root/.cache/power}"
sysroot="$cache/sysroot"
debs="$cache/debs"
arch=ppc64el
apt_lock=/tmp/ibmvmc-apt.lock
mkdir -p "$cache" "$debs"

# One builder at a time (the emulated test suite and the real-driver test share it).
exec 9>"$cache/sysroot.lock"
flock 9

log() { echo "sysroot: $*" >&2; }

if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  log "dpkg --add-architecture $arch"
  flock "$apt_lock" dpkg --add-architecture "$arch"
fi
if [ "${IBMVMC_APT_UPDATE:-}" = 1 ] || ! apt-cache show "nodejs:$arch" >/dev/null 2>&1; then
  log "apt-get update"
  # A secondary index (today bookworm-security for ppc64el) can fail with a
  # size mismatch and exit 100 while the main one is fine: go on, and check
  # below that what we need is known.
  code=0
  flock "$apt_lock" apt-get update -qq || code=$?
  [ "$code" -eq 0 ] || log "apt-get update exited $code (ignored; checking the indexes we need)"
  if ! apt-cache show "nodejs:$arch" >/dev/null 2>&1; then
    log "no nodejs:$arch in the package indexes after apt-get update"
    exit 1
  fi
fi

# Dependencies: every ppc64el package reached through Depends/Pre-Depends, and
# the architecture-independent node-* ones. Packaging tools the libraries pull
# in (dpkg, tar, install-info, debconf) are not needed to run anything.
wanted=("nodejs:$arch" "libnode108:$arch")
for extra in "$@"; do
  case "$extra" in *:*) wanted+=("$extra") ;; *) wanted+=("$extra:$arch") ;; esac
done
mapfile -t packages < <(
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${wanted[@]}" 2>/dev/null |
    grep -E '^[a-z0-9]' |
    grep -E "(:$arch\$|^node-[a-z0-9.+-]+\$)" |
    grep -vE "^(dpkg|tar|install-info|debconf|cdebconf|openssl|perl|perl-base|gcc-12-base)(:$arch)?\$" |
    sort -u
)
for want in "${wanted[@]}"; do
  printf '%s\n' "${packages[@]}" | grep -qx "$want" || packages+=("$want")
done

# Download what is not cached yet. apt-get names the files
# name_version_arch.deb; --print-uris tells which file each candidate is.
mapfile -t files < <(apt-get download --print-uris "${packages[@]}" | awk '{ print $2 }' | sort -u)
if [ ${#files[@]} -ne ${#packages[@]} ]; then
  log "expected ${#packages[@]} packages, apt-get download --print-uris gave ${#files[@]}"
  exit 1
fi
need=()
for file in "${files[@]}"; do
  [ -s "$debs/$file" ] || need+=("$file")
done
if [ ${#need[@]} -gt 0 ]; then
  names=()
  for file in "${need[@]}"; do
    name="${file%%_*}" a="${file##*_}" a="${a%.deb}"
    if [ "$a" = all ]; then names+=("$name"); else names+=("$name:$a"); fi
  done
  log "apt-get download ${#names[@]} packages: ${names[*]}"
  chmod 777 "$debs" # apt drops to the _apt user to download
  (cd "$debs" && flock "$apt_lock" apt-get download -qq "${names[@]}")
fi

stamp="$(printf '%s\n' "${files[@]}" | sort | sha256sum | cut -c1-16)"
if [ -f "$sysroot/.ibmvmc-sysroot" ] && [ "$(cat "$sysroot/.ibmvmc-sysroot")" = "$stamp" ]; then
  log "up to date (${#files[@]} packages)"
else
  log "extracting ${#files[@]} packages into $sysroot"
  rm -rf "$sysroot"
  mkdir -p "$sysroot"
  for file in "${files[@]}"; do dpkg-deb -x "$debs/$file" "$sysroot"; done
  # Debian 12 packages still ship some files under /lib; a merged /usr is what
  # the loader and its default search paths expect on current systems, but
  # both work, so nothing is moved. Absolute symlinks become relative ones.
  fixed=0
  while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    case "$target" in
      /*)
        ln -sfn "$(realpath -m -s --relative-to="$(dirname "$link")" "$sysroot$target")" "$link"
        fixed=$((fixed + 1))
        ;;
    esac
  done < <(find "$sysroot" -type l -print0)
  # The host's /etc/ld.so.cache lists x86 libraries: give the loader its own
  # (empty) one so that it searches its default directories.
  mkdir -p "$sysroot/etc"
  : >"$sysroot/etc/ld.so.cache"
  echo "$stamp" >"$sysroot/.ibmvmc-sysroot"
  log "made $fixed absolute symlinks relative"
fi
printf '%s\n' "${files[@]}" | sort >"$cache/sysroot.packages"
node_version="$(dpkg-deb -f "$debs/$(printf '%s\n' "${files[@]}" | grep '^nodejs_')" Version)"
log "nodejs $node_version for ppc64el, ${#files[@]} packages (list: $cache/sysroot.packages)"
echo "sysroot: $sysroot"
