/**
 * The frames between QEMU's `spapr-vmc` device and the fake hypervisor
 * (docs/qemu-vmc-bridge.md): an 8-byte header (type, three reserved zero
 * bytes, big-endian u32 payload length) and a payload whose layout the type
 * fixes. Encoders for both directions (the hypervisor's, and QEMU's for test
 * stand-ins), strict decoders, and {@link QemuFrameDecoder} for a stream.
 */
import { FakeDeviceError } from '../errors';
import { FrameReader } from '../../protocol/frame-reader';

/** The protocol version both sides put in HELLO. */
export const QEMU_BRIDGE_VERSION = 1;

/** Bytes of every frame's header. */
export const QEMU_FRAME_HEADER_LENGTH = 8;

/** Largest payload a frame may announce (64 KiB of bytes and an 8-byte prefix); longer closes the connection. */
export const QEMU_FRAME_MAX_PAYLOAD = 65536 + 8;

/** Frame types (the first byte): QEMU's below 0x80, the hypervisor's from 0x81. */
export const QEMU_FRAME_TYPE = {
  /** QEMU's HELLO: version, unit address, LIOBNs, window size. */
  HELLO: 0x01,
  /** The guest called H_SEND_CRQ: the entry. */
  CRQ: 0x02,
  /** The guest called H_COPY_RDMA into the hypervisor's window: address and bytes. */
  RDMA: 0x03,
  /** The guest called H_REQUEST_VMC: the request number. */
  REQUEST_VMC: 0x04,
  /** Text for the hypervisor's log. */
  NOTE: 0x05,
  /** The machine was reset: the guest's queue is gone. */
  RESET: 0x06,
  /** The hypervisor's HELLO: its version. */
  HYPERVISOR_HELLO: 0x81,
  /** An entry for the guest's queue. */
  HYPERVISOR_CRQ: 0x82,
  /** Bytes the hypervisor stores in its window: address and bytes. */
  MEM_WRITE: 0x83,
  /** The answer to an H_REQUEST_VMC: request number, return code, value. */
  REQUEST_VMC_ANSWER: 0x84,
} as const;

/** Bytes of a CRQ entry, as carried in a CRQ frame. */
const CRQ_ENTRY_LENGTH = 16;

/** QEMU's HELLO: the protocol version and what the adapter looks like to the guest. */
export interface QemuHelloFrame {
  /** The frame's type. */
  readonly type: 'hello';
  /** The bridge protocol's version ({@link QEMU_BRIDGE_VERSION}). */
  readonly version: number;
  /** The adapter's unit address (its `reg`). */
  readonly unitAddress: number;
  /** The LIOBN of the guest's window. */
  readonly localLiobn: number;
  /** The LIOBN of the hypervisor's window. */
  readonly remoteLiobn: number;
  /** Bytes of the hypervisor's window. */
  readonly windowSize: number;
}

/** A CRQ entry, either way (H_SEND_CRQ from the guest, or an entry for its queue). */
export interface CrqFrame {
  /** The frame's type. */
  readonly type: 'crq';
  /** The 16 bytes, as they sit in a queue. */
  readonly entry: Buffer;
}

/** Bytes at an address of the hypervisor's window: the guest's copy (RDMA) or the hypervisor's write (MEM_WRITE). */
export interface WindowBytesFrame<T extends 'rdma' | 'mem-write'> {
  /** The frame's type. */
  readonly type: T;
  /** Where in the hypervisor's window (remote address). */
  readonly address: number;
  /** The bytes. */
  readonly data: Buffer;
}

/** The guest called H_REQUEST_VMC. */
export interface RequestVmcFrame {
  /** The frame's type. */
  readonly type: 'request-vmc';
  /** QEMU's number for the request, echoed in the answer. */
  readonly request: number;
}

/** Something QEMU wants in the hypervisor's log. */
export interface NoteFrame {
  /** The frame's type. */
  readonly type: 'note';
  /** The text (UTF-8 on the wire). */
  readonly text: string;
}

/** The machine was reset: the guest's queue is gone. */
export interface ResetFrame {
  /** The frame's type. */
  readonly type: 'reset';
}

