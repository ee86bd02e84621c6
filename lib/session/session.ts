/**
 * An HMC session: one fd bound to an HMC id, turned into promises.
 *
 * All policy lives here: retries of what the driver calls temporary, the
 * order of sends, bounded reading, reset detection and clean shutdown.
 */
import { EventEmitter } from 'node:events';
import { debug } from '../debug';
import '../disposable';
import {
  AbortError,
  DeviceBusyError,
  DeviceIoError,
  InvalidArgumentError,
  MessageTooLargeError,
  SessionClosedError,
  SessionResetError,
  TimeoutError,
} from '../errors/error-classes';
import { IbmvmcError } from '../errors/ibmvmc-error';
import type { NativeDeviceHandle } from '../native/binding';
import { systemCall, systemCallOutcome } from '../native/system-call';
import { Backoff } from './backoff';
import { connect, probeMtu, type ConnectOptions } from './connect';
import { validateOptions } from '../device/options-argument';
import { abortError, validateSignal, validateTimeout } from './deadline';
import { resolveSessionSettings, type OpenSettings, type SessionSettings } from './settings';
import { kSendWithdrawable, withdrawNothing, type WithdrawableSend } from './withdrawable-send';

/** Options of {@link HmcSession.open}. */
export interface SessionOptions {
  /** The HMC id to bind: a string (UTF-8) or bytes, at most 32 bytes; NUL-padded. */
  hmcId: string | Uint8Array;
  /** The device node. Default `/dev/ibmvmc`. */
  path?: string;
  /** How long opening may take, retries included. Default 10000 ms. */
  timeoutMs?: number;
  /** Aborts the open. */
  signal?: AbortSignal;
  /** Where sysfs is mounted (module parameters). Default `IBMVMC_SYSFS_ROOT` or `/sys`. */
  sysfsRoot?: string;
  /** How often a quiet session checks for a reset. Default 1000 ms. */
  probeIntervalMs?: number;
  /** Messages read ahead of `receive()` calls; the rest wait in the driver. Default 8. */
  queueSize?: number;
  /** Default deadline of each `send()`. Default 10000 ms. */
  sendTimeoutMs?: number;
  /** After a reset, open a new session with the same id instead of staying closed. */
  reconnect?:
    | boolean
    | {
        /** How long each reconnect may take. Default: the session's `timeoutMs`. */
        timeoutMs?: number;
      };
}

/** Per-call options of `send()` and `receive()`. */
export interface CallOptions {
  /** Give up after this long. `send` defaults to the session's `sendTimeoutMs`; `receive` waits as long as the session lives. */
  timeoutMs?: number;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** Where a session is in its life. */
export type SessionState = 'open' | 'reconnecting' | 'reset' | 'closed';

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface PendingSend extends Pending<void> {
  data: Buffer;
  lastBusy: IbmvmcError | undefined;
}

/** Events a session emits. */
export interface HmcSessionEvents {
  /** The channel was reset; the session is gone (or reconnecting, with `reconnect`). */
  reset: [error: SessionResetError];
  /** A new session with the same id replaced the one a reset took away. */
  reconnect: [];
  /** The session is closed. */
  close: [];
}

const SEND_BACKOFF = { immediate: 2, initialMs: 1, maxMs: 50 };

/** What one write attempt came to. */
type WriteAttempt =
  | typeof WRITTEN
  /** This message failed; the next may go. */
  | { kind: 'failed'; error: Error }
  /** Temporary (EBUSY, not confirmed yet): retry later. */
  | { kind: 'busy'; error: IbmvmcError }
  /** The session is gone. */
  | { kind: 'reset'; error: SessionResetError };

/** The driver took the whole message (one shared value: the common case allocates nothing). */
const WRITTEN = { kind: 'written' } as const;

/** The bytes as a Buffer for the addon, without copying them. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * An open HMC session. Create one with {@link HmcSession.open} (or `open()`).
 *
 * ```ts
 * await using session = await open({ hmcId: 'my-hmc' });
 * await session.send(request);
 * const answer = await session.receive({ timeoutMs: 5000 });
 * ```
 */
export class HmcSession extends EventEmitter<HmcSessionEvents> {
  /** The device node. */
  readonly path: string;
  #hmcId: Buffer;
  #options: SessionSettings;
  #handle: NativeDeviceHandle | undefined;
  #mtu: number;
  #readBuffer: Buffer;
  #state: SessionState = 'open';
  #failure: IbmvmcError | undefined;
  #queue: Buffer[] = [];
  #receivers: Pending<Buffer>[] = [];
  #sends: PendingSend[] = [];
  #sendBackoff = new Backoff(SEND_BACKOFF);
  #sendRetry: { cancel(): void } | undefined;
  /** A write went through: from then on EBUSY means every buffer is in flight. */
  #confirmed = false;
  /**
   * While every buffer is in flight, the writes worth trying: one per message
   * read (a read returns a buffer), so that a pipelining sender does not spin
   * on EBUSY. Infinity when the buffers are not known to be exhausted.
   */
  #sendCredits = Infinity;
  /** Writes the driver answered EBUSY, each retried later (a broker's metric). */
  #busyWrites = 0;
  #watching = false;
  #refed = false;
  #probe: NodeJS.Timeout | undefined;
  #active = true;
  /** Abandons a reconnect in progress when the session is closed. */
  #reconnectAbort: AbortController | undefined;

