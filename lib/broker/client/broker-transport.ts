/**
 * A client program's side of one broker connection, as a transport an
 * `HmcClient` runs over: requests go out as REQUEST frames under the client's
 * own tokens, answers come back as ANSWER frames with those tokens put back
 * in the message, unsolicited messages as EVENT frames. Resets, reconnects
 * and refusals reach the client through its observer.
 */
import type { Socket } from 'node:net';
import { debug } from '../../debug';
import {
  AbortError,
  MessageTooLargeError,
  SessionClosedError,
  SessionResetError,
} from '../../errors/error-classes';
import type { IbmvmcError } from '../../errors/ibmvmc-error';
import { HMC_FLAG, HMC_HEADER_LENGTH } from '../../protocol/constants';
import { setHmcToken } from '../../protocol/hmc-message';
import type { CallOptions } from '../../session/session';
import { abortError } from '../../session/deadline';
import {
  kSendWithdrawable,
  withdrawNothing,
  type WithdrawableSend,
} from '../../session/withdrawable-send';
import {
  kSharedCommandPath,
  type ClientTransport,
  type SharedCommandPath,
  type TransportObserver,
} from '../../client/transport';
import { encodeBrokerFrame } from '../wire/encode';
import type { ServerFrame } from '../wire/frames';
import { errorFromWire } from './wire-errors';

/** Offsets in an HMC header the transport reads (the request's own token and flags). */
const TOKEN_OFFSET = 8;
const FLAGS_OFFSET = 15;

/** What the handshake leaves: a connected socket, and the WELCOME's session. */
export interface BrokerConnection {
  readonly socket: Socket;
  /**
   * Hands the connection's frames (those already decoded after WELCOME
   * first) and its protocol errors to their new reader.
   */
  attach(
    onFrame: (frame: ServerFrame) => void,
    onProtocolError: (error: IbmvmcError) => void,
  ): void;
  readonly mtu: number;
  readonly commandPathOptions: Buffer;
  /** The broker's socket path, for messages. */
  readonly path: string;
}

/** The broker transport's settled settings. */
export interface BrokerTransportSettings {
  /** How long `close()` waits for the broker's GOODBYE before dropping the connection. */
  readonly closeTimeoutMs: number;
}

/**
 * One connection to a broker, seen as a session. Get one through
 * `connect({ broker })`; the client it returns holds it as `client.session`.
 */
export class BrokerTransport implements ClientTransport, SharedCommandPath {
  /** The broker's socket path. */
  readonly path: string;
  readonly #socket: Socket;
  readonly #settings: BrokerTransportSettings;
  #mtu: number;
  #commandPathOptions: Buffer;
  #state: 'up' | 'reset' | 'closing' | 'closed' = 'up';
  /** Why the transport ended, for receives and sends from then on. */
  #failure: IbmvmcError | undefined;
  #observer: TransportObserver | undefined;
  /** Messages received and not yet taken by `receive()`. */
  #inbox: Buffer[] = [];
  #inboxHead = 0;
  #receiver: { resolve(bytes: Buffer): void; reject(error: Error): void } | undefined;
  /** Tokens sent whose answer the broker still owes: a give-up must cancel them. */
  readonly #owed = new Set<number>();
  #closed: Promise<void> | undefined;
  /** Set while close() waits for the broker's goodbye: the socket ends gracefully then. */
  #closing = false;
  #socketClosed: Promise<void>;

