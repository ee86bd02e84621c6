/**
 * Formatting for error messages and descriptions. None of it may throw: it runs
 * while reporting bad input, and a second error there would hide the first.
 *
 * @internal Not part of the package's public API.
 */

/**
 * Formats `value` as `0x` plus at least `digits` upper-case hex digits, the way
 * the reference tables write codes, so messages match what people search for.
 * Anything but a non-negative integer is printed as-is.
 *
 * @internal
 */
export function hex(value: number, digits = 4): string {
  if (!Number.isInteger(value) || value < 0) return String(value);
  return `0x${value.toString(16).toUpperCase().padStart(digits, '0')}`;
}

/**
 * Formats bytes as upper-case hex pairs separated by spaces (`DE CA FF`).
 *
 * @internal
 */
export function hexBytes(bytes: Iterable<number>): string {
  return Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}

/**
 * Names the kind of a value a caller passed (`null`, `string`, `Uint16Array`,
 * ...). The tag lookup is guarded because a Proxy or an odd getter can throw.
 *
 * @internal
 */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object' && typeof value !== 'function') return typeof value;
  try {
    return Object.prototype.toString.call(value).slice(8, -1);
  } catch {
    return typeof value;
  }
}

/**
 * A value a caller passed, for an error message: numbers, booleans, bigints
 * and strings as they are (strings quoted, long ones cut), anything else by
 * its kind. Never throws, whatever the value: `String()` and template strings
 * throw on a Symbol, on an array holding one, and on an object without a prototype.
 *
 * @internal
 */
export function showValue(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    default:
      return kindOf(value);
  }
}
