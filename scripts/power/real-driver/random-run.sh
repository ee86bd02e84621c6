#!/usr/bin/env bash
# The long seeded random differential run: many random sequences, each played
# against the fake and against the real driver in a POWER guest; a difference
# fails and is printed as the shortest sequence that still shows it.
#
#   scripts/power/real-driver/random-run.sh [--seed N] [--runs N] [--steps N]
#
# Defaults: seeds from the current time (printed, so a failure can be
# replayed with --seed), 200 runs of 60 steps (about 70 minutes on 2 cores:
# some 20 s a sequence).
# The short run in CI is test/real-driver/random-run.test.ts with its defaults.
set -euo pipefail
seed="$(($(date +%s) % 1000000))"
runs=200
steps=60
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "random-run: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
echo "random-run: seeds $seed..$((seed + runs - 1)), $steps steps each"
IBMVMC_RANDOM_SEED="$seed" IBMVMC_RANDOM_RUNS="$runs" IBMVMC_RANDOM_STEPS="$steps" \
  IBMVMC_REAL_DRIVER_TIMEOUT="$((1800 + runs * steps * 3))" \
  exec "$(dirname "$0")/run.sh" test/real-driver/random-run.test.ts
