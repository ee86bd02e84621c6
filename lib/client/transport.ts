/**
 * What the client needs from a session. `HmcSession` is one; a test can
 * give an in-memory stand-in. The client behaves the same over either; with
 * an `HmcSession` it only takes cheaper paths (withdrawable sends, answers
 * decoded in place).
 */
import { HmcSession, type CallOptions } from '../session/session';
import {
  isWithdrawableSender,
  kSendWithdrawable,
  type WithdrawableSend,
} from '../session/withdrawable-send';

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

/**
 * Hands one message to the transport so that it can be taken back while the
 * transport still holds it: cheaply where the transport offers it (an
 * `HmcSession`), with an AbortSignal otherwise.
 */
export function sendWithdrawable(transport: ClientTransport, data: Buffer): WithdrawableSend {
  if (isWithdrawableSender(transport)) return transport[kSendWithdrawable](data);
  const abort = new AbortController();
  return {
    sent: transport.send(data, { timeoutMs: Infinity, signal: abort.signal }),
    withdraw: () => abort.abort(),
  };
}

/**
 * Whether every Buffer `transport.receive()` returns is the client's alone,
 * never reused by the transport: true of an `HmcSession` (a fresh copy of
 * each message read). Another transport may hand out a buffer it reuses, so
 * its messages are decoded into copies.
 */
export function receivesOwnedBuffers(transport: ClientTransport): boolean {
  return transport instanceof HmcSession;
}
