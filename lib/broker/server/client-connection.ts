/**
 * One client's connection: its socket, the frames coming in (decoded and
 * order-checked), the frames going out (with the slow-reader limit), its
 * timers (HELLO, half-received frames), its back-pressure, and the requests
 * the broker holds for it. What the frames mean is the broker's business.
 */
import type * as net from 'node:net';
import type { PeerCredentials } from '../../native/peer-credentials';
import { encodeBrokerFrame } from '../wire/encode';
import { BrokerProtocolError } from '../wire/error';
import type { ClientFrame, ServerFrame } from '../wire/frames';
import { BrokerFrameDecoder } from '../wire/stream-decoder';
import { Fifo } from './fifo';
import type { HeldRequest } from './held-request';
import type { ClientRole } from './peer-check';

/**
 * Where a client stands: `hello` until its HELLO; `waiting` for a session
 * to WELCOME it into; `open`; `reset` between RESET and RECONNECT;
 * `closing` once its last frame is written; `closed`.
 */
export type ClientPhase = 'hello' | 'waiting' | 'open' | 'reset' | 'closing' | 'closed';

/** What the broker does with what a connection sees. */
export interface ClientHandlers {
  /** A frame, decoded and in order. */
  frame(client: ClientConnection, frame: ClientFrame): void;
  /** The client broke the protocol; the connection is not ended yet. */
  protocolError(client: ClientConnection, error: BrokerProtocolError): void;
  /** `hello`: no HELLO in time; `frame`: a frame begun and not finished in time. */
  timeout(client: ClientConnection, which: 'hello' | 'frame'): void;
  /** Over the outbound limit: the client does not read. */
  slowReader(client: ClientConnection): void;
  /** The socket is closed (whoever closed it). */
  closed(client: ClientConnection): void;
}

/** The limits a connection keeps. */
export interface ClientLimits {
  /** Requests queued at which reading stops (it resumes below half). */
  readonly maxQueued: number;
  /** Bytes waiting to be written past which the client is a slow reader. */
  readonly maxOutboundBytes: number;
  /** From connect to HELLO. */
  readonly helloTimeoutMs: number;
  /** From a frame's first byte to its last. */
  readonly frameTimeoutMs: number;
  /** From the broker's end of the connection to the peer's. */
  readonly closeTimeoutMs: number;
}

/** One connected, admitted client. */
export class ClientConnection {
  /** The broker's number for the connection, for logs. */
  readonly id: number;
  /** The connection. */
  readonly socket: net.Socket;
  /** Who is on the other end, as the kernel recorded it at connect. */
  readonly peer: PeerCredentials;
  /** What the peer check let it do. */
  readonly role: ClientRole;
  /** Where it stands (see {@link ClientPhase}). */
  phase: ClientPhase = 'hello';
  /** Its name and version from HELLO, for logs. */
  name = '';
  /** See {@link name}. */
  version = '';
  /** Requests waiting for a turn, in arrival order. */
  readonly queue = new Fifo<HeldRequest>();
  /** Every request held for it (queued or in flight), by its token. */
  readonly held = new Map<number, HeldRequest>();
  /** Requests of its in flight on the session. */
  inFlight = 0;
  /** Its turns on the session at once: set when it is welcomed. */
  maxInFlight = 1;
  /** Whether it is in the scheduler's ring. */
  scheduled = false;
  /** Targets whose events it wants: none until SUBSCRIBE; `all` for SUBSCRIBE with none. */
  subscription: ReadonlySet<number> | 'all' | undefined;
  /** Requests it got an answer or a send for. */
  served = 0;
  readonly #handlers: ClientHandlers;
  readonly #limits: ClientLimits;
  readonly #decoder: BrokerFrameDecoder<'client'>;
  /** REFUSED frames for requests sent before WELCOME: they may only follow it. */
  #deferred: ServerFrame[] = [];
  #helloTimer: NodeJS.Timeout | undefined;
  #frameTimer: NodeJS.Timeout | undefined;
  #lingerTimer: NodeJS.Timeout | undefined;
  /** Frames decoded so far: tells a new half-received frame from the old one. */
  #frames = 0;
  #framesAtTimerStart = 0;
  #paused = false;

