/**
 * The numbers of the broker's wire protocol (docs/broker-protocol.md): the
 * header's layout, the frame types and every limit.
 */

/** The first byte of every frame: says the bytes are this protocol's, whatever its version. */
export const BROKER_FRAME_MAGIC = 0xb7;

/**
 * The protocol version this package speaks: the second byte of every frame,
 * the version in WELCOME, and the highest it accepts in HELLO's.
 */
export const BROKER_PROTOCOL_VERSION = 1;

/** Bytes of every frame's header: magic, version, type, a reserved zero byte, a big-endian u32 payload length. */
export const BROKER_FRAME_HEADER_LENGTH = 8;

/**
 * Largest HMC message a frame carries: 64 KiB, four times the largest MTU the
 * driver negotiates (16384), so no session's message is ever too long for the wire.
 */
export const BROKER_MAX_MESSAGE_LENGTH = 65536;

/** Smallest HMC message a frame carries: a whole HMC header (32 bytes). */
export const BROKER_MIN_MESSAGE_LENGTH = 32;

/**
 * Largest payload a frame may announce: a 64 KiB message and 8 bytes of fixed
 * fields (WELCOME, the largest, has 6). A header announcing more is refused as
 * soon as it is read.
 */
export const BROKER_FRAME_MAX_PAYLOAD = BROKER_MAX_MESSAGE_LENGTH + 8;

/** Largest string (client name and version, error text, goodbye reason), in UTF-8 bytes. */
export const BROKER_MAX_STRING_LENGTH = 1024;

/** Largest error code (ERROR, REFUSED), in bytes: upper-case ASCII letters, digits and `_`. */
export const BROKER_MAX_CODE_LENGTH = 64;

/** Most targets one SUBSCRIBE may list (there are 8 known targets; an empty list means all). */
export const BROKER_MAX_SUBSCRIBE_TARGETS = 256;

/**
 * Frame types (the header's third byte): a client's below 0x80, the broker's
 * from 0x81, and GOODBYE (0x05) either way.
 */
export const BROKER_FRAME_TYPE = {
  /** client: protocol version, client name and version; the first frame. */
  HELLO: 0x01,
  /** client: a request, an HMC message under the client's own token. */
  REQUEST: 0x02,
  /** client: a request given up; its answer, if any comes, is dropped. */
  CANCEL: 0x03,
  /** client: which targets' unsolicited messages it wants (none listed: all). */
  SUBSCRIBE: 0x04,
  /** either way: the last frame of the sender, with a reason. */
  GOODBYE: 0x05,
  /** broker: the answer to HELLO, with the version, the MTU and the exchange-options answer. */
  WELCOME: 0x81,
  /** broker: the HMC answer to a client's request, under the client's token. */
  ANSWER: 0x82,
  /** broker: an unsolicited HMC message for a target the client subscribed to. */
  EVENT: 0x83,
  /** broker: the session was reset; requests in flight are lost. */
  RESET: 0x84,
  /** broker: a new session replaces the one reset, with its MTU and exchange-options answer. */
  RECONNECT: 0x85,
  /** broker: one request refused (code and text); the connection goes on. */
  REFUSED: 0x86,
  /** broker: the connection cannot go on (code and text); the broker closes it next. */
  ERROR: 0x87,
} as const;

/** One of the {@link BROKER_FRAME_TYPE} values. */
export type BrokerFrameTypeCode = (typeof BROKER_FRAME_TYPE)[keyof typeof BROKER_FRAME_TYPE];

/** The error code the broker puts in ERROR when a client's frames break this protocol. */
export const BROKER_PROTOCOL_ERROR_CODE = 'ERR_IBMVMC_BROKER_PROTOCOL';
