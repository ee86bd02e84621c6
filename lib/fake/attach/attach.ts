/**
 * `attachFakeDevice()`: the controls of a fake device that another process
 * started, from this one. A Jest `globalSetup` (or the `ibmvmc fake-device`
 * wrapper) starts the fake and exports its environment; each test process
 * attaches through `IBMVMC_FAKE_ATTACH` and injects, resets and configures
 * the same fake its scripts talk to. Detaching leaves the fake running: its
 * owner stops it.
 */
import '../../disposable';
import * as net from 'node:net';
import { FakeDeviceError } from '../errors';
import type { FromFake, ToFake } from '../ipc';
import { findPreloadPath, preloadCandidates } from '../preload-path';
import { defaultControlTimeoutMs } from '../control-timeout';
import { deserializeError, RemoteControls, type FakeDeviceControls } from '../remote-controls';
import { WIRE_ENV_SOCKET } from '../wire';
import { ATTACH_PROTOCOL_VERSION, FAKE_ATTACH_ENV } from './names';
import { socketPort, type SocketPort } from './socket-port';

/** Options of {@link attachFakeDevice}. */
export interface AttachFakeDeviceOptions {
  /**
   * How long attaching and each control may take (ms; default 10000, or
   * `IBMVMC_FAKE_START_TIMEOUT_MS` from the environment, as for `startFakeDevice`).
   */
  readonly timeoutMs?: number;
}

/** The environment that makes `/dev/ibmvmc` the attached fake in a child process. */
export interface AttachedFakeDeviceEnv {
  /** The preload shim. */
  readonly LD_PRELOAD: string;
  /** The fake's control socket. */
  readonly IBMVMC_FAKE_SOCKET: string;
  /** The fake sysfs root (stands for `/sys`), when the fake has one. */
  readonly IBMVMC_SYSFS_ROOT?: string;
  /** Its attach socket. */
  readonly IBMVMC_FAKE_ATTACH: string;
}

/** A fake device another process started, driven from this one. */
export interface AttachedFakeDevice extends FakeDeviceControls, AsyncDisposable {
  /** The attach socket this handle is connected to. */
  readonly attachPath: string;
  /** The process the fake runs in. */
  readonly pid: number;
  /** The fake's control socket: open it as the device (`path`), with the shim preloaded. */
  readonly socketPath: string;
  /** The fake sysfs root, or undefined if the fake has none. */
  readonly sysfsRoot: string | undefined;
  /** Variables to give child processes so their /dev/ibmvmc is this fake. */
  readonly env: AttachedFakeDeviceEnv;
  /**
   * Closes the connection; the fake keeps running. Handlers this process set
   * are removed (the fake's own router answers again). Idempotent.
   */
  detach(): Promise<void>;
}

/** Results can be large (a long log); what the fake says is trusted more than what it is told. */
const MAX_FRAME_BYTES = 1 << 30;

/**
 * Attaches to a running fake device's controls.
 *
 * @param attachPath - Its attach socket (`handle.attachPath`, or the
 *   `IBMVMC_FAKE_ATTACH` variable of its environment, which is the default).
 * @param options - Deadlines.
 * @throws FakeDeviceError `ERR_IBMVMC_FAKE_ATTACH` when there is no fake to
 *   attach to (no path and no variable, nothing listening, not a fake's
 *   attach socket, another version of this package), `ERR_IBMVMC_FAKE_ATTACH_REFUSED`
 *   when this user may not, `ERR_IBMVMC_FAKE_TIMEOUT` when the fake does not answer in time.
 */