/** The hypervisor's HELLO. */
export interface HypervisorHelloFrame {
  /** The frame's type. */
  readonly type: 'hello';
  /** The bridge protocol's version ({@link QEMU_BRIDGE_VERSION}). */
  readonly version: number;
}

/** The answer to an H_REQUEST_VMC. */
export interface RequestVmcAnswerFrame {
  /** The frame's type. */
  readonly type: 'request-vmc-answer';
  /** The number of the request answered. */
  readonly request: number;
  /** The PAPR return code (signed). */
  readonly rc: number;
  /** The value the call returns in R4: the DRC index on success. */
  readonly value: number;
}

/** A frame QEMU sends. */
export type QemuFrame =
  QemuHelloFrame | CrqFrame | WindowBytesFrame<'rdma'> | RequestVmcFrame | NoteFrame | ResetFrame;

/** A frame the hypervisor sends. */
export type HypervisorFrame =
  HypervisorHelloFrame | CrqFrame | WindowBytesFrame<'mem-write'> | RequestVmcAnswerFrame;

/** Codes of {@link QemuProtocolError}. */
export const QEMU_PROTOCOL_ERROR = {
  /** A frame announced a payload over {@link QEMU_FRAME_MAX_PAYLOAD}. */
  TOO_LONG: 'ERR_IBMVMC_FAKE_QEMU_FRAME_TOO_LONG',
  /** A frame's header or payload does not match its type (or the type is unknown). */
  MALFORMED: 'ERR_IBMVMC_FAKE_QEMU_FRAME_MALFORMED',
  /** Well-formed frames in an order the protocol does not allow (before HELLO, another version). */
  SEQUENCE: 'ERR_IBMVMC_FAKE_QEMU_PROTOCOL',
} as const;

/** A broken bridge protocol: the connection cannot go on. */
export class QemuProtocolError extends FakeDeviceError {
  /**
   * @param message - What was wrong.
   * @param code - One of {@link QEMU_PROTOCOL_ERROR}.
   */
  constructor(
    message: string,
    code: (typeof QEMU_PROTOCOL_ERROR)[keyof typeof QEMU_PROTOCOL_ERROR],
  ) {
    super(message, code);
  }
}

/**
 * The bytes of a frame QEMU sends (for stand-ins of QEMU in tests and tools).
 *
 * @throws RangeError for a field out of range or a payload too long.
 */
export function encodeQemuFrame(frame: QemuFrame): Buffer {
  switch (frame.type) {
    case 'hello':
      return withWords(QEMU_FRAME_TYPE.HELLO, [
        frame.version,
        frame.unitAddress,
        frame.localLiobn,
        frame.remoteLiobn,
        frame.windowSize,
      ]);
    case 'crq':
      return withBytes(QEMU_FRAME_TYPE.CRQ, [], crqEntry(frame.entry));
    case 'rdma':
      return withBytes(QEMU_FRAME_TYPE.RDMA, [frame.address], frame.data);
    case 'request-vmc':
      return withWords(QEMU_FRAME_TYPE.REQUEST_VMC, [frame.request]);
    case 'note':
      return withBytes(QEMU_FRAME_TYPE.NOTE, [], Buffer.from(frame.text, 'utf8'));
    case 'reset':
      return withWords(QEMU_FRAME_TYPE.RESET, []);
  }
}

/**
 * The bytes of a frame the hypervisor sends.
 *
 * @throws RangeError for a field out of range or a payload too long.
 */
export function encodeHypervisorFrame(frame: HypervisorFrame): Buffer {
  switch (frame.type) {
    case 'hello':
      return withWords(QEMU_FRAME_TYPE.HYPERVISOR_HELLO, [frame.version]);
    case 'crq':
      return withBytes(QEMU_FRAME_TYPE.HYPERVISOR_CRQ, [], crqEntry(frame.entry));
    case 'mem-write':
      return withBytes(QEMU_FRAME_TYPE.MEM_WRITE, [frame.address], frame.data);
    case 'request-vmc-answer': {
      if (!Number.isSafeInteger(frame.value) || frame.value < 0) {
        throw new RangeError(
          `request-vmc-answer: value must be a u64 (safe integer), got ${frame.value}`,
        );
      }
      const bytes = withWords(QEMU_FRAME_TYPE.REQUEST_VMC_ANSWER, [frame.request, 0, 0, 0, 0, 0]);
      bytes.writeBigInt64BE(BigInt(frame.rc), QEMU_FRAME_HEADER_LENGTH + 8);
      bytes.writeBigUInt64BE(BigInt(frame.value), QEMU_FRAME_HEADER_LENGTH + 16);
      return bytes;
    }
  }
}

