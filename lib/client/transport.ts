/**
 * What the client needs from a session. `HmcSession` is one; a test can
 * give an in-memory stand-in. The client behaves the same over either; with
 * an `HmcSession` it only takes cheaper paths (withdrawable sends, answers
 * decoded in place).
 */
import type { IbmvmcError } from '../errors/ibmvmc-error';
import type { SessionResetError } from '../errors/error-classes';
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

/** What a transport with a shared command path tells its client. */
export interface TransportObserver {
  /**
   * The session behind the transport was reset. The transport stays open and
   * will reconnect by itself; requests in flight get no answer.
   */
  reset(error: SessionResetError): void;
  /** A new session is up: `mtu` and `commandPathOptions` are the new session's. */
  reconnect(): void;
  /** The request sent with this token was refused: it will get no answer. */
  refused(token: number, error: IbmvmcError): void;
}

/** The method a transport whose command path is someone else's offers, under this symbol. */
export const kSharedCommandPath = Symbol('ibmvmc.sharedCommandPath');

/**
 * A command path held by someone else (the broker): it is open before the
 * client comes and outlives it, so the client neither opens nor closes it,
 * and survives the resets its holder reconnects from.
 */
export interface SharedCommandPath {
  /** The data of the router's answer to the holder's exchange options. */
  readonly commandPathOptions: Buffer;
  /** Registers the client: the one observer of resets, reconnects and refusals. */
  observe(observer: TransportObserver): void;
}

/** A transport that offers a {@link SharedCommandPath} (under a symbol of the package's own). */
export interface SharedCommandPathTransport extends ClientTransport {
  /** The command path its holder shares. */
  readonly [kSharedCommandPath]: SharedCommandPath;
}

/** The shared command path `transport` offers, if any. */
export function sharedCommandPathOf(transport: ClientTransport): SharedCommandPath | undefined {
  return (transport as Partial<SharedCommandPathTransport>)[kSharedCommandPath];
}
