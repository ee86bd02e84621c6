/**
 * A fake device's attach socket: other processes of the same user connect
 * here to drive its controls (reset, configure, inject, handlers, sessions,
 * state, log) while the process that started it owns its life. Served next
 * to the fake wherever it runs (the child of `startFakeDevice`, a worker,
 * `ibmvmc fake-device`).
 *
 * Each connection is checked: the peer must be this user or root
 * (SO_PEERCRED), on a socket file of mode 0600 in the fake's folder. A
 * connection that breaks the protocol is dropped alone; the others and the
 * fake carry on.
 */
import * as net from 'node:net';
import { chmod, rm } from 'node:fs/promises';
import { peerCredentials } from '../../native/peer-credentials';
import type { ControlPeer, FakeControls } from '../control-peer';
import type { FromFake, ToFake } from '../ipc';
import { checkSocketPath, closeServer, listenOn } from '../unix-socket';
import { ATTACH_PROTOCOL_VERSION } from './names';
import { isToFake } from './messages';
import { socketPort } from './socket-port';

/** The longest message an attached process may send: an inject of a large MTU, with room. */
const MAX_FRAME_BYTES = 1 << 20;

/** What the attach server says about its fake in the first message. */
export interface AttachInfo {
  /** The fake's wire socket (open it as the device, with the shim preloaded). */
  readonly socketPath: string;
  /** Its fake sysfs root, if it has one. */
  readonly sysfsRoot: string | undefined;
}

/** Serves a fake's controls on a Unix socket. */
export class AttachServer {
  private readonly connections = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    /** The socket's path. */
    readonly path: string,
  ) {}

  /**
   * Listens on `path` (a stale socket file there is replaced) for processes to attach.
   *
   * @param controls - The fake's controls, shared with its owner.
   * @param path - Where to listen (at most 107 bytes).
   * @param info - What to tell attached processes about the fake.
   * @throws FakeDeviceError (code `ERR_IBMVMC_FAKE_SOCKET_PATH`) when it cannot listen there.
   */
  static async listen(
    controls: FakeControls,
    path: string,
    info: AttachInfo,
  ): Promise<AttachServer> {
    checkSocketPath(path, 'fake device attach socket');
    const server = net.createServer();
    const attach = new AttachServer(server, path);
    server.on('connection', (socket) => attach.accept(socket, controls, info));
    await listenOn(server, path, 'fake device attach socket');
    await chmod(path, 0o600);
    return attach;
  }

  /** Stops listening, drops the attached processes and removes the socket file. */
  async close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await closeServer(this.server);
    await rm(this.path, { force: true });
  }

  private accept(socket: net.Socket, controls: FakeControls, info: AttachInfo): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    const port = socketPort<FromFake, ToFake>(socket, MAX_FRAME_BYTES);
    const refusal = this.refusal(socket);
    if (refusal !== null) {
      port.send({
        type: 'failed',
        error: {
          name: 'FakeDeviceError',
          message: refusal,
          code: 'ERR_IBMVMC_FAKE_ATTACH_REFUSED',
        },
      });
      socket.end();
      return;
    }
    const peer: ControlPeer = controls.peer(port);
    port.onClose(() => peer.close());
    port.onMessage((message) => {
      // Start and stop are the owner's; anything else is not a control: either ends this connection.
      if (!isToFake(message) || !peer.receive(message)) socket.destroy();
    });
    port.send({
      type: 'attached',
      version: ATTACH_PROTOCOL_VERSION,
      pid: process.pid,
      socketPath: info.socketPath,
      sysfsRoot: info.sysfsRoot ?? null,
    });
  }

  /** Why the peer may not attach, or null: only this user and root may. */
  private refusal(socket: net.Socket): string | null {
    const own = process.getuid?.() ?? 0;
    let uid: number;
    try {
      uid = peerCredentials(socket).uid;
    } catch (error) {
      return `fake device: cannot check who is attaching (${String(error)})`;
    }
    if (uid === 0 || uid === own) return null;
    return `fake device: uid ${uid} may not attach to a fake run by uid ${own} (only that user and root may)`;
  }
}
