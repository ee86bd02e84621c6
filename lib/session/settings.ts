/**
 * A session's options, checked once. `open()` checks them here before any
 * system call; `connect()` does the same for the session it opens, and hands
 * the settled settings down, so nothing below checks them again.
 */
import { validateDevicePath, DEFAULT_DEVICE_PATH } from '../device/device';
import { InvalidArgumentError } from '../errors/error-classes';
import { showValue } from '../protocol/format';
import { validateSignal, validateTimeout } from './deadline';
import { encodeHmcId } from './hmc-id';
import type { SessionOptions } from './session';

/** What a session keeps of its options once open. */
export interface SessionSettings {
  readonly probeIntervalMs: number;
  readonly queueSize: number;
  readonly sendTimeoutMs: number;
  /** After a reset, how long each reconnect may take; undefined: no reconnect. */
  readonly reconnectTimeoutMs: number | undefined;
  readonly sysfsRoot: string | undefined;
}

/** A session's options, settled: where and as whom to open, and what it keeps. */
export interface OpenSettings extends SessionSettings {
  readonly path: string;
  /** The 32-byte HMC id, NUL-padded. */
  readonly hmcId: Buffer;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/**
 * Checks a session's options and fills in the defaults.
 *
 * @param options - What the caller gave `open()` (or `connect()`).
 * @throws InvalidArgumentError naming the first bad value.
 */
export function resolveSessionSettings(options: SessionOptions): OpenSettings {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('open() takes an options object with an hmcId', {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  const path = validateDevicePath(options.path ?? DEFAULT_DEVICE_PATH);
  const hmcId = encodeHmcId(options.hmcId);
  const timeoutMs = validateTimeout(options.timeoutMs, 'timeoutMs', 10_000);
  const signal = validateSignal(options.signal);
  const probeIntervalMs = validateTimeout(options.probeIntervalMs, 'probeIntervalMs', 1000);
  const sendTimeoutMs = validateTimeout(options.sendTimeoutMs, 'sendTimeoutMs', 10_000);
  const queueSize = options.queueSize ?? 8;
  if (!Number.isInteger(queueSize) || queueSize < 1)
    throw new InvalidArgumentError(`queueSize must be an integer ≥ 1, got ${showValue(queueSize)}`);
  const reconnect = options.reconnect;
  if (
    reconnect !== undefined &&
    typeof reconnect !== 'boolean' &&
    (typeof reconnect !== 'object' || reconnect === null)
  )
    throw new InvalidArgumentError(
      `reconnect must be a boolean or { timeoutMs }, got ${showValue(reconnect)}`,
      { code: 'ERR_INVALID_ARG_TYPE' },
    );
  const reconnectTimeoutMs =
    reconnect === undefined || reconnect === false
      ? undefined
      : validateTimeout(
          reconnect === true ? undefined : reconnect.timeoutMs,
          'reconnect.timeoutMs',
          timeoutMs,
        );
  return {
    path,
    hmcId,
    timeoutMs,
    signal,
    probeIntervalMs,
    queueSize,
    sendTimeoutMs,
    reconnectTimeoutMs,
    sysfsRoot: options.sysfsRoot,
  };
}
