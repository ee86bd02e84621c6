/**
 * An HMC command client over one session: requests go out with correlation
 * tokens and come back as decoded answers, several at a time.
 *
 * One loop reads every incoming message for as long as the client lives.
 * That is what frees the session's buffers (a buffer comes back only when
 * the answer sent in it is read), so requests can never wedge each other,
 * and it is how messages nobody asked for are seen at all.
 */
import { EventEmitter } from 'node:events';
import { debug, debugEnabled } from '../debug';
import '../disposable';
import {
  AbortError,
  InvalidArgumentError,
  MessageTooLargeError,
  SessionClosedError,
  SessionResetError,
  TimeoutError,
} from '../errors/error-classes';
import { IbmvmcError } from '../errors/ibmvmc-error';
import { HMC_HEADER_LENGTH, HMC_ROUTER_OPCODE, HMC_TARGET } from '../protocol/constants';
import { HmcDecodeError } from '../protocol/decode-error';
import {
  decodeHmcMessage,
  decodeOwnedHmcMessage,
  isResponse,
  setHmcToken,
  type HmcMessage,
} from '../protocol/hmc-message';
import { validateOptions } from '../device/options-argument';
import { abortError, validateSignal, validateTimeout } from '../session/deadline';
import type { CallOptions } from '../session/session';
import { exchangeOptionsData } from './command-path';
import { DeadlineQueue, type DeadlineEntry } from './deadline-queue';
import { HmcCommandError, HmcProtocolError } from './errors';
import { describeOpcode, describeTarget } from './names';
import { resolveClientSettings, type ClientSettings, type ClientSettingsInit } from './options';
import { checkRequest, describeRequest, type CheckedRequest, type HmcRequest } from './request';
import { TokenAllocator } from './tokens';
import {
  receivesOwnedBuffers,
  sendWithdrawable,
  sharedCommandPathOf,
  type ClientTransport,
  type SharedCommandPath,
} from './transport';

/** Why a message was delivered as `unsolicited` rather than to a request. */
export type UnsolicitedReason =
  /** It is not a response: the hypervisor sent it on its own (an event, a request). */
  | 'not-a-response'
  /** A response whose token no request of this client has. */
  | 'unknown-token'
  /** The answer to a request that was given up (timed out or aborted) before it came. */
  | 'late';

/** Events a client emits. */
export interface HmcClientEvents {
  /** Every well-formed incoming message, answers included, before it is handled. */
  message: [message: HmcMessage];
  /** A message that answers no request in flight; `reason` says why. */
  unsolicited: [message: HmcMessage, reason: UnsolicitedReason];
  /** Incoming bytes that are not an HMC message; the client carries on. */
  malformed: [error: HmcDecodeError, bytes: Buffer];
  /**
   * The session was reset (or failed): every request in flight rejected with
   * `error`. On a session of its own the client is then closed (connect
   * again); through a broker it stays open, holds new requests, and
   * `reconnect` follows once the broker has a new session.
   */
  reset: [error: IbmvmcError];
  /** Through a broker: its new session is up after a `reset`; held requests go out now. */
  reconnect: [];
  /** The client and its session are closed. */
  close: [];
}

/** Where a client is in its life. */
export type ClientState = 'open' | 'closing' | 'closed';

/** Options of {@link HmcClient.attach}: the client's settings and a deadline for opening the command path. */
export interface AttachOptions extends ClientSettingsInit {
  /** How long opening the command path may take. Default 10000 ms. */
  timeoutMs?: number;
  /** Abandons opening the command path. */
  signal?: AbortSignal;
}

/** What happens to a request's token when the request ends. */
type TokenFate = 'release' | 'abandon';

/** A request from the call until it settles. */
interface Outstanding extends CheckedRequest {
  resolve(message: HmcMessage | undefined): void;
  reject(error: Error): void;
  /** queued: waiting for a turn; sending: the session has it; awaiting: sent, answer due. */
  phase: 'queued' | 'sending' | 'awaiting' | 'done';
  token: number | undefined;
  deadline: DeadlineEntry<Outstanding> | undefined;
  onAbort: (() => void) | undefined;
  /** Takes the message back from the session's send queue when the request is given up. */
  withdraw: (() => void) | undefined;
}

