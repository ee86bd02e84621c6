/**
 * The default message handler: the HMC command router, as far as the public
 * reference describes it. Exchange options and close get a good response,
 * echo gets its data back, anything else (another opcode, another target)
 * gets a response with return code "invalid opcode". Every response copies the
 * request's correlation token, target and opcode and carries the response
 * flag. Bytes that do not decode as an HMC message, and messages that are
 * themselves responses, get no answer.
 */
import {
  HMC_HEADER_LENGTH,
  HMC_RETURN_CODE,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  decodeHmcMessage,
  encodeResponse,
  isResponse,
  type HmcMessage,
} from '../protocol';
import type { FakeSessionInfo } from './handler';

/**
 * Answers one message as the command router would.
 *
 * @param message - The bytes the session wrote.
 * @param session - Where it came from (its MTU bounds the messages).
 * @returns The response, or undefined for no answer.
 */
export function routerHandler(message: Buffer, session: FakeSessionInfo): Buffer | undefined {
  const maxLength = Math.max(HMC_HEADER_LENGTH, session.mtu);
  let request: HmcMessage;
  try {
    request = decodeHmcMessage(message, { maxLength });
  } catch {
    return undefined;
  }
  if (isResponse(request)) return undefined;
  try {
    if (request.target !== HMC_TARGET.ROUTER) {
      return encodeResponse(request, { returnCode: HMC_RETURN_CODE.INVALID_OPCODE }, { maxLength });
    }
    switch (request.opcode) {
      case HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS:
      case HMC_ROUTER_OPCODE.CLOSE:
        return encodeResponse(request, {}, { maxLength });
      case HMC_ROUTER_OPCODE.ECHO:
        return encodeResponse(request, { data: request.data }, { maxLength });
      default:
        return encodeResponse(
          request,
          { returnCode: HMC_RETURN_CODE.INVALID_OPCODE },
          { maxLength },
        );
    }
  } catch {
    // Only reachable if the answer would not fit the MTU: say nothing.
    return undefined;
  }
}
