import { kindOf, showValue } from '../../protocol/format';
import {
  BROKER_FRAME_HEADER_LENGTH,
  BROKER_FRAME_TYPE,
  BROKER_MAX_MESSAGE_LENGTH,
  BROKER_MIN_MESSAGE_LENGTH,
  BROKER_PROTOCOL_VERSION,
  type BrokerFrameTypeCode,
} from './constants';
import { PayloadWriter } from './fields';
import type { BrokerFrame } from './frames';
import { frameTypeName, writeBrokerFrameHeader } from './header';

/**
 * The bytes of one frame, header included, for either side (the frame's
 * `type` says which: GOODBYE is the same both ways).
 *
 * Every field is checked before anything is built, so a bug in the caller
 * surfaces here rather than as a frame the peer refuses.
 *
 * @param frame - The frame.
 * @returns A new Buffer holding exactly the frame.
 * @throws TypeError if `frame` is not a frame object, its `type` is unknown,
 *   or a field has the wrong type.
 * @throws RangeError if a field is out of range: an integer that does not fit,
 *   a string too long (or an empty client name), a string with an unpaired
 *   surrogate, a WELCOME of another version than
 *   {@link BROKER_PROTOCOL_VERSION}, an error code not `[A-Z][A-Z0-9_]*`, an
 *   HMC message not 32 to 65536 bytes, a target list too long or with a
 *   target twice. So whatever it returns, `decodeBrokerFrame` accepts.
 */
export function encodeBrokerFrame(frame: BrokerFrame): Buffer {
  if (typeof frame !== 'object' || frame === null) {
    throw new TypeError(`encodeBrokerFrame: the frame must be an object, got ${kindOf(frame)}`);
  }
  const f: Readonly<Record<string, unknown>> = frame as unknown as Record<string, unknown>;
  const code = TYPE_CODES.get(f.type);
  if (code === undefined) {
    throw new TypeError(`encodeBrokerFrame: unknown frame type ${showValue(f.type)}`);
  }
  const w = new PayloadWriter(`encodeBrokerFrame: ${frameTypeName(code)}`);
  switch (code) {
    case BROKER_FRAME_TYPE.HELLO:
      w.u16('version', f.version, 1)
        .string('clientName', f.clientName, 1)
        .string('clientVersion', f.clientVersion);
      break;
    case BROKER_FRAME_TYPE.REQUEST:
    case BROKER_FRAME_TYPE.ANSWER:
      w.u32('token', f.token).message('message', f.message);
      break;
    case BROKER_FRAME_TYPE.CANCEL:
      w.u32('token', f.token);
      break;
    case BROKER_FRAME_TYPE.SUBSCRIBE:
      w.targets('targets', f.targets);
      break;
    case BROKER_FRAME_TYPE.GOODBYE:
      w.string('reason', f.reason);
      break;
    case BROKER_FRAME_TYPE.WELCOME:
      w.u16('version', f.version, BROKER_PROTOCOL_VERSION, BROKER_PROTOCOL_VERSION)
        .u32('mtu', f.mtu, BROKER_MIN_MESSAGE_LENGTH, BROKER_MAX_MESSAGE_LENGTH)
        .message('exchangeOptionsAnswer', f.exchangeOptionsAnswer);
      break;
    case BROKER_FRAME_TYPE.EVENT:
      w.message('message', f.message);
      break;
    case BROKER_FRAME_TYPE.RESET:
      break;
    case BROKER_FRAME_TYPE.RECONNECT:
      w.u32('mtu', f.mtu, BROKER_MIN_MESSAGE_LENGTH, BROKER_MAX_MESSAGE_LENGTH).message(
        'exchangeOptionsAnswer',
        f.exchangeOptionsAnswer,
      );
      break;
    case BROKER_FRAME_TYPE.REFUSED:
      w.u32('token', f.token).code('code', f.code).string('text', f.text);
      break;
    case BROKER_FRAME_TYPE.ERROR:
      w.code('code', f.code).string('text', f.text);
      break;
  }
  const bytes = Buffer.alloc(BROKER_FRAME_HEADER_LENGTH + w.size);
  writeBrokerFrameHeader(bytes, code, w.size);
  let offset = BROKER_FRAME_HEADER_LENGTH;
  for (const field of w.fields()) {
    bytes.set(field, offset);
    offset += field.length;
  }
  return bytes;
}

/** The type byte of each frame's `type`. */
const TYPE_CODES: ReadonlyMap<unknown, BrokerFrameTypeCode> = new Map<
  BrokerFrame['type'],
  BrokerFrameTypeCode
>([
  ['hello', BROKER_FRAME_TYPE.HELLO],
  ['request', BROKER_FRAME_TYPE.REQUEST],
  ['cancel', BROKER_FRAME_TYPE.CANCEL],
  ['subscribe', BROKER_FRAME_TYPE.SUBSCRIBE],
  ['goodbye', BROKER_FRAME_TYPE.GOODBYE],
  ['welcome', BROKER_FRAME_TYPE.WELCOME],
  ['answer', BROKER_FRAME_TYPE.ANSWER],
  ['event', BROKER_FRAME_TYPE.EVENT],
  ['reset', BROKER_FRAME_TYPE.RESET],
  ['reconnect', BROKER_FRAME_TYPE.RECONNECT],
  ['refused', BROKER_FRAME_TYPE.REFUSED],
  ['error', BROKER_FRAME_TYPE.ERROR],
]);