/**
 * An HMC command client. Get one with {@link connect} (which opens the
 * session too) or {@link HmcClient.attach} (over a session you opened).
 *
 * ```ts
 * await using client = await connect({ hmcId: 'my-hmc' });
 * const answer = await client.request({ target: HMC_TARGET.LPAR_CONFIGURATION, opcode: 0x0010 });
 * ```
 *
 * An open client keeps reading, so it keeps the process alive (as a socket
 * does) until `close()`.
 */
export class HmcClient<
  S extends ClientTransport = ClientTransport,
> extends EventEmitter<HmcClientEvents> {
  /** The session the client speaks over. It belongs to the client: `close()` closes it. */
  readonly session: S;
  readonly #settings: ClientSettings;
  /** Whether the session's messages are the client's alone (see receivesOwnedBuffers). */
  readonly #ownsMessages: boolean;
  readonly #tokens = new TokenAllocator();
  /** Every request's deadline, on one timer. */
  readonly #deadlines = new DeadlineQueue<Outstanding>((op) =>
    this.#giveUp(op, this.#timeoutError(op)),
  );
  /** Requests waiting for a turn, in call order. */
  #queue: Outstanding[] = [];
  /** Requests with a token whose answer is due, by token. */
  readonly #awaiting = new Map<number, Outstanding>();
  /** Requests holding a turn (sending or awaiting an answer). */
  #active = 0;
  #state: ClientState = 'open';
  #failure: IbmvmcError | undefined;
  #closing: Promise<void> | undefined;
  #transportClosed: Promise<unknown> | undefined;
  #commandPathOptions: Buffer = Buffer.alloc(0);
  /** The broker's command path, when the transport is a broker's: not ours to open or close. */
  readonly #shared: SharedCommandPath | undefined;
  /** Between a shared command path's reset and its reconnect: requests wait for their turn. */
  #paused = false;

  private constructor(session: S, settings: ClientSettings) {
    super();
    this.session = session;
    this.#settings = settings;
    this.#ownsMessages = receivesOwnedBuffers(session);
    this.#shared = sharedCommandPathOf(session);
    this.#shared?.observe({
      reset: (error) => this.#onSharedReset(error),
      reconnect: () => this.#onSharedReconnect(),
      refused: (token, error) => this.#onRefused(token, error),
    });
    void this.#readLoop();
  }

  /**
   * Opens the command path on an open session (exchange options) and awaits
   * its answer (over a broker's transport the broker holds the command path:
   * nothing is sent). The session then belongs to the client: if the command path
   * cannot be opened the session is closed and the error rethrown. (Bad
   * options reject before anything is sent, and the session stays yours.)
   *
   * @param session - An open session (an `HmcSession`, or anything with its shape).
   * @param attachOptions - The client's settings, and a deadline for this step.
   * @throws HmcCommandError if the router refuses the options; the session's
   *   errors (TimeoutError, SessionResetError, ...) otherwise.
   */
  static async attach<S extends ClientTransport>(
    session: S,
    attachOptions?: AttachOptions,
  ): Promise<HmcClient<S>> {
    if (!isTransport(session))
      throw new InvalidArgumentError(
        'attach() takes an open session: an HmcSession, or an object with mtu, send, receive and close',
        { code: 'ERR_INVALID_ARG_TYPE' },
      );
    const options = validateOptions(attachOptions, 'attach()');
    const timeoutMs = validateTimeout(options.timeoutMs, 'timeoutMs', 10_000);
    const signal = validateSignal(options.signal);
    return HmcClient.attachSettled(session, resolveClientSettings(options), { timeoutMs, signal });
  }

  /**
   * @internal Attaches with settings `resolveClientSettings()` settled and a
   * checked deadline for this step (`connect()` checks them once).
   */
  static async attachSettled<S extends ClientTransport>(
    session: S,
    settings: ClientSettings,
    step: { readonly timeoutMs: number; readonly signal: AbortSignal | undefined },
  ): Promise<HmcClient<S>> {
    const { timeoutMs, signal } = step;
    const client = new HmcClient(session, settings);
    if (client.#shared !== undefined) {
      // The broker opened the command path already: its answer is ours.
      client.#commandPathOptions = client.#shared.commandPathOptions;
      return client;
    }
    try {
      const answer = await client.#send(
        client.#check({
          target: HMC_TARGET.ROUTER,
          opcode: HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS,
          data: exchangeOptionsData(),
          timeoutMs,
          signal,
        }),
        false,
      );
      client.#commandPathOptions = answer?.data ?? Buffer.alloc(0);
      debug('command path open (%d option bytes back)', client.#commandPathOptions.length);
    } catch (error) {
      client.#shutdown(new SessionClosedError('the command path could not be opened'));
      await client.#closeTransport();
      throw error;
    }
    return client;
  }

  /** `open`; `closing` while `close()` runs; `closed` after it, or after a reset. */
  get state(): ClientState {
    return this.#state;
  }

  /** The session's negotiated MTU: the largest whole message, header included. */
  get mtu(): number {
    return this.session.mtu;
  }

  /** The most data one request can carry: the MTU minus the 32-byte header. */
  get maxDataLength(): number {
    return this.session.mtu - HMC_HEADER_LENGTH;
  }

  /** Requests sent or being sent whose answer has not come yet. */
  get inFlight(): number {
    return this.#active;
  }

  /** Requests with an answer outstanding at once; more wait their turn. */
  get maxInFlight(): number {
    return this.#settings.maxInFlight;
  }

  /** Requests waiting for a turn (`maxInFlight` are in flight). */
  get waiting(): number {
    return this.#queue.length;
  }

  /** The data of the router's answer to exchange options (a copy). */
  get commandPathOptions(): Buffer {
    return Buffer.from(this.#commandPathOptions);
  }

  /**
   * Sends one HMC command and resolves with its decoded answer, or with
   * undefined once sent when `expectResponse` is false. At most
   * `maxInFlight` requests are out at once; the rest wait their turn in call order.
   *
   * @throws InvalidArgumentError or MessageTooLargeError for a bad request, before anything is sent.
   * @throws HmcCommandError when the answer has a non-zero return code.
   * @throws HmcProtocolError when the answer carries the token but another target or opcode.
   * @throws TimeoutError, AbortError when given up; SessionClosedError,
   *   SessionResetError when the client or its session ends first.
   */
  request(request: HmcRequest & { expectResponse: false }): Promise<undefined>;
  request(request: HmcRequest & { expectResponse?: true }): Promise<HmcMessage>;
  request(request: HmcRequest): Promise<HmcMessage | undefined>;
  request(request: HmcRequest): Promise<HmcMessage | undefined> {
    try {
      const checked = this.#check(request);
      this.#throwUnlessOpen();
      return this.#send(checked, true);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A router echo: sends `data` and checks that the answer carries it back.
   *
   * @param data - What to echo (the public client sends 1..100 bytes).
   * @param callOptions - Deadline and signal of this request.
   * @returns The answer.
   * @throws HmcProtocolError when other data comes back; as {@link request} otherwise.
   */
  async echo(data: Uint8Array, callOptions?: CallOptions): Promise<HmcMessage> {
    const options = validateOptions(callOptions, 'echo()');
    if (!(data instanceof Uint8Array))
      throw new InvalidArgumentError('echo() takes its data as a Buffer or Uint8Array', {
        code: 'ERR_INVALID_ARG_TYPE',
      });
    const answer = await this.request({
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.ECHO,
      data,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
    if (!answer.data.equals(data))
      throw new HmcProtocolError(
        `the echo came back with other data: sent ${data.length} bytes, got ${answer.data.length}` +
          (answer.data.length === data.length ? ' that differ' : ''),
        answer,
      );
    return answer;
  }

  /**
   * Closes the command path (router close, awaited at most `closeTimeoutMs`),
   * then the session. Requests not sent yet reject at once, those in flight
   * when the close is answered or times out, all with SessionClosedError.
   * Calling it again returns the same promise. Rejects only if closing the
   * session's fd failed (it is released all the same).
   */
  close(closeOptions?: { timeoutMs?: number }): Promise<void> {
    let timeoutMs: number;
    try {
      // Checked before the close starts: a typo must not leave the client half closed.
      const options = validateOptions(closeOptions, 'close()');
      timeoutMs = validateTimeout(options.timeoutMs, 'timeoutMs', this.#settings.closeTimeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  /** For `await using client = await connect(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals ------------------------------------------------------------

  #throwUnlessOpen(): void {
    if (this.#state === 'open') return;
    throw (
      this.#failure ??
      new SessionClosedError(
        this.#state === 'closing' ? 'the client is closing' : 'the client is closed',
      )
    );
  }

  async #close(timeoutMs: number): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closing';
      // The router's close must be the last command: what has not gone out never will.
      for (const op of this.#queue.splice(0))
        this.#finish(
          op,
          new SessionClosedError('the client was closed before the request was sent'),
        );
      // A broker's command path is the broker's: closing the transport is our goodbye.
      if (this.#shared === undefined)
        try {
          // Past the in-flight limit on purpose: waiting behind the others could outlast the timeout.
          await this.#send(
            this.#check({ target: HMC_TARGET.ROUTER, opcode: HMC_ROUTER_OPCODE.CLOSE, timeoutMs }),
            false,
          );
          debug('command path closed');
        } catch (error) {
          // The session is closed either way; a router that does not answer cannot stop that.
          debug('closing the command path: %s', (error as Error).message);
        }
    }
    this.#shutdown(new SessionClosedError('the client was closed before the answer came'));
    const failure = await this.#closeTransport();
    if (failure !== undefined) throw failure;
  }

  #check(request: HmcRequest): CheckedRequest {
    return checkRequest(request, this.session.mtu, this.#settings.requestTimeoutMs);
  }

  /**
   * Creates a request and starts it, or queues it when `queued` and every turn is taken.
   */
  #send(checked: CheckedRequest, queued: boolean): Promise<HmcMessage | undefined> {
    return new Promise<HmcMessage | undefined>((resolve, reject) => {
      // Field by field, not spread: a spread object gets a map of its own each time.
      const op: Outstanding = {
        target: checked.target,
        opcode: checked.opcode,
        message: checked.message,
        expectResponse: checked.expectResponse,
        timeoutMs: checked.timeoutMs,
        signal: checked.signal,
        resolve,
        reject,
        phase: 'queued',
        token: undefined,
        deadline: undefined,
        onAbort: undefined,
        withdraw: undefined,
      };
      if (checked.signal?.aborted) {
        reject(abortError(checked.signal, describeRequest(checked)));
        return;
      }
      this.#arm(op);
      if (queued && (this.#paused || this.#active >= this.#settings.maxInFlight))
        this.#queue.push(op);
      else this.#start(op);
    });
  }

  /** Starts the request's deadline and abort listener. */
  #arm(op: Outstanding): void {
    if (Number.isFinite(op.timeoutMs)) op.deadline = this.#deadlines.add(op, op.timeoutMs);
    if (op.signal) {
      const signal = op.signal;
      op.onAbort = () => this.#giveUp(op, abortError(signal, describeRequest(op)));
      signal.addEventListener('abort', op.onAbort, { once: true });
    }
  }

  #timeoutError(op: Outstanding): TimeoutError {
    const after = `${describeRequest(op)} timed out after ${Math.round(op.timeoutMs)} ms`;
    switch (op.phase) {
      case 'queued':
        if (this.#paused)
          return new TimeoutError(
            `${after} waiting for the broker's new session (its session was reset)`,
          );
        return new TimeoutError(
          `${after} waiting for its turn (${this.#active} requests in flight, at most ${this.#settings.maxInFlight})`,
        );
      case 'sending':
        return new TimeoutError(
          `${after}: the driver did not take it (the hypervisor has not confirmed the session, or every buffer is in flight)`,
        );
      default:
        return new TimeoutError(`${after}: no answer to token ${op.token ?? '?'}`);
    }
  }

  /** Timeout or abort: take the request back wherever it is. */
  #giveUp(op: Outstanding, error: TimeoutError | AbortError): void {
    if (op.phase === 'queued') {
      this.#queue.splice(this.#queue.indexOf(op), 1);
      this.#finish(op, error);
      return;
    }
    // Withdraw it if the session still holds it; if it went out, its answer may still come.
    op.withdraw?.();
    this.#finish(op, error, undefined, 'abandon');
  }

  /** Takes a token and hands the message to the session. */
  #start(op: Outstanding): void {
    const token = this.#tokens.take();
    op.token = token;
    op.phase = 'sending';
    this.#active++;
    // Registered before the send: an answer must never find its request missing.
    if (op.expectResponse) this.#awaiting.set(token, op);
    const bytes = op.message;
    if (bytes.length > this.session.mtu) {
      // Only if the MTU shrank since the request was checked.
      this.#finish(
        op,
        new MessageTooLargeError(
          `${describeRequest(op)} is ${bytes.length} bytes; the negotiated MTU is now ${this.session.mtu}`,
        ),
      );
      return;
    }
    setHmcToken(bytes, token);
    if (debugEnabled) debug('sending %s with token %d', describeRequest(op), token);
    const send = sendWithdrawable(this.session, bytes);
    op.withdraw = send.withdraw;
    send.sent.then(
      () => {
        if (op.phase !== 'sending') return; // answered already, or given up
        if (op.expectResponse) op.phase = 'awaiting';
        else this.#finish(op, null, undefined);
      },
      (error: unknown) => {
        if (op.phase === 'done') return;
        this.#finish(op, error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /**
   * Settles a request and gives its turn to the next one.
   *
   * @param fate - `abandon` when the message may have gone out and its answer may still come.
   */
  #finish(
    op: Outstanding,
    error: Error | null,
    answer?: HmcMessage,
    fate: TokenFate = 'release',
  ): void {
    if (op.phase === 'done') return;
    const heldTurn = op.phase === 'sending' || op.phase === 'awaiting';
    op.phase = 'done';
    if (op.deadline) {
      this.#deadlines.delete(op.deadline);
      this.#stopDeadlinesOnceClosed();
    }
    if (op.signal && op.onAbort) op.signal.removeEventListener('abort', op.onAbort);
    if (op.token !== undefined) {
      if (this.#awaiting.get(op.token) === op) this.#awaiting.delete(op.token);
      if (fate === 'abandon' && op.expectResponse) this.#tokens.abandon(op.token);
      else this.#tokens.release(op.token);
    }
    if (error) op.reject(error);
    else op.resolve(answer);
    if (heldTurn) {
      this.#active--;
      this.#pump();
    }
  }

  /** Starts queued requests while there are turns free. */
  #pump(): void {
    while (
      this.#state === 'open' &&
      !this.#paused &&
      this.#queue.length > 0 &&
      this.#active < this.#settings.maxInFlight
    ) {
      const op = this.#queue.shift();
      if (op === undefined) break;
      // Its signal may have fired in this very turn, its listener not yet run:
      // one signal often guards several requests.
      if (op.signal?.aborted) this.#finish(op, abortError(op.signal, describeRequest(op)));
      else this.#start(op);
    }
  }

  /** Reads every incoming message until the session ends. Never rejects. */
  async #readLoop(): Promise<void> {
    for (;;) {
      let bytes: Buffer;
      try {
        bytes = await this.session.receive();
      } catch (error) {
        this.#onSessionEnd(error);
        return;
      }
      this.#dispatch(bytes);
    }
  }

  /** Decodes one incoming message and hands it to its request or to listeners. */
  #dispatch(bytes: Buffer): void {
    let message: HmcMessage;
    try {
      const maxLength = Math.max(HMC_HEADER_LENGTH, this.session.mtu);
      // A message the client owns keeps its data in place: no copy per answer.
      message = this.#ownsMessages
        ? decodeOwnedHmcMessage(bytes, maxLength)
        : decodeHmcMessage(bytes, { maxLength });
    } catch (error) {
      const decodeError =
        error instanceof HmcDecodeError
          ? error
          : new HmcDecodeError('input', {
              found: 'undecodable',
              expected: 'an HMC message',
              cause: error,
            });
      debug('malformed message of %d bytes: %s', bytes.length, decodeError.message);
      this.#emitSafely('malformed', decodeError, bytes);
      return;
    }
    this.#emitSafely('message', message);
    if (!isResponse(message)) {
      this.#unsolicited(message, 'not-a-response');
      return;
    }
    const op = this.#awaiting.get(message.token);
    if (op === undefined) {
      this.#unsolicited(
        message,
        this.#tokens.claimAbandoned(message.token) ? 'late' : 'unknown-token',
      );
      return;
    }
    if (message.target !== op.target || message.opcode !== op.opcode) {
      this.#finish(
        op,
        new HmcProtocolError(
          `the answer to ${describeRequest(op)} (token ${message.token}) is for ` +
            `${describeOpcode(message.target, message.opcode)} to ${describeTarget(message.target)}`,
          message,
        ),
      );
      return;
    }
    if (message.returnCode !== 0) this.#finish(op, new HmcCommandError(message));
    else this.#finish(op, null, message);
  }

  #unsolicited(message: HmcMessage, reason: UnsolicitedReason): void {
    debug('unsolicited message (%s), token %d', reason, message.token);
    this.#emitSafely('unsolicited', message, reason);
  }

  /** The receive loop ended: a close of ours, or the session is gone. */
  #onSessionEnd(error: unknown): void {
    if (this.#state !== 'open' && error instanceof SessionClosedError) return;
    const failure =
      error instanceof IbmvmcError
        ? error
        : new SessionResetError(`reading the session failed: ${String(error)}`, { cause: error });
    debug('session ended: %s', failure.message);
    this.#failure = failure;
    this.#shutdown(failure);
    this.#emitSafely('reset', failure);
    void this.#closeTransport();
  }

  /** The broker's session was reset: what is in flight is lost; the rest waits for the new session. */
  #onSharedReset(error: IbmvmcError): void {
    if (this.#state !== 'open') return;
    debug("the broker's session was reset: %s", error.message);
    this.#paused = true;
    for (const op of [...this.#awaiting.values()]) this.#finish(op, error);
    this.#emitSafely('reset', error);
  }

  /** The broker holds a new session: its options answer replaces the old one's; held requests go. */
  #onSharedReconnect(): void {
    if (this.#state !== 'open' || this.#shared === undefined) return;
    this.#commandPathOptions = this.#shared.commandPathOptions;
    this.#paused = false;
    debug('the broker has a new session');
    this.#emitSafely('reconnect');
    this.#pump();
  }

  /** The broker did not send a request: it gets no answer. */
  #onRefused(token: number, error: IbmvmcError): void {
    const op = this.#awaiting.get(token);
    if (op === undefined) {
      debug('the broker refused token %d, no longer awaited: %s', token, error.message);
      return;
    }
    this.#finish(op, error);
  }

  /** No more requests: fail every one still pending with `error`. */
  #shutdown(error: IbmvmcError): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const op of this.#queue.splice(0)) this.#finish(op, error);
    for (const op of [...this.#awaiting.values()]) this.#finish(op, error);
    // Sends that expect no answer are not in #awaiting; the session rejects them when it closes.
    this.#stopDeadlinesOnceClosed();
  }

  /**
   * The deadline timer stays set while the client is idle (see DeadlineQueue);
   * a closed client stops it once its last request has settled.
   */
  #stopDeadlinesOnceClosed(): void {
    if (this.#state === 'closed' && this.#deadlines.size === 0) this.#deadlines.clear();
  }

  /** Closes the session once; resolves with its close error, if any, and emits `close`. */
  #closeTransport(): Promise<unknown> {
    this.#transportClosed ??= this.session.close().then(
      () => {
        this.#emitSafely('close');
        return undefined;
      },
      (error: unknown) => {
        this.#emitSafely('close');
        return error;
      },
    );
    return this.#transportClosed;
  }

  /**
   * A listener that throws must not break the client's bookkeeping: the
   * error is rethrown on its own, as an uncaught exception, like any listener
   * error of a socket.
   */
  #emitSafely<K extends keyof HmcClientEvents>(event: K, ...args: HmcClientEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: HmcClientEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }
}

/** Whether `value` has the shape of a session the client can speak over. */
function isTransport(value: unknown): value is ClientTransport {
  const t = value as Partial<ClientTransport> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.send === 'function' &&
    typeof t.receive === 'function' &&
    typeof t.close === 'function' &&
    typeof t.mtu === 'number' &&
    t.mtu >= HMC_HEADER_LENGTH
  );
}
