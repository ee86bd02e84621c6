/**
 * The fake hypervisor for a QEMU guest, in this process: the hypervisor's
 * half of the fake machine, the QEMU bridge on the driver's side of its link,
 * and the socket QEMU's `spapr-vmc` device connects to. The guest runs the
 * real `ibmvmc` driver; this process plays the hypervisor behind it with every
 * scripting option the fake device has, less the driver's own.
 *
 * In this process, not a child: the client is QEMU, another process, and
 * nothing here blocks on it.
 */
import '../../disposable';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MAX_HMCS } from '../driver-slot';
import { FakeDeviceError } from '../errors';
import { cleanUpAtExit } from '../exit-cleanup';
import type { FakeResetOptions } from '../fake-device';
import type { FakeMessageHandler } from '../handler';
import type { FakeHypervisor, HypervisorSlotSnapshot, NegotiatedCapabilities } from '../hypervisor';
import { HypervisorSide } from '../hypervisor-side';
import type { FakeLogEntry } from '../log';
import type { ModuleParameters } from '../sysfs';
import { QemuBridge, type QemuAdapterInfo } from './bridge';
import { insmodArguments, resolveQemuOptions, type QemuHypervisorOptions } from './options';
import { QemuBridgeServer } from './server';

/** Options of {@link startQemuHypervisor}. */
export interface StartQemuHypervisorOptions extends QemuHypervisorOptions {
  /** The socket QEMU connects to. Default: `vmc.sock` in a new private temporary directory, removed on stop. */
  readonly socketPath?: string;
  /** Folder for the private temporary directory (default: the system's). */
  readonly tmpDir?: string;
  /** Answers the sessions' messages (default: the command router). */
  readonly handler?: FakeMessageHandler;
}

/** One slot as the hypervisor sees it. */
export interface QemuSlotSnapshot extends HypervisorSlotSnapshot {
  /** The slot's number (HMC index). */
  readonly slot: number;
}

/** The hypervisor's state, and what it knows of QEMU and the guest's driver. */
export interface QemuHypervisorState {
  /** QEMU is connected and has said HELLO. */
  readonly connected: boolean;
  /** The adapter QEMU described; null while not connected. */
  readonly adapter: QemuAdapterInfo | null;
  /** The hypervisor's side of the channel is up (false between a reset and re-initialisation). */
  readonly hypervisorUp: boolean;
  /** What the last capabilities exchange settled on; null before one, or after a reset. */
  readonly negotiated: NegotiatedCapabilities | null;
  /** The guest's driver finished the handshake and accepted its start-up buffers. */
  readonly driverReady: boolean;
  /** The module parameters the guest should load the driver with. */
  readonly moduleParameters: ModuleParameters;
}

/** Options of {@link QemuHypervisorHandle.waitForDriver}. */
export interface WaitForDriverOptions {
  /** Give up after this long (ms) with an `ERR_IBMVMC_FAKE_TIMEOUT` error; default: wait until stopped. */
  readonly timeoutMs?: number;
}

