/**
 * The HMC command client: requests and answers over one session, matched by
 * correlation token, with the protocol's constants for targets, opcodes and
 * return codes.
 */
export { connect } from './connect';
export { HmcClient } from './client';
export type { AttachOptions, ClientState, HmcClientEvents, UnsolicitedReason } from './client';
export type { ClientOptions, ClientSettingsInit } from './options';
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './options';
export type { HmcRequest } from './request';
export type {
  ClientTransport,
  SharedCommandPath,
  SharedCommandPathTransport,
  TransportObserver,
} from './transport';
export {
  BrokerTransport,
  DEFAULT_BROKER_SOCKET,
  BROKER_ENV,
  probeBroker,
} from '../broker/client/index';
export type { BrokerClientOptions, BrokerEvents, BrokerProbe } from '../broker/client/index';
export { HmcCommandError, HmcProtocolError } from './errors';
export { exchangeOptionsData, EXCHANGE_OPTIONS_LENGTH } from './command-path';
export {
  describeOpcode,
  describeReturnCodeValue,
  describeTarget,
  namedRouterOpcodes,
  namedTargets,
  opcodeName,
  routerOpcodeByName,
  targetByName,
  targetName,
} from './names';
// The protocol's constants, so a client user needs one import.
export {
  HMC_FLAG,
  HMC_RETURN_CODE,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  describeReturnCode,
} from '../protocol/constants';
export type { HmcMessage } from '../protocol/hmc-message';
export { HmcDecodeError } from '../protocol/decode-error';
