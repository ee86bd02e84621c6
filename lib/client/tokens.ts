/**
 * Correlation tokens: the only thing that ties an answer to its request.
 *
 * A token is never handed out while it is in use, and a token whose request
 * was abandoned (timed out, aborted) is remembered for a while: its answer
 * may still come, and it must then be recognised as late, not taken for the
 * answer to a new request that happened to get the same number.
 */

const TOKEN_MAX = 0xffffffff;

/** How many abandoned tokens are remembered; the oldest are forgotten first. */
export const DEFAULT_ABANDONED_MEMORY = 4096;

/** Hands out 32-bit correlation tokens, unique among those in use or recently abandoned. */
export class TokenAllocator {
  #next: number;
  readonly #inUse = new Set<number>();
  // A Set keeps insertion order, so its first entry is the oldest to forget.
  readonly #abandoned = new Set<number>();
  readonly #memory: number;

  /**
   * @param first - The first token to try (default 1; 0 is skipped because
   *   peers use it in messages that answer nothing).
   * @param memory - How many abandoned tokens to remember.
   */
  constructor(first = 1, memory = DEFAULT_ABANDONED_MEMORY) {
    this.#next = first;
    this.#memory = memory;
  }

  /** Tokens currently in use. */
  get inUse(): number {
    return this.#inUse.size;
  }

  /** A token not in use and not recently abandoned; it is in use until released. */
  take(): number {
    // The loop ends: at most a few thousand tokens are ever unavailable out of 2^32.
    for (;;) {
      const token = this.#next;
      this.#next = token >= TOKEN_MAX ? 1 : token + 1;
      if (token === 0 || this.#inUse.has(token) || this.#abandoned.has(token)) continue;
      this.#inUse.add(token);
      return token;
    }
  }

  /** The request is done (answered, or it never went out): the token may be reused. */
  release(token: number): void {
    this.#inUse.delete(token);
  }

  /** The request was given up while its answer may still come: remember the token. */
  abandon(token: number): void {
    this.#inUse.delete(token);
    this.#abandoned.add(token);
    if (this.#abandoned.size > this.#memory) {
      const oldest = this.#abandoned.values().next().value;
      if (oldest !== undefined) this.#abandoned.delete(oldest);
    }
  }

  /**
   * Whether `token` belongs to an abandoned request; if so it is forgotten,
   * since its one answer has now come.
   */
  claimAbandoned(token: number): boolean {
    return this.#abandoned.delete(token);
  }
}
