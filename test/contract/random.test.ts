/**
 * The random differential run's own machinery, on the fake only: sequences
 * are reproducible from their seed, the shrinker finds a minimal failing
 * sequence, and a sequence played twice on the fake gives the same
 * transcript (so a difference against the real driver means something).
 * The run itself is test/real-driver/random-run.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TIME_SCALE } from '../helpers/time-scale';
import { compileContractClient } from './fake-target';
import { fakeRandomTarget } from './random/fake-random-target';
import { firstDifference, playSequence } from './random/player';
import { formatStep, randomSequence } from './random/sequence';
import { shrink } from './random/shrink';

let workDir: string;
let executable: string;

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-random-'));
  executable = path.join(workDir, 'random_ops');
  compileContractClient(executable, 'random_ops.c');
});

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('random sequences', () => {
  it('are the same for the same seed and differ between seeds', () => {
    const a = randomSequence(7, 50).steps.map(formatStep);
    expect(randomSequence(7, 50).steps.map(formatStep)).toEqual(a);
    expect(randomSequence(8, 50).steps.map(formatStep)).not.toEqual(a);
    expect(a).toHaveLength(50);
  });

  it('use every kind of step', () => {
    const lines = [1, 2, 3, 4].flatMap((seed) => randomSequence(seed, 60).steps.map(formatStep));
    for (const kind of [
      /^\d open$/,
      /^\d close$/,
      /^\d sethmcid \d$/,
      /^\d query$/,
      /^\d requestvmc$/,
      /^\d write \d+ \d+$/,
      /^\d read \d+$/,
      /^\d poll$/,
      /^1 /,
      /^hv answer$/,
      /^hv inject \d \d+ \d+$/,
      /^hv reset$/,
    ]) {
      expect(lines.some((l) => kind.test(l))).toBe(true);
    }
  });
});

describe('shrink', () => {
  it('finds the two steps that together fail', async () => {
    const items = Array.from({ length: 40 }, (_, i) => i);
    const result = await shrink(items, async (c) => c.includes(3) && c.includes(31));
    expect(result.items).toEqual([3, 31]);
    expect(result.exhausted).toBe(false);
  });

  it('stops after maxTries with the shortest failing list so far', async () => {
    const items = Array.from({ length: 64 }, (_, i) => i);
    const result = await shrink(items, async (c) => c.includes(5), { maxTries: 3 });
    expect(result.tries).toBe(3);
    expect(result.exhausted).toBe(true);
    expect(result.items).toContain(5);
    expect(result.items.length).toBeLessThan(64);
  });
});

describe('a sequence on the fake', () => {
  it(
    'gives the same transcript twice, with messages passed both ways',
    async () => {
      const transcripts: string[] = [];
      for (const seed of [1, 2, 3]) {
        const sequence = randomSequence(seed, 30);
        const first = await playSequence(sequence, fakeRandomTarget(executable));
        const second = await playSequence(sequence, fakeRandomTarget(executable));
        expect(first).toHaveLength(30);
        expect({ seed, at: firstDifference(first, second), first }).toEqual({
          seed,
          at: -1,
          first: second,
        });
        transcripts.push(...first);
      }
      // Not vacuous: sessions bound, written to, and answers read back.
      expect(transcripts.some((l) => / sethmcid \d = 0$/.test(l))).toBe(true);
      expect(transcripts.some((l) => / write [1-9]\d* \d+ = [1-9]\d*$/.test(l))).toBe(true);
      expect(transcripts.some((l) => / read \d+ = [1-9]\d* fnv=/.test(l))).toBe(true);
      expect(transcripts.some((l) => /^hv answer = slot/.test(l))).toBe(true);
    },
    60_000 * TIME_SCALE,
  );
});
