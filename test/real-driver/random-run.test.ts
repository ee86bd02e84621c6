/**
 * The seeded random differential run: random sequences of calls from one or
 * two processes (open, SETHMCID, QUERY, REQUESTVMC, reads and writes of
 * random sizes, poll, close), interleaved with hypervisor events (answers,
 * unsolicited messages, transport resets), each played against the fake on
 * this machine and against the real driver in the guest. Any difference
 * fails, printed as the shortest sub-sequence that still shows it (ddmin).
 *
 * CI plays a few sequences from fixed seeds; scripts/power/real-driver/
 * random-run.sh plays many (IBMVMC_RANDOM_SEED, IBMVMC_RANDOM_RUNS,
 * IBMVMC_RANDOM_STEPS).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { compileContractClient } from '../contract/fake-target';
import { fakeRandomTarget } from '../contract/random/fake-random-target';
import { firstDifference, playSequence } from '../contract/random/player';
import {
  formatStep,
  randomSequence,
  type RandomSequence,
  type RandomStep,
} from '../contract/random/sequence';
import { shrink } from '../contract/random/shrink';
import { bootGuest, type Guest } from './guest';
import { guestRandomTarget } from './random-target';

const FIRST_SEED = Number(process.env.IBMVMC_RANDOM_SEED ?? 1);
const RUNS = Number(process.env.IBMVMC_RANDOM_RUNS ?? 4);
const STEPS = Number(process.env.IBMVMC_RANDOM_STEPS ?? 40);
/** Replays the shrinker may spend on a difference (each plays both drivers). */
const SHRINK_TRIES = Number(process.env.IBMVMC_RANDOM_SHRINK_TRIES ?? 25);
/** A sequence's own time, and its shrinking's: a step takes well under a second in the guest. */
const SEQUENCE_TIMEOUT_MS = 120_000 + STEPS * 2_000 * (1 + SHRINK_TRIES);

let guest: Guest;
let workDir: string;
let executable: string;
const report: string[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-random-run-'));
  executable = path.join(workDir, 'random_ops');
  compileContractClient(executable, 'random_ops.c');
  guest = await bootGuest({ name: 'random', adapter: true });
});

afterAll(async () => {
  await guest?.stopAll();
  rmSync(workDir, { recursive: true, force: true });
  if (report.length === 0) return;
  const file = path.join(guest?.inputs.cache ?? tmpdir(), 'random-run.md');
  writeFileSync(file, `${report.join('\n')}\n`);
  process.stdout.write(`\n${report.join('\n')}\n(also in ${file})\n`);
});

/** Both transcripts of a sequence. */
async function playBoth(sequence: RandomSequence): Promise<{ fake: string[]; real: string[] }> {
  const fake = await playSequence(sequence, fakeRandomTarget(executable));
  const real = await playSequence(sequence, guestRandomTarget(guest));
  return { fake, real };
}

/** Two transcripts side by side, the differing lines marked. */
function sideBySide(fake: readonly string[], real: readonly string[]): string {
  const rows = [];
  for (let i = 0; i < Math.max(fake.length, real.length); i++) {
    const mark = fake[i] === real[i] ? ' ' : '≠';
    rows.push(`${mark} fake: ${fake[i] ?? '(none)'}\n  real: ${real[i] ?? '(none)'}`);
  }
  return rows.join('\n');
}

const seeds = Array.from({ length: RUNS }, (_, i) => FIRST_SEED + i);

describe('random sequences, the same on the fake and on the real driver', () => {
  it.each(seeds)(
    'seed %i',
    async (seed) => {
      const sequence = randomSequence(seed, STEPS);
      const { fake, real } = await playBoth(sequence);
      const at = firstDifference(fake, real);
      const setup = JSON.stringify(sequence.options);
      if (at === -1) {
        const ok = (l: string) => / = (0|[1-9]\d*( fnv=\S+)?)$/.test(l);
        const read = (l: string) => / read \d+ = [1-9]\d* fnv=/.test(l);
        report.push(
          `seed ${seed} ${setup}: ${STEPS} steps the same ` +
            `(${fake.filter(ok).length} calls succeeded, ${fake.filter(read).length} messages read)`,
        );
        expect(real).toHaveLength(STEPS);
        return;
      }
      // Shrink: a candidate fails when the two drivers differ on it.
      const fails = async (steps: readonly RandomStep[]) => {
        const both = await playBoth({ ...sequence, steps });
        return firstDifference(both.fake, both.real) !== -1;
      };
      // The steps after the first difference cannot matter: shrinking starts without them.
      const upToDifference = sequence.steps.slice(0, at + 1);
      const shortest = await shrink(upToDifference, fails, { maxTries: SHRINK_TRIES });
      const replay = await playBoth({ ...sequence, steps: shortest.items });
      const lines = [
        `seed ${seed} ${setup}: differs at step ${at + 1} of ${STEPS}`,
        `shortest sequence that still differs (${shortest.items.length} steps, ${shortest.tries} replays` +
          `${shortest.exhausted ? ', may shrink further' : ''}):`,
        ...shortest.items.map((s) => `  ${formatStep(s)}`),
        sideBySide(replay.fake, replay.real),
      ];
      report.push(lines.join('\n'));
      throw new Error(lines.join('\n'));
    },
    SEQUENCE_TIMEOUT_MS,
  );
});
