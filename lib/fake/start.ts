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
import { defaultControlTimeoutMs } from './control-timeout';
import { childEntryPath } from './entry-path';
import { FakeDeviceError } from './errors';
import { cleanUpAtExit } from './exit-cleanup';
import type { FakeMessageHandler } from './handler';
import { childProcessPort, workerPort, type FromFake, type IpcPort, type ToFake } from './ipc';
import { resolveOptions, type FakeDeviceOptions } from './options';
import { findPreloadPath, preloadCandidates } from './preload-path';
import { deserializeError, RemoteControls, type FakeDeviceControls } from './remote-controls';
import { attachPathFor, FAKE_ATTACH_ENV } from './attach/names';
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
  /** Its attach socket, where `attachFakeDevice()` reaches its controls from another process. */
  readonly IBMVMC_FAKE_ATTACH: string;
}

/** A running fake device, in a child process or a worker. */
export interface FakeDeviceHandle extends FakeDeviceControls, AsyncDisposable {
  /** Where it runs. */
  readonly runIn: FakeRunIn;
  /** The process it runs in: the child's pid, or this process's for a worker. */
  readonly pid: number;
  /** Its private temporary directory. */
  readonly dir: string;
  /** The control socket's path (the data socket is beside it, with `.data`). */
  readonly socketPath: string;
  /**
   * Its attach socket (the control socket's path with `.attach`): other
   * processes of this user reach the controls there with `attachFakeDevice()`.
   */
  readonly attachPath: string;
  /** The fake sysfs root: `<sysfsRoot>/module/ibmvmc/parameters/` holds the module parameters. */
  readonly sysfsRoot: string;
  /** The preload shim (the expected build path if none is built yet). */
  readonly preloadPath: string;
  /** Whether the shim exists at {@link preloadPath}. */
  readonly preloadBuilt: boolean;
  /** Variables to give child processes so their /dev/ibmvmc is this fake. */
  readonly env: FakeDeviceEnv;
  /** Stops the fake and removes its process or thread, sockets and directory. Idempotent. */
  stop(): Promise<void>;
}

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
  const {
    runIn = 'process',
    handler,
    tmpDir,
    timeoutMs = defaultControlTimeoutMs(),
    ...device
  } = options;
  if (runIn !== 'process' && runIn !== 'worker') {
    throw new FakeDeviceError(
      `fake device option runIn must be 'process' or 'worker', got ${String(runIn)}`,
      'ERR_IBMVMC_FAKE_OPTIONS',
    );
  }
  resolveOptions(device); // fail here, with a clear error, rather than in the child
  const entry = childEntryPath();
  const dir = await mkdtemp(path.join(tmpDir ?? tmpdir(), 'ibmvmc-fake-'));
  const handle = new Handle(runIn, dir, spawnFake(runIn, entry), handler ?? null, timeoutMs);
  try {
    await handle.start(device);
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}

class Handle extends RemoteControls implements FakeDeviceHandle {
  readonly socketPath: string;
  readonly attachPath: string;
  readonly sysfsRoot: string;
  readonly preloadPath: string;
  readonly preloadBuilt: boolean;
  readonly env: FakeDeviceEnv;
  readonly pid: number;
  private readonly child: ChildProcess | null;
  private readonly worker: Worker | null;
  private readonly exited: Promise<void>;
  private startWaiter: { resolve(): void; reject(error: Error): void } | null = null;
  private stopWaiter: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  /** Whether the fake forwards sessions' messages to a handler in this process. */
  private readonly forwarding: boolean;
  /** If this process exits without stopping the fake, its directory and child go with it. */
  private readonly cancelExitCleanUp = cleanUpAtExit(() => this.abandon());

  constructor(
    readonly runIn: FakeRunIn,
    readonly dir: string,
    run: FakeRun,
    handler: FakeMessageHandler | null,
    timeoutMs: number,
  ) {
    super(run.port, timeoutMs, handler);
    this.forwarding = handler !== null;
    this.child = run.child;
    this.worker = run.worker;
    this.pid = run.pid;
    this.exited = run.exited;
    this.socketPath = path.join(dir, 'vmc.sock');
    this.attachPath = attachPathFor(this.socketPath);
    this.sysfsRoot = path.join(dir, 'sys');
    const found = findPreloadPath();
    this.preloadPath = found ?? preloadCandidates()[0];
    this.preloadBuilt = found !== undefined;
    this.env = Object.freeze({
      LD_PRELOAD: this.preloadPath,
      [WIRE_ENV_SOCKET]: this.socketPath,
      IBMVMC_SYSFS_ROOT: this.sysfsRoot,
      [FAKE_ATTACH_ENV]: this.attachPath,
    } as FakeDeviceEnv);
    this.child?.on('error', (error) => this.lost(error));
    this.worker?.on('error', (error) => this.lost(error));
    void this.exited.then(() => this.lost(new Error('the fake device process exited')));
    this.port.onMessage((message) => this.onMessage(message));
  }

  start(options: FakeDeviceOptions): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
      timer = setTimeout(() => reject(this.timeoutError('start')), this.timeoutMs);
      this.port.send({
        type: 'start',
        options,
        socketPath: this.socketPath,
        sysfsRoot: this.sysfsRoot,
        attachPath: this.attachPath,
        dir: this.dir,
        forward: this.forwarding,
      });
    }).finally(() => {
      clearTimeout(timer);
      this.startWaiter = null;
    });
  }

  stop(): Promise<void> {
    this.closeCalls('after stop');
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

  /** The fake is gone (stopped, crashed or unreachable): fail whatever waits for it. */
  protected override lost(error: Error): FakeDeviceError | null {
    const failure = super.lost(error);
    if (failure !== null) {
      this.startWaiter?.reject(failure);
      this.stopWaiter?.();
    }
    return failure;
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

  private onMessage(message: FromFake): void {
    if (this.receive(message)) return;
    switch (message.type) {
      case 'ready':
        this.startWaiter?.resolve();
        return;
      case 'failed':
        this.startWaiter?.reject(deserializeError(message.error));
        return;
      case 'stopped':
        this.stopWaiter?.();
        return;
    }
  }
}

/** Where a fake runs and how to talk to it. */
interface FakeRun {
  readonly child: ChildProcess | null;
  readonly worker: Worker | null;
  readonly port: IpcPort<ToFake, FromFake>;
  readonly pid: number;
  readonly exited: Promise<void>;
}

/** Starts the fake's child process or worker (it waits for its start message). */
function spawnFake(runIn: FakeRunIn, entry: string): FakeRun {
  if (runIn === 'worker') {
    const worker = new Worker(entry, { stdout: false, stderr: false });
    return {
      child: null,
      worker,
      port: workerPort(worker),
      pid: process.pid,
      exited: new Promise((resolve) => worker.once('exit', () => resolve())),
    };
  }
  const child = fork(entry, [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  return {
    child,
    worker: null,
    port: childProcessPort(child),
    pid: child.pid ?? -1,
    exited: new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    }),
  };
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
