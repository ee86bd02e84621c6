/**
 * A request as the caller describes it, and its checks. Everything is
 * checked before a token is taken or a byte is written, so a bad call fails
 * at once and costs the session nothing.
 */
import { InvalidArgumentError, MessageTooLargeError } from '../errors/error-classes';
import { HMC_FLAG, HMC_HEADER_LENGTH } from '../protocol/constants';
import { encodeHmcMessage } from '../protocol/hmc-message';
import { kindOf } from '../protocol/format';
import { validateSignal, validateTimeout } from '../session/deadline';
import { describeOpcode, describeTarget } from './names';

/** One HMC command to send, for {@link HmcClient.request}. */
export interface HmcRequest {
  /** The component addressed, e.g. `HMC_TARGET.ROUTER` (0..0xFFFF). */
  target: number;
  /** The command, e.g. `HMC_ROUTER_OPCODE.ECHO` (0..0xFFFF). */
  opcode: number;
  /** The data after the header; none when omitted. At most the MTU minus the 32-byte header. */
  data?: Uint8Array;
  /** Whether the hypervisor answers it (default true). When false, the request resolves once sent. */
  expectResponse?: boolean;
  /** Deadline from the call to the answer, waiting for a turn included. Default: the client's `requestTimeoutMs`. */
  timeoutMs?: number;
  /** Abandons the request. */
  signal?: AbortSignal;
}

/** A request that passed its checks. */
export interface CheckedRequest {
  readonly target: number;
  readonly opcode: number;
  /**
   * The whole message, token 0 until it is numbered when it goes out. Made
   * at once: the caller may reuse its data buffer as soon as `request()` returns.
   */
  readonly message: Buffer;
  readonly expectResponse: boolean;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/** `echo (0x0103) to router (0x8000)`, for messages (made only when one is needed). */
export function describeRequest(request: { target: number; opcode: number }): string {
  return `${describeOpcode(request.target, request.opcode)} to ${describeTarget(request.target)}`;
}

function uint16(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff)
    throw new InvalidArgumentError(
      `${name} must be an integer from 0 to 0xFFFF, got ${typeof value === 'number' ? String(value) : kindOf(value)}`,
      { code: typeof value === 'number' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE' },
    );
  return value;
}

/**
 * Checks a request against the session's MTU and fills in the defaults.
 *
 * @param request - What the caller asked for.
 * @param mtu - The session's negotiated MTU: the whole message must fit.
 * @param defaultTimeoutMs - The client's `requestTimeoutMs`.
 * @throws InvalidArgumentError for a bad field, MessageTooLargeError for data over the MTU.
 */
export function checkRequest(
  request: HmcRequest,
  mtu: number,
  defaultTimeoutMs: number,
): CheckedRequest {
  if (typeof request !== 'object' || request === null)
    throw new InvalidArgumentError('request() takes an object with a target and an opcode', {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  const target = uint16('target', request.target);
  const opcode = uint16('opcode', request.opcode);
  const data = request.data ?? new Uint8Array(0);
  if (!(data instanceof Uint8Array))
    throw new InvalidArgumentError(`data must be a Buffer or Uint8Array, got ${kindOf(data)}`, {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  const expectResponse = request.expectResponse ?? true;
  if (typeof expectResponse !== 'boolean')
    throw new InvalidArgumentError(
      `expectResponse must be a boolean, got ${kindOf(expectResponse)}`,
      {
        code: 'ERR_INVALID_ARG_TYPE',
      },
    );
  const room = mtu - HMC_HEADER_LENGTH;
  if (data.length > room)
    throw new MessageTooLargeError(
      `the request's data is ${data.length} bytes; with the ${HMC_HEADER_LENGTH}-byte header ` +
        `at most ${room} fit the negotiated MTU of ${mtu}`,
    );
  return {
    target,
    opcode,
    message: encodeHmcMessage(
      // No flag at all says no answer is expected (the reference's flags byte).
      { token: 0, target, opcode, data, flags: expectResponse ? HMC_FLAG.RESPONSE_EXPECTED : 0 },
      { maxLength: mtu },
    ),
    expectResponse,
    timeoutMs: validateTimeout(request.timeoutMs, 'timeoutMs', defaultTimeoutMs),
    signal: validateSignal(request.signal),
  };
}