  private constructor(
    path: string,
    hmcId: Buffer,
    options: SessionSettings,
    connection: { handle: NativeDeviceHandle; mtu: number; early: Buffer[] },
  ) {
    super();
    this.path = path;
    this.#hmcId = hmcId;
    this.#options = options;
    this.#handle = connection.handle;
    this.#mtu = connection.mtu;
    this.#readBuffer = Buffer.allocUnsafe(connection.mtu);
    this.#queue.push(...connection.early);
    this.#startProbe();
    this.#updateWatcher();
  }

  /**
   * Opens the device and binds a session with the HMC id. Retries what the
   * driver calls temporary (driver starting, buffers not given yet, every slot
   * in use or closing, EBUSY from older drivers) with a capped back-off until
   * `timeoutMs`, then rejects with a {@link TimeoutError} whose `cause` says
   * which it was. Bad options are rejected before any system call.
   */
  static async open(options: SessionOptions): Promise<HmcSession> {
    return HmcSession.openSettled(resolveSessionSettings(options));
  }

  /** @internal Opens with settings `resolveSessionSettings()` settled (`connect()` does). */
  static async openSettled(settings: OpenSettings): Promise<HmcSession> {
    const { path, hmcId, timeoutMs, signal, ...kept } = settings;
    const connection = await connect({ path, hmcId, timeoutMs, signal, sysfsRoot: kept.sysfsRoot });
    return new HmcSession(path, hmcId, kept, connection);
  }

