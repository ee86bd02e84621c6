/**
 * An in-memory stand-in for a session, so client tests decide exactly when
 * and how each request is answered (out of order, late, never, malformed).
 */
import {
  AbortError,
  SessionClosedError,
  SessionResetError,
  decodeHmcMessage,
  encodeHmcMessage,
  encodeResponse,
  type HmcMessage,
} from '../../lib/index';
import type { ClientTransport } from '../../lib/client/index';
import type { CallOptions } from '../../lib/session/session';

interface Waiter {
  resolve(bytes: Buffer): void;
  reject(error: Error): void;
}

interface HeldSend {
  data: Buffer;
  resolve(): void;
  reject(error: Error): void;
}

/** A transport whose other end is the test. */
export class MemoryTransport implements ClientTransport {
  /** Every message the client sent, decoded, in order. */
  readonly sent: HmcMessage[] = [];
  /** Called for each message as it is sent (after it is recorded). */
  onSend: ((message: HmcMessage) => void) | undefined;
  /** While true, sends are held (as the driver's EBUSY would) until `releaseSends()`. */
  holdSends = false;
  closed = false;
  #incoming: Buffer[] = [];
  #waiters: Waiter[] = [];
  #held: HeldSend[] = [];
  #failure: Error | undefined;

  constructor(readonly mtu = 4096) {}

  send(data: Uint8Array, options: CallOptions = {}): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.closed) return Promise.reject(new SessionClosedError());
    const bytes = Buffer.from(data);
    if (!this.holdSends) {
      this.#deliverSent(bytes);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const held: HeldSend = { data: bytes, resolve, reject };
      this.#held.push(held);
      options.signal?.addEventListener('abort', () => {
        const index = this.#held.indexOf(held);
        if (index >= 0) this.#held.splice(index, 1);
        reject(new AbortError('send was aborted'));
      });
    });
  }

  /** Lets held sends go, in order. */
  releaseSends(): void {
    this.holdSends = false;
    for (const held of this.#held.splice(0)) {
      this.#deliverSent(held.data);
      held.resolve();
    }
  }

  receive(): Promise<Buffer> {
    const next = this.#incoming.shift();
    if (next) return Promise.resolve(next);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.closed) return Promise.reject(new SessionClosedError());
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#fail(new SessionClosedError());
  }

  /** The channel was reset: everything pending fails with SessionResetError. */
  reset(): SessionResetError {
    const error = new SessionResetError('the VMC channel was reset (test)');
    this.#failure = error;
    this.#fail(error);
    return error;
  }

  /** Delivers raw bytes to the client, as if the hypervisor had sent them. */
  push(bytes: Buffer): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(bytes);
    else this.#incoming.push(bytes);
  }

  /** Answers a request the client sent. */
  answer(request: HmcMessage, init: { returnCode?: number; data?: Uint8Array } = {}): void {
    this.push(encodeResponse(request, init, { maxLength: this.mtu }));
  }

  /** Delivers a message built from fields (any flags, any token). */
  inject(init: Parameters<typeof encodeHmcMessage>[0]): void {
    this.push(encodeHmcMessage(init, { maxLength: this.mtu }));
  }

  /** Answers every message sent from now on like the router: good, data echoed. */
  answerEverything(): void {
    this.onSend = (message) => {
      if (message.flags & 0x80) this.answer(message, { data: message.data });
    };
  }

  #deliverSent(bytes: Buffer): void {
    const message = decodeHmcMessage(bytes, { maxLength: this.mtu });
    this.sent.push(message);
    this.onSend?.(message);
  }

  #fail(error: Error): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    for (const held of this.#held.splice(0)) held.reject(error);
  }
}
