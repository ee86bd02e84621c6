/**
 * Where the fake and the real driver may differ in the differential run, and
 * why: each entry names the driver's function and line, and the README's
 * "Known differences" lists the same. A difference not listed here fails the
 * run; a difference where the fake is wrong is fixed in the fake instead.
 */

/** A listed difference. */
export interface KnownDifference {
  readonly scenario: string;
  /** The check's text (exact). */
  readonly check: string;
  /** Why, with the driver's function and line. */
  readonly reason: string;
}

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [];

/** The listed difference a row matches, if any. */
export function knownDifference(row: {
  readonly scenario: string;
  readonly check: string;
}): KnownDifference | undefined {
  return KNOWN_DIFFERENCES.find((k) => k.scenario === row.scenario && k.check === row.check);
}