/** A running fake hypervisor for QEMU. */
export interface QemuHypervisorHandle extends AsyncDisposable {
  /** The socket QEMU connects to. */
  readonly socketPath: string;
  /** The private temporary directory holding the socket, or null when `socketPath` was given. */
  readonly dir: string | null;
  /** What to add to QEMU's command line: `-chardev socket,...,path=<socket> -device spapr-vmc,chardev=vmc0`. */
  readonly qemuArgs: readonly string[];
  /** The module parameters the guest should load the driver with (the options', clamped as the driver does). */
  readonly moduleParameters: ModuleParameters;
  /** The same as `insmod` arguments: `['max_mtu=4096', 'buf_pool_size=32', 'max_hmcs=1']`. */
  readonly insmodArgs: readonly string[];
  /** The hypervisor itself, for assertions beyond the controls. */
  readonly hypervisor: FakeHypervisor;
  /**
   * Drops the channel: the guest's driver sees a transport event and frees
   * every slot; the hypervisor comes back (INIT) after `reinitializeAfterMs`.
   */
  reset(options?: FakeResetOptions): void;
  /** Brings a channel dropped for good (`reinitializeAfterMs: null`) back now. */
  reinitialize(): void;
  /**
   * Changes options at run time (behaviour from the next event, capabilities at the next handshake).
   *
   * @throws FakeDeviceError for a bad value, or an option only the fake driver has.
   */
  configure(options: QemuHypervisorOptions): void;
  /** Sends an unsolicited message to a slot's session; false if none is open. */
  inject(slot: number, data: Uint8Array): boolean;
  /** Sets the handler for every slot, or one; null restores the default (the command router). */
  setHandler(handler: FakeMessageHandler | null, slot?: number): void;
  /** Asks the driver for one free buffer of a slot back (Remove Buffer); false if the slot has one or none. */
  removeBuffer(slot: number): boolean;
  /** Every slot the hypervisor has ({@link MAX_HMCS}), as it sees them. */
  sessions(): QemuSlotSnapshot[];
  /** The hypervisor's state, and QEMU's. */
  state(): QemuHypervisorState;
  /** The log kept so far (enable it with the `log` option). */
  log(): FakeLogEntry[];
  /** Forgets the log kept so far. */
  clearLog(): void;
  /**
   * Resolves once QEMU is connected and the guest's driver has finished the
   * handshake and accepted its start-up buffers: a session can open.
   *
   * @throws FakeDeviceError `ERR_IBMVMC_FAKE_TIMEOUT` after `timeoutMs`, `ERR_IBMVMC_FAKE_STOPPED` on stop.
   */
  waitForDriver(options?: WaitForDriverOptions): Promise<void>;
  /** Closes QEMU's connection and the socket, removes it (and the private directory), stops every timer. Idempotent. */
  stop(): Promise<void>;
}

/** The chardev's id in {@link QemuHypervisorHandle.qemuArgs}. */
const CHARDEV_ID = 'vmc0';

/**
 * Starts the fake hypervisor for a QEMU guest and listens for QEMU.
 *
 * @throws FakeDeviceError for bad options (`ERR_IBMVMC_FAKE_OPTIONS`; `haveVmc`,
 *   `openFault` and `openBusyMs` are the fake driver's and refused), or a socket
 *   path that cannot be listened on (`ERR_IBMVMC_FAKE_SOCKET_PATH`).
 */
