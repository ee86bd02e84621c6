/**
 * The Unix socket servers that put the fake driver behind the preload shim
 * (docs/fake-wire-protocol.md).
 *
 * The control socket takes three kinds of connection, told apart by their
 * first request: a control connection (OPEN, then the fd's calls), an events
 * connection (EVENTS; the fake writes one byte on it when the fd's session is
 * reset) and an aux connection (REQUESTVMC). The data socket's connections are
 * the applications' fds: the fake writes an 8-byte token on each, then every
 * message queued for that fd as a length-prefixed frame, and never reads them.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import * as net from 'node:net';
import type { DriverListener, FakeDriver } from './driver';
import { ERRNO } from './errno';
import type { FakeFile } from './fake-file';
import type { FakeLog } from './log';
import type { Scheduler } from './scheduler';
import {
  FrameReader,
  WIRE_DATA_SUFFIX,
  WIRE_MAX_INLINE_WRITE,
  WIRE_OP,
  WIRE_REQUEST_HEADER_LENGTH,
  WIRE_TOKEN_LENGTH,
  WIRE_WRITE_DATA,
  encodeDataFrame,
  encodeReply,
  encodeReplyWords,
} from './wire';
import { checkSocketPath, closeServer, listenOn } from './unix-socket';

export { MAX_SOCKET_PATH_LENGTH } from './unix-socket';

/** How long a data connection may wait for its OPEN before it is dropped. */
const UNCLAIMED_DATA_TIMEOUT_MS = 60_000;

/** Largest request payload: an inline write. */
const MAX_REQUEST_PAYLOAD = WIRE_MAX_INLINE_WRITE;

const EVENT_BYTE = Buffer.from([1]);

/** What a server is built from. */
export interface FakeServerOptions {
  /** The control socket's path; the data socket is beside it with `.data` appended. */
  readonly socketPath: string;
  /** The driver the shim's calls go to. */
  readonly driver: FakeDriver;
  /** The fake's log. */
  readonly log: FakeLog;
  /** Runs the deferred steps. */
  readonly scheduler: Scheduler;
}

/** The sockets of one open fd. */
class FileChannels {
  events: net.Socket | null = null;
  /** Data frames written and not yet handed to the kernel. */
  pendingWrites = 0;
  /** A reset happened: the event byte goes out once the data frames before it are flushed. */
  eventDue = false;

  constructor(
    readonly file: FakeFile,
    readonly token: string,
    readonly data: net.Socket,
  ) {}

  // One callback per fd, not one closure per frame.
  readonly flushed = (): void => {
    this.pendingWrites--;
    if (this.pendingWrites === 0 && this.eventDue) this.sendEvent();
  };

  sendEvent(): void {
    const events = this.events;
    if (events === null || events.destroyed) return; // sent when EVENTS arrives
    this.eventDue = false;
    events.write(EVENT_BYTE);
  }

  destroy(): void {
    this.data.destroy();
    this.events?.destroy();
  }
}

type Role = 'new' | 'control' | 'events' | 'aux' | 'done';

interface Connection {
  readonly socket: net.Socket;
  role: Role;
  channels: FileChannels | null;
}

interface UnclaimedData {
  readonly socket: net.Socket;
  readonly timer: NodeJS.Timeout;
}

/** The control and data servers of a fake device. */
export class FakeServer implements DriverListener {
  /** The control socket's path. */
  readonly socketPath: string;
  /** The data socket's path (`socketPath` with `.data` appended). */
  readonly dataPath: string;
  private readonly driver: FakeDriver;
  private readonly log: FakeLog;
  private readonly scheduler: Scheduler;
  private readonly control: net.Server;
  private readonly data: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly unclaimed = new Map<string, UnclaimedData>();
  private readonly byToken = new Map<string, FileChannels>();
  private readonly byFile = new Map<number, FileChannels>();
  private closed = false;

  private constructor(options: FakeServerOptions) {
    this.socketPath = options.socketPath;
    this.dataPath = options.socketPath + WIRE_DATA_SUFFIX;
    this.driver = options.driver;
    this.log = options.log;
    this.scheduler = options.scheduler;
    this.control = net.createServer((socket) => this.onControlConnection(socket));
    this.data = net.createServer({ pauseOnConnect: true }, (socket) =>
      this.onDataConnection(socket),
    );
    this.driver.listener = this;
  }

  /**
   * Listens on `socketPath` and `socketPath.data`, replacing stale socket files.
   *
   * @throws FakeDeviceError when the path is too long for a Unix socket or cannot be listened on.
   */
  static async listen(options: FakeServerOptions): Promise<FakeServer> {
    checkSocketPath(options.socketPath + WIRE_DATA_SUFFIX, 'fake device');
    const server = new FakeServer(options);
    try {
      await listenOn(server.data, server.dataPath, 'fake device');
      await listenOn(server.control, server.socketPath, 'fake device');
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** Stops listening, drops every connection and removes the socket files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.driver.listener === this) this.driver.listener = null;
    for (const { timer } of this.unclaimed.values()) clearTimeout(timer);
    this.unclaimed.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all([closeServer(this.control), closeServer(this.data)]);
    await rm(this.socketPath, { force: true });
    await rm(this.dataPath, { force: true });
  }

