/**
 * Plays a random sequence against a target (the fake device here, the real
 * driver in a guest) and returns its transcript: one line per step, the step
 * and what came of it. Between steps the target settles (the driver and the
 * hypervisor have done everything the step set off), so that a transcript
 * depends on the driver's logic and not on timing.
 */
import { formatStep, patternBytes, type RandomSequence } from './sequence';

/** Where a sequence plays. */
export interface RandomTarget {
  /** A fresh driver and hypervisor set up as `sequence.options` say, and a running random_ops. */
  begin(sequence: RandomSequence): Promise<void>;
  /** Gives random_ops one line ("0 write 64 7"); resolves with its answer line. */
  call(line: string): Promise<string>;
  /** Answers the oldest held message: "slot S N bytes" or "none held". */
  answer(): string;
  /** An unsolicited message to a slot's session; false if it has none open. */
  inject(slot: number, data: Buffer): Promise<boolean>;
  /** A transport event; resolves once the driver is ready again. */
  reset(): Promise<void>;
  /** Waits until everything the last step set off has happened. */
  settle(): Promise<void>;
  /** Ends random_ops (its descriptors close) and lets held messages go. */
  end(): Promise<void>;
}

/** Plays `sequence`; a step that fails to play ends the transcript with "! reason". */
export async function playSequence(
  sequence: RandomSequence,
  target: RandomTarget,
): Promise<string[]> {
  const transcript: string[] = [];
  await target.begin(sequence);
  try {
    for (const step of sequence.steps) {
      const line = formatStep(step);
      if ('call' in step) transcript.push(await target.call(line));
      else if ('answer' in step) transcript.push(`${line} = ${target.answer()}`);
      else if ('inject' in step) {
        const { slot, length, seq } = step.inject;
        transcript.push(`${line} = ${await target.inject(slot, patternBytes(length, seq))}`);
      } else {
        await target.reset();
        transcript.push(`${line} = done`);
      }
      await target.settle();
    }
  } catch (error) {
    transcript.push(`! ${(error as Error).message}`);
  } finally {
    await target.end();
  }
  return transcript;
}

/** The first line where two transcripts differ, or -1 if they are the same. */
export function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}
