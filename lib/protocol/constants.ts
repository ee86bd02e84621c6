import { hex } from './format';

/** Length of the fixed HMC command header, in bytes; the data follows it. */
export const HMC_HEADER_LENGTH = 32;

/**
 * The three bytes every HMC command message starts with (`DE CA FF`).
 * A frozen tuple rather than a Buffer, so no caller can alter it.
 */
export const HMC_DESCRIPTOR = Object.freeze([0xde, 0xca, 0xff] as const);

/**
 * Largest whole message (header + data) accepted by default: the default MTU of
 * IBM's public test client. The real bound is the MTU negotiated with the
 * hypervisor, so encoders and decoders let callers pass their own.
 */
export const DEFAULT_MAX_MESSAGE_LENGTH = 4096;

/** Components a message can be addressed to (the header's 16-bit target field). */
export const HMC_TARGET = {
  /** The command router: the session itself (open, close, echo). */
  ROUTER: 0x8000,
  /** LPAR configuration. */
  LPAR_CONFIGURATION: 0x8001,
  /** LPAR dynamic reconfiguration. */
  LPAR_DYNAMIC_RECONFIGURATION: 0x8002,
  /** Virtual service processor. */
  VIRTUAL_SERVICE_PROCESSOR: 0x8003,
  /** Capacity on demand. */
  CAPACITY_ON_DEMAND: 0x8004,
  /** Concurrent maintenance. */
  CONCURRENT_MAINTENANCE: 0x8005,
  /** Target type 6 (its purpose is not published). */
  TYPE_6: 0x8006,
  /** Target type 7 (its purpose is not published). */
  TYPE_7: 0x8007,
} as const;

/** One of the known {@link HMC_TARGET} values. */
export type HmcTarget = (typeof HMC_TARGET)[keyof typeof HMC_TARGET];

/** Opcodes understood by the command router ({@link HMC_TARGET}.ROUTER). */
export const HMC_ROUTER_OPCODE = {
  /** Opens the command path; the first message of a session. */
  EXCHANGE_OPTIONS: 0x0001,
  /** Closes the command path; the last message of a session. */
  CLOSE: 0x0002,
  /** Echo: the response carries the request's data back. */
  ECHO: 0x0103,
} as const;

/** One of the {@link HMC_ROUTER_OPCODE} values. */
export type HmcRouterOpcode = (typeof HMC_ROUTER_OPCODE)[keyof typeof HMC_ROUTER_OPCODE];

/** Bits of the header's flags byte. A request with no bit set expects no answer. */
export const HMC_FLAG = {
  /** The sender expects a response to this message. */
  RESPONSE_EXPECTED: 0x80,
  /** This message is a response (not a request). */
  RESPONSE: 0x40,
} as const;

/** One of the {@link HMC_FLAG} bits. */
export type HmcFlag = (typeof HMC_FLAG)[keyof typeof HMC_FLAG];

/** Return codes a response can carry (the header's 16-bit return code field). */
export const HMC_RETURN_CODE = {
  /** Success. */
  GOOD: 0x0000,
  /** Invalid opcode. */
  INVALID_OPCODE: 0x8001,
  /** Invalid data. */
  INVALID_DATA: 0x8003,
  /** Generic error. */
  GENERIC_ERROR: 0x8006,
  /** Cancelled (timed out). */
  CANCELLED: 0x8007,
  /** Buffer not available to queue the command. */
  BUFFER_NOT_AVAILABLE: 0x8020,
  /** Invalid HMC index. */
  INVALID_HMC_INDEX: 0x8021,
  /** Size out of bounds. */
  SIZE_OUT_OF_BOUNDS: 0x8022,
  /** Invalid target. */
  INVALID_TARGET: 0x8023,
  /** Invalid category. */
  INVALID_CATEGORY: 0x8024,
  /** Rejected: the HMC is terminating. */
  HMC_TERMINATING: 0x8025,
  /** The HMC closed the command path. */
  COMMAND_PATH_CLOSED: 0x8026,
  /** Binding of an event message failed. */
  EVENT_BINDING_FAILED: 0x8027,
  /** Invalid session state. */
  INVALID_SESSION_STATE: 0x8028,
  /** Session mismatch. */
  SESSION_MISMATCH: 0x8029,
  /** Invalid HMC instance id. */
  INVALID_HMC_INSTANCE_ID: 0x802a,
  /** This HMC index is already open. */
  HMC_INDEX_ALREADY_OPEN: 0x802b,
  /** Invalid buffer id. */
  INVALID_BUFFER_ID: 0x802c,
  /** Invalid response. */
  INVALID_RESPONSE: 0x802d,
  /** Invalid sync request. */
  INVALID_SYNC_REQUEST: 0x802e,
} as const;

