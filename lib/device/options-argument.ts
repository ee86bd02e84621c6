/**
 * The check every public call taking an options object makes first. It lives
 * on the lowest floor that uses it (the device); the session and the client
 * above import it from here.
 */
import { InvalidArgumentError } from '../errors/error-classes';

/** Validates an options argument: an object, or undefined for none. */
export function validateOptions<T extends object>(value: T | undefined, what: string): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null)
    throw new InvalidArgumentError(
      `the options of ${what} must be an object, got ${value === null ? 'null' : typeof value}`,
      { code: 'ERR_INVALID_ARG_TYPE' },
    );
  return value;
}