export async function attachFakeDevice(
  attachPath: string | undefined = process.env[FAKE_ATTACH_ENV],
  options: AttachFakeDeviceOptions = {},
): Promise<AttachedFakeDevice> {
  const { timeoutMs = defaultControlTimeoutMs() } = options;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new FakeDeviceError(
      `attachFakeDevice: timeoutMs must be a positive number, got ${String(timeoutMs)}`,
      'ERR_IBMVMC_FAKE_OPTIONS',
    );
  if (attachPath === undefined || attachPath === '')
    throw new FakeDeviceError(
      `no fake device to attach to: ${FAKE_ATTACH_ENV} is not set. Start one first and pass ` +
        `its environment on (startFakeDevice() in a globalSetup, then Object.assign(process.env, ` +
        `fake.env)), or run under "ibmvmc fake-device -- COMMAND"`,
      'ERR_IBMVMC_FAKE_ATTACH',
    );
  const socket = await connectTo(attachPath, timeoutMs);
  const port = socketPort<ToFake, FromFake>(socket, MAX_FRAME_BYTES);
  try {
    const hello = await firstMessage(port, attachPath, timeoutMs);
    return new Attached(attachPath, socket, port, hello, timeoutMs);
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

type Hello = Extract<FromFake, { type: 'attached' }>;

class Attached extends RemoteControls implements AttachedFakeDevice {
  readonly pid: number;
  readonly socketPath: string;
  readonly sysfsRoot: string | undefined;
  readonly env: AttachedFakeDeviceEnv;
  private detaching: Promise<void> | null = null;

  constructor(
    readonly attachPath: string,
    private readonly socket: net.Socket,
    port: SocketPort<ToFake, FromFake>,
    hello: Hello,
    timeoutMs: number,
  ) {
    super(port, timeoutMs, null);
    this.pid = hello.pid;
    this.socketPath = hello.socketPath;
    this.sysfsRoot = hello.sysfsRoot ?? undefined;
    this.env = Object.freeze({
      LD_PRELOAD: findPreloadPath() ?? preloadCandidates()[0],
      [WIRE_ENV_SOCKET]: this.socketPath,
      ...(this.sysfsRoot === undefined ? {} : { IBMVMC_SYSFS_ROOT: this.sysfsRoot }),
      [FAKE_ATTACH_ENV]: attachPath,
    } as AttachedFakeDeviceEnv);
    port.onMessage((message) => this.receive(message));
    port.onClose((error) =>
      this.lost(
        new Error(
          this.detaching !== null
            ? 'detached'
            : `the connection to ${attachPath} closed${error === undefined ? '' : ` (${error.message})`}: the fake stopped`,
        ),
      ),
    );
    // Attached and idle, the connection does not keep this process running: calls in flight do.
    socket.unref();
  }

  detach(): Promise<void> {
    this.closeCalls('after detach');
    this.detaching ??= new Promise<void>((resolve) => {
      if (this.socket.destroyed) resolve();
      else {
        this.socket.once('close', () => resolve());
        this.socket.end();
        // A fake that does not close its end in time is cut off.
        setTimeout(() => this.socket.destroy(), 1000).unref();
      }
    });
    return this.detaching;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.detach();
  }

  protected override busyChanged(inProgress: number): void {
    if (inProgress > 0) this.socket.ref();
    else this.socket.unref();
  }
}

/** Connects to the attach socket, naming what is wrong when nothing is there. */
function connectTo(attachPath: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(attachPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(timeout(attachPath, timeoutMs));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new FakeDeviceError(
          `no fake device to attach to at ${attachPath} (${error.code ?? error.message}): ` +
            "it has stopped, or the path is not a fake device's attach socket",
          'ERR_IBMVMC_FAKE_ATTACH',
          error,
        ),
      );
    });
  });
}

/** Waits for the fake's greeting (or its refusal) and checks the version. */
function firstMessage(
  port: SocketPort<ToFake, FromFake>,
  attachPath: string,
  timeoutMs: number,
): Promise<Hello> {
  return new Promise<Hello>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: Hello | FakeDeviceError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome instanceof FakeDeviceError) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => settle(timeout(attachPath, timeoutMs)), timeoutMs);
    port.onMessage((message) => {
      if (settled) return;
      if (message.type === 'failed') settle(deserializeError(message.error));
      else if (message.type !== 'attached')
        settle(notAnAttachSocket(attachPath, `it sent a ${String(message.type)} message`));
      else if (message.version !== ATTACH_PROTOCOL_VERSION)
        settle(
          new FakeDeviceError(
            `the fake device at ${attachPath} speaks attach protocol ${message.version}, this ` +
              `package ${ATTACH_PROTOCOL_VERSION}: attach with the ibmvmc that started it`,
            'ERR_IBMVMC_FAKE_ATTACH',
          ),
        );
      else settle(message);
    });
    port.onClose((error) =>
      settle(notAnAttachSocket(attachPath, error?.message ?? 'it closed the connection')),
    );
  });
}

function notAnAttachSocket(attachPath: string, why: string): FakeDeviceError {
  return new FakeDeviceError(
    `${attachPath} is not a fake device's attach socket (${why})`,
    'ERR_IBMVMC_FAKE_ATTACH',
  );
}

function timeout(attachPath: string, timeoutMs: number): FakeDeviceError {
  return new FakeDeviceError(
    `fake device: no answer from ${attachPath} within ${timeoutMs} ms (is it a fake device's attach socket?)`,
    'ERR_IBMVMC_FAKE_TIMEOUT',
  );
}
