import { types } from 'node:util';

import {
  DEFAULT_MAX_MESSAGE_LENGTH,
  HMC_DESCRIPTOR,
  HMC_FLAG,
  HMC_HEADER_LENGTH,
} from './constants';
import { HmcDecodeError } from './decode-error';
import { hex, hexBytes, kindOf } from './format';

/** One decoded HMC command message: the header fields that carry meaning, and the data. */
export interface HmcMessage {
  /** Correlation token chosen by the requester and echoed in the response (32 bits). */
  readonly token: number;
  /** Component addressed, one of `HMC_TARGET` for known peers (16 bits). */
  readonly target: number;
  /** Flag bits, see `HMC_FLAG` (8 bits). */
  readonly flags: number;
  /** Command, e.g. one of `HMC_ROUTER_OPCODE` for the router (16 bits). */
  readonly opcode: number;
  /** Outcome in a response, see `HMC_RETURN_CODE`; 0 in requests (16 bits). */
  readonly returnCode: number;
  /**
   * The data after the header, owned by the message: `decodeHmcMessage` copies
   * it out of its input, and an `HmcClient`'s answers are the only holders of
   * the bytes the session read them into.
   */
  readonly data: Buffer;
}

/** What {@link encodeHmcMessage} needs to build a message. */
export interface HmcMessageInit {
  /** Correlation token, an integer in 0..0xFFFFFFFF. */
  readonly token: number;
  /** Target, an integer in 0..0xFFFF. */
  readonly target: number;
  /** Opcode, an integer in 0..0xFFFF. */
  readonly opcode: number;
  /** Data after the header; empty when omitted. */
  readonly data?: Uint8Array;
  /** Flags byte, an integer in 0..0xFF; `HMC_FLAG.RESPONSE_EXPECTED` when omitted. */
  readonly flags?: number;
  /** Return code, an integer in 0..0xFFFF; 0 when omitted (as in requests). */
  readonly returnCode?: number;
}

/** What {@link encodeResponse} lets the responder choose; the rest comes from the request. */
export interface HmcResponseInit {
  /** Return code, an integer in 0..0xFFFF; `HMC_RETURN_CODE.GOOD` (0) when omitted. */
  readonly returnCode?: number;
  /** Data after the header; empty when omitted. */
  readonly data?: Uint8Array;
}

/** Options shared by the encoder and the decoder. */
export interface HmcCodecOptions {
  /**
   * Largest whole message (header + data) allowed, in bytes: the negotiated
   * MTU. An integer in 32..0xFFFFFFFF; `DEFAULT_MAX_MESSAGE_LENGTH` when omitted.
   */
  readonly maxLength?: number;
}

/** Byte offsets of the header fields (see the reference's header table). */
const OFFSET = {
  headerLength: 3,
  messageLength: 4,
  token: 8,
  target: 12,
  flags: 15,
  dataLength: 16,
  opcode: 20,
  returnCode: 22,
} as const;

const UINT8_MAX = 0xff;
const UINT16_MAX = 0xffff;
const UINT32_MAX = 0xffffffff;

/**
 * True when the message is a response (its `HMC_FLAG.RESPONSE` bit is set).
 *
 * @param message - A message, or anything with its flags.
 */
export function isResponse(message: Pick<HmcMessage, 'flags'>): boolean {
  return (message.flags & HMC_FLAG.RESPONSE) !== 0;
}

/**
 * True when the sender expects a response (its `HMC_FLAG.RESPONSE_EXPECTED` bit is set).
 *
 * @param message - A message, or anything with its flags.
 */
export function expectsResponse(message: Pick<HmcMessage, 'flags'>): boolean {
  return (message.flags & HMC_FLAG.RESPONSE_EXPECTED) !== 0;
}

/**
 * Writes the correlation token of an encoded message in place: a client
 * encodes a request once, when it is made, and numbers it when it goes out.
 *
 * @param message - An encoded message (at least the 32-byte header).
 * @param token - An integer in 0..0xFFFFFFFF.
 * @throws RangeError if the token does not fit or the message is shorter than a header.
 */
export function setHmcToken(message: Buffer, token: number): void {
  const fn = 'setHmcToken';
  requireInteger(`${fn}: token`, token, UINT32_MAX);
  if (message.length < HMC_HEADER_LENGTH)
    throw new RangeError(`${fn}: the message is ${message.length} bytes, shorter than a header`);
  message.writeUInt32BE(token, OFFSET.token);
}

/**
 * Builds the bytes of one HMC command message. Reserved header bytes are zero.
 *
 * Every argument is checked before anything is written, so a bug in the caller
 * surfaces here rather than as a malformed message at the hypervisor.
 *
 * @param init - The fields of the message.
 * @param options - `maxLength`, the largest whole message allowed.
 * @returns A new Buffer holding exactly the message.
 * @throws TypeError if an argument has the wrong type (a field not a number,
 *   `data` not a Uint8Array, ...).
 * @throws RangeError if a field is not an integer that fits its header field,
 *   or the message would be longer than `maxLength`.
 */
