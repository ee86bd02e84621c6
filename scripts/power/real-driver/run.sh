#!/usr/bin/env bash
# The real driver, all the way: the unmodified ibmvmc module in a POWER guest
# (Debian's ppc64el kernel under qemu-system-ppc64, pseries, POWER9, TCG) with
# the packed package, and, behind QEMU's VMC adapter (our spapr-vmc device),
# our fake hypervisor. The last step of `npm run test:power`.
#
#   prepare.sh   builds or reuses every input (kernel and module, guest base,
#                packed package, QEMU with spapr-vmc, static ppc64le C programs)
#   Jest         runs test/real-driver/ (jest.real-driver.config.js), one guest
#                boot per file:
#                  no-adapter    state initial: the package's checks in the guest
#                  differential  every contract scenario on the fake and on the
#                                real driver, side by side (the table)
#                  library       HmcSession, HmcClient and the CLI end to end
#                  bench         echo round trips, ratios to C
#
# Arguments go to Jest (e.g. a test file's name to run one). Exits non-zero if
# any suite failed or the whole run took longer than IBMVMC_REAL_DRIVER_TIMEOUT
# seconds (default 2400).
#
# Environment: IBMVMC_POWER_CACHE (cache root, default .tmp/power),
# IBMVMC_KERNEL_ABI, IBMVMC_REAL_DRIVER_REFRESH, IBMVMC_REAL_DRIVER_STRICT,
# IBMVMC_REAL_DRIVER_PREBUILD, IBMVMC_PPC64EL_SYSROOT (see kernel.sh,
# package.sh, guest-root.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
log "the real-driver suites: cache ${cache#"$repo_root"/}"
inputs="$("$real_driver_dir/prepare.sh")"
cd "$repo_root"
# The differential run's fake side needs the built package (the fake's child
# entry) and the preload shim.
if [ ! -f dist/cjs/fake/child-entry.js ]; then npm run --silent build:ts; fi
if ! node -e "process.exit(require('./scripts/preload-path').findPreload('.') ? 0 : 1)"; then
  npm run --silent build:native
fi
log "Jest: test/real-driver (inputs ${inputs#"$repo_root"/})"
IBMVMC_REAL_DRIVER_INPUTS="$inputs" timeout --kill-after=30 "${IBMVMC_REAL_DRIVER_TIMEOUT:-2400}" \
  node scripts/run-jest.js -c jest.real-driver.config.js --ci "$@"
