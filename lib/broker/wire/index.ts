/**
 * The wire protocol between client programs and the broker
 * (docs/broker-protocol.md): length-prefixed, versioned frames carrying HMC
 * messages and a few control frames, a strict codec, a stream decoder and
 * the order check.
 */
export {
  BROKER_FRAME_HEADER_LENGTH,
  BROKER_FRAME_MAGIC,
  BROKER_FRAME_MAX_PAYLOAD,
  BROKER_FRAME_TYPE,
  BROKER_MAX_CODE_LENGTH,
  BROKER_MAX_MESSAGE_LENGTH,
  BROKER_MAX_STRING_LENGTH,
  BROKER_MAX_SUBSCRIBE_TARGETS,
  BROKER_MIN_MESSAGE_LENGTH,
  BROKER_PROTOCOL_ERROR_CODE,
  BROKER_PROTOCOL_VERSION,
} from './constants';
export type { BrokerFrameTypeCode } from './constants';
export type {
  AnswerFrame,
  BrokerFrame,
  BrokerFrameFrom,
  BrokerFrameSender,
  CancelFrame,
  ClientFrame,
  ErrorFrame,
  EventFrame,
  GoodbyeFrame,
  HelloFrame,
  ReconnectFrame,
  RefusedFrame,
  RequestFrame,
  ResetFrame,
  ServerFrame,
  SubscribeFrame,
  WelcomeFrame,
} from './frames';
export { BrokerProtocolError } from './error';
export type { BrokerProtocolErrorReason } from './error';
export { readBrokerFrameHeader } from './header';
export type { BrokerFrameHeader } from './header';
export { encodeBrokerFrame } from './encode';
export { decodeBrokerFrame } from './decode';
export { BrokerFrameDecoder } from './stream-decoder';
export type { BrokerFrameDecoderOptions } from './stream-decoder';
export { BrokerFrameOrder } from './order';
export type { BrokerConversationPhase } from './order';
export { BROKER_FALLBACK_ERROR_CODE, toWireError } from './wire-error';
export type { WireErrorFields } from './wire-error';