export async function startQemuHypervisor(
  options: StartQemuHypervisorOptions = {},
): Promise<QemuHypervisorHandle> {
  const { socketPath, tmpDir, handler, ...hypervisorOptions } = options;
  const side = new HypervisorSide(resolveQemuOptions(hypervisorOptions));
  const bridge = new QemuBridge(side);
  let dir: string | null = null;
  try {
    dir =
      socketPath === undefined
        ? await mkdtemp(path.join(tmpDir ?? tmpdir(), 'ibmvmc-qemu-'))
        : null;
    const server = await QemuBridgeServer.listen({
      socketPath: path.resolve(socketPath ?? path.join(dir ?? '', 'vmc.sock')),
      bridge,
      log: side.log,
      scheduler: side.scheduler,
    });
    if (handler !== undefined) side.hypervisor.setHandler(handler);
    return new Handle(side, bridge, server, dir);
  } catch (error) {
    side.dispose();
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

class Handle implements QemuHypervisorHandle {
  readonly socketPath: string;
  readonly qemuArgs: readonly string[];
  readonly hypervisor: FakeHypervisor;
  private readonly waiters = new Set<Waiter>();
  private stopping: Promise<void> | null = null;
  private readonly cancelExitCleanUp: () => void;

  constructor(
    private readonly side: HypervisorSide,
    private readonly bridge: QemuBridge,
    private readonly server: QemuBridgeServer,
    readonly dir: string | null,
  ) {
    this.socketPath = server.socketPath;
    this.hypervisor = side.hypervisor;
    // QEMU's option syntax doubles a comma inside a value.
    this.qemuArgs = Object.freeze([
      '-chardev',
      `socket,id=${CHARDEV_ID},path=${this.socketPath.replace(/,/g, ',,')}`,
      '-device',
      `spapr-vmc,chardev=${CHARDEV_ID}`,
    ]);
    bridge.onChange = () => this.settleWaiters();
    // Synchronous, as exit handlers must be: the socket file, or the whole private directory.
    this.cancelExitCleanUp = cleanUpAtExit(() =>
      rmSync(dir ?? this.socketPath, { recursive: true, force: true }),
    );
  }

  get moduleParameters(): ModuleParameters {
    const { maxMtu, bufPoolSize, maxHmcs } = this.side.options;
    return { maxMtu, bufPoolSize, maxHmcs };
  }

  get insmodArgs(): readonly string[] {
    return insmodArguments(this.moduleParameters);
  }

  reset(options: FakeResetOptions = {}): void {
    // undefined: the hypervisor's configured delay.
    this.hypervisor.reset(options.reinitializeAfterMs);
  }

  reinitialize(): void {
    this.hypervisor.reinitialize();
  }

  configure(options: QemuHypervisorOptions): void {
    this.side.applyOptions(resolveQemuOptions(options, this.side.options));
  }

  inject(slot: number, data: Uint8Array): boolean {
    return this.hypervisor.inject(slot, data);
  }

  setHandler(handler: FakeMessageHandler | null, slot?: number): void {
    this.hypervisor.setHandler(handler, slot);
  }

  removeBuffer(slot: number): boolean {
    return this.hypervisor.removeBuffer(slot);
  }

  sessions(): QemuSlotSnapshot[] {
    return Array.from({ length: MAX_HMCS }, (_, slot) => ({
      slot,
      ...this.hypervisor.snapshot(slot),
    }));
  }

  state(): QemuHypervisorState {
    return {
      connected: this.bridge.connected,
      adapter: this.bridge.adapter,
      hypervisorUp: this.hypervisor.up,
      negotiated: this.hypervisor.negotiated,
      driverReady: this.driverReady(),
      moduleParameters: this.moduleParameters,
    };
  }

  log(): FakeLogEntry[] {
    return this.side.log.entries();
  }

  clearLog(): void {
    this.side.log.clear();
  }

  waitForDriver(options: WaitForDriverOptions = {}): Promise<void> {
    if (this.stopping !== null) return Promise.reject(stoppedError());
    if (this.driverReady()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      const { timeoutMs } = options;
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.waiters.delete(waiter);
          reject(
            new FakeDeviceError(
              `fake hypervisor: the guest's driver was not ready within ${timeoutMs} ms ` +
                `(QEMU ${this.bridge.connected ? 'connected' : 'not connected'})`,
              'ERR_IBMVMC_FAKE_TIMEOUT',
            ),
          );
        }, timeoutMs);
      }
      this.waiters.add(waiter);
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async shutdown(): Promise<void> {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(stoppedError());
    }
    this.waiters.clear();
    this.bridge.onChange = null;
    await this.server.close();
    this.side.dispose();
    if (this.dir !== null) await rm(this.dir, { recursive: true, force: true });
    this.cancelExitCleanUp();
  }

  private driverReady(): boolean {
    return this.bridge.connected && this.hypervisor.startupComplete;
  }

  private settleWaiters(): void {
    if (this.waiters.size === 0 || !this.driverReady()) return;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.waiters.clear();
  }
}

function stoppedError(): FakeDeviceError {
  return new FakeDeviceError('fake hypervisor: stopped', 'ERR_IBMVMC_FAKE_STOPPED');
}
