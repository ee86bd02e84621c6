/**
 * Seeded random sequences for the random differential run: calls from one or
 * two processes (random_ops.c) interleaved with hypervisor events, and the
 * driver's set-up they run on. The same seed gives the same sequence, so one
 * sequence can be replayed against the fake and against the real driver.
 */
import type { FakeDeviceOptions } from '../../../lib/fake/index';

/** One step: a call by process 0 or 1, or something the hypervisor does. */
export type RandomStep =
  /** A line for random_ops.c without its process number: "write 64 7", "poll". */
  | { readonly process: 0 | 1; readonly call: string }
  /** The oldest message the hypervisor holds is answered with its own bytes (an echo). */
  | { readonly answer: true }
  /** An unsolicited message of `length` bytes (pattern `seq`) to the session on `slot`. */
  | { readonly inject: { readonly slot: number; readonly length: number; readonly seq: number } }
  /** A transport event; the hypervisor comes back at once and the driver re-initialises. */
  | { readonly reset: true };

/** A sequence and the set-up it runs on. */
export interface RandomSequence {
  readonly seed: number;
  /** Fake options: module parameters (maxHmcs, bufPoolSize) and hypervisor behaviour. */
  readonly options: FakeDeviceOptions;
  readonly steps: readonly RandomStep[];
}

/** mulberry32: small, fast, and the same everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Sizes around the edges that matter: tiny, a header, the MTU and one past it.
const WRITE_LENGTHS = [0, 1, 32, 64, 64, 300, 300, 4096, 4096, 4097];
const READ_LENGTHS = [16, 64, 4096, 4096, 4096, 4097];
const INJECT_LENGTHS = [1, 64, 4096];

/**
 * What the generator believes of a process's descriptor (it never sees
 * results); `stale`: bound before a reset, good only for closing.
 */
type Belief = 'closed' | 'open' | 'bound' | 'stale';

/**
 * The sequence of a seed: `length` steps on a driver with one or two slots and
 * a small buffer pool (so that a full pool and a busy slot happen). Calls are
 * weighted by what the generator believes each process's descriptor is, so
 * that sessions open and carry messages, while every call still happens in
 * every state now and then.
 */
export function randomSequence(seed: number, length: number): RandomSequence {
  const next = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const weighted = <T>(table: ReadonlyArray<readonly [number, () => T]>): T => {
    let roll = next() * table.reduce((sum, [weight]) => sum + weight, 0);
    for (const [weight, make] of table) {
      roll -= weight;
      if (roll < 0) return make();
    }
    return (table[table.length - 1] as readonly [number, () => T])[1]();
  };
  const processes = next() < 0.5 ? 1 : 2;
  const options: FakeDeviceOptions = {
    maxHmcs: pick([1, 2]),
    bufPoolSize: pick([1, 2, 4]),
  };
  const beliefs: Belief[] = ['closed', 'closed'];
  const weights: Record<Belief, Record<string, number>> = {
    stale: {
      open: 0.5,
      close: 10,
      sethmcid: 1,
      query: 0.5,
      requestvmc: 0.5,
      write: 1,
      read: 1,
      poll: 0.5,
    },
    closed: {
      open: 12,
      close: 1,
      sethmcid: 1,
      query: 1,
      requestvmc: 0.5,
      write: 1,
      read: 1,
      poll: 1,
    },
    open: { open: 1, close: 1, sethmcid: 10, query: 2, requestvmc: 1, write: 2, read: 2, poll: 1 },
    bound: {
      open: 0.5,
      close: 1.5,
      sethmcid: 1,
      query: 1,
      requestvmc: 0.5,
      write: 10,
      read: 3,
      poll: 2,
    },
  };
  const args: Record<string, () => string> = {
    sethmcid: () => ` ${Math.floor(next() * 3)}`,
    write: () => ` ${pick(WRITE_LENGTHS)} ${Math.floor(next() * 256)}`,
    read: () => ` ${pick(READ_LENGTHS)}`,
  };
  // Answers and injections believed to wait for a read: reads grow likelier.
  let waiting = 0;
  // Two processes: mostly the one believed bound, when only one is.
  const chooseProcess = (): 0 | 1 => {
    if (processes === 1) return 0;
    const bound = beliefs.findIndex((b) => b === 'bound');
    const onlyOne = bound !== -1 && beliefs.lastIndexOf('bound') === bound;
    if (onlyOne && next() < 0.7) return bound as 0 | 1;
    return next() < 0.5 ? 1 : 0;
  };
  const call = (): RandomStep => {
    const process = chooseProcess();
    const belief = beliefs[process] as Belief;
    const boost = (o: string, w: number) => (o === 'read' && waiting > 0 ? w * 5 : w);
    const op = weighted(
      Object.entries(weights[belief]).map(([o, w]) => [boost(o, w), () => o] as const),
    );
    if (op === 'read' && belief === 'bound') waiting = Math.max(0, waiting - 1);
    if (op === 'open' && belief === 'closed') beliefs[process] = 'open';
    if (op === 'sethmcid' && belief === 'open') beliefs[process] = 'bound';
    if (op === 'close') beliefs[process] = 'closed';
    return { process, call: `${op}${args[op]?.() ?? ''}` };
  };
  const hypervisor = (): RandomStep =>
    weighted<RandomStep>([
      [
        6,
        () => {
          waiting++;
          return { answer: true };
        },
      ],
      [
        3,
        () => {
          waiting++;
          return {
            inject: {
              slot: Math.floor(next() * 2),
              length: pick(INJECT_LENGTHS),
              seq: Math.floor(next() * 256),
            },
          };
        },
      ],
      [
        1,
        () => {
          for (let p = 0; p < 2; p++) if (beliefs[p] !== 'closed') beliefs[p] = 'stale';
          waiting = 0;
          return { reset: true };
        },
      ],
    ]);
  const steps: RandomStep[] = [];
  while (steps.length < length) {
    // The hypervisor acts mostly while a session is believed open.
    const anyBound = beliefs.includes('bound');
    steps.push(next() < (anyBound ? 0.3 : 0.08) ? hypervisor() : call());
  }
  return { seed, options, steps };
}

/** A step as one line: "0 write 64 7", "hv answer", "hv inject 0 64 3", "hv reset". */
export function formatStep(step: RandomStep): string {
  if ('call' in step) return `${step.process} ${step.call}`;
  if ('answer' in step) return 'hv answer';
  if ('inject' in step)
    return `hv inject ${step.inject.slot} ${step.inject.length} ${step.inject.seq}`;
  return 'hv reset';
}

/** The bytes random_ops.c writes for "write LEN SEQ", also used for injected messages. */
export function patternBytes(length: number, seq: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (seq * 31 + i) & 0xff;
  return bytes;
}