/** One of the known {@link HMC_RETURN_CODE} values. */
export type HmcReturnCode = (typeof HMC_RETURN_CODE)[keyof typeof HMC_RETURN_CODE];

/** A short, human description of every known return code. */
export const HMC_RETURN_CODE_DESCRIPTIONS: Readonly<Record<HmcReturnCode, string>> = Object.freeze({
  [HMC_RETURN_CODE.GOOD]: 'good',
  [HMC_RETURN_CODE.INVALID_OPCODE]: 'invalid opcode',
  [HMC_RETURN_CODE.INVALID_DATA]: 'invalid data',
  [HMC_RETURN_CODE.GENERIC_ERROR]: 'generic error',
  [HMC_RETURN_CODE.CANCELLED]: 'cancelled (timed out)',
  [HMC_RETURN_CODE.BUFFER_NOT_AVAILABLE]: 'buffer not available to queue the command',
  [HMC_RETURN_CODE.INVALID_HMC_INDEX]: 'invalid HMC index',
  [HMC_RETURN_CODE.SIZE_OUT_OF_BOUNDS]: 'size out of bounds',
  [HMC_RETURN_CODE.INVALID_TARGET]: 'invalid target',
  [HMC_RETURN_CODE.INVALID_CATEGORY]: 'invalid category',
  [HMC_RETURN_CODE.HMC_TERMINATING]: 'rejected: the HMC is terminating',
  [HMC_RETURN_CODE.COMMAND_PATH_CLOSED]: 'the HMC closed the command path',
  [HMC_RETURN_CODE.EVENT_BINDING_FAILED]: 'binding of an event message failed',
  [HMC_RETURN_CODE.INVALID_SESSION_STATE]: 'invalid session state',
  [HMC_RETURN_CODE.SESSION_MISMATCH]: 'session mismatch',
  [HMC_RETURN_CODE.INVALID_HMC_INSTANCE_ID]: 'invalid HMC instance id',
  [HMC_RETURN_CODE.HMC_INDEX_ALREADY_OPEN]: 'this HMC index is already open',
  [HMC_RETURN_CODE.INVALID_BUFFER_ID]: 'invalid buffer id',
  [HMC_RETURN_CODE.INVALID_RESPONSE]: 'invalid response',
  [HMC_RETURN_CODE.INVALID_SYNC_REQUEST]: 'invalid sync request',
});

/**
 * Return codes reserved by the protocol: deprecated codes of older HMC
 * versions. Kept apart so a peer sending one is reported as such, not as unknown.
 */
export const HMC_RESERVED_RETURN_CODES = Object.freeze([
  0x8002, 0x8004, 0x8005, 0x8008, 0x8009, 0x8010,
] as const);

// A Map rather than indexing the record, so a number can be looked up without
// casts and nothing on Object.prototype can ever answer.
const descriptions: ReadonlyMap<number, string> = new Map(
  Object.entries(HMC_RETURN_CODE_DESCRIPTIONS).map(([code, text]) => [Number(code), text]),
);
const reserved: ReadonlySet<number> = new Set(HMC_RESERVED_RETURN_CODES);

/**
 * Describes a return code for people (logs, error messages).
 *
 * Never throws: a peer may send any 16-bit value, and callers build error
 * messages from the result.
 *
 * @param code - The return code from a response header.
 * @returns The description of a known code (e.g. `invalid opcode`); for
 *   reserved or unknown codes, a description saying so, with the hex value.
 */
export function describeReturnCode(code: number): string {
  const known = descriptions.get(code);
  if (known !== undefined) return known;
  if (reserved.has(code))
    return `reserved return code ${hex(code)} (deprecated by older HMC versions)`;
  if (!Number.isInteger(code) || code < 0 || code > 0xffff) {
    return `invalid return code ${String(code)} (not a 16-bit unsigned integer)`;
  }
  return `unknown return code ${hex(code)}`;
}
