/**
 * A whole fake device in the current thread: the driver and hypervisor
 * model, the socket server the preload shim talks to, and the fake sysfs
 * tree. Its clients must be other processes (or threads that never block
 * this one): the shim makes synchronous socket calls, so a client on this
 * thread's event loop would deadlock. `startFakeDevice` runs one in a child
 * process or a worker for that reason.
 */
import '../disposable';
import '../disposable';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DRIVER_STATE } from './driver';
import type { FakeMessageHandler } from './handler';
import type { FakeLogEntry } from './log';
import type { FakeDeviceOptions } from './options';
import { FakeServer } from './server';
import {
  deviceState,
  slotSnapshots,
  type FakeDeviceState,
  type FakeSlotSnapshot,
} from './snapshots';
import { FakeSystem } from './system';
import { removeSysfs, writeSysfs } from './sysfs';

/** Where a fake device listens, and what it starts with. */
export interface FakeDeviceStartOptions extends FakeDeviceOptions {
  /** The control socket's path (the data socket gets `.data` appended). At most 102 bytes. */
  readonly socketPath: string;
  /** Where to write the fake sysfs tree (stands for `/sys`); none when omitted. */
  readonly sysfsRoot?: string;
  /** Answers the sessions' messages (default: the command router). */
  readonly handler?: FakeMessageHandler;
}

/** Options of {@link FakeDevice.reset}. */
export interface FakeResetOptions {
  /** When the hypervisor comes back (ms; default the `reinitializeAfterMs` option); null: stays down. */
  readonly reinitializeAfterMs?: number | null;
}

/** Turns of the event loop allowed for an undelayed start-up to settle. */
const SETTLE_TURNS = 200;

/** A fake device running in this thread. */
export class FakeDevice implements AsyncDisposable {
  /** The control socket's path: open it as the device, with the shim preloaded. */
  readonly socketPath: string;
  /** Where the fake sysfs tree is (stands for `/sys`), if one was asked for. */
  readonly sysfsRoot: string | undefined;
  /** The model (driver, hypervisor, link, log), for assertions beyond the controls. */
  readonly system: FakeSystem;
  private readonly server: FakeServer;
  private closed = false;

  private constructor(options: FakeDeviceStartOptions, system: FakeSystem, server: FakeServer) {
    this.socketPath = options.socketPath;
    this.sysfsRoot = options.sysfsRoot;
    this.system = system;
    this.server = server;
  }

  /**
   * Starts a fake device: writes the sysfs tree, listens, loads the "module".
   * Resolves once the start-up handshake is done when no start-up delay is
   * configured, so clients find the driver ready.
   *
   * @throws FakeDeviceError for bad options or a socket path that cannot be used.
   */
  static async start(options: FakeDeviceStartOptions): Promise<FakeDevice> {
    const { socketPath, sysfsRoot, handler, ...deviceOptions } = options;
    const system = new FakeSystem(deviceOptions);
    let server: FakeServer | undefined;
    try {
      if (sysfsRoot !== undefined) await writeSysfs(sysfsRoot, system.options);
      server = await FakeServer.listen({
        socketPath,
        driver: system.driver,
        log: system.log,
        scheduler: system.scheduler,
      });
    } catch (error) {
      system.dispose();
      if (sysfsRoot !== undefined) await removeSysfs(sysfsRoot);
      throw error;
    }
    if (handler !== undefined) system.hypervisor.setHandler(handler);
    const device = new FakeDevice(options, system, server);
    system.start();
    await device.settle();
    return device;
  }

  /**
   * Drops the channel, as a hypervisor transport event: every slot is freed,
   * blocked readers wake with EBADFD, and the driver re-initialises when the
   * hypervisor comes back.
   */
  reset(options: FakeResetOptions = {}): void {
    const after =
      options.reinitializeAfterMs === undefined
        ? this.system.options.reinitializeAfterMs
        : options.reinitializeAfterMs;
    this.system.hypervisor.reset(after);
  }

  /** Changes options at run time (see {@link FakeSystem.configure}); rewrites sysfs. */
  async configure(options: FakeDeviceOptions): Promise<void> {
    this.system.configure(options);
    if (this.sysfsRoot !== undefined) await writeSysfs(this.sysfsRoot, this.system.options);
  }

  /**
   * Sends an unsolicited message to the session on `slot`, in the next buffer
   * the hypervisor holds for it.
   *
   * @returns false if the slot has no open session.
   */
  inject(slot: number, data: Uint8Array): boolean {
    return this.system.hypervisor.inject(slot, data);
  }

  /** Sets the message handler (for one slot if given); null restores the default. */
  setHandler(handler: FakeMessageHandler | null, slot?: number): void {
    this.system.hypervisor.setHandler(handler, slot);
  }

  /** The usable slots, as the driver and the hypervisor see them. */
  sessions(): FakeSlotSnapshot[] {
    return slotSnapshots(this.system.driver, this.system.hypervisor);
  }

  /** The driver's global state. */
  state(): FakeDeviceState {
    return deviceState(this.system.driver, this.system.hypervisor, this.system.options);
  }

  /** The log kept so far (enable it with the `log` option). */
  log(): FakeLogEntry[] {
    return this.system.log.entries();
  }

  /** Forgets the log kept so far. */
  clearLog(): void {
    this.system.log.clear();
  }

  /** Stops everything and removes the sockets and the sysfs tree. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.server.close();
    this.system.dispose();
    if (this.sysfsRoot !== undefined) await removeSysfs(this.sysfsRoot);
  }

  /** {@link FakeDevice.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Lets an undelayed start-up run to the end (start-up buffers lent). */
  private async settle(): Promise<void> {
    const o = this.system.options;
    const { crqinitMs, capabilitiesMs, buffersMs } = o.startup;
    if (!o.haveVmc || crqinitMs > 0 || capabilitiesMs > 0 || buffersMs > 0) return;
    const driver = this.system.driver;
    for (let i = 0; i < SETTLE_TURNS; i++) {
      const queued = this.system.link.queued;
      const idle = queued.toDriver === 0 && queued.toHypervisor === 0;
      if (driver.state === DRIVER_STATE.FAILED && idle) return;
      if (driver.state === DRIVER_STATE.READY && idle) {
        const lent =
          o.buffers.startup === 0 ||
          driver.slots.slice(0, driver.slotCount).every((s) => s.count().valid > 0);
        if (lent) return;
      }
      await nextTurn();
    }
  }
}
