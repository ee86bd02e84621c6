/**
 * Where the fake's asynchronous steps run. The real driver and hypervisor act
 * concurrently with user space (a tasklet, the firmware); the fake models that
 * with deferred steps and timers, all taken from a Scheduler so that tests can
 * swap in {@link ManualScheduler} and step the model deterministically.
 */

/** Cancels a step scheduled with {@link Scheduler.after}; harmless once it ran. */
export type Cancel = () => void;

/** The clock and the queue of deferred steps the fake model runs on. */
export interface Scheduler {
  /** The current time in milliseconds (only differences matter). */
  now(): number;
  /** Runs `fn` soon, after the current call has returned, in FIFO order. */
  defer(fn: () => void): void;
  /** Runs `fn` after `ms` milliseconds (`0` behaves as {@link defer}). */
  after(ms: number, fn: () => void): Cancel;
}

/**
 * The scheduler of a running fake: `setImmediate` and `setTimeout`, so that
 * socket I/O interleaves with the model as it would with a real device.
 * Deferred steps run in batches, one `setImmediate` per loop turn: a step
 * deferred while a batch runs joins that batch, so a chain of steps (a
 * write's message through the CRQ to the hypervisor and its answer back to
 * the driver) finishes in the turn that started it instead of one turn per
 * link, each a trip through the event loop's poll (measured: every echo path
 * faster at 64 B and 1 KiB, the Node paths at 4 KiB too). Tracks what is
 * pending so that {@link dispose} leaves no handle behind.
 */
export class RealScheduler implements Scheduler {
  /** Most steps one batch runs; the rest wait a turn, so a step that keeps deferring itself cannot starve socket I/O. */
  static readonly BATCH_LIMIT = 1000;
  private readonly timeouts = new Set<NodeJS.Timeout>();
  private deferred: Array<() => void> = [];
  private batch: NodeJS.Immediate | undefined;
  private disposed = false;

  now(): number {
    return performance.now();
  }

  defer(fn: () => void): void {
    if (this.disposed) return;
    this.deferred.push(fn);
    this.batch ??= setImmediate(this.runBatch);
  }

  // `batch` stays set while the batch runs, so that steps deferred meanwhile join it.
  private readonly runBatch = (): void => {
    try {
      for (let ran = 0; ran < RealScheduler.BATCH_LIMIT && !this.disposed; ran++) {
        const fn = this.deferred.shift();
        if (fn === undefined) break;
        fn();
      }
    } finally {
      this.batch =
        this.deferred.length > 0 && !this.disposed ? setImmediate(this.runBatch) : undefined;
    }
  };

  after(ms: number, fn: () => void): Cancel {
    if (this.disposed) return noop;
    if (ms <= 0) {
      let cancelled = false;
      this.defer(() => {
        if (!cancelled) fn();
      });
      return () => {
        cancelled = true;
      };
    }
    const handle = setTimeout(() => {
      this.timeouts.delete(handle);
      fn();
    }, ms);
    this.timeouts.add(handle);
    return () => {
      clearTimeout(handle);
      this.timeouts.delete(handle);
    };
  }

  /** Cancels everything pending; later calls schedule nothing. */
  dispose(): void {
    this.disposed = true;
    if (this.batch) clearImmediate(this.batch);
    this.batch = undefined;
    this.deferred = [];
    for (const handle of this.timeouts) clearTimeout(handle);
    this.timeouts.clear();
  }
}

interface ManualTask {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A scheduler with a virtual clock, for tests of the model: nothing runs until
 * the test says so, and time moves only when the test advances it.
 */
export class ManualScheduler implements Scheduler {
  private time = 0;
  private seq = 0;
  private tasks: ManualTask[] = [];

  now(): number {
    return this.time;
  }

  defer(fn: () => void): void {
    this.push(this.time, fn);
  }

  after(ms: number, fn: () => void): Cancel {
    const task = this.push(this.time + Math.max(0, ms), fn);
    return () => {
      task.cancelled = true;
    };
  }

  /** Number of steps waiting (due now or later). */
  get pending(): number {
    return this.tasks.filter((t) => !t.cancelled).length;
  }

  /**
   * Runs every step due now, including steps they defer, without moving the
   * clock. Throws if it does not settle (a step that keeps deferring itself).
   */
  runDue(limit = 100_000): void {
    for (let i = 0; i < limit; i++) {
      const task = this.nextDue(this.time);
      if (task === undefined) return;
      task.fn();
    }
    throw new Error(`ManualScheduler: still busy after ${limit} steps`);
  }

  /**
   * Runs the single earliest step due now, if any, without moving the clock.
   *
   * @returns false when nothing was due.
   */
  step(): boolean {
    const task = this.nextDue(this.time);
    if (task === undefined) return false;
    task.fn();
    return true;
  }

  /** Moves the clock forward by `ms`, running each step at its time. */
  advance(ms: number): void {
    const end = this.time + ms;
    this.runDue();
    for (;;) {
      const task = this.nextDue(end);
      if (task === undefined) break;
      this.time = Math.max(this.time, task.at);
      task.fn();
      this.runDue();
    }
    this.time = end;
  }

  /** Runs everything, moving the clock to each timer in turn, until nothing is left. */
  runAll(limit = 100_000): void {
    for (let i = 0; i < limit; i++) {
      const task = this.nextDue(Infinity);
      if (task === undefined) return;
      this.time = Math.max(this.time, task.at);
      task.fn();
    }
    throw new Error(`ManualScheduler: still busy after ${limit} steps`);
  }

  private push(at: number, fn: () => void): ManualTask {
    const task: ManualTask = { at, seq: this.seq++, fn, cancelled: false };
    this.tasks.push(task);
    return task;
  }

  /** Removes and returns the earliest live task due by `limit`, FIFO among equals. */
  private nextDue(limit: number): ManualTask | undefined {
    this.tasks = this.tasks.filter((t) => !t.cancelled);
    let best: ManualTask | undefined;
    for (const task of this.tasks) {
      if (task.at > limit) continue;
      if (best === undefined || task.at < best.at || (task.at === best.at && task.seq < best.seq))
        best = task;
    }
    if (best !== undefined) this.tasks.splice(this.tasks.indexOf(best), 1);
    return best;
  }
}

function noop(): void {}
