import { types } from 'node:util';

import { kindOf } from '../../protocol/format';
import {
  BROKER_FRAME_HEADER_LENGTH,
  BROKER_FRAME_TYPE,
  BROKER_MAX_MESSAGE_LENGTH,
  BROKER_MIN_MESSAGE_LENGTH,
  BROKER_PROTOCOL_VERSION,
} from './constants';
import { BrokerProtocolError } from './error';
import { PayloadReader } from './fields';
import type { BrokerFrame, BrokerFrameFrom, BrokerFrameSender } from './frames';
import { frameTypeName, readBrokerFrameHeader } from './header';

/**
 * Reads one whole frame (header included, as `BrokerFrameDecoder` hands
 * it out) that `from` sent.
 *
 * The bytes come from the other side of a trust boundary, so whatever they
 * are, the only error thrown is {@link BrokerProtocolError}: the header is
 * checked as {@link readBrokerFrameHeader} does, then every field against the
 * layout of its type, and no byte may be left over. So any bytes it accepts
 * are exactly what `encodeBrokerFrame` makes of the frame it returns.
 *
 * @param bytes - Exactly one frame.
 * @param from - Who sent it: frames of the other side are refused.
 * @returns The frame, frozen. Its byte fields (`message`,
 *   `exchangeOptionsAnswer`) are views of `bytes`: copy them to keep them
 *   past the buffer's reuse.
 * @throws BrokerProtocolError `version` for a frame of another protocol
 *   version (or a HELLO naming none, a WELCOME another), `oversized` for a
 *   length over its limit, `malformed` for anything else wrong.
 */
export function decodeBrokerFrame(bytes: Uint8Array, from: 'client'): BrokerFrameFrom<'client'>;
export function decodeBrokerFrame(bytes: Uint8Array, from: 'broker'): BrokerFrameFrom<'broker'>;
export function decodeBrokerFrame(bytes: Uint8Array, from: BrokerFrameSender): BrokerFrame;
export function decodeBrokerFrame(bytes: Uint8Array, from: BrokerFrameSender): BrokerFrame {
  if (!types.isUint8Array(bytes)) {
    throw new BrokerProtocolError('malformed', `a frame must be bytes, got ${kindOf(bytes)}`);
  }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < BROKER_FRAME_HEADER_LENGTH) {
    throw new BrokerProtocolError(
      'malformed',
      `a frame is at least ${BROKER_FRAME_HEADER_LENGTH} bytes, got ${view.length}`,
    );
  }
  const { type, length } = readBrokerFrameHeader(view, 0, from);
  const carried = view.length - BROKER_FRAME_HEADER_LENGTH;
  if (length !== carried) {
    throw new BrokerProtocolError(
      'malformed',
      `${frameTypeName(type)} announces ${length} payload bytes but carries ${carried}`,
      type,
    );
  }
  const r = new PayloadReader(view.subarray(BROKER_FRAME_HEADER_LENGTH), type);
  const frame = readFields(type, r);
  r.end();
  return Object.freeze(frame);
}

function readFields(type: number, r: PayloadReader): BrokerFrame {
  switch (type) {
    case BROKER_FRAME_TYPE.HELLO: {
      const version = r.u16('version');
      if (version < BROKER_PROTOCOL_VERSION) {
        throw new BrokerProtocolError(
          'version',
          `HELLO: the client speaks up to version ${version}; this broker needs ${BROKER_PROTOCOL_VERSION}`,
          type,
        );
      }
      return {
        type: 'hello',
        version,
        clientName: r.string('clientName', 1),
        clientVersion: r.string('clientVersion'),
      };
    }
    case BROKER_FRAME_TYPE.REQUEST:
      return { type: 'request', token: r.u32('token'), message: r.message('message') };
    case BROKER_FRAME_TYPE.CANCEL:
      return { type: 'cancel', token: r.u32('token') };
    case BROKER_FRAME_TYPE.SUBSCRIBE:
      return { type: 'subscribe', targets: Object.freeze(r.targets('targets')) };
    case BROKER_FRAME_TYPE.GOODBYE:
      return { type: 'goodbye', reason: r.string('reason') };
    case BROKER_FRAME_TYPE.WELCOME: {
      const version = r.u16('version');
      if (version !== BROKER_PROTOCOL_VERSION) {
        throw new BrokerProtocolError(
          'version',
          `WELCOME: the broker chose version ${version}; this client speaks ${BROKER_PROTOCOL_VERSION}`,
          type,
        );
      }
      return {
        type: 'welcome',
        version,
        mtu: mtu(type, r),
        exchangeOptionsAnswer: r.message('exchangeOptionsAnswer'),
      };
    }
    case BROKER_FRAME_TYPE.ANSWER:
      return { type: 'answer', token: r.u32('token'), message: r.message('message') };
    case BROKER_FRAME_TYPE.EVENT:
      return { type: 'event', message: r.message('message') };
    case BROKER_FRAME_TYPE.RESET:
      return { type: 'reset' };
    case BROKER_FRAME_TYPE.RECONNECT:
      return {
        type: 'reconnect',
        mtu: mtu(type, r),
        exchangeOptionsAnswer: r.message('exchangeOptionsAnswer'),
      };
    case BROKER_FRAME_TYPE.REFUSED:
      return {
        type: 'refused',
        token: r.u32('token'),
        code: r.code('code'),
        text: r.string('text'),
      };
    case BROKER_FRAME_TYPE.ERROR:
      return { type: 'error', code: r.code('code'), text: r.string('text') };
    default: // Unreachable: the header admits no other type.
      throw new BrokerProtocolError(
        'malformed',
        `frame type ${frameTypeName(type)} is unknown`,
        type,
      );
  }
}

/** An MTU: at least an HMC header, at most the largest message the wire carries. */
function mtu(type: number, r: PayloadReader): number {
  const value = r.u32('mtu');
  if (value < BROKER_MIN_MESSAGE_LENGTH || value > BROKER_MAX_MESSAGE_LENGTH) {
    throw new BrokerProtocolError(
      'malformed',
      `${frameTypeName(type)}: MTU ${value} is not ${BROKER_MIN_MESSAGE_LENGTH} to ${BROKER_MAX_MESSAGE_LENGTH}`,
      type,
    );
  }
  return value;
}