  /**
   * Starts reading the (paused) socket and the HELLO timer.
   *
   * @param id - The broker's number for the connection, for logs.
   */
  constructor(
    id: number,
    socket: net.Socket,
    peer: PeerCredentials,
    role: ClientRole,
    limits: ClientLimits,
    handlers: ClientHandlers,
  ) {
    this.id = id;
    this.socket = socket;
    this.peer = peer;
    this.role = role;
    this.#limits = limits;
    this.#handlers = handlers;
    this.#decoder = new BrokerFrameDecoder('client', (frame) => {
      this.#frames++;
      if (this.phase === 'closing' || this.phase === 'closed') return;
      if (frame.type === 'hello') this.#clearHelloTimer();
      handlers.frame(this, frame);
    });
    this.#helloTimer = setTimeout(() => {
      this.#helloTimer = undefined;
      handlers.timeout(this, 'hello');
    }, limits.helloTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#onClose());
    socket.resume();
  }

  /** Whether the connection still takes frames both ways. */
  get live(): boolean {
    return this.phase !== 'closing' && this.phase !== 'closed';
  }

  #onData(chunk: Buffer): void {
    if (!this.live) return; // read and dropped: the socket closes with nothing left unread
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      if (error instanceof BrokerProtocolError) {
        this.#handlers.protocolError(this, error);
        return;
      }
      throw error;
    }
    this.#watchPartialFrame();
  }

  /** A frame begun and not finished starts the frame timer; a finished one stops it. */
  #watchPartialFrame(): void {
    if (!this.live || this.#decoder.buffered === 0) {
      this.#clearFrameTimer();
      return;
    }
    if (this.#frameTimer !== undefined && this.#frames === this.#framesAtTimerStart) return;
    this.#framesAtTimerStart = this.#frames;
    if (this.#frameTimer !== undefined) this.#frameTimer.refresh();
    else
      this.#frameTimer = setTimeout(() => {
        this.#frameTimer = undefined;
        this.#handlers.timeout(this, 'frame');
      }, this.#limits.frameTimeoutMs);
  }

  /** Stops or resumes reading the socket as its queue fills or drains. */
  updateIntake(): void {
    if (!this.live) return;
    const queued = this.queue.length;
    if (!this.#paused && queued >= this.#limits.maxQueued) {
      this.#paused = true;
      this.socket.pause();
    } else if (this.#paused && queued < this.#limits.maxQueued / 2) {
      this.#paused = false;
      this.socket.resume();
    }
  }

  /** Whether reading is paused for back-pressure. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Writes a frame. A REFUSED before WELCOME waits for it (the order allows
   * nothing else). Past the outbound limit the broker is told (it drops the client).
   */
  send(frame: ServerFrame): void {
    if (!this.live) return;
    if (frame.type === 'refused' && (this.phase === 'hello' || this.phase === 'waiting')) {
      this.#deferred.push(frame);
      return;
    }
    this.sendEncoded(encodeBrokerFrame(frame));
  }

  /** Writes an encoded frame (one EVENT's bytes go to every subscriber). */
  sendEncoded(bytes: Buffer): void {
    if (!this.live) return;
    this.socket.write(bytes);
    if (this.socket.writableLength > this.#limits.maxOutboundBytes) this.#handlers.slowReader(this);
  }

  /** Writes WELCOME and then the refusals that waited for it. */
  welcome(frame: ServerFrame & { type: 'welcome' }): void {
    this.phase = 'open';
    this.send(frame);
    for (const refused of this.#deferred.splice(0)) this.send(refused);
  }

  /**
   * Writes a last frame (GOODBYE, ERROR) and ends the socket; it closes when
   * the peer ends its side too, or after the close timeout.
   */
  end(last?: ServerFrame): void {
    if (!this.live) return;
    if (last) this.send(last);
    this.#stopTimers();
    this.phase = 'closing';
    if (this.#paused) this.socket.resume(); // its input is read and dropped from now on
    // Half-closed, not destroyed: a client still writing would get EPIPE and
    // could lose the last frame unread. Its own end closes the socket.
    this.socket.end();
    this.#lingerTimer = setTimeout(() => this.socket.destroy(), this.#limits.closeTimeoutMs);
  }

  /** Writes a last frame if it can and closes at once: for a client that does not read. */
  destroy(last?: ServerFrame): void {
    if (this.phase === 'closed') return;
    if (last && this.live) this.socket.write(encodeBrokerFrame(last));
    this.#stopTimers();
    this.phase = 'closing';
    this.socket.destroy();
  }

  #onClose(): void {
    this.#stopTimers();
    if (this.#lingerTimer !== undefined) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    this.phase = 'closed';
    this.#deferred = [];
    this.#handlers.closed(this);
  }

  #clearHelloTimer(): void {
    if (this.#helloTimer !== undefined) clearTimeout(this.#helloTimer);
    this.#helloTimer = undefined;
  }

  #clearFrameTimer(): void {
    if (this.#frameTimer !== undefined) clearTimeout(this.#frameTimer);
    this.#frameTimer = undefined;
  }

  #stopTimers(): void {
    this.#clearHelloTimer();
    this.#clearFrameTimer();
  }
}
