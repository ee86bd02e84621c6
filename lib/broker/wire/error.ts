import { IbmvmcError } from '../../errors/ibmvmc-error';
import { BROKER_PROTOCOL_ERROR_CODE } from './constants';

/**
 * How a peer broke the broker's wire protocol:
 * - `malformed`: bytes that are not a frame of this protocol, or a frame whose
 *   payload does not match its type (a bad magic, an unknown type, a reserved
 *   byte set, a length that disagrees with the fields, invalid UTF-8, ...);
 * - `oversized`: a length over its limit (a payload, a message, a string, a list);
 * - `out-of-order`: a well-formed frame the protocol does not allow at that
 *   point (anything before HELLO, a second HELLO, anything after GOODBYE, ...);
 * - `version`: a protocol version this package does not speak.
 */
export type BrokerProtocolErrorReason = 'malformed' | 'oversized' | 'out-of-order' | 'version';

/**
 * A peer broke the broker's wire protocol: its connection cannot go on. The
 * broker answers a client's with an ERROR frame (code
 * `ERR_IBMVMC_BROKER_PROTOCOL`, this error's message as text) and closes that
 * connection only. Never retryable: the same bytes fail the same way.
 */
export class BrokerProtocolError extends IbmvmcError {
  /** What kind of break it was. */
  readonly reason: BrokerProtocolErrorReason;
  /** The type byte of the frame at fault, when its header was read. */
  readonly frameType: number | undefined;

  /**
   * @param reason - What kind of break it was.
   * @param detail - What was wrong, for people.
   * @param frameType - The type byte of the frame at fault, if known.
   */
  constructor(reason: BrokerProtocolErrorReason, detail: string, frameType?: number) {
    super(`broker protocol error (${reason}): ${detail}`, {
      code: BROKER_PROTOCOL_ERROR_CODE,
      retryable: false,
    });
    this.reason = reason;
    this.frameType = frameType;
  }
}
