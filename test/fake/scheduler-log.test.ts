/**
 * The manual scheduler the model tests run on, and the bounded log.
 */
import { FakeLog, formatLogEntry } from '../../lib/fake/log';
import { ManualScheduler, RealScheduler } from '../../lib/fake/scheduler';
import { TIME_SCALE } from '../helpers/time-scale';

describe('ManualScheduler', () => {
  it('runs deferred steps FIFO and timers at their time, only when told', () => {
    const s = new ManualScheduler();
    const order: string[] = [];
    s.after(10, () => order.push('t10'));
    s.defer(() => order.push('d1'));
    s.after(5, () => order.push('t5'));
    const cancel = s.after(7, () => order.push('cancelled'));
    s.defer(() => order.push('d2'));
    expect(order).toEqual([]);
    s.runDue();
    expect(order).toEqual(['d1', 'd2']);
    cancel();
    s.advance(6);
    expect(order).toEqual(['d1', 'd2', 't5']);
    expect(s.now()).toBe(6);
    s.runAll();
    expect(order).toEqual(['d1', 'd2', 't5', 't10']);
    expect(s.now()).toBe(10);
    expect(s.step()).toBe(false);
  });
});

describe('RealScheduler', () => {
  it('runs steps soon and leaves nothing behind once disposed', async () => {
    const s = new RealScheduler();
    const order: string[] = [];
    s.defer(() => order.push('defer'));
    s.after(1, () => order.push('timer'));
    s.after(60_000, () => order.push('never'));
    await new Promise((r) => setTimeout(r, 20 * TIME_SCALE));
    // Which of the two runs first depends on how long this loop turn took.
    expect([...order].sort()).toEqual(['defer', 'timer']);
    const ran = [...order];
    s.dispose();
    s.defer(() => order.push('after dispose'));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(ran);
  });

  it('runs a chain of deferred steps in one turn, in order', async () => {
    const s = new RealScheduler();
    const order: string[] = [];
    s.defer(() => {
      order.push('a');
      s.defer(() => {
        order.push('b');
        s.defer(() => order.push('c'));
      });
    });
    s.defer(() => order.push('a2'));
    // Queued after the first step: one turn per link would let it run before 'b'.
    setImmediate(() => order.push('next turn'));
    await new Promise((r) => setTimeout(r, 20 * TIME_SCALE));
    expect(order).toEqual(['a', 'a2', 'b', 'c', 'next turn']);
    s.dispose();
  });

  it('lets other work run between batches of a step that keeps deferring itself', async () => {
    const s = new RealScheduler();
    let steps = 0;
    const again = (): void => {
      steps++;
      s.defer(again);
    };
    s.defer(again);
    const stepsBeforeOtherWork = await new Promise<number>((r) => setImmediate(() => r(steps)));
    expect(stepsBeforeOtherWork).toBeGreaterThan(0);
    expect(stepsBeforeOtherWork).toBeLessThanOrEqual(RealScheduler.BATCH_LIMIT);
    s.dispose();
    const atDispose = steps;
    await new Promise((r) => setTimeout(r, 20 * TIME_SCALE));
    expect(steps).toBe(atDispose);
  });
});

describe('FakeLog', () => {
  it('keeps the most recent entries up to its limit, and channel entries only when asked', () => {
    const log = new FakeLog(3);
    for (let i = 0; i < 5; i++) log.add({ at: i, kind: 'note', source: 'driver', text: `n${i}` });
    log.add({ at: 9, kind: 'state', state: 3 });
    expect(log.entries().map((e) => e.at)).toEqual([2, 3, 4]);
    log.configure(3, true, false);
    log.add({ at: 10, kind: 'state', state: 3 });
    expect(log.entries().map((e) => e.at)).toEqual([3, 4, 10]);
    log.clear();
    expect(log.entries()).toEqual([]);
    expect(new FakeLog().enabled).toBe(false);
  });

  it('formats entries on one line', () => {
    expect(
      formatLogEntry({ at: 1.5, kind: 'call', fd: 2, call: 'write', arg: 10, result: -16 }),
    ).toMatch(/fd2 write\(10\) = EBUSY$/);
  });
});
