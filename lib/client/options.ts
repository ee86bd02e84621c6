/**
 * The client's own settings, checked before anything is opened so a typo
 * never costs a session.
 */
import { InvalidArgumentError } from '../errors/error-classes';
import { showValue } from '../protocol/format';
import { validateTimeout } from '../session/deadline';
import type { SessionOptions } from '../session/session';

/**
 * Options of {@link connect}: those of `open()` (the session), and the client's own.
 * `reconnect` is not among them: a new session has no command path, so the
 * client ends at a reset and the caller connects again.
 */
export interface ClientOptions extends Omit<SessionOptions, 'reconnect'>, ClientSettingsInit {
  /** How long connecting may take: opening the session and the command path. Default 10000 ms. */
  timeoutMs?: number;
}

/** The client's own settings, for {@link connect} and {@link HmcClient.attach}. */
export interface ClientSettingsInit {
  /** Default deadline of each request, from the call to the answer. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** How long `close()` waits for the router to answer the close. Default 1000 ms. */
  closeTimeoutMs?: number;
  /**
   * Requests with an answer outstanding at once; more wait their turn. Each
   * holds one of the session's buffers until its answer is read. Default:
   * the module parameter `buf_pool_size` (the pool the driver asks for), or
   * 16 when it cannot be read. The hypervisor may lend fewer; the session
   * then retries the surplus until a buffer comes back.
   */
  maxInFlight?: number;
}

/** Settings with every default filled in. */
export interface ClientSettings {
  readonly requestTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly maxInFlight: number;
}

/** The driver's smallest buffer pool (`buf_pool_size` is clamped to 16..64). */
export const DEFAULT_MAX_IN_FLIGHT = 16;

/** The default deadline of a request, as for sends. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Closing should not hang a program on a hypervisor that does not answer. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 1000;

/**
 * Checks the client's settings and fills in the defaults.
 *
 * @param init - What the caller gave.
 * @param poolSize - The buffer pool to assume when `maxInFlight` is not given.
 * @throws InvalidArgumentError naming the first bad value.
 */
export function resolveClientSettings(
  init: ClientSettingsInit,
  poolSize = DEFAULT_MAX_IN_FLIGHT,
): ClientSettings {
  const maxInFlight = init.maxInFlight ?? poolSize;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
    throw new InvalidArgumentError(
      `maxInFlight must be an integer ≥ 1, got ${showValue(init.maxInFlight)}`,
    );
  return {
    requestTimeoutMs: validateTimeout(
      init.requestTimeoutMs,
      'requestTimeoutMs',
      DEFAULT_REQUEST_TIMEOUT_MS,
    ),
    closeTimeoutMs: validateTimeout(
      init.closeTimeoutMs,
      'closeTimeoutMs',
      DEFAULT_CLOSE_TIMEOUT_MS,
    ),
    maxInFlight,
  };
}
