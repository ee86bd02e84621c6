/**
 * The Unix socket QEMU's `spapr-vmc` device connects to (as a client
 * chardev). One connection is one VMC adapter, so one at a time: another
 * connection while one is up is closed at once, with a note. A connection
 * that breaks the protocol is closed with a note too; the bridge then
 * forgets the guest, as when QEMU goes away.
 */
import { rm } from 'node:fs/promises';
import * as net from 'node:net';
import type { FakeLog } from '../log';
import type { Scheduler } from '../scheduler';
import { checkSocketPath, closeServer, listenOn } from '../unix-socket';
import type { QemuBridge } from './bridge';
import { QemuFrameDecoder, decodeQemuFrame } from './frames';

/** What a bridge server is built from. */
export interface QemuBridgeServerOptions {
  /** Where to listen. At most 107 bytes. */
  readonly socketPath: string;
  /** The bridge QEMU's frames go to. */
  readonly bridge: QemuBridge;
  /** The fake's log. */
  readonly log: FakeLog;
  /** Runs the deferred steps. */
  readonly scheduler: Scheduler;
}

/** Listens for QEMU and hands its connection's frames to the bridge. */
export class QemuBridgeServer {
  /** Where it listens. */
  readonly socketPath: string;
  private readonly bridge: QemuBridge;
  private readonly log: FakeLog;
  private readonly scheduler: Scheduler;
  private readonly server: net.Server;
  private active: net.Socket | null = null;
  private closed = false;

  private constructor(options: QemuBridgeServerOptions) {
    this.socketPath = options.socketPath;
    this.bridge = options.bridge;
    this.log = options.log;
    this.scheduler = options.scheduler;
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  /**
   * Listens on `socketPath`, replacing a stale socket file.
   *
   * @throws FakeDeviceError (code `ERR_IBMVMC_FAKE_SOCKET_PATH`) when the path is too long or cannot be listened on.
   */
  static async listen(options: QemuBridgeServerOptions): Promise<QemuBridgeServer> {
    checkSocketPath(options.socketPath, 'fake hypervisor');
    const server = new QemuBridgeServer(options);
    try {
      await listenOn(server.server, server.socketPath, 'fake hypervisor');
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** Whether QEMU is connected (HELLO or not). */
  get qemuConnected(): boolean {
    return this.active !== null;
  }

  /** Stops listening, drops QEMU's connection (the bridge forgets the guest) and removes the socket file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const socket = this.active;
    this.active = null;
    if (socket !== null) {
      socket.destroy();
      this.bridge.detach();
    }
    await closeServer(this.server);
    await rm(this.socketPath, { force: true });
  }

  private onConnection(socket: net.Socket): void {
    // A peer that vanishes mid-write is routine (QEMU killed).
    socket.on('error', () => {});
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.active !== null) {
      this.note('a second QEMU connection closed: one VMC adapter is connected already');
      socket.destroy();
      return;
    }
    this.active = socket;
    const decoder = new QemuFrameDecoder(decodeQemuFrame, (frame) =>
      this.bridge.receiveFrame(frame),
    );
    this.bridge.attach((frame) => {
      if (!socket.destroyed) socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket.destroyed) return;
      try {
        decoder.push(chunk);
      } catch (error) {
        this.note(
          `closing QEMU's connection: ${error instanceof Error ? error.message : String(error)}`,
        );
        this.hangUp(socket);
      }
    });
    socket.on('close', () => this.hangUp(socket));
  }

  /** The end of QEMU's connection, whichever side ended it. */
  private hangUp(socket: net.Socket): void {
    if (!socket.destroyed) socket.destroy();
    if (this.active !== socket) return;
    this.active = null;
    this.bridge.detach();
  }

  private note(text: string): void {
    if (this.log.enabled) {
      this.log.add({ at: this.scheduler.now(), kind: 'note', source: 'server', text });
    }
  }
}
