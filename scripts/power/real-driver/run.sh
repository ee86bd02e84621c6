#!/usr/bin/env bash
# The real-driver test (issue 5, "Tests on POWER" item 2): the only place our
# code meets the real ibmvmc driver's code.
#
# On a Debian 12 x86_64 machine, as root:
#   1. kernel.sh      Debian's ppc64el kernel (vmlinux) and the unmodified
#                     drivers/misc/ibmvmc.[ch] from linux-source-6.1 of the same
#                     version, built out of tree against its headers with the
#                     cross compiler (Debian's kernel has CONFIG_IBMVMC unset)
#   2. guest-root.sh  busybox-static:ppc64el and ppc64le Node (Debian's nodejs:ppc64el)
#   3. package.sh     `npm pack` of this tree, installed with its dependencies
#   4. here           an initramfs of all that plus guest/init and guest/checks.js;
#                     qemu-system-ppc64 -M pseries -cpu POWER9 (TCG) boots it, the
#                     guest loads the module, runs `ibmvmc status` (and --json),
#                     VmcDevice.open().query() and requestVmc(), `ibmvmc
#                     request-vmc`, and open({ hmcId, timeoutMs: 2000 }), checks
#                     each against the contract for a driver without an adapter,
#                     prints PASS/FAIL per check and powers off.
# Exits 0 only if every check passed; 1 on any failure, a guest that does not
# finish, or the timeout.
#
# Environment:
#   IBMVMC_REAL_DRIVER_TIMEOUT  seconds QEMU may run (default 300; the guest gives
#                               its checks 200 of them)
#   IBMVMC_REAL_DRIVER_SMP      guest CPUs (default 2: QEMU's multi-threaded TCG
#                               makes each Node start about a third faster)
#   IBMVMC_POWER_CACHE          cache root (default .tmp/power; ours is <root>/real-driver)
#   IBMVMC_KERNEL_ABI           e.g. 6.1.0-50 (default: the last one picked, else the newest)
#   IBMVMC_REAL_DRIVER_REFRESH  1: look for a newer kernel in the apt index
#   IBMVMC_REAL_DRIVER_STRICT   1: fail if the packed package lacks prebuilds/linux-ppc64/
#   IBMVMC_REAL_DRIVER_PREBUILD cross: cross-compile the addon here instead of
#                               using the package's prebuild (tests the fallback)
#   IBMVMC_PPC64EL_SYSROOT      a ppc64el root with usr/bin/node to use instead of
#                               scripts/power/sysroot.sh's; "own": fetch our own
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
log "the real-driver test: cache ${cache#"$repo_root"/}"
mkdir -p "$cache"
[ "$(id -u)" -eq 0 ] || die "run as root (apt-get, and mknod for the initramfs)"
# One run at a time per cache: the staging trees and the initrd are shared.
exec 8>"$cache/run.lock"
flock -n 8 || {
  log "another real-driver run holds ${cache#"$repo_root"/}/run.lock; waiting"
  flock 8
}

install_host qemu-system-ppc64 qemu-system-ppc cpio cpio
kernel="$("$real_driver_dir/kernel.sh")"
base="$("$real_driver_dir/guest-root.sh")"
stage="$("$real_driver_dir/package.sh")"

# The per-run part of the initramfs, appended to the cached base (the kernel
# unpacks concatenated cpio archives in order).
log "initramfs"
tree="$cache/run-root"
rm -rf "$tree"
mkdir -p "$tree/checks" "$tree/app"
cp "$real_driver_dir/guest/init" "$tree/init"
chmod 755 "$tree/init"
cp "$real_driver_dir/guest/checks.js" "$kernel/expected-ioctl.json" "$kernel/ibmvmc.ko" "$tree/checks/"
cp -a "$stage/app/node_modules" "$tree/app/node_modules"
initrd="$cache/initrd.cpio"
{
  cat "$base"
  (cd "$tree" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
} >"$initrd"

console="$cache/console.log"
unimp="$cache/qemu-unimp.log"
timeout_s="${IBMVMC_REAL_DRIVER_TIMEOUT:-300}"
log "booting $(basename "$kernel" | sed 's/^kernel-//') under qemu-system-ppc64 (pseries, POWER9, TCG), at most ${timeout_s}s"
rm -f "$console" "$unimp"
boot_started=$(date +%s)
status=0
# -d unimp logs the hypervisor calls QEMU does not implement (H_REQUEST_VMC is
# 0x360). The console goes to $console; shown here from the guest's first line.
timeout --kill-after=10 "$timeout_s" \
  qemu-system-ppc64 -M pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off \
  -cpu POWER9 -m 1G -smp "${IBMVMC_REAL_DRIVER_SMP:-2}" -nographic -vga none -net none -no-reboot \
  -kernel "$kernel/vmlinux" -initrd "$initrd" \
  -append 'console=hvc0 quiet panic=-1' \
  -d unimp -D "$unimp" </dev/null 2>&1 | tr -d '\r' | tee "$console" |
  awk '/ibmvmc-real-driver:/ { on = 1 } on { print "  guest| " $0; fflush() }' || status=$?
boot_s=$(($(date +%s) - boot_started))

failed=0
if ! grep -q 'ibmvmc-real-driver:' "$console"; then
  echo "real-driver: the guest never reached its checks; the end of its console:"
  sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/^/  console| /' "$console" | tail -60
fi
verdict() { # verdict <ok 0|1> <line>
  if [ "$1" -eq 0 ]; then echo "real-driver: PASS $2"; else
    echo "real-driver: FAIL $2"
    failed=1
  fi
}
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  verdict 1 "the guest did not finish within ${timeout_s}s (IBMVMC_REAL_DRIVER_TIMEOUT)"
elif [ "$status" -ne 0 ]; then
  verdict 1 "qemu-system-ppc64 exited with status $status"
fi
grep -q '^ibmvmc-real-driver: DONE' "$console" || verdict 1 "the guest never said DONE (crash or timeout: see ${console#"$repo_root"/})"
summary="$(grep -m1 '^ibmvmc-real-driver: SUMMARY' "$console" || true)"
guest_failed="$(grep -c '^ibmvmc-real-driver: FAIL' "$console" || true)"
guest_passed="$(grep -c '^ibmvmc-real-driver: PASS' "$console" || true)"
[ "$guest_failed" -eq 0 ] && [ "$guest_passed" -gt 0 ] || verdict 1 "the guest's checks: $guest_passed passed, $guest_failed failed"
# Why REQUESTVMC failed: the call reached QEMU, which does not implement it.
if grep -q 'Unimplemented SPAPR hcall 0x0*360$' "$unimp" 2>/dev/null; then
  verdict 0 "REQUESTVMC reached the hypervisor: QEMU logged \"$(grep -m1 'hcall 0x0*360$' "$unimp")\" (H_REQUEST_VMC) and answered H_FUNCTION"
else
  verdict 1 "QEMU did not log H_REQUEST_VMC (0x360) as unimplemented (see ${unimp#"$repo_root"/})"
fi
prebuild="$(cat "$stage/prebuild-source")"
[ "$prebuild" = package ] || echo "real-driver: NOTE the ppc64 addon did not come from the packed package but from: $prebuild (see package.sh)"

if [ "$failed" -eq 0 ]; then
  log "PASS: ${summary#ibmvmc-real-driver: } in the guest (boot and checks ${boot_s}s); console log ${console#"$repo_root"/}"
  exit 0
fi
log "FAIL (boot and checks ${boot_s}s); console log ${console#"$repo_root"/}"
exit 1
