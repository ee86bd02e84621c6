/**
 * Starts a fake device in a child process (default) or a worker thread, and
 * returns a handle to control it. Never in the calling thread: the preload
 * shim makes synchronous socket calls from the thread that uses the device,
 * and a fake on that thread's event loop could never answer them.
 *
 * The fake gets a private temporary directory for its sockets and its sysfs
 * tree; {@link FakeDeviceHandle.stop} removes it with everything else.
 */
import '../disposable';
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { childEntryPath } from './entry-path';
import { FakeDeviceError } from './errors';
import { cleanUpAtExit } from './exit-cleanup';
import type { FakeResetOptions } from './fake-device';
import { normalizeAnswer, type FakeMessageHandler } from './handler';
import {
  childProcessPort,
  toBuffer,
  workerPort,
  type ControlMethod,
  type FromFake,
  type IpcPort,
  type SerializedError,
  type ToFake,
} from './ipc';
import type { FakeLogEntry } from './log';
import { resolveOptions, type FakeDeviceOptions } from './options';
import { findPreloadPath, preloadCandidates } from './preload-path';
import type { FakeDeviceState, FakeSlotSnapshot } from './snapshots';
import { WIRE_ENV_SOCKET } from './wire';

/** Where the fake runs. */
export type FakeRunIn = 'process' | 'worker';

/** Options of {@link startFakeDevice}. */
export interface StartFakeDeviceOptions extends FakeDeviceOptions {
  /** A child process (default) or a worker thread of this process. */
  readonly runIn?: FakeRunIn;
  /**
   * Answers the sessions' messages, running in THIS process: the fake sends
   * each message here and the answers back. Default: the command router, in the fake.
   */
  readonly handler?: FakeMessageHandler;
  /** Folder for the private temporary directory (default: the system's). */
  readonly tmpDir?: string;
  /**
   * How long start-up and each control may take (ms; default 10000, or
   * `IBMVMC_FAKE_START_TIMEOUT_MS` from the environment for slow machines and emulators).
   */
  readonly timeoutMs?: number;
}

/** The environment a process needs to use the fake as `/dev/ibmvmc`. */
export interface FakeDeviceEnv {
  /** The preload shim. */
  readonly LD_PRELOAD: string;
  /** The fake's control socket. */
  readonly IBMVMC_FAKE_SOCKET: string;
  /** The fake sysfs root (stands for `/sys`). */
  readonly IBMVMC_SYSFS_ROOT: string;
}

/** A running fake device, in a child process or a worker. */
export interface FakeDeviceHandle extends AsyncDisposable {
  /** Where it runs. */
  readonly runIn: FakeRunIn;
  /** The process it runs in: the child's pid, or this process's for a worker. */
  readonly pid: number;
  /** Its private temporary directory. */
  readonly dir: string;
  /** The control socket's path (the data socket is beside it, with `.data`). */
  readonly socketPath: string;
  /** The fake sysfs root: `<sysfsRoot>/module/ibmvmc/parameters/` holds the module parameters. */
  readonly sysfsRoot: string;
  /** The preload shim (the expected build path if none is built yet). */
  readonly preloadPath: string;
  /** Whether the shim exists at {@link preloadPath}. */
  readonly preloadBuilt: boolean;
  /** Variables to give child processes so their /dev/ibmvmc is this fake. */
  readonly env: FakeDeviceEnv;
  /** Drops the channel (a transport event); see {@link FakeDevice.reset}. */
  reset(options?: FakeResetOptions): Promise<void>;
  /** Changes options at run time. */
  configure(options: FakeDeviceOptions): Promise<void>;
  /** Sends an unsolicited message to a slot's session; false if none is open. */
  inject(slot: number, data: Uint8Array): Promise<boolean>;
  /** Sets the handler (running in this process) for every slot or one; null restores the default. */
  setHandler(handler: FakeMessageHandler | null, slot?: number): Promise<void>;
  /** The usable slots. */
  sessions(): Promise<FakeSlotSnapshot[]>;
  /** The driver's global state. */
  state(): Promise<FakeDeviceState>;
  /** The log kept so far (enable with the `log` option). */
  log(): Promise<FakeLogEntry[]>;
  /** Forgets the log kept so far. */
  clearLog(): Promise<void>;
  /** Stops the fake and removes its process or thread, sockets and directory. Idempotent. */
  stop(): Promise<void>;
}

/** Emulators and sanitizers start a fake several times slower: they may raise the default. */
const DEFAULT_TIMEOUT_MS =
  Number(process.env.IBMVMC_FAKE_START_TIMEOUT_MS) > 0
    ? Number(process.env.IBMVMC_FAKE_START_TIMEOUT_MS)
    : 10_000;

