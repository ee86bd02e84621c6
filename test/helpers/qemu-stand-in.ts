/**
 * Stand-ins for QEMU's `spapr-vmc` device, speaking the bridge's frames over
 * the real socket:
 *
 * - {@link QemuConnection}: one raw connection, to send any frame (or bytes)
 *   and see every frame the hypervisor sends;
 * - {@link QemuGuest}: a guest running the FAKE driver behind the device. The
 *   driver's CRQ link and HypervisorPort end here, as its hypervisor calls
 *   end in QEMU: entries become CRQ frames, copies into the hypervisor's
 *   window become RDMA frames at the address Add Buffer gave, copies out of
 *   it are served from this side's copy of the window (kept by MEM_WRITE),
 *   and H_REQUEST_VMC waits for its answer frame. So the fake driver's own
 *   behaviour checks the bridge, as the real driver would.
 */
import * as net from 'node:net';
import { BUFFER_WINDOW_SIZE } from '../../lib/fake/buffer-address';
import { CRQ_TYPE, decodeCrq, encodeCrq, type CrqMessage } from '../../lib/fake/crq';
import { CrqLink, type HypervisorEndpoint } from '../../lib/fake/crq-link';
import { FakeDriver } from '../../lib/fake/driver';
import type { FakeFile } from '../../lib/fake/fake-file';
import {
  REQUEST_VMC_RETURN_CODE,
  type HypervisorPort,
  type RequestVmcHcallResult,
} from '../../lib/fake/hypervisor-port';
import { FakeLog } from '../../lib/fake/log';
import { resolveOptions, type FakeDeviceOptions } from '../../lib/fake/options';
import {
  QEMU_BRIDGE_VERSION,
  QemuFrameDecoder,
  decodeHypervisorFrame,
  encodeQemuFrame,
  type HypervisorFrame,
  type QemuFrame,
} from '../../lib/fake/qemu/frames';
import { RealScheduler } from '../../lib/fake/scheduler';
import { TIME_SCALE } from './time-scale';

