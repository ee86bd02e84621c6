/**
 * The frames of the broker's wire protocol, as values: what
 * `encodeBrokerFrame` takes and `decodeBrokerFrame` returns.
 * docs/broker-protocol.md has their bytes.
 */

/** Which side sent a frame: a client program, or the broker. */
export type BrokerFrameSender = 'client' | 'broker';

/** HELLO, a client's first frame: who it is and the highest protocol version it speaks. */
export interface HelloFrame {
  readonly type: 'hello';
  /** The highest protocol version the client speaks (1 or more; u16). */
  readonly version: number;
  /** The client program's name, for the broker's logs (1 to 1024 UTF-8 bytes). */
  readonly clientName: string;
  /** The client program's version (at most 1024 UTF-8 bytes; may be empty). */
  readonly clientVersion: string;
}

/** REQUEST: an HMC message to send on the broker's session. */
export interface RequestFrame {
  readonly type: 'request';
  /** The client's token for the request (u32); its ANSWER or REFUSED carries it back. */
  readonly token: number;
  /** The whole HMC message (32 to 65536 bytes); its own token is the broker's to rewrite. */
  readonly message: Buffer;
}

/** CANCEL: the client gave a request up. */
export interface CancelFrame {
  readonly type: 'cancel';
  /** The token of the request given up (u32). */
  readonly token: number;
}

/** SUBSCRIBE: the targets whose unsolicited messages the client wants; it replaces any earlier one. */
export interface SubscribeFrame {
  readonly type: 'subscribe';
  /** Targets (u16 each, no repeats, at most 256); empty means every target. */
  readonly targets: readonly number[];
}

/** GOODBYE, either way: the sender's last frame. */
export interface GoodbyeFrame {
  readonly type: 'goodbye';
  /** Why, for people and logs (at most 1024 UTF-8 bytes; may be empty). */
  readonly reason: string;
}

/** WELCOME, the broker's answer to HELLO: the connection is ready. */
export interface WelcomeFrame {
  readonly type: 'welcome';
  /** The protocol version both sides speak from here on (u16). */
  readonly version: number;
  /** The MTU of the broker's session: the largest HMC message it can send (32 to 65536). */
  readonly mtu: number;
  /** The router's answer to the broker's exchange options: a whole HMC message. */
  readonly exchangeOptionsAnswer: Buffer;
}

/** ANSWER: the HMC answer to one of the client's requests. */
export interface AnswerFrame {
  readonly type: 'answer';
  /** The client's token of the request (u32). */
  readonly token: number;
  /** The whole HMC message, as the session received it (its token is the broker's). */
  readonly message: Buffer;
}

/** EVENT: an unsolicited HMC message for a target the client subscribed to. */
export interface EventFrame {
  readonly type: 'event';
  /** The whole HMC message. */
  readonly message: Buffer;
}

/** RESET: the broker's session was reset; the client's requests in flight will get no answer. */
export interface ResetFrame {
  readonly type: 'reset';
}

/** RECONNECT: the broker holds a new session, after a RESET. */
export interface ReconnectFrame {
  readonly type: 'reconnect';
  /** The new session's MTU (32 to 65536). */
  readonly mtu: number;
  /** The router's answer to the new session's exchange options: a whole HMC message. */
  readonly exchangeOptionsAnswer: Buffer;
}

/** REFUSED: one request was not sent; the connection goes on. */
export interface RefusedFrame {
  readonly type: 'refused';
  /** The client's token of the request (u32). */
  readonly token: number;
  /** Why, for programs: `[A-Z][A-Z0-9_]*`, at most 64 bytes (e.g. `ERR_IBMVMC_SESSION_RESET`). */
  readonly code: string;
  /** Why, for people (at most 1024 UTF-8 bytes). */
  readonly text: string;
}

/** ERROR: the connection cannot go on; the broker closes it after this frame. */
export interface ErrorFrame {
  readonly type: 'error';
  /** What went wrong, for programs: `[A-Z][A-Z0-9_]*`, at most 64 bytes. */
  readonly code: string;
  /** What went wrong, for people (at most 1024 UTF-8 bytes). */
  readonly text: string;
}

/** A frame a client sends. */
export type ClientFrame = HelloFrame | RequestFrame | CancelFrame | SubscribeFrame | GoodbyeFrame;

/** A frame the broker sends. */
export type ServerFrame =
  | WelcomeFrame
  | AnswerFrame
  | EventFrame
  | ResetFrame
  | ReconnectFrame
  | RefusedFrame
  | ErrorFrame
  | GoodbyeFrame;

/** Any frame of the protocol. */
export type BrokerFrame = ClientFrame | ServerFrame;

/** The frames `sender` sends. */
export type BrokerFrameFrom<S extends BrokerFrameSender> = S extends 'client'
  ? ClientFrame
  : ServerFrame;