  /** The 32-byte HMC id this session is bound with (a copy). */
  get hmcId(): Buffer {
    return Buffer.from(this.#hmcId);
  }

  /**
   * Writes the driver answered EBUSY (every buffer in flight, or the session
   * not confirmed yet) since the session opened; each was retried. A measure
   * of how often the buffer pool runs dry.
   */
  get busyWrites(): number {
    return this.#busyWrites;
  }

  /** The negotiated MTU: the largest message `send()` accepts and `receive()` returns. */
  get mtu(): number {
    return this.#mtu;
  }

  /** `open`, `reconnecting`, `reset` (gone after a reset) or `closed`. */
  get state(): SessionState {
    return this.#state;
  }

  /** Messages read from the driver and not yet received. */
  get queuedMessages(): number {
    return this.#queue.length;
  }

  /**
   * Sends one message. Empty or over-MTU messages are rejected before any
   * write. While the hypervisor has not confirmed the session, or every
   * buffer is in flight, the write is retried (fine-grained back-off, capped)
   * until the deadline. Sends go out in call order. The promise resolves once
   * the driver took the whole message; otherwise it rejects and nothing was sent.
   */
  send(data: Uint8Array, callOptions?: CallOptions): Promise<void> {
    try {
      const options = validateOptions(callOptions, 'send()');
      this.#checkMessage(data);
      const timeoutMs = validateTimeout(
        options.timeoutMs,
        'timeoutMs',
        this.#options.sendTimeoutMs,
      );
      const signal = validateSignal(options.signal);
      this.#throwIfUnusable();
      if (signal?.aborted) throw abortError(signal, 'send');
      return this.#enqueueSend(data, timeoutMs, signal).sent;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * For the HMC client: `send()` without a deadline, and a message it can
   * take back cheaply while the session still holds it (an AbortSignal's
   * listener costs more than the rest of a send).
   *
   * @internal
   */
  [kSendWithdrawable](data: Uint8Array): WithdrawableSend {
    try {
      this.#checkMessage(data);
      this.#throwIfUnusable();
      return this.#enqueueSend(data, Infinity, undefined);
    } catch (error) {
      return { sent: Promise.reject(error), withdraw: withdrawNothing };
    }
  }

  /**
   * The next message, in arrival order. Waits as long as the session lives
   * unless `timeoutMs` or `signal` says otherwise; rejects when the session is
   * closed or reset.
   */
  receive(callOptions?: CallOptions): Promise<Buffer> {
    try {
      const options = validateOptions(callOptions, 'receive()');
      const timeoutMs = validateTimeout(options.timeoutMs, 'timeoutMs', Infinity);
      const signal = validateSignal(options.signal);
      const queued = this.#queue.shift();
      if (queued !== undefined) {
        this.#updateWatcher();
        return Promise.resolve(queued);
      }
      this.#throwIfUnusable();
      if (signal?.aborted) throw abortError(signal, 'receive');
      return new Promise<Buffer>((resolve, reject) => {
        const op: Pending<Buffer> = {
          resolve,
          reject,
          timer: undefined,
          signal,
          onAbort: undefined,
        };
        this.#arm(op, timeoutMs, 'receive', () => {
          this.#receivers.splice(this.#receivers.indexOf(op), 1);
          this.#updateWatcher();
        });
        this.#receivers.push(op);
        // Reads happen on the watcher's callbacks only, never here: a
        // send/receive loop must not run on microtasks alone and starve
        // the event loop. The watcher is level-triggered: what is already
        // queued in the driver is read on the next turn.
        this.#updateWatcher();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Every incoming message until the session is closed; throws if it is reset. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      try {
        yield await this.receive();
      } catch (error) {
        if (error instanceof SessionClosedError) return;
        throw error;
      }
    }
  }

  /**
   * Closes the session: pending sends and receives reject with
   * {@link SessionClosedError}, the watcher and timers stop, the fd is closed.
   * Calling it again does nothing. Rejects only if the driver reported an
   * error on close (the fd is released all the same).
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#reconnectAbort?.abort(); // its open fd and retry timer must not outlive the session
    const handle = this.#shutdown(new SessionClosedError());
    this.#queue = [];
    debug('session on %s closed', this.path);
    try {
      if (handle) systemCall(this.path, 'close', () => handle.close());
    } finally {
      this.emit('close');
    }
  }

  /** For `await using session = await open(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals ------------------------------------------------------------

  #throwIfUnusable(): void {
    if (this.#state === 'closed') throw new SessionClosedError();
    if (this.#state === 'reset')
      throw this.#failure ?? new SessionResetError('the session was reset');
  }

  #checkMessage(data: unknown): asserts data is Uint8Array {
    if (!(data instanceof Uint8Array))
      throw new InvalidArgumentError('send() takes a Buffer or Uint8Array', {
        code: 'ERR_INVALID_ARG_TYPE',
      });
    if (data.length === 0 || data.length > this.#mtu)
      throw new MessageTooLargeError(
        data.length === 0
          ? 'cannot send an empty message'
          : `the message is ${data.length} bytes; the negotiated MTU is ${this.#mtu}: split it`,
      );
  }

  /**
   * Writes the message at once when nothing is queued ahead of it (from the
   * caller's bytes: no copy, no deadline timer, no listener); otherwise, or
   * on EBUSY, queues a copy with its deadline and signal.
   */
  #enqueueSend(
    data: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): WithdrawableSend {
    let busy: IbmvmcError | undefined;
    if (this.#sends.length === 0 && this.#sendCredits !== 0 && this.#state === 'open') {
      const attempt = this.#attemptWrite(asBuffer(data), false);
      if (attempt.kind === 'written') return { sent: Promise.resolve(), withdraw: withdrawNothing };
      if (attempt.kind === 'reset') this.#onReset(attempt.error);
      if (attempt.kind !== 'busy')
        return { sent: Promise.reject(attempt.error), withdraw: withdrawNothing };
      busy = attempt.error;
    }
    const queued: PendingSend = {
      data: Buffer.from(data), // the caller may reuse its buffer before we write
      resolve: () => {}, // set just below, by the promise
      reject: () => {},
      timer: undefined,
      signal,
      onAbort: undefined,
      lastBusy: busy,
    };
    const sent = new Promise<void>((resolve, reject) => {
      queued.resolve = resolve;
      queued.reject = reject;
    });
    this.#arm(queued, timeoutMs, 'send', () => this.#dropSend(queued));
    this.#sends.push(queued);
    if (busy) this.#scheduleSendRetry(this.#busyRetryMs());
    else if (this.#sends.length === 1) this.#pumpSends();
    return {
      sent,
      withdraw: () => {
        if (this.#dropSend(queued)) this.#settle(queued, new AbortError('send was withdrawn'));
      },
    };
  }

  /** Starts an operation's deadline and abort listener; `remove` takes it off its list. */
  #arm<T>(op: Pending<T>, timeoutMs: number, what: string, remove: () => void): void {
    if (Number.isFinite(timeoutMs)) {
      op.timer = setTimeout(() => {
        remove();
        const cause = (op as Partial<PendingSend>).lastBusy;
        this.#settle(
          op,
          new TimeoutError(
            `${what} timed out after ${timeoutMs} ms${cause ? `: ${cause.message}` : ''}`,
            { cause },
          ),
        );
      }, timeoutMs);
      op.timer.unref(); // what keeps the process alive is the operation itself
    }
    if (op.signal) {
      const signal = op.signal;
      op.onAbort = () => {
        remove();
        this.#settle(op, abortError(signal, what));
      };
      signal.addEventListener('abort', op.onAbort, { once: true });
    }
  }

  #settle<T>(op: Pending<T>, error: Error | null, value?: T): void {
    if (op.timer) clearTimeout(op.timer);
    if (op.signal && op.onAbort) op.signal.removeEventListener('abort', op.onAbort);
    if (error) op.reject(error);
    else op.resolve(value as T);
  }

