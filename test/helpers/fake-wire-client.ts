/**
 * A small client of the fake device's wire protocol (docs/fake-wire-protocol.md),
 * speaking the same frames as the preload shim over plain Node sockets, so the
 * fake's server can be tested from the test's own process without the shim.
 * Unlike the shim it never blocks: blocking reads are emulated by waiting for
 * a data frame or the reset byte, then asking again.
 */
import * as net from 'node:net';
import {
  FrameReader,
  WIRE_DATA_HEADER_LENGTH,
  WIRE_OP,
  WIRE_WRITE_DATA,
} from '../../lib/fake/wire';
import { encodeRequest } from '../../lib/fake/wire';

const EAGAIN = 11;
const TOKEN_LENGTH = 8;

/** A reply: the result and its payload. */
export interface WireReply {
  readonly result: number;
  readonly payload: Buffer;
}

/** What a READ returned. */
export interface WireRead {
  /** Bytes copied, or minus the errno. */
  readonly result: number;
  /** The bytes a reader would get (the first `result` bytes of the message). */
  readonly data?: Buffer;
  /** The message's full length (bytes past `result` are lost). */
  readonly length?: number;
}

/** A data frame received: the message and the fake's local read limit for it. */
export interface WireDataFrame {
  readonly message: Buffer;
  readonly localReadLimit: number;
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A request/reply connection: one request at a time, replies matched in order. */
class RpcConnection {
  private readonly replies: Array<(reply: WireReply) => void> = [];
  private readonly reader = new FrameReader(8, 1 << 20, (frame) => {
    const waiter = this.replies.shift();
    waiter?.({ result: frame.readInt32LE(4), payload: Buffer.from(frame.subarray(8)) });
  });
  readonly ended: Promise<void>;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', () => {});
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  request(op: number, arg0 = 0, arg1 = 0, payload?: Uint8Array): Promise<WireReply> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) {
        reject(new Error('connection closed'));
        return;
      }
      this.replies.push(resolve);
      this.socket.write(encodeRequest(op, arg0, arg1, payload));
      void this.ended.then(() => reject(new Error('connection closed before the reply')));
    });
  }

  send(op: number, arg0 = 0, arg1 = 0, payload?: Uint8Array): void {
    this.socket.write(encodeRequest(op, arg0, arg1, payload));
  }
}

/** One open "fd" of the fake device. */
export class FakeWireClient {
  /** Reset bytes received on the events connection. */
  events = 0;
  private readonly frames: WireDataFrame[] = [];
  private frameWaiters: Array<() => void> = [];
  private eventWaiters: Array<() => void> = [];
  /** Resolves when the fake closes the data connection. */
  readonly dataClosed: Promise<void>;

  private constructor(
    readonly socketPath: string,
    readonly token: Buffer,
    private readonly data: net.Socket,
    private readonly control: RpcConnection,
    private events$: net.Socket | null,
    leftover: Buffer,
  ) {
    const reader = new FrameReader(WIRE_DATA_HEADER_LENGTH, 1 << 20, (frame) => {
      this.frames.push({
        message: Buffer.from(frame.subarray(WIRE_DATA_HEADER_LENGTH)),
        localReadLimit: frame.readUInt32LE(4),
      });
      this.wake('frame');
    });
    if (leftover.length > 0) reader.push(leftover);
    data.on('data', (chunk: Buffer) => reader.push(chunk));
    data.on('error', () => {});
    data.resume(); // paused while the token was read
    this.dataClosed = new Promise((resolve) => data.once('close', () => resolve()));
  }

