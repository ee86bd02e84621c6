/**
 * A raw client of the broker's wire protocol, for tests: frames out with
 * `encodeBrokerFrame`, frames in through a `BrokerFrameDecoder` that also
 * checks the broker's order (a broker that breaks it fails the test).
 */
import * as net from 'node:net';
import {
  BrokerFrameDecoder,
  encodeBrokerFrame,
  type ClientFrame,
  type ServerFrame,
} from '../../../lib/broker/wire/index';
import { HMC_ROUTER_OPCODE, HMC_TARGET } from '../../../lib/protocol/constants';
import { decodeHmcMessage, encodeHmcMessage } from '../../../lib/protocol/hmc-message';
import { TIME_SCALE } from '../../helpers/time-scale';

/** How long a test waits for the broker to say something (scaled). */
export const WAIT_MS = 10_000 * TIME_SCALE;

/** An echo request to the router carrying `text`. */
export function echoMessage(text: string | Buffer): Buffer {
  return encodeHmcMessage({
    token: 0,
    target: HMC_TARGET.ROUTER,
    opcode: HMC_ROUTER_OPCODE.ECHO,
    data: typeof text === 'string' ? Buffer.from(text) : text,
  });
}

/** The data of an HMC message carried in a frame, as text. */
export function messageText(message: Buffer): string {
  return decodeHmcMessage(message, { maxLength: 65536 }).data.toString();
}

/** One raw connection to a broker. */
export class WireClient {
  readonly socket: net.Socket;
  /** Every frame received, in order. */
  readonly frames: ServerFrame[] = [];
  /** The decoder's error, if the broker broke the protocol. */
  decodeError: unknown;
  /** The socket's error (ECONNRESET after a drop), if any. */
  socketError: Error | undefined;
  closed = false;
  readonly #waiters = new Set<() => void>();
  readonly #decoder: BrokerFrameDecoder<'broker'>;
  /** Called on every frame, before it is stored (fast paths of big tests). */
  onFrame: ((frame: ServerFrame) => void) | undefined;
  /** Whether to keep frames in `frames` (off for floods). */
  keep = true;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.#decoder = new BrokerFrameDecoder('broker', (frame) => {
      this.onFrame?.(frame);
      if (this.keep) this.frames.push(frame);
      this.#notify();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk);
      } catch (error) {
        this.decodeError ??= error;
        this.#notify();
      }
    });
    socket.on('error', (error) => {
      this.socketError = error;
    });
    socket.on('close', () => {
      this.closed = true;
      this.#notify();
    });
  }

  /** Connects to the broker's socket. */
  static connect(socketPath: string): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new WireClient(socket));
      });
    });
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Sends one frame. */
  send(frame: ClientFrame): void {
    this.socket.write(encodeBrokerFrame(frame));
  }

  /** Sends bytes as they are. */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves once `done()` holds; rejects after `ms` saying what was awaited. */
  until(done: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        clearInterval(poll);
        resolve();
      };
      // Frames wake it; the broker's own state (held requests, clients) is polled.
      const poll = setInterval(check, 10);
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        clearInterval(poll);
        reject(
          new Error(
            `waited ${ms} ms for ${what}; got ${this.frames.map((f) => f.type).join(', ') || 'nothing'}` +
              (this.closed ? ' (closed)' : ''),
          ),
        );
      }, ms);
      this.#waiters.add(check);
    });
  }

  /** The first frame of `type` after `from` frames, once it comes. */
  async next<T extends ServerFrame['type']>(
    type: T,
    from = 0,
  ): Promise<Extract<ServerFrame, { type: T }>> {
    let found: ServerFrame | undefined;
    await this.until(() => {
      found = this.frames.slice(from).find((f) => f.type === type);
      return found !== undefined;
    }, `a ${type.toUpperCase()} frame`);
    return found as Extract<ServerFrame, { type: T }>;
  }

  /** HELLO, and the WELCOME it gets. */
  async hello(name = 'test client'): Promise<Extract<ServerFrame, { type: 'welcome' }>> {
    this.send({ type: 'hello', version: 1, clientName: name, clientVersion: '1.0' });
    return this.next('welcome');
  }

  /** Resolves once the broker has closed the connection. */
  closedByBroker(): Promise<void> {
    return this.until(() => this.closed, 'the broker to close the connection');
  }

  /** Closes from this side at once. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Connects and says HELLO. */
export async function welcomedClient(socketPath: string, name?: string): Promise<WireClient> {
  const client = await WireClient.connect(socketPath);
  await client.hello(name);
  return client;
}
