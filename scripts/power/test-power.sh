#!/usr/bin/env bash
# npm run test:power: our binaries on POWER.
#
#   1. prebuilds   npm run prebuildify: linux-x64 and linux-ppc64 (cross-compiled),
#                  and their glibc/libstdc++ symbol versions checked
#   2. emulated    the Jest suite under qemu-ppc64le with Debian's ppc64el Node,
#                  loading the linux-ppc64 prebuilds (scripts/power/test-emulated.sh)
#   3. real-driver the real ibmvmc module in a ppc64le kernel under qemu-system-ppc64,
#                  checked with the packed package (scripts/power/real-driver/run.sh)
#
# Every step runs even if an earlier one failed, when it can; a summary of
# steps, times and results ends the output; the exit status is non-zero if any
# step failed. Downloads and builds are cached under .cache/power/.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

summary=()
failed=0
step() { # step <name> <command ...>
  local name="$1" started code
  shift
  echo "== test:power: $name: $*"
  started=$(date +%s)
  "$@"
  code=$?
  local line
  line="$(printf '%-10s %-4s %5ss' "$name" "$([ $code -eq 0 ] && echo ok || echo FAIL)" "$(($(date +%s) - started))")"
  summary+=("$line")
  [ $code -eq 0 ] || failed=1
  return $code
}

step prebuilds "$root/scripts/prebuildify.sh"
if [ -f prebuilds/linux-ppc64/ibmvmc.node ]; then
  step emulated "$root/scripts/power/test-emulated.sh"
  IBMVMC_REAL_DRIVER_STRICT=1 step real-driver "$root/scripts/power/real-driver/run.sh"
fi

echo "== test:power: summary"
printf '  %s\n' "${summary[@]}"
exit $failed
