#!/usr/bin/env bash
# The Jest suite on emulated ppc64le: Debian's nodejs:ppc64el under
# qemu-user-static, loading the linux-ppc64 prebuilds (the addon and the fake
# device's preload shim) from a copy of the package that has no build/.
#
#   scripts/power/test-emulated.sh [jest arguments ...]
#
# Needs prebuilds/linux-ppc64 (npm run prebuildify). Makes the sysroot
# (scripts/power/sysroot.sh) and installs qemu-user-static if missing.
#
# How the emulation is wired:
# - .cache/power/emulated/bin/node is a static x86 launcher that runs the
#   sysroot's node under qemu-ppc64le-static -L <sysroot>, adding
#   "--require prelude.js" to NODE_OPTIONS; prelude.js sets process.execPath
#   to the launcher, so every Node child a test spawns (process.execPath,
#   fork, or "node" on PATH) is emulated ppc64le Node too. Jest runs in band
#   (-i): no workers; one Jest per core, each on a shard of the suites.
# - LD_PRELOAD is "<shims>/$LIB/ibmvmc_fake_preload.so": the loader expands
#   $LIB to lib/powerpc64le-linux-gnu in emulated processes (the ppc64le shim)
#   and to lib/x86_64-linux-gnu in host tools the tests run (sh, the compiler:
#   the x86 shim, which they never use), so neither loader complains.
# - The C contract test compiles its client with $CC: here a wrapper that
#   cross-compiles it for ppc64le and puts a launcher in its place, so the
#   contract suite runs a ppc64le C program through the ppc64le shim.
#   IBMVMC_POWER_SKIP_CONTRACT=1 skips that suite instead.
# - qemu-user has no process_vm_readv/writev: the shim then checks user
#   pointers through a pipe (native/fake/shim.c), so EFAULT rows still pass.
#
# Also checked: the packed package installs there with no compiler and loads
# its prebuild. Left out: see "suites_left_out" below.
# Settings: IBMVMC_POWER_SHARDS (default: cores), IBMVMC_POWER_ALL=1 (run the
# left-out suites too), IBMVMC_POWER_RETRY=0 (no second run of failed suites),
# IBMVMC_POWER_TIMEOUT (seconds per Jest, default 1500), IBMVMC_TEST_TIME_SCALE,
# IBMVMC_FAKE_START_TIMEOUT_MS (a fake's start deadline, default 60000 here).
# Ends with a line per suite and "N/M suites passed; N passed, N failed, N skipped".
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${IBMVMC_POWER_CACHE:-$root/.cache/power}"
work="$cache/emulated"
pkg="$work/package"
bin="$work/bin"
shims="$work/shims"
qemu=/usr/bin/qemu-ppc64le-static
log() { echo "test-emulated: $*"; }
started=$(date +%s)

ppc="$root/prebuilds/linux-ppc64"
if [ ! -f "$ppc/ibmvmc.node" ] || [ ! -f "$ppc/ibmvmc_fake_preload.so" ]; then
  echo "test-emulated: no prebuilds/linux-ppc64 binaries: run npm run prebuildify first" >&2
  exit 1
fi
host_shim="$root/prebuilds/linux-x64/ibmvmc_fake_preload.so"
[ -f "$host_shim" ] || host_shim="$root/build/Release/ibmvmc_fake_preload.so"
[ -f "$host_shim" ] || {
  echo "test-emulated: no x86_64 preload shim (prebuilds/linux-x64 or build/Release)" >&2
  exit 1
}

if [ ! -x "$qemu" ]; then
  log "installing qemu-user-static"
  flock /tmp/ibmvmc-apt.lock env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends qemu-user-static >/dev/null
fi
sysroot="$("$root/scripts/power/sysroot.sh" | sed -n 's/^sysroot: //p' | tail -n1)"
[ -x "$sysroot/usr/bin/node" ] || {
  echo "test-emulated: no node in the sysroot ($sysroot)" >&2
  exit 1
}

# Launchers, the prelude, the compiler wrapper and the two shims.
rm -rf "$work"
mkdir -p "$bin" "$shims/lib/powerpc64le-linux-gnu" "$shims/lib/x86_64-linux-gnu"
printf '%s\nprocess.execPath = "%s";\n' \
  "// Loaded into every emulated Node (NODE_OPTIONS): its children run through the launcher." \
  "$bin/node" >"$bin/prelude.js"