/** Polls `check` every 5 ms until it holds; throws after `ms` (stretched by TIME_SCALE). */
export async function until(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms * TIME_SCALE;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The adapter a stand-in announces in its HELLO (what QEMU's pseries machine would give). */
export const STAND_IN_ADAPTER = {
  unitAddress: 0x71000003,
  localLiobn: 0x80000003,
  remoteLiobn: 0x80000004,
  windowSize: BUFFER_WINDOW_SIZE,
} as const;

/** One connection to the hypervisor's socket, as QEMU's device makes it. */
export class QemuConnection {
  /** Every frame received so far, in order (copies: they outlive the socket's chunks). */
  readonly received: HypervisorFrame[] = [];
  /** Resolves when the hypervisor (or this side) closed the connection. */
  readonly closed: Promise<void>;
  /** Set once the stream broke the protocol on this side. */
  protocolError: Error | null = null;
  private readonly listeners = new Set<(frame: HypervisorFrame) => void>();

  private constructor(readonly socket: net.Socket) {
    const decoder = new QemuFrameDecoder(decodeHypervisorFrame, (frame) => {
      const copy = copyFrame(frame);
      this.received.push(copy);
      for (const listener of this.listeners) listener(copy);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (error) {
        this.protocolError = error as Error;
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects, without saying HELLO. */
  static connect(socketPath: string): Promise<QemuConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new QemuConnection(socket));
      });
    });
  }

  /** Connects and exchanges HELLOs. */
  static async open(socketPath: string): Promise<QemuConnection> {
    const connection = await QemuConnection.connect(socketPath);
    await connection.hello();
    return connection;
  }

  /** Says HELLO and waits for the hypervisor's. */
  async hello(version: number = QEMU_BRIDGE_VERSION): Promise<void> {
    const answer = this.next((f) => f.type === 'hello');
    this.send({ type: 'hello', version, ...STAND_IN_ADAPTER });
    await answer;
  }

  /** Calls `listener` with every frame from now on; returns a function that stops it. */
  onFrame(listener: (frame: HypervisorFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends a frame. */
  send(frame: QemuFrame): void {
    this.sendBytes(encodeQemuFrame(frame));
  }

  /** Sends raw bytes (for malformed frames). */
  sendBytes(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** The first frame, received from now on, that `match` accepts. */
  next(match: (frame: HypervisorFrame) => boolean, ms = 3000): Promise<HypervisorFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no matching frame within ${ms} ms`));
      }, ms * TIME_SCALE);
      const stop = this.onFrame((frame) => {
        if (!match(frame)) return;
        clearTimeout(timer);
        stop();
        resolve(frame);
      });
    });
  }

  /** The CRQ entries received so far, decoded. */
  crqEntries(): CrqMessage[] {
    return this.received.flatMap((f) => (f.type === 'crq' ? [decodeCrq(f.entry)] : []));
  }

  /** Closes the connection (QEMU going away) and waits until it is closed. */
  async end(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

/**
 * QEMU and a guest running the fake driver. {@link connect} is QEMU coming
 * up (HELLO), {@link boot} the guest loading the driver (its probe).
 */
export class QemuGuest implements HypervisorEndpoint, HypervisorPort {
  readonly scheduler = new RealScheduler();
  readonly link: CrqLink;
  readonly driver: FakeDriver;
  /** The device's copy of the hypervisor's window. */
  readonly window = Buffer.alloc(BUFFER_WINDOW_SIZE);
  /** What QEMU would have noted (entries dropped, copies refused). */
  readonly notes: string[] = [];
  connection: QemuConnection | null = null;
  /** Window address of each buffer, from Add Buffer (slot × 0x10000 + id → address). */
  private readonly addresses = new Map<number, number>();
  private nextRequest = 1;
  private pendingRequest: {
    readonly request: number;
    readonly resolve: (result: RequestVmcHcallResult) => void;
  } | null = null;

  /**
   * @param options - The driver's module parameters (and anything else the fake driver reads).
   */
  constructor(options: FakeDeviceOptions = {}) {
    const resolved = resolveOptions(options);
    const log = new FakeLog(0);
    this.link = new CrqLink(this.scheduler, log);
    // H_SEND_CRQ fails (H_CLOSED) until a hypervisor is connected.
    this.link.hypervisorRegistered = false;
    this.link.attachHypervisor(this);
    this.driver = new FakeDriver({
      scheduler: this.scheduler,
      link: this.link,
      hypervisor: this,
      log,
      options: () => resolved,
    });
  }

  /** QEMU connects and exchanges HELLOs. */
  async connect(socketPath: string): Promise<QemuConnection> {
    const connection = await QemuConnection.connect(socketPath);
    // Listening before HELLO: the hypervisor's INIT may come in the same chunk as its HELLO.
    connection.onFrame((frame) => this.onFrame(frame));
    void connection.closed.then(() => this.onClosed(connection));
    this.connection = connection;
    this.link.hypervisorRegistered = true;
    await connection.hello();
    return connection;
  }

  /** QEMU's connection goes away; resolves when the guest has seen it. */
  async disconnect(): Promise<void> {
    await this.connection?.end();
  }

  /** The guest loads the driver: it registers its queue and sends INIT. */
  boot(): void {
    this.driver.probe();
  }

  /** Stops the guest's timers and QEMU's connection. */
  async dispose(): Promise<void> {
    await this.disconnect();
    this.scheduler.dispose();
    this.link.clear();
  }

  // ---- the driver's calls, as a program in the guest makes them ----

  /** open() of /dev/ibmvmc. */
  open(): FakeFile {
    const file = this.driver.open(0, 1);
    if (typeof file === 'number') throw new Error(`open failed: ${file}`);
    return file;
  }

  /** SETHMCID with a name padded to 32 bytes. */
  setHmcId(file: FakeFile, name: string): number {
    const id = Buffer.alloc(32);
    id.write(name, 'latin1');
    return this.driver.setHmcId(file, id);
  }

  /** write() of a message. */
  write(file: FakeFile, data: Buffer | string): number {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return this.driver.write(file, bytes.length, bytes);
  }

  /** Waits for a message and reads it. */
  async read(file: FakeFile, ms = 3000): Promise<Buffer> {
    let message: Buffer | null = null;
    await until(
      () => {
        if (this.driver.read(file, this.driver.mtu) > 0) message = this.driver.lastMessage;
        return message !== null;
      },
      ms,
      'a message to read',
    );
    return message as unknown as Buffer;
  }

  /** The window address Add Buffer gave for a buffer, if any. */
  addressOf(index: number, bufferId: number): number | undefined {
    return this.addresses.get(index * 0x10000 + bufferId);
  }

  // ---- HypervisorEndpoint: the driver's H_SEND_CRQ ----

  receive(message: CrqMessage): void {
    this.connection?.send({ type: 'crq', entry: encodeCrq(message) });
  }

  partnerReset(): void {
    // H_FREE_CRQ / H_REG_CRQ are QEMU's own: the device is not told.
  }

  // ---- HypervisorPort: H_COPY_RDMA and H_REQUEST_VMC ----

  rdmaToHypervisor(index: number, bufferId: number, data: Buffer): void {
    const address = this.addressOf(index, bufferId);
    if (address === undefined || this.connection === null) {
      this.notes.push(`RDMA to buffer ${bufferId} of slot ${index} refused`);
      return;
    }
    this.window.set(data, address);
    this.connection.send({ type: 'rdma', address, data });
  }

  rdmaFromHypervisor(index: number, bufferId: number, length: number): Buffer {
    const address = this.addressOf(index, bufferId) ?? 0;
    return Buffer.from(this.window.subarray(address, address + length));
  }

  requestVmc(): Promise<RequestVmcHcallResult> {
    const connection = this.connection;
    if (connection === null) return Promise.resolve({ rc: 'H_HARDWARE' });
    const request = this.nextRequest++;
    return new Promise((resolve) => {
      this.pendingRequest = { request, resolve };
      connection.send({ type: 'request-vmc', request });
    });
  }

  // ---- frames from the hypervisor ----

  private onFrame(frame: HypervisorFrame): void {
    switch (frame.type) {
      case 'crq': {
        const message = decodeCrq(frame.entry);
        if (message.format === 'hmc' && message.type === CRQ_TYPE.ADD_BUFFER) {
          this.addresses.set(message.index * 0x10000 + message.bufferId, message.word3);
        }
        if (!this.link.sendToDriver(message)) {
          this.notes.push(`entry 0x${frame.entry.toString('hex')} dropped: no queue registered`);
        }
        break;
      }
      case 'mem-write':
        if (frame.address + frame.data.length > this.window.length) {
          this.notes.push(`MEM_WRITE outside the window at 0x${frame.address.toString(16)}`);
        } else {
          this.window.set(frame.data, frame.address);
        }
        break;
      case 'request-vmc-answer': {
        const pending = this.pendingRequest;
        if (pending === null || pending.request !== frame.request) return;
        this.pendingRequest = null;
        pending.resolve(hcallResult(frame.rc, frame.value));
        break;
      }
      case 'hello':
        break;
    }
  }

  /** What QEMU does when the hypervisor goes away. */
  private onClosed(connection: QemuConnection): void {
    if (this.connection !== connection) return;
    this.connection = null;
    this.link.hypervisorRegistered = false;
    // Partner failed: the guest's driver resets and waits in crqinit.
    if (this.link.driverRegistered) this.link.sendToDriver({ format: 'transport', type: 1 });
    const pending = this.pendingRequest;
    this.pendingRequest = null;
    pending?.resolve({ rc: 'H_HARDWARE' });
  }
}

/** The answer to H_REQUEST_VMC by its numeric code. */
function hcallResult(rc: number, value: number): RequestVmcHcallResult {
  const entry = Object.entries(REQUEST_VMC_RETURN_CODE).find(([, code]) => code === rc);
  const name = (entry?.[0] ?? 'H_HARDWARE') as RequestVmcHcallResult['rc'];
  return name === 'H_SUCCESS' ? { rc: name, index: value } : { rc: name };
}

function copyFrame(frame: HypervisorFrame): HypervisorFrame {
  switch (frame.type) {
    case 'crq':
      return { ...frame, entry: Buffer.from(frame.entry) };
    case 'mem-write':
      return { ...frame, data: Buffer.from(frame.data) };
    default:
      return frame;
  }
}