  // ---- DriverListener ------------------------------------------------------------

  messageQueued(file: FakeFile, message: Buffer): void {
    this.pushFrame(file, message, this.driver.localReadLimit(file));
  }

  sessionReset(file: FakeFile): void {
    const channels = this.byFile.get(file.id);
    if (channels === undefined) return;
    channels.eventDue = true;
    // The byte must not overtake frames still waiting in this process: the
    // shim drains the data connection when it sees the byte, and a frame
    // arriving after that would make the fd readable again. Frames already
    // handed to the kernel are ahead of it, and the byte must go at once:
    // until it arrives the shim may take those frames without asking.
    if (channels.data.writableLength === 0) channels.sendEvent();
  }

  /** Writes a data frame into `file`'s data connection (see {@link encodeDataFrame} for the limit). */
  private pushFrame(file: FakeFile, message: Buffer, localReadLimit: number): void {
    const channels = this.byFile.get(file.id);
    if (channels === undefined || channels.data.destroyed) return;
    channels.pendingWrites++;
    channels.data.write(encodeDataFrame(message, localReadLimit), channels.flushed);
  }

  // ---- connections --------------------------------------------------------------------

  private track(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    // A peer that vanishes mid-write is routine (a test killing its client).
    socket.on('error', () => {});
  }

  private onDataConnection(socket: net.Socket): void {
    this.track(socket);
    if (this.closed) return;
    const token = randomBytes(WIRE_TOKEN_LENGTH);
    const key = token.toString('hex');
    const timer = setTimeout(() => {
      this.unclaimed.delete(key);
      socket.destroy();
    }, UNCLAIMED_DATA_TIMEOUT_MS);
    timer.unref();
    this.unclaimed.set(key, { socket, timer });
    socket.on('close', () => {
      const entry = this.unclaimed.get(key);
      if (entry?.socket === socket) {
        clearTimeout(entry.timer);
        this.unclaimed.delete(key);
      }
    });
    socket.write(token);
  }

