/**
 * A frame's 8-byte header: magic, version, type, a reserved zero byte and the
 * payload's length. Checked as soon as it is read, so a frame that cannot be
 * right is refused before its payload is waited for.
 */
import {
  BROKER_FRAME_MAGIC,
  BROKER_FRAME_MAX_PAYLOAD,
  BROKER_FRAME_TYPE,
  BROKER_MAX_CODE_LENGTH,
  BROKER_MAX_MESSAGE_LENGTH,
  BROKER_MAX_STRING_LENGTH,
  BROKER_MAX_SUBSCRIBE_TARGETS,
  BROKER_MIN_MESSAGE_LENGTH,
  BROKER_PROTOCOL_VERSION,
  type BrokerFrameTypeCode,
} from './constants';
import { BrokerProtocolError } from './error';
import type { BrokerFrameSender } from './frames';

/** What a header says. */
export interface BrokerFrameHeader {
  /** The frame's type, one of {@link BROKER_FRAME_TYPE}. */
  readonly type: BrokerFrameTypeCode;
  /** The payload's length in bytes. */
  readonly length: number;
}

/** What the protocol allows of each type: who sends it, and its payload's bounds. */
interface TypeRule {
  readonly name: string;
  readonly senders: readonly BrokerFrameSender[];
  readonly minPayload: number;
  readonly maxPayload: number;
}

/** A u16-length string's bounds (`min` content bytes to `max`). */
const str = (min: number, max: number): [number, number] => [2 + min, 2 + max];
const MESSAGE: [number, number] = [BROKER_MIN_MESSAGE_LENGTH, BROKER_MAX_MESSAGE_LENGTH];

function rule(
  name: string,
  senders: readonly BrokerFrameSender[],
  ...parts: [number, number][]
): TypeRule {
  return {
    name,
    senders,
    minPayload: parts.reduce((n, [min]) => n + min, 0),
    maxPayload: parts.reduce((n, [, max]) => n + max, 0),
  };
}

const U16: [number, number] = [2, 2];
const U32: [number, number] = [4, 4];
const CODE = str(1, BROKER_MAX_CODE_LENGTH);
const TEXT = str(0, BROKER_MAX_STRING_LENGTH);

const RULES: ReadonlyMap<number, TypeRule> = new Map<BrokerFrameTypeCode, TypeRule>([
  [BROKER_FRAME_TYPE.HELLO, rule('HELLO', ['client'], U16, str(1, BROKER_MAX_STRING_LENGTH), TEXT)],
  [BROKER_FRAME_TYPE.REQUEST, rule('REQUEST', ['client'], U32, MESSAGE)],
  [BROKER_FRAME_TYPE.CANCEL, rule('CANCEL', ['client'], U32)],
  [
    BROKER_FRAME_TYPE.SUBSCRIBE,
    rule('SUBSCRIBE', ['client'], U16, [0, 2 * BROKER_MAX_SUBSCRIBE_TARGETS]),
  ],
  [BROKER_FRAME_TYPE.GOODBYE, rule('GOODBYE', ['client', 'broker'], TEXT)],
  [BROKER_FRAME_TYPE.WELCOME, rule('WELCOME', ['broker'], U16, U32, MESSAGE)],
  [BROKER_FRAME_TYPE.ANSWER, rule('ANSWER', ['broker'], U32, MESSAGE)],
  [BROKER_FRAME_TYPE.EVENT, rule('EVENT', ['broker'], MESSAGE)],
  [BROKER_FRAME_TYPE.RESET, rule('RESET', ['broker'])],
  [BROKER_FRAME_TYPE.RECONNECT, rule('RECONNECT', ['broker'], U32, MESSAGE)],
  [BROKER_FRAME_TYPE.REFUSED, rule('REFUSED', ['broker'], U32, CODE, TEXT)],
  [BROKER_FRAME_TYPE.ERROR, rule('ERROR', ['broker'], CODE, TEXT)],
]);

/** The largest payload a frame of `type` can have (0 for an unknown type). */
export function maxPayloadOf(type: BrokerFrameTypeCode): number {
  return RULES.get(type)?.maxPayload ?? 0;
}

/**
 * The name of a frame type, for messages: `HELLO`, or `0x42` for a byte that
 * is no type. Never throws.
 */
export function frameTypeName(type: number): string {
  return RULES.get(type)?.name ?? `0x${type.toString(16).padStart(2, '0')}`;
}

/**
 * Reads and checks the header at `offset` of `bytes` (which holds at least
 * 8 bytes from there), in this order: the
 * magic, the version, the type (known, and one `from` sends), the reserved
 * byte, and the payload length against the maximum and the type's bounds.
 *
 * @param from - Who is expected to have sent the frame.
 * @throws BrokerProtocolError `version` for another version, `oversized` for a
 *   length over the maximum or the type's own, `malformed` for anything else.
 */
export function readBrokerFrameHeader(
  bytes: Buffer,
  offset: number,
  from: BrokerFrameSender,
): BrokerFrameHeader {
  if (bytes[offset] !== BROKER_FRAME_MAGIC) {
    throw new BrokerProtocolError(
      'malformed',
      `the first byte is 0x${hexByte(bytes[offset])}, not the magic 0x${hexByte(BROKER_FRAME_MAGIC)}: not a broker frame`,
    );
  }
  const version = bytes[offset + 1];
  if (version !== BROKER_PROTOCOL_VERSION) {
    throw new BrokerProtocolError(
      'version',
      `a frame of protocol version ${version}; this side speaks version ${BROKER_PROTOCOL_VERSION}`,
    );
  }
  const type = bytes[offset + 2];
  const rule = RULES.get(type);
  if (rule === undefined) {
    throw new BrokerProtocolError('malformed', `frame type 0x${hexByte(type)} is unknown`, type);
  }
  if (!rule.senders.includes(from)) {
    throw new BrokerProtocolError(
      'malformed',
      `${rule.name} is not a frame the ${from} sends`,
      type,
    );
  }
  if (bytes[offset + 3] !== 0) {
    throw new BrokerProtocolError('malformed', `${rule.name}: the reserved byte is not 0`, type);
  }
  const length = bytes.readUInt32BE(offset + 4);
  if (length > BROKER_FRAME_MAX_PAYLOAD) {
    throw new BrokerProtocolError(
      'oversized',
      `${rule.name} announces ${length} payload bytes, over the maximum of ${BROKER_FRAME_MAX_PAYLOAD}`,
      type,
    );
  }
  if (length > rule.maxPayload) {
    throw new BrokerProtocolError(
      'oversized',
      `${rule.name} announces ${length} payload bytes, over its maximum of ${rule.maxPayload}`,
      type,
    );
  }
  if (length < rule.minPayload) {
    throw new BrokerProtocolError(
      'malformed',
      `${rule.name} announces ${length} payload bytes, under its minimum of ${rule.minPayload}`,
      type,
    );
  }
  return { type: type as BrokerFrameTypeCode, length };
}

/** Writes a header for `type` and a payload of `length` bytes at the start of `bytes`. */
export function writeBrokerFrameHeader(
  bytes: Buffer,
  type: BrokerFrameTypeCode,
  length: number,
): void {
  bytes[0] = BROKER_FRAME_MAGIC;
  bytes[1] = BROKER_PROTOCOL_VERSION;
  bytes[2] = type;
  bytes[3] = 0;
  bytes.writeUInt32BE(length, 4);
}

function hexByte(value: number | undefined): string {
  return (value ?? 0).toString(16).padStart(2, '0');
}
