/**
 * The HMC command protocol spoken over the channel: message framing, the
 * router's commands and the return codes.
 */
export {
  DEFAULT_MAX_MESSAGE_LENGTH,
  HMC_DESCRIPTOR,
  HMC_FLAG,
  HMC_HEADER_LENGTH,
  HMC_RESERVED_RETURN_CODES,
  HMC_RETURN_CODE,
  HMC_RETURN_CODE_DESCRIPTIONS,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  describeReturnCode,
} from './constants';
export type { HmcFlag, HmcReturnCode, HmcRouterOpcode, HmcTarget } from './constants';
export { HmcDecodeError } from './decode-error';
export type { HmcDecodeField } from './decode-error';
export {
  decodeHmcMessage,
  encodeHmcMessage,
  encodeResponse,
  expectsResponse,
  isResponse,
} from './hmc-message';
export type { HmcCodecOptions, HmcMessage, HmcMessageInit, HmcResponseInit } from './hmc-message';
