#!/usr/bin/env bash
# Everything a run against the real driver needs, built or fetched once and
# cached (each step reuses what it made before when its inputs are the same):
#
#   kernel.sh           Debian's ppc64el vmlinux and the unmodified ibmvmc.ko
#   guest-root.sh       busybox and ppc64le Node (the initramfs's base)
#   package.sh          the packed package with its dependencies
#   qemu-vmc/build.sh   qemu-system-ppc64 with the spapr-vmc device
#   here                static ppc64le builds of our C programs (the contract
#                       client, the bench's C client)
#
# Prints the path of a JSON manifest naming them all (read by
# test/real-driver/inputs.ts and try.js). Needs root (apt-get, mknod).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
mkdir -p "$cache"
[ "$(id -u)" -eq 0 ] || die "run as root (apt-get, and mknod for the initramfs)"
# One preparation at a time per cache: the staging trees are shared.
exec 9>"$cache/prepare.lock"
flock 9

install_host qemu-system-ppc64 qemu-system-ppc cpio cpio powerpc64le-linux-gnu-gcc gcc-powerpc64le-linux-gnu \
  /usr/powerpc64le-linux-gnu/lib/libc.a libc6-dev-ppc64el-cross
kernel="$("$real_driver_dir/kernel.sh")"
base="$("$real_driver_dir/guest-root.sh")"
stage="$("$real_driver_dir/package.sh")"
qemu="$("$repo_root/scripts/power/qemu-vmc/build.sh" | tail -1)"
[ -x "$qemu" ] || die "scripts/power/qemu-vmc/build.sh gave no qemu-system-ppc64 ('$qemu')"

# Static, so that they need nothing from the guest; rebuilt when a source changes.
bin="$cache/guest-bin"
mkdir -p "$bin"
cross() { # cross <output> <source>
  local out="$bin/$1" src="$repo_root/$2"
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ] || [ "$repo_root/native/abi/ibmvmc_abi.h" -nt "$out" ]; then
    log "cross-compiling $2 (static ppc64le)"
    powerpc64le-linux-gnu-gcc -static -O2 -std=gnu11 -Wall -Wextra -Werror \
      -I"$repo_root/native/abi" -o "$out.tmp" "$src"
    mv "$out.tmp" "$out"
  fi
}
cross contract_client test/contract/contract_client.c
cross bench_c_client scripts/bench/c-client.c
cross random_ops test/contract/random_ops.c

manifest="$cache/inputs.json"
cat >"$manifest.tmp" <<EOF
{
  "kernelDir": "$kernel",
  "vmlinux": "$kernel/vmlinux",
  "module": "$kernel/ibmvmc.ko",
  "expectedIoctl": "$kernel/expected-ioctl.json",
  "base": "$base",
  "nodeModules": "$stage/app/node_modules",
  "prebuildSource": "$(cat "$stage/prebuild-source")",
  "qemu": "$qemu",
  "contractClient": "$bin/contract_client",
  "benchClient": "$bin/bench_c_client",
  "randomOps": "$bin/random_ops",
  "cache": "$cache"
}
EOF
mv "$manifest.tmp" "$manifest"
log "inputs: ${manifest#"$repo_root"/}"
echo "$manifest"
