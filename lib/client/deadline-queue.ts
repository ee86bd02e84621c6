import { performance } from 'node:perf_hooks';

/** An item's place in a {@link DeadlineQueue}; pass it back to `delete`. */
export interface DeadlineEntry<T> {
  readonly item: T;
  /** When it expires, on the `performance.now()` clock. */
  readonly deadline: number;
  /** Its index in the heap; -1 once it has left. */
  index: number;
}

/**
 * Deadlines of many items on one timer: `onExpire` is called for each item
 * whose deadline passes, earliest first, unless it was deleted before.
 *
 * A timer per item costs a few microseconds per request: Node builds and
 * drops its timer list and libuv timer whenever the only timer is set and
 * cleared. Here the timer stays set for the earliest deadline and is not
 * touched when items leave; if it fires with nothing due it sets itself for
 * the new earliest. It is unref'd: what keeps the process alive is the work
 * the items stand for, not their deadlines.
 */
export class DeadlineQueue<T> {
  readonly #onExpire: (item: T) => void;
  /** A binary min-heap on `deadline`. */
  readonly #heap: DeadlineEntry<T>[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is set for; Infinity when it is not set. */
  #timerAt = Infinity;

  constructor(onExpire: (item: T) => void) {
    this.#onExpire = onExpire;
  }

  /** How many items wait for their deadline. */
  get size(): number {
    return this.#heap.length;
  }

  /** Expires `item` after `timeoutMs` (finite, ≥ 0) unless deleted first. */
  add(item: T, timeoutMs: number): DeadlineEntry<T> {
    const entry: DeadlineEntry<T> = {
      item,
      deadline: performance.now() + timeoutMs,
      index: this.#heap.length,
    };
    this.#heap.push(entry);
    this.#siftUp(entry.index);
    if (entry.deadline < this.#timerAt) this.#setTimer(entry.deadline);
    return entry;
  }

  /** Takes an entry out; nothing happens if it has left already. */
  delete(entry: DeadlineEntry<T>): void {
    const index = entry.index;
    if (index < 0) return;
    entry.index = -1;
    const last = this.#heap.pop() as DeadlineEntry<T>;
    if (last === entry) return;
    this.#heap[index] = last;
    last.index = index;
    this.#siftDown(index);
    this.#siftUp(last.index);
  }

  /** Forgets every item and stops the timer. */
  clear(): void {
    for (const entry of this.#heap) entry.index = -1;
    this.#heap.length = 0;
    this.#stopTimer();
  }

  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    // onExpire may add or delete entries: look at the heap afresh each time.
    while (this.#heap.length > 0 && this.#heap[0].deadline <= now) {
      const first = this.#heap[0];
      this.delete(first);
      this.#onExpire(first.item);
    }
    if (this.#heap.length > 0 && this.#heap[0].deadline < this.#timerAt)
      this.#setTimer(this.#heap[0].deadline);
  }

  #setTimer(at: number): void {
    this.#stopTimer();
    // Never early: Node's timers count whole milliseconds from the loop's cached time.
    const delay = Math.max(1, Math.ceil(at - performance.now()));
    this.#timer = setTimeout(() => this.#expire(), delay);
    this.#timer.unref();
    this.#timerAt = at;
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const entry = heap[index];
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex];
      if (parent.deadline <= entry.deadline) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.index = index;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const entry = heap[index];
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && heap[right].deadline < heap[left].deadline ? right : left;
      if (heap[child].deadline >= entry.deadline) break;
      heap[index] = heap[child];
      heap[index].index = index;
      index = child;
    }
    heap[index] = entry;
    entry.index = index;
  }
}
