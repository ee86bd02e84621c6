/**
 * Round-trip statistics for ping: min, median, p99 and max.
 */

/** Statistics of a set of round trips, in milliseconds; all null when there were none. */
export interface RoundTripStats {
  readonly min: number | null;
  readonly median: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/**
 * Min, median (the mean of the middle two for an even count), p99 (nearest
 * rank: the smallest value at least 99 % of the samples do not exceed) and max.
 *
 * @param samples - Round trips in milliseconds, in any order.
 */
export function roundTripStats(samples: readonly number[]): RoundTripStats {
  if (samples.length === 0) return { min: null, median: null, p99: null, max: null };
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const middle = Math.floor(n / 2);
  return {
    min: sorted[0],
    median: n % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2,
    p99: sorted[Math.ceil(0.99 * n) - 1],
    max: sorted[n - 1],
  };
}

/** Milliseconds for people: three decimals below 10 ms, fewer above. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 10 ? ms.toFixed(3) : ms < 1000 ? ms.toFixed(1) : ms.toFixed(0);
}
