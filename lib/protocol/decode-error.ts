import { IbmvmcError } from '../errors/ibmvmc-error';

/**
 * The part of a received HMC message that made it undecodable: `input` (not a
 * Uint8Array), `length` (shorter than a header), or the header field at fault.
 */
export type HmcDecodeField =
  'input' | 'length' | 'descriptor' | 'headerLength' | 'messageLength' | 'dataLength';

/**
 * Thrown when bytes received from the channel are not a well-formed HMC command
 * message. It is about the peer's bytes, not a bug of the caller, and sending
 * the same bytes again would fail the same way, so it is never retryable.
 */
export class HmcDecodeError extends IbmvmcError {
  /** Which part of the message was malformed. */
  readonly field: HmcDecodeField;

  /**
   * @param field - The part of the message that is wrong.
   * @param details - What was `found` and what was `expected` (both phrased
   *   for people); `cause` if another error led here.
   */
  constructor(
    field: HmcDecodeField,
    details: { found: string; expected: string; cause?: unknown },
  ) {
    super(`malformed HMC message: ${field} is ${details.found}; expected ${details.expected}`, {
      code: 'ERR_IBMVMC_HMC_DECODE',
      retryable: false,
      cause: details.cause,
    });
    this.field = field;
  }
}
