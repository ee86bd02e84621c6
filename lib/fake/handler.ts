/**
 * The pluggable part of the fake hypervisor: what answers the HMC messages a
 * session sends. A handler gets each message and returns the answers (zero,
 * one or several messages), now or later; returning nothing leaves the
 * message unanswered, and the buffer it came in stays with the hypervisor.
 */

/** The session a message came from. */
export interface FakeSessionInfo {
  /** The slot ("HMC index"). */
  readonly slot: number;
  /** The driver's session number for the slot (1..254). */
  readonly session: number;
  /** The HMC id given by SETHMCID, trailing NULs removed (latin1). */
  readonly hmcId: string;
  /** The negotiated MTU: answers longer than this are dropped. */
  readonly mtu: number;
}

/** What a handler may answer with: nothing, one message or several. */
export type FakeHandlerAnswer = Uint8Array | readonly Uint8Array[] | null | undefined | void;

/**
 * Answers the messages of a session. Called once per message, in order; may
 * return a promise (answers that arrive after the session ended are dropped).
 */
export type FakeMessageHandler = (
  message: Buffer,
  session: FakeSessionInfo,
) => FakeHandlerAnswer | Promise<FakeHandlerAnswer>;

/**
 * The answers as a list of Buffers (sharing memory with what was returned).
 *
 * @param answer - What a handler returned (after awaiting it).
 */
export function normalizeAnswer(answer: FakeHandlerAnswer): Buffer[] {
  if (answer === undefined || answer === null) return [];
  if (answer instanceof Uint8Array) return [asBuffer(answer)];
  return answer.map(asBuffer);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