const EXIT_GRACE_MS = 3_000;

/**
 * Starts a fake device.
 *
 * @throws FakeDeviceError for bad options, a missing build (the child entry is
 *   compiled JavaScript: run `npm run build:ts`), or a fake that fails to start.
 */
export async function startFakeDevice(
  options: StartFakeDeviceOptions = {},
): Promise<FakeDeviceHandle> {
  const { runIn = 'process', handler, tmpDir, timeoutMs = DEFAULT_TIMEOUT_MS, ...device } = options;
  if (runIn !== 'process' && runIn !== 'worker') {
    throw new FakeDeviceError(
      `fake device option runIn must be 'process' or 'worker', got ${String(runIn)}`,
      'ERR_IBMVMC_FAKE_OPTIONS',
    );
  }
  resolveOptions(device); // fail here, with a clear error, rather than in the child
  const entry = childEntryPath();
  const dir = await mkdtemp(path.join(tmpDir ?? tmpdir(), 'ibmvmc-fake-'));
  const handle = new Handle(runIn, dir, entry, handler ?? null, timeoutMs);
  try {
    await handle.start(device);
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

class Handle implements FakeDeviceHandle {
  readonly socketPath: string;
  readonly sysfsRoot: string;
  readonly preloadPath: string;
  readonly preloadBuilt: boolean;
  readonly env: FakeDeviceEnv;
  readonly pid: number;
  private readonly child: ChildProcess | null;
  private readonly worker: Worker | null;
  private readonly port: IpcPort<ToFake, FromFake>;
  private readonly exited: Promise<void>;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private handler: FakeMessageHandler | null;
  private readonly slotHandlers = new Map<number, FakeMessageHandler>();
  private startWaiter: Waiter | null = null;
  private stopWaiter: (() => void) | null = null;
  private gone = false;
  private stopping: Promise<void> | null = null;
  /** If this process exits without stopping the fake, its directory and child go with it. */
  private readonly cancelExitCleanUp = cleanUpAtExit(() => this.abandon());

  constructor(
    readonly runIn: FakeRunIn,
    readonly dir: string,
    entry: string,
    handler: FakeMessageHandler | null,
    private readonly timeoutMs: number,
  ) {
    this.handler = handler;
    this.socketPath = path.join(dir, 'vmc.sock');
    this.sysfsRoot = path.join(dir, 'sys');
    const found = findPreloadPath();
    this.preloadPath = found ?? preloadCandidates()[0];
    this.preloadBuilt = found !== undefined;
    this.env = Object.freeze({
      LD_PRELOAD: this.preloadPath,
      [WIRE_ENV_SOCKET]: this.socketPath,
      IBMVMC_SYSFS_ROOT: this.sysfsRoot,
    } as FakeDeviceEnv);
    if (runIn === 'worker') {
      this.child = null;
      this.worker = new Worker(entry, { stdout: false, stderr: false });
      this.port = workerPort(this.worker);
      this.pid = process.pid;
      this.exited = new Promise((resolve) => this.worker?.once('exit', () => resolve()));
    } else {
      this.worker = null;
      this.child = fork(entry, [], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: [],
      });
      this.port = childProcessPort(this.child);
      this.pid = this.child.pid ?? -1;
      this.exited = new Promise((resolve) => {
        const child = this.child as ChildProcess;
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      this.child.on('error', (error) => this.lost(error));
    }
    this.worker?.on('error', (error) => this.lost(error));
    void this.exited.then(() => this.lost(new Error('the fake device process exited')));
    this.port.onMessage((message) => this.onMessage(message));
  }

  start(options: FakeDeviceOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.startWaiter = {
        resolve: () => resolve(),
        reject,
        timer: setTimeout(() => reject(this.timeoutError('start')), this.timeoutMs),
      };
      this.port.send({
        type: 'start',
        options,
        socketPath: this.socketPath,
        sysfsRoot: this.sysfsRoot,
        dir: this.dir,
        forward: this.handler !== null,
      });
    }).finally(() => {
      if (this.startWaiter !== null) clearTimeout(this.startWaiter.timer);
      this.startWaiter = null;
    });
  }

  async reset(options: FakeResetOptions = {}): Promise<void> {
    await this.call('reset', [options]);
  }

  async configure(options: FakeDeviceOptions): Promise<void> {
    resolveOptions(options);
    await this.call('configure', [options]);
  }

  async inject(slot: number, data: Uint8Array): Promise<boolean> {
    return (await this.call('inject', [slot, new Uint8Array(data)])) as boolean;
  }

  async setHandler(handler: FakeMessageHandler | null, slot?: number): Promise<void> {
    if (slot === undefined) this.handler = handler;
    else if (handler === null) this.slotHandlers.delete(slot);
    else this.slotHandlers.set(slot, handler);
    await this.call('setHandler', [handler !== null, slot]);
  }

  async sessions(): Promise<FakeSlotSnapshot[]> {
    return (await this.call('sessions', [])) as FakeSlotSnapshot[];
  }

  async state(): Promise<FakeDeviceState> {
    return (await this.call('state', [])) as FakeDeviceState;
  }

  async log(): Promise<FakeLogEntry[]> {
    const entries = (await this.call('log', [])) as FakeLogEntry[];
    return entries.map((entry) =>
      entry.kind === 'message' ? { ...entry, data: toBuffer(entry.data) } : entry,
    );
  }

  async clearLog(): Promise<void> {
    await this.call('clearLog', []);
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown().finally(this.cancelExitCleanUp);
    return this.stopping;
  }

  /** This process is exiting with the fake still running: synchronous clean-up only. */
  abandon(): void {
    this.child?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async shutdown(): Promise<void> {
    if (!this.gone) {
      const stopped = new Promise<void>((resolve) => (this.stopWaiter = resolve));
      this.port.send({ type: 'stop' });
      await within(Promise.race([stopped, this.exited]), EXIT_GRACE_MS);
    }
    const exitedInTime = await within(this.exited, EXIT_GRACE_MS);
    if (!exitedInTime) {
      this.child?.kill('SIGKILL');
      await this.worker?.terminate();
      await this.exited;
    }
    this.lost(new Error('the fake device was stopped'));
    await rm(this.dir, { recursive: true, force: true });
  }

  private call(method: ControlMethod, args: readonly unknown[]): Promise<unknown> {
    if (this.gone || this.stopping !== null) {
      return Promise.reject(
        new FakeDeviceError(`fake device: ${method}() after stop`, 'ERR_IBMVMC_FAKE_STOPPED'),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(this.timeoutError(method));
      }, this.timeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
      this.port.send({ type: 'call', id, method, args });
    });
  }

  private onMessage(message: FromFake): void {
    switch (message.type) {
      case 'ready':
        this.startWaiter?.resolve(undefined);
        return;
      case 'failed':
        this.startWaiter?.reject(deserializeError(message.error));
        return;
      case 'result':
      case 'error': {
        const waiter = this.waiters.get(message.id);
        if (waiter === undefined) return;
        this.waiters.delete(message.id);
        clearTimeout(waiter.timer);
        if (message.type === 'result') waiter.resolve(message.value);
        else waiter.reject(deserializeError(message.error));
        return;
      }
      case 'handle':
        void this.handle(message.id, toBuffer(message.message), message.session);
        return;
      case 'stopped':
        this.stopWaiter?.();
        return;
    }
  }

  /** Runs the program's handler for a forwarded message and sends the answers back. */
  private async handle(
    id: number,
    message: Buffer,
    session: Parameters<FakeMessageHandler>[1],
  ): Promise<void> {
    const handler = this.slotHandlers.get(session.slot) ?? this.handler;
    let answers: Uint8Array[] = [];
    if (handler !== null) {
      try {
        answers = normalizeAnswer(await handler(message, session)).map((a) => new Uint8Array(a));
      } catch {
        // A handler that throws answers nothing, as in the fake itself.
      }
    }
    if (!this.gone) this.port.send({ type: 'handled', id, answers });
  }

  /** The fake is gone (stopped, crashed or unreachable): fail whatever waits for it. */
  private lost(error: Error): void {
    if (this.gone) return;
    this.gone = true;
    const failure = new FakeDeviceError(
      `fake device: ${error.message}`,
      'ERR_IBMVMC_FAKE_STOPPED',
      error,
    );
    this.startWaiter?.reject(failure);
    for (const waiter of this.waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(failure);
    }
    this.waiters.clear();
    this.stopWaiter?.();
  }

  private timeoutError(what: string): FakeDeviceError {
    return new FakeDeviceError(
      `fake device: ${what} took longer than ${this.timeoutMs} ms`,
      'ERR_IBMVMC_FAKE_TIMEOUT',
    );
  }
}

function deserializeError(error: SerializedError): FakeDeviceError {
  const result = new FakeDeviceError(error.message, error.code ?? 'ERR_IBMVMC_FAKE');
  return result;
}

/** Waits for `promise` at most `ms`; true if it settled in time. No timer is left behind. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
