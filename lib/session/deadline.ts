import { AbortError, InvalidArgumentError } from '../errors/error-classes';
import { showValue } from '../protocol/format';

/** The longest wait a Node timer can take; setTimeout fires after 1 ms for anything longer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Validates a `timeoutMs` option: a number ≥ 0, or Infinity for none. A
 * deadline further away than a timer can wait (about 24.8 days) is no deadline.
 */
export function validateTimeout(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0)
    throw new InvalidArgumentError(
      `${name} must be a number of milliseconds ≥ 0 (or Infinity), got ${showValue(value)}`,
      { code: 'ERR_INVALID_ARG_VALUE' },
    );
  return value > MAX_TIMER_MS ? Infinity : value;
}

/** Validates a `signal` option. */
export function validateSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal))
    throw new InvalidArgumentError('signal must be an AbortSignal', {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  return value;
}

/** The error an aborted operation rejects with; the signal's reason is its cause. */
export function abortError(signal: AbortSignal, what: string): AbortError {
  return new AbortError(`${what} was aborted`, { cause: signal.reason });
}

/** A point in time after which an operation gives up. */
export class Deadline {
  readonly #at: number;

  constructor(timeoutMs: number) {
    this.#at = performance.now() + timeoutMs;
  }

  /** Milliseconds left (Infinity for no deadline, never negative). */
  remaining(): number {
    return Math.max(0, this.#at - performance.now());
  }
}

/**
 * Waits `ms` (0: until the next turn of the event loop). Rejects with an
 * AbortError if the signal fires; the timer is released either way.
 */
export function delay(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, what));
    const onAbort = () => {
      cancel();
      reject(abortError(signal as AbortSignal, what));
    };
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    let cancel: () => void;
    if (ms <= 0) {
      const immediate = setImmediate(done);
      cancel = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(done, ms);
      cancel = () => clearTimeout(timer);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