  /** Takes a queued send off the queue; false if it is no longer there. */
  #dropSend(op: PendingSend): boolean {
    const index = this.#sends.indexOf(op);
    if (index < 0) return false;
    this.#sends.splice(index, 1);
    if (index === 0) {
      this.#cancelSendRetry();
      this.#sendBackoff.reset();
      if (this.#sends.length > 0) this.#scheduleSendRetry(0);
    }
    return true;
  }

  /** Writes queued messages in order; EBUSY parks the head until a retry. */
  #pumpSends(fromTimer = false): void {
    this.#cancelSendRetry();
    let timerAttempt = fromTimer;
    while (this.#sends.length > 0 && this.#state === 'open') {
      if (this.#sendCredits === 0 && !timerAttempt) {
        this.#scheduleSendRetry(this.#busyRetryMs());
        return;
      }
      const op = this.#sends[0];
      const attempt = this.#attemptWrite(op.data, timerAttempt);
      timerAttempt = false;
      if (attempt.kind === 'written') {
        this.#sends.shift();
        this.#settle(op, null);
      } else if (attempt.kind === 'failed') {
        this.#sends.shift();
        this.#settle(op, attempt.error);
      } else if (attempt.kind === 'busy') {
        op.lastBusy = attempt.error;
        this.#busyWrites++;
        this.#scheduleSendRetry(this.#busyRetryMs());
        return;
      } else {
        this.#onReset(attempt.error); // fails this send and the rest
        return;
      }
    }
  }

  /**
   * One write of a whole message, and the bookkeeping of what it says about
   * the buffers. `byTimer`: a retry's timer always gets one attempt, whatever
   * the credits: the hypervisor can lend new buffers without anyone being told.
   */
  #attemptWrite(data: Buffer, byTimer: boolean): WriteAttempt {
    const handle = this.#handle;
    if (!handle)
      return {
        kind: 'reset',
        error: this.#failure ?? new SessionResetError('the session was reset'),
      };
    let written: number | null;
    try {
      written = systemCall(this.path, 'write', () => handle.write(data));
    } catch (error) {
      if (error instanceof IbmvmcError && error.retryable) {
        if (this.#confirmed && error instanceof DeviceBusyError) this.#sendCredits = 0;
        return { kind: 'busy', error };
      }
      if (error instanceof SessionResetError) return { kind: 'reset', error };
      return { kind: 'failed', error: error as Error };
    }
    this.#sendBackoff.reset();
    this.#confirmed = true;
    // Taken without a read since EBUSY: buffers came back unannounced.
    if (byTimer && this.#sendCredits === 0) this.#sendCredits = Infinity;
    else if (this.#sendCredits !== Infinity) this.#sendCredits--;
    if (written === data.length) return WRITTEN;
    return {
      kind: 'failed',
      error: new DeviceIoError(
        `the driver took ${written ?? 0} of ${data.length} bytes; it never should`,
        { syscall: 'write' },
      ),
    };
  }

  /** Waiting for a read to return a buffer, the next-turn retries would only spin. */
  #busyRetryMs(): number {
    const ms = this.#sendBackoff.next();
    return this.#sendCredits === 0 ? Math.max(1, ms) : ms;
  }

  #scheduleSendRetry(ms: number): void {
    if (this.#sendRetry) return;
    const run = () => {
      this.#sendRetry = undefined;
      this.#pumpSends(true);
    };
    if (ms <= 0) {
      const immediate = setImmediate(run);
      this.#sendRetry = { cancel: () => clearImmediate(immediate) };
    } else {
      const timer = setTimeout(run, ms);
      this.#sendRetry = { cancel: () => clearTimeout(timer) };
    }
  }

  #cancelSendRetry(): void {
    this.#sendRetry?.cancel();
    this.#sendRetry = undefined;
  }

