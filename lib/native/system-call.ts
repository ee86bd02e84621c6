import { fromSystemError, isSystemError } from '../errors/from-system-error';
import { debug, debugEnabled } from '../debug';

/**
 * Runs one native call; a system error comes out as the typed error that says
 * what happened and what to do.
 */
export function systemCall<T>(devicePath: string, what: string, call: () => T): T {
  try {
    return succeeded(devicePath, what, call());
  } catch (error) {
    throw failed(devicePath, what, error);
  }
}

/** The same for a native call that returns a promise. */
export async function asyncSystemCall<T>(
  devicePath: string,
  what: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return succeeded(devicePath, what, await call());
  } catch (error) {
    throw failed(devicePath, what, error);
  }
}

/** The same for a call the addon made by itself (the watcher's read): its error, or its result. */
export function systemCallOutcome<T>(
  devicePath: string,
  what: string,
  error: Error | null,
  result: T,
): T {
  if (error !== null) throw failed(devicePath, what, error);
  return succeeded(devicePath, what, result);
}

function succeeded<T>(devicePath: string, what: string, result: T): T {
  if (!debugEnabled) return result;
  const shown = result === null ? 'would block' : typeof result === 'object' ? 'ok' : result;
  debug('%s %s: %s', what, devicePath, shown ?? 'ok');
  return result;
}

function failed(devicePath: string, what: string, error: unknown): unknown {
  if (!isSystemError(error)) return error;
  debug('%s on %s failed: %s', what, devicePath, error.code);
  return fromSystemError(error, devicePath);
}
