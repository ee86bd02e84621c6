#!/usr/bin/env bash
# The package as users get it: `npm pack` of this tree, installed into a
# staging node_modules with its production dependencies (node-gyp-build), the
# way `npm install ibmvmc` lays it out. Install scripts do not run here (they
# would run on x86); the guest runs the package's install script itself, with
# no compiler, and it must find the linux-ppc64 prebuild.
#
# Prints the staging directory (it holds node_modules/). Writes
# <dir>/prebuild-source saying where the ppc64 addon came from:
#   package    the packed tarball's prebuilds/linux-ppc64/ (what must happen)
#   tree       not in the tarball: copied from this tree's prebuilds/linux-ppc64/
#   cross      neither (or IBMVMC_REAL_DRIVER_PREBUILD=cross): cross-compiled
#              here, in a scratch copy of the sources
# IBMVMC_REAL_DRIVER_STRICT=1 accepts "package" only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

stage="$cache/package"
rm -rf "$stage"
mkdir -p "$stage/app"

log "npm pack"
tgz="$(cd "$repo_root" && npm pack --silent --pack-destination "$stage" 2>"$stage/pack.log" | tail -1)" || {
  cat "$stage/pack.log" >&2
  die "npm pack failed"
}
[ -s "$stage/$tgz" ] || die "npm pack made no tarball ($tgz)"
echo '{ "name": "ibmvmc-real-driver-guest", "version": "0.0.0", "private": true }' >"$stage/app/package.json"
(cd "$stage/app" && npm install --silent --ignore-scripts --omit=dev --no-audit --no-fund \
  --no-package-lock "$stage/$tgz") >"$stage/install.log" 2>&1 || {
  cat "$stage/install.log" >&2
  die "npm install of $tgz failed"
}
pkg="$stage/app/node_modules/ibmvmc"
[ -f "$pkg/package.json" ] && [ -x "$pkg/dist/cjs/cli/main.js" ] ||
  die "the packed package has no dist/cjs/cli/main.js (is dist/ in its files?)"
[ -d "$stage/app/node_modules/node-gyp-build" ] || die "node-gyp-build was not installed with the package"

has_prebuild() { compgen -G "$1/*.node" >/dev/null; }
source_of_prebuild=package
if [ "${IBMVMC_REAL_DRIVER_PREBUILD:-}" = cross ]; then
  rm -rf "$pkg/prebuilds/linux-ppc64"
fi
if ! has_prebuild "$pkg/prebuilds/linux-ppc64"; then
  [ -z "${IBMVMC_REAL_DRIVER_STRICT:-}" ] || die "the packed package has no prebuilds/linux-ppc64/*.node"
  mkdir -p "$pkg/prebuilds/linux-ppc64"
  if [ "${IBMVMC_REAL_DRIVER_PREBUILD:-}" != cross ] && has_prebuild "$repo_root/prebuilds/linux-ppc64"; then
    log "WARNING: the packed package has no prebuilds/linux-ppc64/; using this tree's (npm run prebuildify)"
    cp "$repo_root"/prebuilds/linux-ppc64/*.node "$pkg/prebuilds/linux-ppc64/"
    source_of_prebuild=tree
  else
    if [ "${IBMVMC_REAL_DRIVER_PREBUILD:-}" = cross ]; then
      log "IBMVMC_REAL_DRIVER_PREBUILD=cross: cross-compiling the addon in a scratch copy"
    else
      log "WARNING: no linux-ppc64 prebuild anywhere; cross-compiling the addon in a scratch copy"
    fi
    install_host powerpc64le-linux-gnu-g++ g++-powerpc64le-linux-gnu g++ g++ python3 python3
    scratch="$cache/cross-addon"
    rm -rf "$scratch"
    mkdir -p "$scratch"
    mkdir -p "$scratch/node_modules"
    cp -R "$repo_root/package.json" "$repo_root/binding.gyp" "$repo_root/native" "$scratch/"
    cp -R "$repo_root/node_modules/node-addon-api" "$scratch/node_modules/"
    (cd "$scratch" && CC=powerpc64le-linux-gnu-gcc CXX=powerpc64le-linux-gnu-g++ AR=powerpc64le-linux-gnu-ar \
      LINK=powerpc64le-linux-gnu-g++ CC_host=gcc CXX_host=g++ AR_host=ar LINK_host=g++ \
      node "$repo_root/node_modules/node-gyp/bin/node-gyp.js" rebuild --arch=ppc64 --nodedir=/usr \
      >build.log 2>&1) || {
      cat "$scratch/build.log" >&2
      die "cross-compiling the addon failed"
    }
    powerpc64le-linux-gnu-strip -o "$pkg/prebuilds/linux-ppc64/ibmvmc.node" "$scratch/build/Release/ibmvmc.node"
    source_of_prebuild=cross
  fi
fi
echo "$source_of_prebuild" >"$stage/prebuild-source"
log "package: $tgz, ppc64 addon from: $source_of_prebuild ($(cd "$pkg/prebuilds/linux-ppc64" && ls ./*.node | tr '\n' ' '))"
echo "$stage"
