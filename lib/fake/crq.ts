/**
 * The 16-byte CRQ (command/response queue) messages the driver and the
 * hypervisor exchange, as laid out in the driver's header: one byte of
 * "valid" (0x80 payload, 0xC0 initialisation, 0xFF transport event), one of
 * type, then fields in big-endian order. The model passes them as objects;
 * {@link encodeCrq} and {@link decodeCrq} give the byte layout for logs and tests.
 */

/** The first byte of a CRQ entry: what kind of entry it is. */
export const CRQ_VALID = {
  /** A VMC message (capabilities, open, close, buffers, signal). */
  PAYLOAD: 0x80,
  /** CRQ initialisation handshake. */
  INIT: 0xc0,
  /** The partner closed its queue: the driver resets every session. */
  TRANSPORT_EVENT: 0xff,
} as const;

/** Types of the initialisation entries (valid byte 0xC0). */
export const CRQ_INIT_TYPE = {
  /** "Initialise": sent by whichever side comes up. */
  INIT: 0x01,
  /** "Initialisation complete": the answer to INIT. */
  COMPLETE: 0x02,
} as const;

/** VMC message types (valid byte 0x80). */
export const CRQ_TYPE = {
  /** The driver's capabilities, sent once the queue is initialised. */
  CAPABILITIES: 0x01,
  /** The hypervisor's answer to CAPABILITIES. */
  CAPABILITIES_RESPONSE: 0x81,
  /** The driver opens an HMC session on a slot. */
  OPEN: 0x02,
  /** The hypervisor's answer to OPEN. */
  OPEN_RESPONSE: 0x82,
  /** The driver closes a slot's session. */
  CLOSE: 0x03,
  /** The hypervisor's answer to CLOSE. */
  CLOSE_RESPONSE: 0x83,
  /** The hypervisor lends the driver a buffer. */
  ADD_BUFFER: 0x04,
  /** The driver's answer to ADD_BUFFER. */
  ADD_BUFFER_RESPONSE: 0x84,
  /** The hypervisor asks for a buffer back. */
  REMOVE_BUFFER: 0x05,
  /** The driver's answer to REMOVE_BUFFER. */
  REMOVE_BUFFER_RESPONSE: 0x85,
  /** A message is in a buffer (either way). */
  SIGNAL: 0x06,
} as const;

/** Status byte of VMC responses. */
export const CRQ_STATUS = {
  /** Done. */
  SUCCESS: 0,
  /** No such slot (HMC index). */
  INVALID_HMC_INDEX: 1,
  /** No such buffer. */
  INVALID_BUFFER_ID: 2,
  /** The slot's session is closed. */
  CLOSED_HMC: 3,
  /** The interface failed. */
  INTERFACE_FAILURE: 4,
  /** No buffer to give back. */
  NO_BUFFER: 5,
} as const;

/** Who may use a buffer: the partition (the driver calls it ALPHA) or the hypervisor. */
export const BUFFER_OWNER = {
  /** The partition (the driver) holds it. */
  PARTITION: 0,
  /** The hypervisor holds it. */
  HYPERVISOR: 1,
} as const;

/** The VMC protocol version the driver speaks; a different major byte fails it. */
export const VMC_PROTOCOL_VERSION = 0x0101;

/** The buffer id the driver puts in a "no buffer" answer. */
export const INVALID_BUFFER_ID = 0xffff;

/** Size of every CRQ entry. */
export const CRQ_MESSAGE_LENGTH = 16;

/** Entries in the driver's queue as it reports them (one 4 KiB page of 16-byte entries). */
export const CRQ_QUEUE_ENTRIES = 256;

/** An initialisation entry (valid 0xC0). */
export interface CrqInitMessage {
  /** Which layout: tells the union's members apart. */
  readonly format: 'init';
  /** {@link CRQ_INIT_TYPE}. */
  readonly type: number;
}

/** A transport event (valid 0xFF): the partner's queue went away. */
export interface CrqTransportEvent {
  /** Which layout: tells the union's members apart. */
  readonly format: 'transport';
  /** Reason byte (1 partner failed, 2 partner deregistered); informative only. */
  readonly type: number;
}

/** The capabilities exchange (types 0x01 and 0x81), in the "admin" layout. */
export interface CrqCapabilitiesMessage {
  /** Which layout: tells the union's members apart. */
  readonly format: 'capabilities';
  /** {@link CRQ_TYPE}: CAPABILITIES or CAPABILITIES_RESPONSE. */
  readonly type: number;
  /** {@link CRQ_STATUS} in a response, otherwise 0. */
  readonly status: number;
  /** Most HMC sessions supported (u8). */
  readonly maxHmc: number;
  /** Most buffers per session (u16). */
  readonly poolSize: number;
  /** Largest message (u32). */
  readonly maxMtu: number;
  /** Queue entries of the sender (u16). */
  readonly crqSize: number;
  /** Protocol version, major byte first (u16). */
  readonly version: number;
}

/** Every other VMC message, in the common layout. */
export interface CrqHmcMessage {
  /** Which layout: tells the union's members apart. */
  readonly format: 'hmc';
  /** {@link CRQ_TYPE}. */
  readonly type: number;
  /** {@link CRQ_STATUS} in a response, otherwise 0. */
  readonly status: number;
  /** Buffer owner in ADD_BUFFER ({@link BUFFER_OWNER}), otherwise reserved. */
  readonly owner: number;
  /** Session number of the slot (u8); 0 matches any session. */
  readonly session: number;
  /** Slot ("HMC index", u8). */
  readonly index: number;
  /** Buffer id (u16). */
  readonly bufferId: number;
  /** Last word: the buffer's address in the hypervisor's window in ADD_BUFFER (buffer-address.ts), the message length in SIGNAL (u32). */
  readonly word3: number;
}

