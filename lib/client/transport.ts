/**
 * What the client needs from a session. `HmcSession` is one; a test can
 * give an in-memory stand-in, and nothing in the client depends on which.
 */
import type { CallOptions } from '../session/session';

/** A message channel: whole messages out and in, in order, until closed. */
export interface ClientTransport {
  /** The largest whole message `send` accepts and `receive` returns (the negotiated MTU). */
  readonly mtu: number;
  /** Sends one whole message; resolves once it is out, rejects if nothing was sent. */
  send(data: Uint8Array, options?: CallOptions): Promise<void>;
  /**
   * The next incoming message. Rejects with `SessionClosedError` once the
   * transport is closed, or with another error (a `SessionResetError`) when
   * it is gone for another reason.
   */
  receive(options?: CallOptions): Promise<Buffer>;
  /** Closes the channel; pending sends and receives reject. Idempotent. */
  close(): Promise<void>;
}
