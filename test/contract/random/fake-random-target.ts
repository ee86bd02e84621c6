/**
 * The fake device as a random-run target: a fresh fake per sequence with the
 * held-messages handler, random_ops (compiled for this machine) through the
 * preload shim.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startFakeDevice, type FakeDeviceHandle } from '../../../lib/fake/index';
import { TIME_SCALE } from '../../helpers/time-scale';
import { HeldMessages } from './held-messages';
import type { RandomTarget } from './player';
import type { RandomSequence } from './sequence';

/** How long a step may take to show all its effects on the fake (ms; stretched under emulation). */
const FAKE_SETTLE_MS = 40 * TIME_SCALE;
/** A call that has not answered by then is a hang (a difference in itself). */
const CALL_TIMEOUT_MS = 10_000 * TIME_SCALE;

/** Answers of a line-per-call process, awaited one at a time. */
export class LineReplies {
  private readonly lines: string[] = [];
  private waiter: ((line: string) => void) | undefined;

  /** Feeds a line the process printed. */
  push(line: string): void {
    if (this.waiter === undefined) this.lines.push(line);
    else {
      const w = this.waiter;
      this.waiter = undefined;
      w(line);
    }
  }

  /** The next line, or an error after `timeoutMs`. */
  next(timeoutMs: number, what: string): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no answer to "${what}" in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
    });
  }
}

/** A random-run target on the fake device; `executable` is random_ops built for this machine. */
export function fakeRandomTarget(executable: string): RandomTarget {
  let fake: FakeDeviceHandle | undefined;
  let child: ChildProcessWithoutNullStreams | undefined;
  let replies = new LineReplies();
  let held = new HeldMessages();
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const device = (): FakeDeviceHandle => {
    if (fake === undefined) throw new Error('begin() first');
    return fake;
  };
  return {
    async begin(sequence: RandomSequence) {
      held = new HeldMessages();
      replies = new LineReplies();
      fake = await startFakeDevice({ ...sequence.options, reinitializeAfterMs: 0 });
      await fake.setHandler(held.handler);
      child = spawn(executable, [], { env: { ...process.env, ...fake.env } });
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => replies.push(line));
      child.stderr.resume();
    },
    async call(line) {
      child?.stdin.write(`${line}\n`);
      return replies.next(CALL_TIMEOUT_MS, line);
    },
    answer: () => held.answerOldest(),
    inject: (slot, data) => device().inject(slot, data),
    async reset() {
      await device().reset({ reinitializeAfterMs: 0 });
      const deadline = Date.now() + CALL_TIMEOUT_MS;
      while ((await device().state()).stateName !== 'ready') {
        if (Date.now() > deadline) throw new Error('the fake driver is not ready after a reset');
        await sleep(5);
      }
    },
    settle: () => sleep(FAKE_SETTLE_MS),
    async end() {
      const c = child;
      child = undefined;
      if (c !== undefined && c.exitCode === null) {
        const exited = new Promise((resolve) => c.once('exit', resolve));
        c.stdin.end();
        const timer = setTimeout(() => c.kill('SIGKILL'), CALL_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      held.release();
      await fake?.stop();
      fake = undefined;
    },
  };
}