src="$root/scripts/power/qemu-launcher.c"
cc -static -O2 -Wall -Wextra -Werror -DQEMU_BIN="\"$qemu\"" -DSYSROOT="\"$sysroot\"" \
  -DTARGET="\"$sysroot/usr/bin/node\"" -DNODE_PRELUDE="\"$bin/prelude.js\"" -o "$bin/node" "$src"
cc -static -O2 -Wall -Wextra -Werror -DQEMU_BIN="\"$qemu\"" -DSYSROOT="\"$sysroot\"" \
  -o "$bin/ppc64le-launcher" "$src"
cat >"$bin/cc" <<'SH'
#!/usr/bin/env bash
# $CC for the contract test: the program is built for ppc64le as <out>.ppc64le,
# and <out> is a launcher that runs it under qemu.
set -euo pipefail
out=""
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then out="$2"; shift 2; else args+=("$1"); shift; fi
done
[ -n "$out" ] || { echo "cc wrapper: no -o" >&2; exit 2; }
powerpc64le-linux-gnu-gcc "${args[@]}" -o "$out.ppc64le"
cp "$(dirname "$0")/ppc64le-launcher" "$out"
SH
chmod +x "$bin/cc"
cp "$ppc/ibmvmc_fake_preload.so" "$shims/lib/powerpc64le-linux-gnu/"
cp "$host_shim" "$shims/lib/x86_64-linux-gnu/"

# The package without build/ (node-gyp-build would pick build/Release, x86,
# before prebuilds/), with only the ppc64 prebuilds. dist/ is compiled here
# natively: TypeScript's output is the same on every architecture.
mkdir -p "$pkg/prebuilds"
for item in package.json jest.config.js tsconfig.json tsconfig.build.json lib test scripts native; do
  cp -R "$root/$item" "$pkg/"
done
cp -R "$ppc" "$pkg/prebuilds/"
ln -s "$root/node_modules" "$pkg/node_modules"
(cd "$pkg" && node node_modules/typescript/bin/tsc -p tsconfig.build.json &&
  node scripts/build-esm.js && chmod +x dist/cjs/cli/main.js dist/cjs/fake/main.js)

host_node="$(command -v node)"
ORIGINAL_PATH="$PATH"
export PATH="$bin:$PATH"
export CC="$bin/cc"
export LD_PRELOAD="$shims/\$LIB/ibmvmc_fake_preload.so"

