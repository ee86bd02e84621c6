#!/usr/bin/env bash
# npm run prebuildify [-- x64|ppc64 ...]: the prebuilt binaries that ship in
# the package (both by default; naming one builds only that one, as the
# package test does for x64 when prebuilds/linux-x64/ is missing).
#
#   prebuilds/linux-x64/    built natively
#   prebuilds/linux-ppc64/  cross-compiled with Debian's g++-powerpc64le-linux-gnu
#                           (Node calls ppc64le "ppc64")
#
# Each folder holds ibmvmc.node (the N-API addon: one binary for every Node
# version we support) and ibmvmc_fake_preload.so (the fake device's shim),
# both stripped. The builds run in copies of the sources under
# .cache/prebuildify/, so the tree's own build/ (used by npm test) is untouched.
# Afterwards the binaries are checked against the oldest glibc and
# libstdc++ we support (scripts/power/prebuilds-check-glibc.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

[ $# -gt 0 ] || set -- x64 ppc64
for arch in "$@"; do
  case "$arch" in
  x64 | ppc64) ;;
  *) echo "prebuildify: unknown architecture $arch (x64 or ppc64)" >&2 && exit 2 ;;
  esac
done

cross=powerpc64le-linux-gnu
if [[ " $* " == *" ppc64 "* ]] && ! command -v "$cross-g++" >/dev/null || ! command -v "$cross-strip" >/dev/null; then
  echo "prebuildify: installing the ppc64le cross compiler (g++-$cross)"
  flock /tmp/ibmvmc-apt.lock env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "g++-$cross" "binutils-$cross" >/dev/null
fi

# prebuildify does not pass --nodedir to node-gyp; the headers come from here.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
# binding.gyp's ibmvmc_portable_glibc: bind the shim to symbol versions every
# glibc since 2.17 has (native/fake/glibc_compat.h).
export npm_package_config_node_gyp_ibmvmc_portable_glibc=true
target="$(node -p process.versions.node)"
stage="$root/.cache/prebuildify"

build() { # build <node arch> [strip binary]
  local arch="$1" strip="${2:-strip}" dir="$stage/$1"
  rm -rf "$dir" "$root/prebuilds/linux-$arch"
  mkdir -p "$dir"
  cp -R package.json binding.gyp native "$dir/"
  ln -s "$root/node_modules" "$dir/node_modules"
  (cd "$dir" && "$root/node_modules/.bin/prebuildify" --napi --strip --strip-bin="$strip" \
    --arch="$arch" --target="$target" --out="$root" >"$dir/build.log" 2>&1) || {
    cat "$dir/build.log" >&2
    echo "prebuildify: the linux-$arch build failed (log above)" >&2
    exit 1
  }
  echo "prebuildify: prebuilds/linux-$arch/"
  (cd "$root/prebuilds/linux-$arch" && for f in *; do
    printf '  %-26s %7d bytes  %s\n' "$f" "$(stat -c %s "$f")" \
      "$(readelf -h "$f" | sed -n 's/^ *Machine: *//p')"
  done)
}

checked=()
for arch in "$@"; do
  if [ "$arch" = x64 ]; then
    build x64
  else
    CC="$cross-gcc" CXX="$cross-g++" AR="$cross-ar" LINK="$cross-g++" \
      CC_host=gcc CXX_host=g++ AR_host=ar LINK_host=g++ \
      build ppc64 "$cross-strip"
  fi
  checked+=("$root/prebuilds/linux-$arch")
done

"$root/scripts/power/prebuilds-check-glibc.sh" "${checked[@]}"