/**
 * Reads a whole frame QEMU sent (header included, as {@link QemuFrameDecoder} hands it out).
 * Byte fields are views of `bytes`.
 *
 * @throws QemuProtocolError (MALFORMED) for another type, reserved bytes set, or a payload of the wrong size.
 */
export function decodeQemuFrame(bytes: Buffer): QemuFrame {
  const { type, payload } = splitFrame(bytes);
  switch (type) {
    case QEMU_FRAME_TYPE.HELLO: {
      const [version, unitAddress, localLiobn, remoteLiobn, windowSize] = words(type, payload, 5);
      return { type: 'hello', version, unitAddress, localLiobn, remoteLiobn, windowSize };
    }
    case QEMU_FRAME_TYPE.CRQ:
      return { type: 'crq', entry: exactly(type, payload, CRQ_ENTRY_LENGTH) };
    case QEMU_FRAME_TYPE.RDMA:
      return { type: 'rdma', ...addressed(type, payload) };
    case QEMU_FRAME_TYPE.REQUEST_VMC:
      return { type: 'request-vmc', request: words(type, payload, 1)[0] };
    case QEMU_FRAME_TYPE.NOTE:
      return { type: 'note', text: payload.toString('utf8') };
    case QEMU_FRAME_TYPE.RESET:
      words(type, payload, 0);
      return { type: 'reset' };
    default:
      throw malformed(`frame type 0x${hex(type)} is not one QEMU sends`);
  }
}

/**
 * Reads a whole frame the hypervisor sent (for stand-ins of QEMU). Byte fields are views of `bytes`.
 *
 * @throws QemuProtocolError (MALFORMED) for another type, reserved bytes set, or a payload of the wrong size.
 */
export function decodeHypervisorFrame(bytes: Buffer): HypervisorFrame {
  const { type, payload } = splitFrame(bytes);
  switch (type) {
    case QEMU_FRAME_TYPE.HYPERVISOR_HELLO:
      return { type: 'hello', version: words(type, payload, 1)[0] };
    case QEMU_FRAME_TYPE.HYPERVISOR_CRQ:
      return { type: 'crq', entry: exactly(type, payload, CRQ_ENTRY_LENGTH) };
    case QEMU_FRAME_TYPE.MEM_WRITE:
      return { type: 'mem-write', ...addressed(type, payload) };
    case QEMU_FRAME_TYPE.REQUEST_VMC_ANSWER: {
      exactly(type, payload, 24);
      const request = payload.readUInt32BE(0);
      const reserved = payload.readUInt32BE(4);
      if (reserved !== 0) throw malformed('request-vmc-answer: reserved word not 0');
      const value = payload.readBigUInt64BE(16);
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw malformed(`request-vmc-answer: value 0x${value.toString(16)} too large`);
      }
      return {
        type: 'request-vmc-answer',
        request,
        rc: Number(payload.readBigInt64BE(8)),
        value: Number(value),
      };
    }
    default:
      throw malformed(`frame type 0x${hex(type)} is not one the hypervisor sends`);
  }
}

/**
 * Turns a byte stream, split and merged arbitrarily, into decoded frames.
 * A frame that breaks the protocol leaves the stream unusable: drop the connection.
 */
export class QemuFrameDecoder<F> {
  private readonly reader: FrameReader;

  /**
   * @param decode - {@link decodeQemuFrame} or {@link decodeHypervisorFrame}: which side's frames to expect.
   * @param onFrame - Gets each frame, in order; its byte fields may be views of the received chunk.
   */
  constructor(decode: (bytes: Buffer) => F, onFrame: (frame: F) => void) {
    this.reader = new FrameReader(
      QEMU_FRAME_HEADER_LENGTH,
      QEMU_FRAME_MAX_PAYLOAD,
      (bytes) => onFrame(decode(bytes)),
      announcedLength,
    );
  }