export function encodeHmcMessage(init: HmcMessageInit, options?: HmcCodecOptions): Buffer {
  const fn = 'encodeHmcMessage';
  const maxLength = resolveMaxLength(fn, options);
  requireObject(`${fn}: the message`, init);
  const token = requireInteger(`${fn}: token`, init.token, UINT32_MAX);
  const target = requireInteger(`${fn}: target`, init.target, UINT16_MAX);
  const opcode = requireInteger(`${fn}: opcode`, init.opcode, UINT16_MAX);
  const flags =
    init.flags === undefined
      ? HMC_FLAG.RESPONSE_EXPECTED
      : requireInteger(`${fn}: flags`, init.flags, UINT8_MAX);
  const returnCode =
    init.returnCode === undefined
      ? 0
      : requireInteger(`${fn}: returnCode`, init.returnCode, UINT16_MAX);
  const data = requireData(`${fn}: data`, init.data);

  const messageLength = HMC_HEADER_LENGTH + data.length;
  if (messageLength > maxLength) {
    throw new RangeError(
      `${fn}: the message would be ${messageLength} bytes (${HMC_HEADER_LENGTH}-byte header + ` +
        `${data.length} data bytes), over the maximum of ${maxLength}`,
    );
  }

  // alloc, not allocUnsafe: the reserved bytes must go out as zeros, never as
  // whatever an earlier message left in the pool.
  const bytes = Buffer.alloc(messageLength);
  bytes.set(HMC_DESCRIPTOR, 0);
  bytes.writeUInt8(HMC_HEADER_LENGTH, OFFSET.headerLength);
  bytes.writeUInt32BE(messageLength, OFFSET.messageLength);
  bytes.writeUInt32BE(token, OFFSET.token);
  bytes.writeUInt16BE(target, OFFSET.target);
  bytes.writeUInt8(flags, OFFSET.flags);
  bytes.writeUInt32BE(data.length, OFFSET.dataLength);
  bytes.writeUInt16BE(opcode, OFFSET.opcode);
  bytes.writeUInt16BE(returnCode, OFFSET.returnCode);
  bytes.set(data, HMC_HEADER_LENGTH);
  return bytes;
}

/**
 * Builds the response to a request: same token, target and opcode, flags
 * `HMC_FLAG.RESPONSE`, and the given return code and data. This is what the
 * hypervisor (or a fake of it) sends back.
 *
 * @param request - The request being answered.
 * @param init - The response's return code (default 0, good) and data (default none).
 * @param options - `maxLength`, the largest whole message allowed.
 * @returns A new Buffer holding exactly the response.
 * @throws TypeError if `request` is itself a response (responses are never
 *   answered) or an argument has the wrong type.
 * @throws RangeError as {@link encodeHmcMessage} does.
 */
export function encodeResponse(
  request: HmcMessage,
  init: HmcResponseInit = {},
  options?: HmcCodecOptions,
): Buffer {
  const fn = 'encodeResponse';
  requireObject(`${fn}: the request`, request);
  requireObject(`${fn}: the response fields`, init);
  if (isResponse(request)) {
    throw new TypeError(
      `${fn}: the request (token ${request.token}, opcode ${hex(request.opcode)}) is itself ` +
        `a response (flags ${hex(request.flags, 2)}); responses are not answered`,
    );
  }
  return encodeHmcMessage(
    {
      token: request.token,
      target: request.target,
      opcode: request.opcode,
      flags: HMC_FLAG.RESPONSE,
      returnCode: init.returnCode,
      data: init.data,
    },
    options,
  );
}

/**
 * Parses one whole HMC command message, as read from the channel.
 *
 * The bytes come from the other side of a trust boundary, so every length in
 * the header is checked against what actually arrived, and whatever the bytes
 * are, the only error thrown for them is {@link HmcDecodeError}. The flags
 * byte and the reserved bytes are not checked: the reference defines no rule
 * for them, and rejecting a peer's harmless extension would end the session.
 *
 * @param bytes - Exactly one message (the channel delivers whole messages).
 * @param options - `maxLength`, the largest whole message allowed.
 * @returns The message, frozen; its `data` is a copy, so the caller may reuse `bytes`.
 * @throws HmcDecodeError if the bytes are not a well-formed message; its
 *   `field` names what is wrong.
 * @throws TypeError or RangeError only for bad `options` (a caller bug).
 */
export function decodeHmcMessage(bytes: Uint8Array, options?: HmcCodecOptions): HmcMessage {
  return decode(bytes, resolveMaxLength('decodeHmcMessage', options), true);
}

/**
 * {@link decodeHmcMessage} for bytes the caller gives away (the session's own
 * copy of each message read): `data` is a view of them, not a copy. Internal:
 * one allocation and one copy fewer per answer (about 2 µs at 4 KiB).
 */
