/**
 * The wire protocol between the preload shim and the fake
 * (docs/fake-wire-protocol.md; native/fake/wire.h is the C side): ops, header
 * sizes, and the framing of requests, replies and data frames. Every frame
 * starts with a little-endian u32 payload length, which is all the
 * incremental {@link FrameReader} needs to know.
 */
export { FrameReader } from '../protocol/frame-reader';

/** Environment variable naming the control socket. */
export const WIRE_ENV_SOCKET = 'IBMVMC_FAKE_SOCKET';
/** Environment variable naming the device path the shim intercepts. */
export const WIRE_ENV_DEVICE = 'IBMVMC_FAKE_DEVICE';
/** Suffix of the data socket's path. */
export const WIRE_DATA_SUFFIX = '.data';
/** Length of the token that ties a data connection to its control connection. */
export const WIRE_TOKEN_LENGTH = 8;
/** Largest write whose bytes are sent inline. */
export const WIRE_MAX_INLINE_WRITE = 65536;
/** Request header: payload length, op, arg0, arg1. */
export const WIRE_REQUEST_HEADER_LENGTH = 16;
/** Reply header: payload length, result. */
export const WIRE_REPLY_HEADER_LENGTH = 8;
/** Data frame header: message length, local read limit. */
export const WIRE_DATA_HEADER_LENGTH = 8;

/** Request ops. */
export const WIRE_OP = {
  /** open() of the device. */
  OPEN: 1,
  /** The SETHMCID ioctl. */
  SETHMCID: 2,
  /** The QUERY ioctl. */
  QUERY: 3,
  /** The REQUESTVMC ioctl (on an aux connection). */
  REQUESTVMC: 4,
  /** Any other ioctl number (answered EINVAL). */
  IOCTL: 5,
  /** write() of a message. */
  WRITE: 6,
  /** read() of a message. */
  READ: 7,
  /** close() of the file. */
  CLOSE: 8,
  /** Opens the events connection of a file. */
  EVENTS: 9,
  /** A read that already took the frame at the head of the data connection (unanswered). */
  READ_TAKEN: 10,
} as const;

/** WRITE's arg1: whether the bytes follow. */
export const WIRE_WRITE_DATA = {
  /** The message follows as the payload. */
  INLINE: 0,
  /** Count over `WIRE_MAX_INLINE_WRITE` (64 KiB): bytes omitted. */
  TOO_LONG: 1,
  /** The caller's buffer was unreadable: bytes omitted. */
  UNREADABLE: 2,
} as const;

/** A parsed request header; the payload is the rest of the frame. */
export interface WireRequest {
  readonly op: number;
  readonly arg0: number;
  readonly arg1: number;
  /** A view into the received bytes (never reused by the reader). */
  readonly payload: Buffer;
}

/**
 * Builds a request frame (the shim's side; used by test clients).
 *
 * @param payload - Bytes after the header (none when omitted).
 */
export function encodeRequest(
  op: number,
  arg0: number,
  arg1: number,
  payload?: Uint8Array,
): Buffer {
  const length = payload?.length ?? 0;
  const frame = Buffer.allocUnsafe(WIRE_REQUEST_HEADER_LENGTH + length);
  frame.writeUInt32LE(length, 0);
  frame.writeUInt32LE(op >>> 0, 4);
  frame.writeUInt32LE(arg0 >>> 0, 8);
  frame.writeUInt32LE(arg1 >>> 0, 12);
  if (payload !== undefined) frame.set(payload, WIRE_REQUEST_HEADER_LENGTH);
  return frame;
}

/** Reads a request frame's header (the frame as given by {@link FrameReader}). */
export function parseRequest(frame: Buffer): WireRequest {
  return {
    op: frame.readUInt32LE(4),
    arg0: frame.readUInt32LE(8),
    arg1: frame.readUInt32LE(12),
    payload: frame.subarray(WIRE_REQUEST_HEADER_LENGTH),
  };
}

/** Builds a reply with no payload. */
export function encodeReply(result: number): Buffer {
  const frame = Buffer.allocUnsafe(WIRE_REPLY_HEADER_LENGTH);
  frame.writeUInt32LE(0, 0);
  frame.writeInt32LE(result, 4);
  return frame;
}

/** Builds a reply whose payload is `words` little-endian 32-bit integers (signed when negative). */
export function encodeReplyWords(result: number, words: readonly number[]): Buffer {
  const frame = Buffer.allocUnsafe(WIRE_REPLY_HEADER_LENGTH + 4 * words.length);
  frame.writeUInt32LE(4 * words.length, 0);
  frame.writeInt32LE(result, 4);
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const offset = WIRE_REPLY_HEADER_LENGTH + 4 * i;
    if (word < 0) frame.writeInt32LE(word, offset);
    else frame.writeUInt32LE(word >>> 0, offset);
  }
  return frame;
}

/**
 * Builds a data frame carrying one message.
 *
 * @param localReadLimit - The largest read count with which the shim may take this frame itself
 *   and report it with READ_TAKEN; 0: every read of it must ask the fake (READ).
 */
export function encodeDataFrame(message: Uint8Array, localReadLimit: number): Buffer {
  const frame = Buffer.allocUnsafe(WIRE_DATA_HEADER_LENGTH + message.length);
  frame.writeUInt32LE(message.length, 0);
  frame.writeUInt32LE(localReadLimit >>> 0, 4);
  frame.set(message, WIRE_DATA_HEADER_LENGTH);
  return frame;
}