  private onControlConnection(socket: net.Socket): void {
    this.track(socket);
    if (this.closed) return;
    const connection: Connection = { socket, role: 'new', channels: null };
    const reader = new FrameReader(WIRE_REQUEST_HEADER_LENGTH, MAX_REQUEST_PAYLOAD, (frame) =>
      this.onRequest(connection, frame),
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        this.note(`protocol error, dropping the connection: ${String(error)}`);
        this.hangUp(connection);
      }
    });
    socket.on('end', () => this.hangUp(connection));
    socket.on('close', () => this.hangUp(connection));
  }

  /** End of a connection: without CLOSE, a control connection's fd is closed (the process died). */
  private hangUp(connection: Connection): void {
    const { role, channels } = connection;
    connection.role = 'done';
    if (role === 'control' && channels !== null) {
      if (!channels.file.closed) {
        this.note(`fd${channels.file.id}: control connection ended without CLOSE`);
        this.driver.close(channels.file);
      }
      this.forget(channels);
    }
    if (!connection.socket.destroyed) connection.socket.destroy();
  }

  private onRequest(connection: Connection, frame: Buffer): void {
    const op = frame.readUInt32LE(4);
    const arg0 = frame.readUInt32LE(8);
    const arg1 = frame.readUInt32LE(12);
    const payload = frame.subarray(WIRE_REQUEST_HEADER_LENGTH);
    switch (connection.role) {
      case 'new':
        this.onFirstRequest(connection, op, arg0, arg1, payload);
        return;
      case 'control':
        this.onControlRequest(
          connection,
          connection.channels as FileChannels,
          op,
          arg0,
          arg1,
          payload,
        );
        return;
      default:
        // Events and aux connections carry one request; anything after it is ignored.
        this.note(`ignored op ${op} on a ${connection.role} connection`);
    }
  }

  private onFirstRequest(
    connection: Connection,
    op: number,
    flags: number,
    pid: number,
    payload: Buffer,
  ): void {
    const key = payload.length === WIRE_TOKEN_LENGTH ? payload.toString('hex') : '';
    switch (op) {
      case WIRE_OP.OPEN: {
        const pending = this.unclaimed.get(key);
        if (pending === undefined) {
          this.note('OPEN with an unknown token');
          this.reply(connection, -ERRNO.EIO);
          connection.role = 'done';
          return;
        }
        clearTimeout(pending.timer);
        this.unclaimed.delete(key);
        const opened = this.driver.open(flags, pid);
        if (typeof opened === 'number') {
          this.reply(connection, opened);
          pending.socket.destroy();
          connection.role = 'done';
          return;
        }
        const channels = new FileChannels(opened, key, pending.socket);
        this.byToken.set(key, channels);
        this.byFile.set(opened.id, channels);
        connection.role = 'control';
        connection.channels = channels;
        this.reply(connection, 0);
        return;
      }
      case WIRE_OP.EVENTS: {
        const channels = this.byToken.get(key);
        if (channels === undefined) {
          this.note('EVENTS with an unknown token');
          connection.role = 'done';
          connection.socket.destroy();
          return;
        }
        connection.role = 'events';
        channels.events = connection.socket;
        if (channels.eventDue && channels.pendingWrites === 0) channels.sendEvent();
        return;
      }
      case WIRE_OP.REQUESTVMC:
        connection.role = 'aux';
        this.requestVmc(connection, this.byToken.get(key));
        return;
      default:
        this.note(`op ${op} before OPEN`);
        this.reply(connection, -ERRNO.EBADF);
    }
  }

  private onControlRequest(
    connection: Connection,
    channels: FileChannels,
    op: number,
    arg0: number,
    arg1: number,
    payload: Buffer,
  ): void {
    const file = channels.file;
    switch (op) {
      case WIRE_OP.SETHMCID:
        this.reply(connection, this.driver.setHmcId(file, arg1 === 1 ? null : payload));
        return;
      case WIRE_OP.QUERY: {
        const q = this.driver.query(file);
        this.write(connection, encodeReplyWords(0, [q.haveVmc, q.state, q.vmcDrcIndex]));
        return;
      }
      case WIRE_OP.REQUESTVMC:
        this.requestVmc(connection, channels);
        return;
      case WIRE_OP.IOCTL:
        this.reply(connection, this.driver.ioctl(file, arg0));
        return;
      case WIRE_OP.WRITE:
        this.reply(
          connection,
          this.driver.write(file, arg0, arg1 === WIRE_WRITE_DATA.INLINE ? payload : null),
        );
        return;
      case WIRE_OP.READ: {
        const result = this.driver.read(file, arg0);
        const message = this.driver.lastMessage;
        if (message === null) {
          this.reply(connection, result);
          return;
        }
        // Frames go to the file that reserved the slot. A stale file reading
        // the slot's shared queue (see FakeFile.slot) gets its own copy so its
        // shim finds the frame it is told to consume; the owner's connection
        // then holds a frame whose message is gone (the session is broken
        // either way, as on the real device). Neither frame may be taken
        // without asking: localReadLimit gave the owner's 0, and so here.
        if (file.slot?.fileSession !== file) this.pushFrame(file, message, 0);
        this.write(connection, encodeReplyWords(result, [message.length]));
        return;
      }
      case WIRE_OP.READ_TAKEN:
        // The shim has copied the frame out already; this is the read it did.
        // If a reset came after the frame was sent, the queue is empty and
        // another file may own the slot by now: take nothing. No reply.
        if (
          !file.valid ||
          file.slot?.fileSession !== file ||
          this.driver.read(file, arg0) < 0 ||
          this.driver.lastMessage === null
        ) {
          this.note(`fd${file.id}: READ_TAKEN with no message queued for it; ignored`);
        }
        return;
      case WIRE_OP.CLOSE:
        this.reply(connection, this.driver.close(file));
        connection.role = 'done';
        this.forget(channels);
        connection.socket.end();
        return;
      default:
        this.note(`fd${file.id}: unexpected op ${op}`);
        this.reply(connection, -ERRNO.EINVAL);
    }
  }

  private requestVmc(connection: Connection, channels: FileChannels | undefined): void {
    if (channels === undefined || channels.file.closed) {
      this.reply(connection, -ERRNO.EBADF);
      return;
    }
    this.driver.requestVmc(channels.file).then(
      ({ result, index }) => {
        if (result < 0) this.reply(connection, result);
        else this.write(connection, encodeReplyWords(result, [index]));
      },
      (error: unknown) => {
        this.note(`REQUESTVMC failed: ${String(error)}`);
        this.reply(connection, -ERRNO.EIO);
      },
    );
  }

  private forget(channels: FileChannels): void {
    this.byToken.delete(channels.token);
    this.byFile.delete(channels.file.id);
    channels.destroy();
  }

  private reply(connection: Connection, result: number): void {
    this.write(connection, encodeReply(result));
  }

  private write(connection: Connection, frame: Buffer): void {
    if (!connection.socket.destroyed && connection.socket.writable) connection.socket.write(frame);
  }

  private note(text: string): void {
    if (this.log.enabled) {
      this.log.add({ at: this.scheduler.now(), kind: 'note', source: 'server', text });
    }
  }
}