  /**
   * Opens the device: data connection (token), control connection (OPEN),
   * events connection (EVENTS).
   *
   * @returns The client, or minus the errno OPEN answered.
   */
  static async open(
    socketPath: string,
    options: { flags?: number; pid?: number } = {},
  ): Promise<FakeWireClient | number> {
    const data = await connect(`${socketPath}.data`);
    const { token, leftover } = await readToken(data);
    const control = new RpcConnection(await connect(socketPath));
    const reply = await control.request(
      WIRE_OP.OPEN,
      options.flags ?? 0,
      options.pid ?? process.pid,
      token,
    );
    if (reply.result < 0) {
      control.socket.destroy();
      await new Promise<void>((resolve) => {
        if (data.destroyed) resolve();
        else {
          data.once('close', () => resolve());
          data.resume();
        }
      });
      return reply.result;
    }
    const client = new FakeWireClient(socketPath, token, data, control, null, leftover);
    const events = await connect(socketPath);
    events.on('data', (chunk: Buffer) => {
      client.events += chunk.length;
      client.wake('event');
    });
    events.on('error', () => {});
    client.events$ = events;
    events.write(encodeRequest(WIRE_OP.EVENTS, 0, 0, token));
    return client;
  }

  /** Like {@link open}, but throws when OPEN fails. */
  static async connect(socketPath: string): Promise<FakeWireClient> {
    const client = await FakeWireClient.open(socketPath);
    if (typeof client === 'number') throw new Error(`OPEN failed with ${client}`);
    return client;
  }

  /** Any request on the control connection. */
  request(op: number, arg0 = 0, arg1 = 0, payload?: Uint8Array): Promise<WireReply> {
    return this.control.request(op, arg0, arg1, payload);
  }

  /** A request with no reply (READ_TAKEN). */
  send(op: number, arg0 = 0, arg1 = 0): void {
    this.control.send(op, arg0, arg1);
  }

  /** SETHMCID with an id (padded to 32 bytes), or null for an unreadable pointer. */
  async setHmcId(id: string | Buffer | null): Promise<number> {
    if (id === null) return (await this.request(WIRE_OP.SETHMCID, 0, 1)).result;
    const bytes = Buffer.alloc(32);
    (typeof id === 'string' ? Buffer.from(id) : id).copy(bytes);
    return (await this.request(WIRE_OP.SETHMCID, 0, 0, bytes)).result;
  }

  async query(): Promise<{ result: number; haveVmc: number; state: number; vmcDrcIndex: number }> {
    const reply = await this.request(WIRE_OP.QUERY);
    return {
      result: reply.result,
      haveVmc: reply.payload.readInt32LE(0),
      state: reply.payload.readInt32LE(4),
      vmcDrcIndex: reply.payload.readInt32LE(8),
    };
  }

  /** REQUESTVMC on an aux connection of its own, as the shim does. */
  async requestVmc(): Promise<{ result: number; index?: number }> {
    const aux = new RpcConnection(await connect(this.socketPath));
    try {
      const reply = await aux.request(WIRE_OP.REQUESTVMC, 0, 0, this.token);
      return reply.result < 0
        ? { result: reply.result }
        : { result: reply.result, index: reply.payload.readUInt32LE(0) };
    } finally {
      aux.socket.destroy();
    }
  }

  async ioctl(request: number): Promise<number> {
    return (await this.request(WIRE_OP.IOCTL, request)).result;
  }

  /** WRITE with the bytes inline. */
  async write(data: Uint8Array): Promise<number> {
    return (await this.request(WIRE_OP.WRITE, data.length, WIRE_WRITE_DATA.INLINE, data)).result;
  }

  /** WRITE of `count` bytes whose data is omitted (too long, or unreadable). */
  async writeOmitted(count: number, how: 1 | 2): Promise<number> {
    return (await this.request(WIRE_OP.WRITE, count, how)).result;
  }

  /** One READ; consumes the data frame when a message was taken. */
  async read(count: number, nonblock = true): Promise<WireRead> {
    const reply = await this.request(WIRE_OP.READ, count, nonblock ? 1 : 0);
    if (reply.payload.length !== 4) return { result: reply.result };
    const length = reply.payload.readUInt32LE(0);
    const { message } = await this.nextFrame();
    if (message.length !== length) {
      throw new Error(`data frame of ${message.length} bytes, reply said ${length}`);
    }
    return { result: reply.result, data: message.subarray(0, reply.result), length };
  }

