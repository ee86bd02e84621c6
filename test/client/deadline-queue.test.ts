/**
 * The client's deadlines on one timer: order, never early, deletes, and the
 * timer set as rarely as possible (the reason the queue exists).
 */
import { performance } from 'node:perf_hooks';
import { DeadlineQueue, type DeadlineEntry } from '../../lib/client/deadline-queue';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until the queue has expired everything, or fails after `ms`. */
async function drained(queue: { readonly size: number }, ms = 2000): Promise<void> {
  const until = performance.now() + ms;
  while (queue.size > 0) {
    if (performance.now() > until) throw new Error(`${queue.size} items never expired`);
    await sleep(5);
  }
}

/** Spies on the timer functions the queue calls; restored by `restore()`. */
function spyOnTimers() {
  const set = jest.spyOn(global, 'setTimeout');
  const clear = jest.spyOn(global, 'clearTimeout');
  return {
    set,
    clear,
    restore() {
      set.mockRestore();
      clear.mockRestore();
    },
  };
}

describe('DeadlineQueue', () => {
  it('expires every item not deleted, earliest deadline first, none before its deadline', async () => {
    const expired: Array<{ entry: DeadlineEntry<number>; at: number }> = [];
    const entries: Array<DeadlineEntry<number>> = [];
    const queue = new DeadlineQueue<number>((item) =>
      expired.push({ entry: entries[item], at: performance.now() }),
    );
    // Deterministic "random" timeouts, so a failure can be replayed.
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) entries.push(queue.add(i, Math.floor(next() * 60)));
    const deleted = new Set<number>();
    for (let i = 0; i < 300; i += 1 + Math.floor(next() * 4)) {
      queue.delete(entries[i]);
      queue.delete(entries[i]); // twice is harmless
      deleted.add(i);
    }
    expect(queue.size).toBe(300 - deleted.size);
    await drained(queue);

    const expiredItems = expired.map(({ entry }) => entry.item);
    expect(new Set(expiredItems).size).toBe(expiredItems.length);
    expect(expiredItems.sort((a, b) => a - b)).toEqual(
      entries.map((entry) => entry.item).filter((item) => !deleted.has(item)),
    );
    for (let i = 1; i < expired.length; i++)
      expect(expired[i].entry.deadline).toBeGreaterThanOrEqual(expired[i - 1].entry.deadline);
    for (const { entry, at } of expired) expect(at).toBeGreaterThanOrEqual(entry.deadline);
  });

  it('sets one unref’d timer for many items, resets it only for an earlier deadline, and leaves it be as items leave', async () => {
    const timers = spyOnTimers();
    try {
      const expired: string[] = [];
      const queue = new DeadlineQueue<string>((item) => expired.push(item));
      const late = Array.from({ length: 50 }, (_, i) => queue.add(`late ${i}`, 1000 + i));
      expect(timers.set).toHaveBeenCalledTimes(1);
      expect((timers.set.mock.results[0].value as NodeJS.Timeout).hasRef()).toBe(false);
      for (const entry of late) queue.delete(entry);
      expect(timers.clear).not.toHaveBeenCalled();

      queue.add('soon', 10);
      expect(timers.clear).toHaveBeenCalledTimes(1);
      expect(timers.set).toHaveBeenCalledTimes(2);
      await drained(queue);
      expect(expired).toEqual(['soon']);
      queue.clear();
    } finally {
      timers.restore();
    }
  });

  it('when the timer finds nothing due, sets itself for the next deadline', async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue<string>((item) => expired.push(item));
    const first = queue.add('first', 10);
    const second = queue.add('second', 40);
    queue.delete(first);
    const start = performance.now();
    await drained(queue);
    expect(expired).toEqual(['second']);
    expect(performance.now()).toBeGreaterThanOrEqual(second.deadline);
    expect(performance.now() - start).toBeGreaterThanOrEqual(30);
  });

  it('gives an item added while expiring a deadline of its own', async () => {
    const expired: string[] = [];
    const queue: DeadlineQueue<string> = new DeadlineQueue<string>((item) => {
      expired.push(item);
      if (item === 'first') queue.add('added', 10);
    });
    queue.add('first', 5);
    queue.add('last', 60);
    await drained(queue);
    expect(expired).toEqual(['first', 'added', 'last']);
  });

  it('clear() forgets every item and stops the timer', async () => {
    const timers = spyOnTimers();
    try {
      const expired: string[] = [];
      const queue = new DeadlineQueue<string>((item) => expired.push(item));
      const entry = queue.add('a', 5);
      queue.add('b', 10);
      queue.clear();
      expect(timers.clear).toHaveBeenCalledWith(timers.set.mock.results[0].value);
      expect(queue.size).toBe(0);
      queue.delete(entry); // harmless once cleared
      await sleep(30);
      expect(expired).toEqual([]);
    } finally {
      timers.restore();
    }
  });
});
