/**
 * Delta debugging (Zeller's ddmin): the shortest sub-sequence of steps that
 * still fails, found by removing chunks, halving the chunk size when no chunk
 * can go. Every try costs a replay on both drivers, so it stops after
 * `maxTries` and returns the shortest failing sequence found by then.
 */

/** Options of {@link shrink}. */
export interface ShrinkOptions {
  /** At most this many replays (default 60). */
  readonly maxTries?: number;
}

/** What {@link shrink} found. */
export interface ShrinkResult<T> {
  readonly items: readonly T[];
  readonly tries: number;
  /** Whether it stopped at `maxTries` (the result may shrink further). */
  readonly exhausted: boolean;
}

/**
 * Shrinks `items`, for which `fails` is true, to a shorter list for which it
 * is still true (1-minimal unless the tries ran out).
 */
export async function shrink<T>(
  items: readonly T[],
  fails: (candidate: readonly T[]) => Promise<boolean>,
  options: ShrinkOptions = {},
): Promise<ShrinkResult<T>> {
  const maxTries = options.maxTries ?? 60;
  let current = [...items];
  let tries = 0;
  let chunks = 2;
  while (current.length > 1) {
    const size = Math.ceil(current.length / chunks);
    let removed = false;
    for (let start = 0; start < current.length; start += size) {
      if (tries >= maxTries) return { items: current, tries, exhausted: true };
      const candidate = [...current.slice(0, start), ...current.slice(start + size)];
      tries++;
      if (candidate.length > 0 && (await fails(candidate))) {
        current = candidate;
        chunks = Math.max(chunks - 1, 2);
        removed = true;
        break;
      }
    }
    if (!removed) {
      if (size === 1) break;
      chunks = Math.min(chunks * 2, current.length);
    }
  }
  return { items: current, tries, exhausted: false };
}
