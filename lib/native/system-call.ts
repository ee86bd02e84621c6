import { fromSystemError, isSystemError } from '../errors/from-system-error';
import { debug } from '../debug';

/**
 * Runs one native call; a system error comes out as the typed error that says
 * what happened and what to do.
 */
export function systemCall<T>(devicePath: string, what: string, call: () => T): T {
  try {
    const result = call();
    debug('%s %s: %s', what, devicePath, describe(result));
    return result;
  } catch (error) {
    if (!isSystemError(error)) throw error;
    debug('%s on %s failed: %s', what, devicePath, error.code);
    throw fromSystemError(error, devicePath);
  }
}

/** The same for a native call that returns a promise. */
export async function asyncSystemCall<T>(
  devicePath: string,
  what: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    const result = await call();
    debug('%s %s: %s', what, devicePath, describe(result));
    return result;
  } catch (error) {
    if (!isSystemError(error)) throw error;
    debug('%s on %s failed: %s', what, devicePath, error.code);
    throw fromSystemError(error, devicePath);
  }
}

function describe(result: unknown): string {
  if (result === null) return 'would block';
  if (typeof result === 'object') return 'ok';
  return String(result ?? 'ok');
}
