/**
 * What can go wrong above the session, in the HMC command protocol itself:
 * the hypervisor refused a command (a non-zero return code), or its answer
 * broke the protocol's rules.
 */
import { IbmvmcError } from '../errors/ibmvmc-error';
import type { HmcMessage } from '../protocol/hmc-message';
import { describeOpcode, describeReturnCodeValue, describeTarget } from './names';

/**
 * The hypervisor answered a request with a non-zero return code. The message
 * names the command and the code (`invalid opcode`, `invalid target`, ...);
 * `response` is the whole answer, in case its data says more.
 */
export class HmcCommandError extends IbmvmcError {
  /** The response's return code, one of `HMC_RETURN_CODE` for known codes. */
  readonly returnCode: number;
  /** The request's target. */
  readonly target: number;
  /** The request's opcode. */
  readonly opcode: number;
  /** The correlation token the request and its answer shared. */
  readonly token: number;
  /** The decoded response. */
  readonly response: HmcMessage;

  /**
   * @param response - The answer carrying the non-zero return code.
   */
  constructor(response: HmcMessage) {
    super(
      `${describeOpcode(response.target, response.opcode)} to ${describeTarget(response.target)} ` +
        `failed with return code ${describeReturnCodeValue(response.returnCode)}`,
      // Retrying is the caller's call: "buffer not available" may pass, "invalid opcode" never will.
      { code: 'ERR_IBMVMC_HMC_RETURN_CODE', retryable: false },
    );
    this.returnCode = response.returnCode;
    this.target = response.target;
    this.opcode = response.opcode;
    this.token = response.token;
    this.response = response;
  }
}

/**
 * An answer that decodes but breaks the protocol: it carries a request's
 * token but another opcode or target, or an echo came back with other data.
 */
export class HmcProtocolError extends IbmvmcError {
  /** The offending message, when there is one. */
  readonly response: HmcMessage | undefined;

  /**
   * @param message - What was wrong, for people.
   * @param response - The message that was wrong.
   */
  constructor(message: string, response?: HmcMessage) {
    super(message, { code: 'ERR_IBMVMC_HMC_PROTOCOL', retryable: false });
    this.response = response;
  }
}
