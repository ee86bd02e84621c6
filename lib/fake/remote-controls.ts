/**
 * The program's side of a fake device's controls, whatever carries them: the
 * handle of a fake this process started (a child's IPC channel, a worker's
 * port) and a fake this process attached to (its attach socket) send the
 * same calls and run handlers the same way. Each call has a deadline; when
 * the fake is gone every call waiting fails at once.
 */
import type { FakeResetOptions } from './fake-device';
import { FakeDeviceError } from './errors';
import { normalizeAnswer, type FakeMessageHandler, type FakeSessionInfo } from './handler';
import {
  toBuffer,
  type ControlMethod,
  type FromFake,
  type IpcPort,
  type SerializedError,
  type ToFake,
} from './ipc';
import type { FakeLogEntry } from './log';
import { resolveOptions, type FakeDeviceOptions } from './options';
import type { FakeDeviceState, FakeSlotSnapshot } from './snapshots';

/** The run-time controls of a fake device, wherever it runs. */
export interface FakeDeviceControls {
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
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Controls sent over a port; subclasses own the fake (or the connection) behind it. */
export abstract class RemoteControls implements FakeDeviceControls {
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private handler: FakeMessageHandler | null;
  private readonly slotHandlers = new Map<number, FakeMessageHandler>();
  private handlesRunning = 0;
  /** The fake is gone (stopped, crashed, detached from): calls fail. */
  protected gone = false;
  /** Why, once gone. */
  private goneBecause = '';
  /** Why calls are closed (see closeCalls), or null. */
  private closedBecause: string | null = null;

  protected constructor(
    protected readonly port: IpcPort<ToFake, FromFake>,
    protected readonly timeoutMs: number,
    handler: FakeMessageHandler | null,
  ) {
    this.handler = handler;
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

  /**
   * No call may be sent from now on: the owner is stopping the fake, or this
   * process is detaching. Later calls fail with `<method>() <reason>`.
   */
  protected closeCalls(reason: string): void {
    this.closedBecause ??= reason;
  }

  /** The number of calls and handler runs in progress changed (0: idle). */
  protected busyChanged(_inProgress: number): void {
    // Nothing by default; an attached fake lets its socket keep the process alive only while busy.
  }

  /** Sends a call and waits for its result. */
  protected call(method: ControlMethod, args: readonly unknown[]): Promise<unknown> {
    if (this.closedBecause !== null || this.gone)
      return Promise.reject(
        new FakeDeviceError(
          this.closedBecause !== null
            ? `fake device: ${method}() ${this.closedBecause}`
            : `fake device: ${method}(): ${this.goneBecause}`,
          'ERR_IBMVMC_FAKE_STOPPED',
        ),
      );
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id);
        reject(this.timeoutError(method));
      }, this.timeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
      this.busyChanged(this.inProgress());
      this.port.send({ type: 'call', id, method, args });
    });
  }

  /**
   * Takes a message from the fake: a call's result or error, or a message for a handler.
   *
   * @returns false for any other message, which the subclass handles.
   */
  protected receive(message: FromFake): boolean {
    switch (message.type) {
      case 'result':
      case 'error': {
        const waiter = this.settle(message.id);
        if (waiter === undefined) return true;
        if (message.type === 'result') waiter.resolve(message.value);
        else waiter.reject(deserializeError(message.error));
        return true;
      }
      case 'handle':
        void this.handle(message.id, toBuffer(message.message), message.session);
        return true;
      default:
        return false;
    }
  }

  /** The fake is gone: fail whatever waits for it, with `error` as the cause. */
  protected lost(error: Error): FakeDeviceError | null {
    if (this.gone) return null;
    this.gone = true;
    this.goneBecause = error.message;
    const failure = new FakeDeviceError(
      `fake device: ${error.message}`,
      'ERR_IBMVMC_FAKE_STOPPED',
      error,
    );
    for (const waiter of this.waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(failure);
    }
    this.waiters.clear();
    this.busyChanged(0);
    return failure;
  }

  /** A deadline passed. */
  protected timeoutError(what: string): FakeDeviceError {
    return new FakeDeviceError(
      `fake device: ${what} took longer than ${this.timeoutMs} ms`,
      'ERR_IBMVMC_FAKE_TIMEOUT',
    );
  }

  private inProgress(): number {
    return this.waiters.size + this.handlesRunning;
  }

  /** Removes a call's waiter (and its timer). */
  private settle(id: number): Waiter | undefined {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return undefined;
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    this.busyChanged(this.inProgress());
    return waiter;
  }

  /** Runs this process's handler for a forwarded message and sends the answers back. */
  private async handle(id: number, message: Buffer, session: FakeSessionInfo): Promise<void> {
    const handler = this.slotHandlers.get(session.slot) ?? this.handler;
    let answers: Uint8Array[] = [];
    this.handlesRunning++;
    this.busyChanged(this.inProgress());
    try {
      if (handler !== null)
        answers = normalizeAnswer(await handler(message, session)).map((a) => new Uint8Array(a));
    } catch {
      // A handler that throws answers nothing, as in the fake itself.
    } finally {
      this.handlesRunning--;
      this.busyChanged(this.inProgress());
    }
    if (!this.gone) this.port.send({ type: 'handled', id, answers });
  }
}

/** An error that crossed the boundary, as a FakeDeviceError with its code. */
export function deserializeError(error: SerializedError): FakeDeviceError {
  return new FakeDeviceError(error.message, error.code ?? 'ERR_IBMVMC_FAKE');
}