  /** Bytes received that do not make a whole frame yet. */
  get buffered(): number {
    return this.reader.buffered;
  }

  /**
   * Feeds bytes in; decodes and hands out every frame they complete.
   *
   * @throws QemuProtocolError for a frame too long or malformed (and whatever `onFrame` throws).
   */
  push(chunk: Buffer): void {
    this.reader.push(chunk);
  }
}

/** The length word of a header, checked before the reader waits for that many bytes. */
function announcedLength(chunk: Buffer, offset: number): number {
  const length = chunk.readUInt32BE(offset + 4);
  if (length > QEMU_FRAME_MAX_PAYLOAD) {
    throw new QemuProtocolError(
      `frame type 0x${hex(chunk[offset])} announces ${length} bytes, over the maximum of ${QEMU_FRAME_MAX_PAYLOAD}`,
      QEMU_PROTOCOL_ERROR.TOO_LONG,
    );
  }
  return length;
}

function splitFrame(bytes: Buffer): { type: number; payload: Buffer } {
  if (bytes.length < QEMU_FRAME_HEADER_LENGTH) {
    throw malformed(`a frame is at least ${QEMU_FRAME_HEADER_LENGTH} bytes, got ${bytes.length}`);
  }
  const type = bytes[0];
  if (bytes[1] !== 0 || bytes[2] !== 0 || bytes[3] !== 0) {
    throw malformed(`frame type 0x${hex(type)}: reserved header bytes not 0`);
  }
  const length = bytes.readUInt32BE(4);
  if (length !== bytes.length - QEMU_FRAME_HEADER_LENGTH) {
    throw malformed(
      `frame type 0x${hex(type)} announces ${length} bytes but carries ${bytes.length - QEMU_FRAME_HEADER_LENGTH}`,
    );
  }
  return { type, payload: bytes.subarray(QEMU_FRAME_HEADER_LENGTH) };
}

function exactly(type: number, payload: Buffer, length: number): Buffer {
  if (payload.length !== length) {
    throw malformed(`frame type 0x${hex(type)} has ${payload.length} payload bytes, not ${length}`);
  }
  return payload;
}

function words(type: number, payload: Buffer, count: number): number[] {
  exactly(type, payload, 4 * count);
  return Array.from({ length: count }, (_, i) => payload.readUInt32BE(4 * i));
}

function addressed(type: number, payload: Buffer): { address: number; data: Buffer } {
  if (payload.length < 4) {
    throw malformed(
      `frame type 0x${hex(type)} has ${payload.length} payload bytes, fewer than its address`,
    );
  }
  return { address: payload.readUInt32BE(0), data: payload.subarray(4) };
}

function crqEntry(entry: Buffer): Buffer {
  if (entry.length !== CRQ_ENTRY_LENGTH) {
    throw new RangeError(`a CRQ entry is ${CRQ_ENTRY_LENGTH} bytes, got ${entry.length}`);
  }
  return entry;
}

function withWords(type: number, values: readonly number[]): Buffer {
  return withBytes(type, values, Buffer.alloc(0));
}

/** A frame of `type` whose payload is `prefix` (big-endian u32s) and then `data`. */
function withBytes(type: number, prefix: readonly number[], data: Uint8Array): Buffer {
  const length = 4 * prefix.length + data.length;
  if (length > QEMU_FRAME_MAX_PAYLOAD) {
    throw new RangeError(
      `frame payload of ${length} bytes, over the maximum of ${QEMU_FRAME_MAX_PAYLOAD}`,
    );
  }
  const bytes = Buffer.alloc(QEMU_FRAME_HEADER_LENGTH + length);
  bytes[0] = type;
  bytes.writeUInt32BE(length, 4);
  prefix.forEach((value, i) => bytes.writeUInt32BE(value, QEMU_FRAME_HEADER_LENGTH + 4 * i));
  bytes.set(data, QEMU_FRAME_HEADER_LENGTH + 4 * prefix.length);
  return bytes;
}

function malformed(message: string): QemuProtocolError {
  return new QemuProtocolError(message, QEMU_PROTOCOL_ERROR.MALFORMED);
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0');
}