log "emulated Node and what it loads:"
(cd "$pkg" && node -e '
  const load = require("node-gyp-build");
  const file = load.path(process.cwd());
  const b = load(process.cwd());
  const { findPreloadPath } = require("./dist/cjs/fake/preload-path.js");
  const hex = (n) => "0x" + n.toString(16);
  console.log(`  node ${process.version} ${process.platform}-${process.arch} (${process.config.variables.host_arch}), execPath ${process.execPath}`);
  console.log(`  addon ${file}`);
  console.log(`  shim  ${findPreloadPath()}`);
  const io = b.constants.ioctl;
  console.log(`  ioctl SETHMCID ${hex(io.SETHMCID)} QUERY ${hex(io.QUERY)} REQUESTVMC ${hex(io.REQUESTVMC)}`);
  if (process.arch !== "ppc64" || !file.includes("prebuilds/linux-ppc64/")) process.exit(1);
')
mapfile -t maps < <(cd "$pkg" && node -e 'console.log(require("fs").readFileSync("/proc/self/maps","utf8"))' | grep -o '/[^ ]*ibmvmc_fake_preload.so' | sort -u)
log "  preloaded into emulated Node: ${maps[*]:-nothing}"

# The packed package, installed as npm would (the install script, then a
# require) on emulated ppc64le with no compiler, make or Python on PATH: the
# install must take the prebuilt binary and build nothing.
inst="$work/install"
mkdir -p "$inst/node_modules/ibmvmc" "$inst/nocompiler"
(cd "$pkg" && env PATH="$(dirname "$host_node"):$ORIGINAL_PATH" npm pack --ignore-scripts --silent \
  --pack-destination "$work" >/dev/null 2>&1)
tar xzf "$work"/ibmvmc-*.tgz -C "$inst/node_modules/ibmvmc" --strip-components=1
ln -s "$root/node_modules/node-gyp-build" "$inst/node_modules/node-gyp-build"
ln -s "$bin/node" "$inst/nocompiler/node"
if (cd "$inst/node_modules/ibmvmc" && env PATH="$inst/nocompiler" node scripts/install.js) &&
  (cd "$inst" && env PATH="$inst/nocompiler" node -e '
    const file = require("node-gyp-build").path(require("path").resolve("node_modules/ibmvmc"));
    const { VmcDevice } = require("ibmvmc");
    if (typeof VmcDevice.open !== "function" || !file.includes("prebuilds/linux-ppc64/")) process.exit(1);
    console.log("  " + require("path").relative(process.cwd(), file));
  '); then
  log "packed package: installs with no compiler and loads its linux-ppc64 prebuild ($(ls "$work"/ibmvmc-*.tgz | xargs -n1 basename))"
else
  log "packed package: install or load FAILED on emulated ppc64le"
  install_failed=1
fi

# Suites left out unless IBMVMC_POWER_ALL=1: the fault matrix and the fuzzers
# start a fake device per case (5 s each here) and the short soak streams
# thousands of messages; all check the library's TypeScript policy, which
# npm test runs natively, and here they would double the time. The bench's
# tiny run only checks that the bench script works, which is no POWER question.
# The broker's own suites are TypeScript policy too (one of them streams
# 80,000 echoes); the broker still runs here under the client suite
# (test/client/client-fake.test.ts runs every test through it) and the CLI's
# --broker tests. The package's checks (pack, installs, TypeDoc), the docs'
# CI recipes, the examples (three test runners) and the fake's lifecycle
# under npm/npx are about packaging and processes, not POWER; the packed
# package's install on ppc64le is checked above.
suites_left_out=(/test/faults/ /test/fuzz/ /test/soak/ /test/bench/ /test/broker/
  /test/package/ /test/docs/ /test/examples/ /test/cli/fake-device-lifecycle.test.ts)
jest_args=(-i --ci --testTimeout=180000 --cacheDirectory="$cache/jest-cache")
# Tests left out here (shown as skipped in the counts), each for a reason that
# is the emulator's: the pipelining test counts EBUSY retries, which its 1 ms
# back-off timers make several times more frequent when everything else runs
# 15 times slower.
skips=('pipelining: with every buffer in flight')
jest_args+=(-t "^(?![\\s\\S]*($(IFS='|'; echo "${skips[*]}")))")
# The real driver's suites boot a POWER guest of their own: the next step of test:power.
ignore=(/test/real-driver/)
[ "${IBMVMC_POWER_ALL:-}" = 1 ] || ignore+=("${suites_left_out[@]}")
[ "${IBMVMC_POWER_SKIP_CONTRACT:-}" = 1 ] && ignore+=(/test/contract/)
jest_args+=(--testPathIgnorePatterns "${ignore[@]}")
# The tests' own waits stretch by this factor (test/helpers/time-scale.ts).
export IBMVMC_TEST_TIME_SCALE="${IBMVMC_TEST_TIME_SCALE:-15}"
# For the few tests that see the emulator itself (qemu-user fails an ioctl it does not know with ENOSYS).
export IBMVMC_TEST_QEMU_USER=1
# A fake starts in seconds here, and shards load the machine: 10 s is too tight.
export IBMVMC_FAKE_START_TIMEOUT_MS="${IBMVMC_FAKE_START_TIMEOUT_MS:-60000}"

# jest <name> <jest arguments ...>: one emulated Jest in band (no workers),
# output in jest-<name>.log, results in results-<name>.json.
limit="${IBMVMC_POWER_TIMEOUT:-1500}"
jest() {
  local name="$1"
  shift
  local c=0
  (cd "$pkg" && exec timeout "$limit" node node_modules/jest/bin/jest.js "${jest_args[@]}" \
    --json --outputFile="$work/results-$name.json" "$@") >"$work/jest-$name.log" 2>&1 || c=$?
  [ $c -ne 124 ] || log "jest $name was stopped after $limit s"
  return $c
}

# As many shards as there are cores. A fake device takes seconds to start
# here and shards load the machine further: suites that
# fail are run once more, alone, and reported as such.
shards="${IBMVMC_POWER_SHARDS:-$(nproc)}"
log "jest ${jest_args[*]} $* under qemu-ppc64le, $shards shard(s) (logs: $work/jest-*.log)"
jest_started=$(date +%s)
pids=()
for k in $(seq 1 "$shards"); do
  if [ "$shards" -gt 1 ]; then
    jest "$k" --shard="$k/$shards" --passWithNoTests "$@" &
  else
    jest "$k" "$@" &
  fi
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
mapfile -t failed_suites < <("$host_node" -e '
  for (const f of process.argv.slice(1)) {
    try {
      for (const s of JSON.parse(require("fs").readFileSync(f, "utf8")).testResults)
        if (s.status === "failed") console.log(s.name);
    } catch {}
  }' "$work"/results-[0-9]*.json)
if [ ${#failed_suites[@]} -gt 0 ] && [ "${IBMVMC_POWER_RETRY:-1}" = 1 ]; then
  log "running ${#failed_suites[@]} failed suite(s) again, alone: ${failed_suites[*]#"$pkg"/}"
  jest retry --runTestsByPath "${failed_suites[@]}" || true
fi
jest_seconds=$(($(date +%s) - jest_started))

code=0
"$host_node" - "$work" "$shards" "$jest_seconds" "$(($(date +%s) - started))" <<'JS' || code=1
const fs = require('node:fs');
const path = require('node:path');
const [work, shards, jestSeconds, totalSeconds] = process.argv.slice(2);
const read = (name) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(work, `results-${name}.json`), 'utf8')).testResults;
  } catch {
    return undefined;
  }
};
const bySuite = new Map();
let complete = true;
for (let k = 1; k <= Number(shards); k++) {
  const results = read(k);
  if (results === undefined) {
    complete = false;
    console.log(`test-emulated: shard ${k} left no results; the end of its log:`);
    console.log(fs.readFileSync(path.join(work, `jest-${k}.log`), 'utf8').split('\n').slice(-40).join('\n'));
  } else for (const s of results) bySuite.set(s.name, { first: s });
}
for (const s of read('retry') ?? []) bySuite.get(s.name).retry = s;

const tally = (s) => {
  const n = { passed: 0, failed: 0, skipped: 0 };
  for (const a of s.assertionResults) n[a.status === 'passed' ? 'passed' : a.status === 'failed' ? 'failed' : 'skipped']++;
  return n;
};
const failures = (s) => {
  for (const a of s.assertionResults.filter((x) => x.status === 'failed')) {
    console.log(`      failed: ${a.fullName}`);
    const message = a.failureMessages.join('\n').split('\n').filter((l) => l.trim());
    console.log(message.slice(0, 10).map((l) => `        ${l}`).join('\n'));
  }
  if (s.assertionResults.length === 0 && s.message)
    console.log(s.message.split('\n').filter((l) => l.trim()).slice(0, 10).map((l) => `      ${l}`).join('\n'));
};
const count = { passed: 0, failed: 0, skipped: 0 };
let failedSuites = 0;
const retried = [];
for (const [name, { first, retry }] of [...bySuite].sort(([a], [b]) => a.localeCompare(b))) {
  const final = retry ?? first;
  const n = tally(final);
  for (const key of Object.keys(count)) count[key] += n[key];
  // 'focused' is the status of a suite some of whose tests -t left out.
  const bad = final.status === 'failed' || n.failed > 0;
  if (bad) failedSuites++;
  const secs = ((final.endTime - final.startTime) / 1000).toFixed(1);
  const skipped = n.skipped ? `, ${n.skipped} skipped` : '';
  const rel = path.relative(path.join(work, 'package'), name);
  const note = retry ? ` [failed ${tally(first).failed} with the shards running, ${bad ? 'failed again' : 'passed'} alone]` : '';
  console.log(`  ${bad ? 'FAIL' : 'PASS'} ${rel}: ${n.passed} passed, ${n.failed} failed${skipped} (${secs} s)${note}`);
  if (retry) {
    retried.push(rel);
    console.log('    with the shards running:');
    failures(first);
    if (bad) console.log('    alone:');
  }
  if (bad) failures(final);
}
console.log(
  `test-emulated: ${bySuite.size - failedSuites}/${bySuite.size} suites passed; ` +
    `${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped` +
    (retried.length ? `; ${retried.length} suite(s) run again alone` : '') +
    ` (jest ${jestSeconds} s, total ${totalSeconds} s)`,
);
process.exit(complete && failedSuites === 0 ? 0 : 1);
JS
[ -z "${install_failed:-}" ] || code=1
exit "$code"