  /** @internal Made by `connect({ broker })` once the broker has said WELCOME. */
  constructor(connection: BrokerConnection, settings: BrokerTransportSettings) {
    this.path = connection.path;
    this.#socket = connection.socket;
    this.#settings = settings;
    this.#mtu = connection.mtu;
    this.#commandPathOptions = connection.commandPathOptions;
    this.#socketClosed = new Promise((resolve) => this.#socket.once('close', () => resolve()));
    // The broker broke the protocol: nothing it sends can be trusted now.
    connection.attach(
      (frame) => this.#onFrame(frame),
      (error) => this.#end(error),
    );
    this.#socket.on('error', (error) => {
      this.#end(
        new SessionResetError(
          `the connection to the broker at ${this.path} failed (${error.message}): connect again`,
          { cause: error, code: (error as NodeJS.ErrnoException).code },
        ),
      );
    });
    this.#socket.on('close', () => {
      this.#end(
        new SessionResetError(
          `the broker at ${this.path} closed the connection: connect again once it is back`,
        ),
      );
    });
  }

  /** The broker's session's MTU: the largest whole message, header included. */
  get mtu(): number {
    return this.#mtu;
  }

  /** `up`; `reset` while the broker reconnects its session; `closing`, `closed`. */
  get state(): 'up' | 'reset' | 'closing' | 'closed' {
    return this.#state;
  }

  /** The data of the router's answer to the broker's exchange options. */
  get commandPathOptions(): Buffer {
    return this.#commandPathOptions;
  }

  /** @internal The client observes resets, reconnects and refusals through this. */
  get [kSharedCommandPath](): SharedCommandPath {
    return this;
  }

  /** @internal Registers the client as the one observer. */
  observe(observer: TransportObserver): void {
    this.#observer = observer;
  }

  /**
   * Chooses the targets whose unsolicited messages the broker sends this
   * connection: `all`, `none`, or a list of targets. It replaces the earlier choice.
   */
  subscribe(targets: 'all' | 'none' | readonly number[]): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    if (targets === 'none') return; // the broker sends nothing until a SUBSCRIBE
    this.#write({ type: 'subscribe', targets: targets === 'all' ? [] : [...targets] });
  }

  /**
   * Sends one whole HMC message as a REQUEST under the token in its header.
   * Resolves once handed to the connection; the answer comes through `receive()`.
   */
  send(data: Uint8Array, options?: CallOptions): Promise<void> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal, 'the send'));
    const sent = this.#send(data);
    if (sent.error !== undefined) return Promise.reject(sent.error);
    if (signal !== undefined && sent.token !== undefined) {
      const token = sent.token;
      // The answer may never come: a give-up must tell the broker, so it frees the turn.
      signal.addEventListener('abort', () => this.#cancel(token), { once: true });
    }
    return Promise.resolve();
  }

  /** @internal The client's cheap path: a give-up cancels the request at the broker. */
  [kSendWithdrawable](data: Uint8Array): WithdrawableSend {
    const sent = this.#send(data);
    if (sent.error !== undefined)
      return { sent: Promise.reject(sent.error), withdraw: withdrawNothing };
    const token = sent.token;
    return {
      sent: Promise.resolve(),
      withdraw: token === undefined ? withdrawNothing : () => this.#cancel(token),
    };
  }

  /** The next message from the broker: an answer (under its request's token) or an event. */
  receive(options?: CallOptions): Promise<Buffer> {
    if (this.#inboxHead < this.#inbox.length) return Promise.resolve(this.#takeInbox());
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#receiver !== undefined)
      return Promise.reject(new AbortError('another receive() is already waiting'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal, 'the receive'));
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => {
        this.#receiver = undefined;
        reject(abortError(signal as AbortSignal, 'the receive'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#receiver = {
        resolve: (bytes) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(bytes);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
    });
  }

  /**
   * Says GOODBYE and closes the connection once the broker answers (or after
   * the close timeout). Only this connection ends: the broker's session goes on.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  // ---- internals ------------------------------------------------------------

  async #close(): Promise<void> {
    if (this.#state !== 'closed') {
      this.#state = 'closing';
      this.#closing = true;
      this.#write({ type: 'goodbye', reason: '' });
      this.#socket.end();
      const timer = setTimeout(() => this.#socket.destroy(), this.#settings.closeTimeoutMs);
      await this.#socketClosed;
      clearTimeout(timer);
    }
    this.#end(new SessionClosedError('the connection to the broker is closed'));
  }

  /** Writes a REQUEST; says which token the broker now owes an answer for. */
  #send(data: Uint8Array): { error?: IbmvmcError; token?: number } {
    if (this.#state !== 'up')
      return {
        error:
          this.#state === 'reset'
            ? new SessionResetError(
                "the broker's session is being reset; it reconnects by itself (the request was not sent)",
              )
            : (this.#failure ?? new SessionClosedError('the connection to the broker is closing')),
      };
    if (data.length < HMC_HEADER_LENGTH || data.length > this.#mtu)
      return {
        error: new MessageTooLargeError(
          `a message of ${data.length} bytes cannot go through the broker: its session's MTU is ${this.#mtu}, and a message has at least the ${HMC_HEADER_LENGTH}-byte header`,
        ),
      };
    const message = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const token = message.readUInt32BE(TOKEN_OFFSET);
    this.#write({ type: 'request', token, message });
    if ((message[FLAGS_OFFSET] & HMC_FLAG.RESPONSE_EXPECTED) === 0) return {};
    this.#owed.add(token);
    return { token };
  }

  /** The client gave the request up: the broker drops its answer and frees its turn. */
  #cancel(token: number): void {
    if (!this.#owed.delete(token) || this.#state !== 'up') return;
    this.#write({ type: 'cancel', token });
  }

  #write(frame: Parameters<typeof encodeBrokerFrame>[0]): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    this.#socket.write(encodeBrokerFrame(frame));
  }

  #onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'answer':
        this.#owed.delete(frame.token);
        // The broker's session numbered it; the client knows it by its own token.
        setHmcToken(frame.message, frame.token);
        this.#deliver(frame.message);
        return;
      case 'event':
        this.#deliver(frame.message);
        return;
      case 'refused':
        this.#owed.delete(frame.token);
        this.#observer?.refused(frame.token, errorFromWire(frame, 'the request'));
        return;
      case 'reset':
        this.#state = 'reset';
        this.#owed.clear();
        this.#observer?.reset(
          new SessionResetError(
            "the broker's session was reset: requests in flight get no answer; the broker reconnects by itself",
          ),
        );
        return;
      case 'reconnect':
        this.#mtu = frame.mtu;
        this.#commandPathOptions = Buffer.from(
          frame.exchangeOptionsAnswer.subarray(HMC_HEADER_LENGTH),
        );
        if (this.#state === 'reset') this.#state = 'up';
        this.#observer?.reconnect();
        return;
      case 'error':
        this.#end(errorFromWire(frame, 'the connection'));
        this.#socket.destroy();
        return;
      case 'goodbye':
        if (this.#state === 'closing') return; // the answer to ours
        this.#end(
          new SessionResetError(
            `the broker at ${this.path} said goodbye${frame.reason ? ` (${frame.reason})` : ''}: connect again once it is back`,
          ),
        );
        this.#socket.end();
        return;
      case 'welcome':
        return; // cannot happen: the order check allows one WELCOME, taken by the handshake
    }
  }

  #deliver(message: Buffer): void {
    const receiver = this.#receiver;
    if (receiver !== undefined) {
      this.#receiver = undefined;
      receiver.resolve(message);
      return;
    }
    this.#inbox.push(message);
  }

  #takeInbox(): Buffer {
    const message = this.#inbox[this.#inboxHead++];
    if (this.#inboxHead === this.#inbox.length) {
      this.#inbox = [];
      this.#inboxHead = 0;
    }
    return message;
  }

  /** The connection is over (or unusable): the first reason sticks. */
  #end(reason: IbmvmcError): void {
    if (this.#failure !== undefined) return;
    // Whatever ends a connection we are closing, for the client it is our close.
    const error =
      this.#state === 'closing'
        ? new SessionClosedError('the connection to the broker is closed', { cause: reason })
        : reason;
    debug('broker connection ended: %s', reason.message);
    this.#failure = error;
    this.#state = 'closed';
    this.#owed.clear();
    if (!this.#socket.destroyed && !this.#closing) this.#socket.destroy();
    const receiver = this.#receiver;
    this.#receiver = undefined;
    receiver?.reject(error);
  }
}