  /**
   * A read as the shim does it without asking: takes the next data frame
   * (waiting for one) and sends READ_TAKEN, which has no reply.
   *
   * @returns The frame taken, whatever its local read limit.
   */
  async readTaken(count: number): Promise<WireDataFrame> {
    const frame = await this.nextFrame();
    this.send(WIRE_OP.READ_TAKEN, count);
    return frame;
  }

  /** The next data frame's local read limit, leaving the frame in place (waits for one). */
  async peekLocalReadLimit(timeoutMs = 5000): Promise<number> {
    if (this.frames.length === 0) await this.waitFor(['frame'], timeoutMs);
    const frame = this.frames[0];
    if (frame === undefined) throw new Error('no data frame');
    return frame.localReadLimit;
  }

  /** A blocking read, as the shim does it: EAGAIN → wait for a frame or the reset byte → again. */
  async readBlocking(count: number, timeoutMs = 5000): Promise<WireRead> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = this.events;
      const result = await this.read(count, false);
      if (result.result !== -EAGAIN) return result;
      if (Date.now() > deadline) throw new Error('readBlocking timed out');
      if (this.frames.length === 0 && this.events === events) {
        await this.waitFor(['frame', 'event'], deadline - Date.now());
      }
    }
  }

  /** Stops reading the data connection (as an application that does not read). */
  pauseData(): void {
    this.data.pause();
  }

  /** Reads the data connection again. */
  resumeData(): void {
    this.data.resume();
  }

  /** Data frames received and not yet consumed by a READ. */
  get framesWaiting(): number {
    return this.frames.length;
  }

  /** Waits for the reset byte. */
  async waitForEvent(timeoutMs = 5000): Promise<void> {
    if (this.events > 0) return;
    await this.waitFor(['event'], timeoutMs);
  }

  /** Waits for a data frame to arrive (without consuming it). */
  async waitForFrame(timeoutMs = 5000): Promise<void> {
    if (this.frames.length > 0) return;
    await this.waitFor(['frame'], timeoutMs);
  }

  /** CLOSE, then closes its own sockets. */
  async close(): Promise<number> {
    const { result } = await this.request(WIRE_OP.CLOSE);
    this.destroy();
    return result;
  }

  /** Ends every connection without CLOSE (the process died). */
  hangUp(): void {
    this.destroy();
  }

  private destroy(): void {
    this.control.socket.destroy();
    this.events$?.destroy();
    this.data.destroy();
  }

  private async nextFrame(timeoutMs = 5000): Promise<WireDataFrame> {
    if (this.frames.length === 0) await this.waitFor(['frame'], timeoutMs);
    const frame = this.frames.shift();
    if (frame === undefined) throw new Error('no data frame');
    return frame;
  }

  private wake(kind: 'frame' | 'event'): void {
    const waiters = kind === 'frame' ? this.frameWaiters : this.eventWaiters;
    if (kind === 'frame') this.frameWaiters = [];
    else this.eventWaiters = [];
    for (const w of waiters) w();
  }

  private waitFor(kinds: Array<'frame' | 'event'>, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${kinds.join(' or ')} within ${timeoutMs} ms`)),
        Math.max(0, timeoutMs),
      );
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      if (kinds.includes('frame')) this.frameWaiters.push(done);
      if (kinds.includes('event')) this.eventWaiters.push(done);
    });
  }
}

/** Reads the 8-byte token the fake writes first; returns anything after it too. */
function readToken(socket: net.Socket): Promise<{ token: Buffer; leftover: Buffer }> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= TOKEN_LENGTH) {
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.pause();
        resolve({ token: got.subarray(0, TOKEN_LENGTH), leftover: got.subarray(TOKEN_LENGTH) });
      }
    };
    const onClose = (): void => reject(new Error('data connection closed before the token'));
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