/** Any CRQ entry. */
export type CrqMessage =
  CrqInitMessage | CrqTransportEvent | CrqCapabilitiesMessage | CrqHmcMessage;

/** Builds a common-layout VMC message; omitted fields are zero. */
export function hmcMessage(
  type: number,
  fields: Partial<Omit<CrqHmcMessage, 'format' | 'type'>>,
): CrqHmcMessage {
  return {
    format: 'hmc',
    type,
    status: fields.status ?? 0,
    owner: fields.owner ?? 0,
    session: fields.session ?? 0,
    index: fields.index ?? 0,
    bufferId: fields.bufferId ?? 0,
    word3: fields.word3 ?? 0,
  };
}

/**
 * The 16 bytes of a CRQ entry, as they sit in the queue.
 *
 * @param message - The entry.
 * @returns A new 16-byte Buffer.
 */
export function encodeCrq(message: CrqMessage): Buffer {
  const bytes = Buffer.alloc(CRQ_MESSAGE_LENGTH);
  switch (message.format) {
    case 'init':
      bytes[0] = CRQ_VALID.INIT;
      bytes[1] = message.type;
      break;
    case 'transport':
      bytes[0] = CRQ_VALID.TRANSPORT_EVENT;
      bytes[1] = message.type;
      break;
    case 'capabilities':
      bytes[0] = CRQ_VALID.PAYLOAD;
      bytes[1] = message.type;
      bytes[2] = message.status;
      bytes[5] = message.maxHmc;
      bytes.writeUInt16BE(message.poolSize, 6);
      bytes.writeUInt32BE(message.maxMtu, 8);
      bytes.writeUInt16BE(message.crqSize, 12);
      bytes.writeUInt16BE(message.version, 14);
      break;
    case 'hmc':
      bytes[0] = CRQ_VALID.PAYLOAD;
      bytes[1] = message.type;
      bytes[2] = message.status;
      bytes[3] = message.owner;
      bytes[4] = message.session;
      bytes[5] = message.index;
      bytes.writeUInt16BE(message.bufferId, 6);
      bytes.writeUInt32BE(message.word3, 12);
      break;
  }
  return bytes;
}

/**
 * Reads a CRQ entry. Capabilities types (0x01, 0x81) use the admin layout,
 * as the driver reads them; anything else with valid 0x80 uses the common one.
 *
 * @param bytes - At least 16 bytes.
 * @throws RangeError when fewer than 16 bytes are given or the valid byte is not one of {@link CRQ_VALID}.
 */
export function decodeCrq(bytes: Uint8Array): CrqMessage {
  if (bytes.length < CRQ_MESSAGE_LENGTH) {
    throw new RangeError(
      `decodeCrq: a CRQ entry is ${CRQ_MESSAGE_LENGTH} bytes, got ${bytes.length}`,
    );
  }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, CRQ_MESSAGE_LENGTH);
  const valid = view[0];
  const type = view[1];
  if (valid === CRQ_VALID.INIT) return { format: 'init', type };
  if (valid === CRQ_VALID.TRANSPORT_EVENT) return { format: 'transport', type };
  if (valid !== CRQ_VALID.PAYLOAD) {
    throw new RangeError(`decodeCrq: unknown valid byte 0x${valid.toString(16)}`);
  }
  if (type === CRQ_TYPE.CAPABILITIES || type === CRQ_TYPE.CAPABILITIES_RESPONSE) {
    return {
      format: 'capabilities',
      type,
      status: view[2],
      maxHmc: view[5],
      poolSize: view.readUInt16BE(6),
      maxMtu: view.readUInt32BE(8),
      crqSize: view.readUInt16BE(12),
      version: view.readUInt16BE(14),
    };
  }
  return {
    format: 'hmc',
    type,
    status: view[2],
    owner: view[3],
    session: view[4],
    index: view[5],
    bufferId: view.readUInt16BE(6),
    word3: view.readUInt32BE(12),
  };
}

const typeNames: ReadonlyMap<number, string> = new Map(
  Object.entries(CRQ_TYPE).map(([name, value]) => [value, name]),
);

/**
 * One line describing an entry, for traces: `OPEN index=0 session=1 buffer=0`.
 *
 * @param message - The entry.
 */
export function describeCrq(message: CrqMessage): string {
  switch (message.format) {
    case 'init':
      return message.type === CRQ_INIT_TYPE.COMPLETE
        ? 'INIT_COMPLETE'
        : `INIT type=${message.type}`;
    case 'transport':
      return `TRANSPORT_EVENT type=${message.type}`;
    case 'capabilities':
      return (
        `${typeNames.get(message.type) ?? message.type} status=${message.status} ` +
        `maxHmc=${message.maxHmc} pool=${message.poolSize} mtu=${message.maxMtu} ` +
        `version=0x${message.version.toString(16).padStart(4, '0')}`
      );
    case 'hmc':
      return (
        `${typeNames.get(message.type) ?? `type=0x${message.type.toString(16)}`} ` +
        `status=${message.status} index=${message.index} session=${message.session} ` +
        `buffer=${message.bufferId} owner=${message.owner} word3=${message.word3}`
      );
  }
}