  /** Reads only while someone waits or the read-ahead queue has room. */
  #wantsToRead(): boolean {
    return (
      this.#state === 'open' &&
      (this.#receivers.length > 0 || this.#queue.length < this.#options.queueSize)
    );
  }

  #updateWatcher(): void {
    const handle = this.#handle;
    if (!handle) return;
    const want = this.#wantsToRead();
    if (want && !this.#watching) {
      this.#watch(handle);
    } else if (!want && this.#watching) {
      handle.unwatch();
      this.#watching = false;
    }
    // Only a waiting receive keeps the process alive; an idle session does not.
    const ref = this.#receivers.length > 0;
    if (ref !== this.#refed) {
      handle.setRef(ref);
      this.#refed = ref;
    }
  }

  /**
   * The watcher reads one message per callback into the read buffer, up to
   * the MTU (one call into JavaScript per message, not two); it calls only
   * when a read took a message or failed.
   */
  #watch(handle: NativeDeviceHandle): void {
    handle.watch(
      (error, bytesRead) => this.#onReadable(handle, error, bytesRead),
      this.#readBuffer,
      this.#mtu,
    );
    this.#watching = true;
  }

  #onReadable(handle: NativeDeviceHandle, error: Error | null, bytesRead?: number): void {
    if (error !== null && !isReadFailure(error)) {
      this.#onReset(
        new SessionResetError(`watching ${this.path} failed: ${error.message}`, { cause: error }),
      );
      return;
    }
    let n: number | undefined;
    try {
      n = systemCallOutcome(this.path, 'read', error, bytesRead);
    } catch (failure) {
      if (this.#readFailed(handle, failure)) this.#drain();
      return;
    }
    if (n === undefined) return;
    this.#refed = false; // the watcher dropped its ref with the message
    this.#took(n); // whatever the demand: the message has left the driver
  }

  /**
   * Reads one message, if there is demand or room (the watcher's own reads
   * aside: the idle probe, a reconnect, a changed MTU). One at most: the
   * watcher is level-triggered and calls again while more is queued, and one
   * callback never holds the event loop for a whole backlog.
   */
  #drain(): void {
    while (this.#wantsToRead() && this.#handle) {
      const handle = this.#handle;
      let n: number | null;
      try {
        n = systemCall(this.path, 'read', () => handle.read(this.#readBuffer, this.#mtu));
      } catch (error) {
        if (this.#readFailed(handle, error)) continue;
        return;
      }
      if (n === null) break;
      this.#took(n);
      return;
    }
    this.#updateWatcher();
  }

  /** A message of `n` bytes is in the read buffer: to a waiting receive or the queue. */
  #took(n: number): void {
    this.#active = true;
    const message = Buffer.allocUnsafe(n);
    this.#readBuffer.copy(message, 0, 0, n);
    const receiver = this.#receivers.shift();
    if (receiver) this.#settle(receiver, null, message);
    else this.#queue.push(message);
    this.#updateWatcher();
    // A message read is a buffer returned: a send waiting on EBUSY can go now.
    if (this.#sendCredits !== Infinity) this.#sendCredits++;
    if (this.#sends.length > 0 && this.#sendRetry) this.#pumpSends();
  }

  /** A read failed: true when it is worth reading again (the MTU was found anew). */
  #readFailed(handle: NativeDeviceHandle, error: unknown): boolean {
    if (error instanceof InvalidArgumentError) {
      // The MTU shrank under us (a re-negotiation): find it again. The
      // driver checks the size before anything else, so the probe's reads
      // are often the first to see the session gone (EBADFD).
      try {
        this.#mtu = probeMtu(handle, this.path, this.#mtu, this.#queue);
      } catch (probeError) {
        return this.#readFailed(handle, probeError); // never EINVAL: the probe takes those
      }
      if (this.#watching) this.#watch(handle);
      return true;
    }
    if (error instanceof IbmvmcError) {
      this.#onReset(
        error instanceof SessionResetError
          ? error
          : new SessionResetError(`reading the session failed: ${error.message}`, {
              code: error.code,
              errno: error.errno,
              syscall: error.syscall,
              cause: error,
            }),
      );
      return false;
    }
    throw error;
  }

  /** poll() never reports a reset: a quiet session reads now and then to see EBADFD. */
  #startProbe(): void {
    const interval = this.#options.probeIntervalMs;
    if (!Number.isFinite(interval) || interval <= 0) return;
    this.#probe = setInterval(() => {
      if (!this.#active) this.#drain();
      this.#active = false;
    }, interval);
    this.#probe.unref();
  }

  /**
   * The session is gone. Close the fd at once (a stale fd could alias a new
   * session on the same slot), fail what is pending, tell listeners.
   */
  #onReset(error: SessionResetError): void {
    if (this.#state !== 'open') return;
    debug('session on %s reset: %s', this.path, error.message);
    const reconnecting = this.#options.reconnectTimeoutMs !== undefined;
    this.#state = reconnecting ? 'reconnecting' : 'reset';
    this.#failure = error;
    const handle = this.#shutdown(error, reconnecting);
    try {
      handle?.close();
    } catch {
      // The fd is released whatever close says; the reset is the news.
    }
    this.emit('reset', error);
    if (reconnecting) void this.#reconnect();
  }

  /** Stops timers and the watcher and fails pending work; returns the handle to close. */
  #shutdown(error: IbmvmcError, keepReceivers = false): NativeDeviceHandle | undefined {
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
    this.#cancelSendRetry();
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle && this.#watching) handle.unwatch();
    this.#watching = false;
    this.#refed = false;
    for (const op of this.#sends.splice(0)) this.#settle(op, error);
    if (!keepReceivers) for (const op of this.#receivers.splice(0)) this.#settle(op, error);
    return handle;
  }

  async #reconnect(): Promise<void> {
    const abort = new AbortController();
    this.#reconnectAbort = abort;
    const options: ConnectOptions = {
      path: this.path,
      hmcId: this.#hmcId,
      timeoutMs: this.#options.reconnectTimeoutMs ?? 0,
      signal: abort.signal,
      sysfsRoot: this.#options.sysfsRoot,
    };
    try {
      const connection = await connect(options);
      if (this.#state !== 'reconnecting') {
        connection.handle.close(); // closed while we were reconnecting
        return;
      }
      this.#handle = connection.handle;
      this.#mtu = connection.mtu;
      this.#confirmed = false;
      this.#sendCredits = Infinity;
      this.#readBuffer = Buffer.allocUnsafe(connection.mtu);
      this.#queue.push(...connection.early);
      this.#state = 'open';
      this.#failure = undefined;
      this.#startProbe();
      this.#updateWatcher();
      this.#drain();
      this.#pumpSends(); // sends made while reconnecting go out now
      debug('session on %s reconnected', this.path);
      this.emit('reconnect');
    } catch (error) {
      if (this.#state !== 'reconnecting') return;
      this.#state = 'reset';
      const failure =
        error instanceof IbmvmcError
          ? new SessionResetError(
              `the session was reset and reconnecting failed: ${error.message}`,
              {
                cause: error,
              },
            )
          : new SessionResetError('the session was reset and reconnecting failed', {
              cause: error,
            });
      this.#failure = failure;
      for (const op of this.#receivers.splice(0)) this.#settle(op, failure);
      for (const op of this.#sends.splice(0)) this.#settle(op, failure);
    } finally {
      if (this.#reconnectAbort === abort) this.#reconnectAbort = undefined;
    }
  }
}

/** Opens an HMC session; see {@link HmcSession.open}. */
export function open(options: SessionOptions): Promise<HmcSession> {
  return HmcSession.open(options);
}

/** The watcher's own read failed (not the watching itself). */
function isReadFailure(error: Error): boolean {
  return (error as Error & { syscall?: unknown }).syscall === 'read';
}