export function decodeOwnedHmcMessage(bytes: Buffer, maxLength: number): HmcMessage {
  return decode(bytes, maxLength, false);
}

function decode(bytes: Uint8Array, maxLength: number, copyData: boolean): HmcMessage {
  const view = bufferView(bytes);

  if (view.length < HMC_HEADER_LENGTH) {
    throw new HmcDecodeError('length', {
      found: `${view.length} bytes`,
      expected: `at least ${HMC_HEADER_LENGTH} bytes (a whole header)`,
    });
  }
  for (let i = 0; i < HMC_DESCRIPTOR.length; i++) {
    if (view[i] !== HMC_DESCRIPTOR[i]) {
      throw new HmcDecodeError('descriptor', {
        found: hexBytes(view.subarray(0, HMC_DESCRIPTOR.length)),
        expected: hexBytes(HMC_DESCRIPTOR),
      });
    }
  }
  const headerLength = view.readUInt8(OFFSET.headerLength);
  if (headerLength !== HMC_HEADER_LENGTH) {
    throw new HmcDecodeError('headerLength', {
      found: String(headerLength),
      expected: String(HMC_HEADER_LENGTH),
    });
  }
  const messageLength = view.readUInt32BE(OFFSET.messageLength);
  if (messageLength !== view.length) {
    throw new HmcDecodeError('messageLength', {
      found: String(messageLength),
      expected: `${view.length} (the number of bytes received)`,
    });
  }
  if (messageLength > maxLength) {
    throw new HmcDecodeError('messageLength', {
      found: String(messageLength),
      expected: `at most ${maxLength} (the maximum message length)`,
    });
  }
  const dataLength = view.readUInt32BE(OFFSET.dataLength);
  if (dataLength !== messageLength - HMC_HEADER_LENGTH) {
    throw new HmcDecodeError('dataLength', {
      found: String(dataLength),
      expected: `${messageLength - HMC_HEADER_LENGTH} (message length ${messageLength} minus the ${HMC_HEADER_LENGTH}-byte header)`,
    });
  }

  // A copy with its own memory: the caller's buffer is typically reused for
  // the next read, and a pooled copy would keep unrelated bytes reachable.
  let data: Buffer;
  if (copyData) {
    data = Buffer.alloc(dataLength);
    view.copy(data, 0, HMC_HEADER_LENGTH);
  } else {
    data = view.subarray(HMC_HEADER_LENGTH);
  }
  return Object.freeze({
    token: view.readUInt32BE(OFFSET.token),
    target: view.readUInt16BE(OFFSET.target),
    flags: view.readUInt8(OFFSET.flags),
    opcode: view.readUInt16BE(OFFSET.opcode),
    returnCode: view.readUInt16BE(OFFSET.returnCode),
    data,
  });
}

/**
 * A Buffer over the same memory as `bytes`, or an {@link HmcDecodeError} for
 * anything that is not a real Uint8Array. `types.isUint8Array` checks the
 * object itself, so it works across realms and cannot be fooled by an object
 * that merely inherits from `Uint8Array.prototype`.
 */
function bufferView(bytes: unknown): Buffer {
  if (!types.isUint8Array(bytes)) {
    throw new HmcDecodeError('input', {
      found: `of type ${kindOf(bytes)}`,
      expected: 'a Uint8Array',
    });
  }
  try {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (cause) {
    // Only reachable if the array's own properties were tampered with.
    throw new HmcDecodeError('input', {
      found: 'a Uint8Array whose memory cannot be read',
      expected: 'a readable Uint8Array',
      cause,
    });
  }
}

/** The `maxLength` option, checked, or the default. */
function resolveMaxLength(fn: string, options: HmcCodecOptions | undefined): number {
  if (options === undefined) return DEFAULT_MAX_MESSAGE_LENGTH;
  requireObject(`${fn}: options`, options);
  if (options.maxLength === undefined) return DEFAULT_MAX_MESSAGE_LENGTH;
  return requireInteger(
    `${fn}: options.maxLength`,
    options.maxLength,
    UINT32_MAX,
    HMC_HEADER_LENGTH,
  );
}

/** Throws a TypeError unless `value` is a non-null object. */
function requireObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${name} must be an object, got ${kindOf(value)}`);
  }
}

/** `value` if it is an integer in `min..max`; else a TypeError (not a number) or RangeError. */
function requireInteger(name: string, value: unknown, max: number, min = 0): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be a number, got ${kindOf(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${name} must be an integer from ${min} to ${max} (${hex(max)}), got ${String(value)}`,
    );
  }
  return value;
}

/** `value` if it is a Uint8Array (empty when undefined); else a TypeError. */
function requireData(name: string, value: unknown): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  if (!types.isUint8Array(value)) {
    throw new TypeError(`${name} must be a Buffer or Uint8Array, got ${kindOf(value)}`);
  }
  return value;
}
