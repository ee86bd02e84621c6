/**
 * Capped exponential back-off. The first `immediate` retries wait for no
 * timer at all (the next loop turn), because the usual wait is short: an
 * open answered within a millisecond, a buffer freed by the next read.
 */
export class Backoff {
  #attempt = 0;
  readonly #immediate: number;
  readonly #initialMs: number;
  readonly #maxMs: number;

  constructor(options: { immediate?: number; initialMs: number; maxMs: number }) {
    this.#immediate = options.immediate ?? 0;
    this.#initialMs = options.initialMs;
    this.#maxMs = options.maxMs;
  }

  /** The next delay in milliseconds (0: the next turn of the event loop). */
  next(): number {
    const attempt = this.#attempt++;
    if (attempt < this.#immediate) return 0;
    return Math.min(this.#maxMs, this.#initialMs * 2 ** (attempt - this.#immediate));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
