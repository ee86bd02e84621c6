/**
 * The broker: one upstream session shared by many local clients. Accepts
 * and admits connections, routes each client's requests through the
 * scheduler to the session and the answers back under the client's token,
 * fans events out to subscribers, and carries clients through resets.
 */
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { rm } from 'node:fs/promises';
import type { UnsolicitedReason } from '../../client/client';
import { HmcCommandError, HmcProtocolError } from '../../client/errors';
import { HMC_ROUTER_OPCODE, HMC_TARGET } from '../../protocol/constants';
import {
  decodeHmcMessage,
  encodeHmcMessage,
  expectsResponse,
  isResponse,
  type HmcMessage,
} from '../../protocol/hmc-message';
import { InvalidArgumentError } from '../../errors/error-classes';
import type { IbmvmcError } from '../../errors/ibmvmc-error';
import { showValue } from '../../protocol/format';
import { peerCredentials, type PeerCredentials } from '../../native/peer-credentials';
import type { BrokerRequestOutcome } from '../observe/metrics';
import { BROKER_MAX_MESSAGE_LENGTH, BROKER_PROTOCOL_ERROR_CODE } from '../wire/constants';
import { encodeBrokerFrame } from '../wire/encode';
import type { BrokerProtocolError } from '../wire/error';
import type { ClientFrame, RequestFrame, ServerFrame } from '../wire/frames';
import { toWireError } from '../wire/wire-error';
import { ClientConnection, type ClientHandlers } from './client-connection';
import { BROKER_ERROR_CODE } from './codes';
import type { HeldRequest } from './held-request';
import type { Listener } from './listen-socket';
import { defaultPerClient, type BrokerSettings } from './options';
import { checkPeer, needsGroups, supplementaryGroups } from './peer-check';
import { RoundRobin } from './scheduler';
import { UpstreamLink, type UpSession } from './upstream';

/** The longest delay a Node timer takes. */
const MAX_TIMER_MS = 0x7fffffff;

/** A client as the broker's `client` event describes it. */
export interface BrokerClientInfo {
  readonly id: number;
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
  readonly version: string;
  readonly role: 'full' | 'read-only';
}

/** Events a broker emits (mostly for tests and supervisors). */
export interface BrokerEvents {
  /** A session is up; `reconnect` true when it replaces one that was reset. */
  session: [mtu: number, reconnect: boolean];
  /** The session was reset; a new one is being connected. */
  reset: [error: IbmvmcError];
  /** A client said HELLO. */
  client: [info: BrokerClientInfo];
  /** A client's connection closed. */
  'client-closed': [id: number];
  /** The broker stopped: everything is released. */
  close: [];
}

/** The broker's running state. Get one with `startBroker()`. */
export class Broker extends EventEmitter<BrokerEvents> {
  readonly #settings: BrokerSettings;
  readonly #listener: Listener;
  readonly #upstream: UpstreamLink;
  readonly #clients = new Set<ClientConnection>();
  /** Sockets accepted and not (yet, or ever) admitted: the peer check, a refusal on its way. */
  readonly #pending = new Set<net.Socket>();
  readonly #scheduler: RoundRobin<ClientConnection>;
  readonly #handlers: ClientHandlers;
  #perClient = 1;
  #held = 0;
  #nextId = 1;
  #sessions = 0;
  /** The session's busyWrites when last counted (see #countBusyWrites). */
  #busySeen = 0;
  #closing: Promise<void> | undefined;

  /** @internal Use `startBroker()`. */
  constructor(settings: BrokerSettings, listener: Listener) {
    super();
    this.#settings = settings;
    this.#listener = listener;
    this.#upstream = new UpstreamLink(settings.session, settings.log);
    this.#scheduler = new RoundRobin<ClientConnection>(
      (c) => c.phase === 'open' && c.queue.length > 0 && c.inFlight < c.maxInFlight,
      () => {
        const client = this.#upstream.session?.client;
        return client !== undefined && client.inFlight < client.maxInFlight;
      },
      (c) => this.#submit(c),
    );
    this.#handlers = {
      frame: (c, f) => this.#onFrame(c, f),
      protocolError: (c, e) => this.#onProtocolError(c, e),
      timeout: (c, which) => this.#onTimeout(c, which),
      slowReader: (c) => this.#onSlowReader(c),
      closed: (c) => this.#onClientClosed(c),
    };
    this.#upstream.on('up', (s) => this.#onSessionUp(s));
    this.#upstream.on('reset', (e) => this.#onSessionReset(e));
    this.#upstream.on('unsolicited', (m, r) => this.#onUnsolicited(m, r));
    listener.server.on('connection', (socket: net.Socket) => void this.#onConnection(socket));
    listener.server.on('error', (error: Error) =>
      settings.log.write('error', 'listen-error', { message: error.message }),
    );
    this.#upstream.start();
  }

  /** The socket's path (or the label of a handed-over fd). */
  get address(): string {
    return this.#listener.address;
  }

  /** Clients connected and admitted. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Requests held for clients: queued and in flight. */
  get heldRequests(): number {
    return this.#held;
  }

  /** The upstream session's client while one is up (for tests and status). */
  get upstream(): UpSession['client'] | undefined {
    return this.#upstream.session?.client;
  }

  // ---- connections ------------------------------------------------------------

  async #onConnection(socket: net.Socket): Promise<void> {
    const { log, metrics, policy } = this.#settings;
    // Errors on a client socket (EPIPE, ECONNRESET) end that client only: 'close' follows.
    socket.on('error', () => undefined);
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.#pending.add(socket);
    socket.once('close', () => this.#pending.delete(socket));
    let peer: PeerCredentials;
    try {
      peer = peerCredentials(socket);
    } catch (error) {
      this.#refuse(socket, { pid: 0, uid: -1, gid: -1 }, 'no-credentials', String(error));
      return;
    }
    const groups = needsGroups(policy, peer) ? await supplementaryGroups(peer.pid) : [];
    if (socket.destroyed || this.#closing) {
      socket.destroy();
      return;
    }
    const verdict = checkPeer(policy, peer, groups);
    if (!verdict.allowed) {
      this.#refuse(socket, peer, verdict.reason, verdict.text);
      return;
    }
    this.#pending.delete(socket);
    const s = this.#settings;
    const client = new ClientConnection(
      this.#nextId++,
      socket,
      peer,
      verdict.role,
      {
        maxQueued: s.maxQueuedPerClient,
        maxOutboundBytes: s.maxOutboundBytes,
        helloTimeoutMs: s.helloTimeoutMs,
        frameTimeoutMs: s.frameTimeoutMs,
        closeTimeoutMs: s.closeTimeoutMs,
      },
      this.#handlers,
    );
    this.#clients.add(client);
    metrics.setClients(this.#clients.size);
    log.write('debug', 'client-accepted', {
      id: client.id,
      pid: peer.pid,
      uid: peer.uid,
      gid: peer.gid,
    });
  }

  /** ERROR EACCES, logged and counted; the socket closes once it is written. */
  #refuse(socket: net.Socket, peer: PeerCredentials, reason: string, text: string): void {
    const { log, metrics } = this.#settings;
    log.write('warn', 'client-refused', {
      uid: peer.uid,
      gid: peer.gid,
      pid: peer.pid,
      reason: text,
    });
    metrics.peerRefused(reason);
    // Its input (a HELLO on its way) is read and dropped, and the socket only
    // half-closed: closed at once, the peer's write would fail with EPIPE
    // before it read the ERROR. Its own end closes the socket, or the HELLO timeout.
    socket.on('data', () => undefined);
    socket.resume();
    socket.end(encodeBrokerFrame({ type: 'error', code: 'EACCES', text: toWireError(text).text }));
    const linger = setTimeout(() => socket.destroy(), this.#settings.helloTimeoutMs);
    socket.once('close', () => clearTimeout(linger));
  }

  #onFrame(client: ClientConnection, frame: ClientFrame): void {
    switch (frame.type) {
      case 'request':
        this.#onRequest(client, frame);
        return;
      case 'cancel':
        this.#onCancel(client, frame.token);
        return;
      case 'subscribe':
        client.subscription = frame.targets.length === 0 ? 'all' : new Set(frame.targets);
        return;
      case 'hello':
        this.#onHello(client, frame.version, frame.clientName, frame.clientVersion);
        return;
      case 'goodbye':
        this.#dropRequests(client, 'cancelled');
        client.end({ type: 'goodbye', reason: '' });
        return;
    }
  }

  #onHello(client: ClientConnection, version: number, name: string, clientVersion: string): void {
    client.name = name;
    client.version = clientVersion;
    const info: BrokerClientInfo = {
      id: client.id,
      pid: client.peer.pid,
      uid: client.peer.uid,
      gid: client.peer.gid,
      name,
      version: clientVersion,
      role: client.role,
    };
    this.#settings.log.write('info', 'client-connected', { ...info, protocol: version });
    client.phase = 'waiting';
    const session = this.#upstream.session;
    if (session) this.#welcome(client, session);
    this.emit('client', info);
  }

  #welcome(client: ClientConnection, session: UpSession): void {
    client.maxInFlight = this.#perClient;
    client.welcome({
      type: 'welcome',
      version: 1, // the lower of the client's (1 or more) and ours
      mtu: session.mtu,
      exchangeOptionsAnswer: session.exchangeOptionsAnswer,
    });
    this.#scheduler.wake(client);
    this.#scheduler.pump();
  }

  // ---- requests -----------------------------------------------------------------

  #refuseRequest(
    client: ClientConnection,
    token: number,
    target: number,
    code: string,
    text: string,
  ): void {
    this.#settings.metrics.requestDone(target, 'refused', 0);
    client.send({ type: 'refused', token, code, text: toWireError(text).text });
  }

  #onRequest(client: ClientConnection, frame: RequestFrame): void {
    const token = frame.token;
    // The target, for the count, before anything else is known of the message.
    const rawTarget = frame.message.length >= 14 ? frame.message.readUInt16BE(12) : 0;
    if (client.role === 'read-only') {
      this.#refuseRequest(
        client,
        token,
        rawTarget,
        BROKER_ERROR_CODE.READ_ONLY,
        'this client may only listen: its user is in a read-only group of the broker',
      );
      return;
    }
    const session = this.#upstream.session;
    let message: HmcMessage;
    try {
      message = decodeHmcMessage(frame.message, {
        maxLength: session?.mtu ?? BROKER_MAX_MESSAGE_LENGTH,
      });
      if (isResponse(message))
        throw new Error('the message is a response (flag 0x40): only requests are sent');
    } catch (error) {
      this.#refuseRequest(
        client,
        token,
        rawTarget,
        BROKER_ERROR_CODE.BAD_MESSAGE,
        error instanceof Error ? error.message : String(error),
      );
      return;
    }
    if (
      message.target === HMC_TARGET.ROUTER &&
      (message.opcode === HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS ||
        message.opcode === HMC_ROUTER_OPCODE.CLOSE)
    ) {
      this.#refuseRequest(
        client,
        token,
        message.target,
        BROKER_ERROR_CODE.ROUTER_COMMAND,
        'the router commands exchange-options and close are the broker’s: HELLO and GOODBYE stand for them',
      );
      return;
    }
    if (client.held.has(token)) {
      this.#refuseRequest(
        client,
        token,
        message.target,
        BROKER_ERROR_CODE.DUPLICATE_TOKEN,
        `token ${token} is already in flight on this connection`,
      );
      return;
    }
    if (client.phase === 'reset') {
      this.#refuseRequest(
        client,
        token,
        message.target,
        'ERR_IBMVMC_SESSION_RESET',
        'the broker’s session was reset and is not back yet: send again after RECONNECT',
      );
      return;
    }
    const request: HeldRequest = {
      client,
      token,
      target: message.target,
      opcode: message.opcode,
      data: message.data,
      expectResponse: expectsResponse(message),
      started: performance.now(),
      state: 'queued',
      controller: undefined,
    };
    client.held.set(token, request);
    client.queue.push(request);
    this.#held++;
    this.#settings.metrics.setInFlight(this.#held);
    client.updateIntake();
    this.#scheduler.wake(client);
    this.#scheduler.pump();
  }

  /** One of the client's queued requests goes to the session. */
  #submit(client: ClientConnection): void {
    const request = client.queue.shift();
    const upstream = this.#upstream.session?.client;
    if (request === undefined || upstream === undefined) return;
    client.updateIntake();
    request.state = 'in-flight';
    client.inFlight++;
    let signal: AbortSignal | undefined;
    if (request.expectResponse) {
      request.controller = new AbortController();
      signal = request.controller.signal;
    }
    upstream
      .request({
        target: request.target,
        opcode: request.opcode,
        data: request.data,
        expectResponse: request.expectResponse,
        timeoutMs: Infinity, // the client keeps its own deadline and CANCELs
        signal,
      })
      .then(
        (answer) => this.#answered(request, answer),
        (error: unknown) => this.#failed(request, error),
      );
  }

  #answered(request: HeldRequest, answer: HmcMessage | undefined): void {
    if (request.state !== 'in-flight') return; // cancelled, or its client gone, or a reset
    this.#end(request, answer === undefined ? 'sent' : 'answered');
    if (answer !== undefined) this.#sendAnswer(request, answer);
  }

  #failed(request: HeldRequest, error: unknown): void {
    if (request.state !== 'in-flight') return;
    // A refusal by the hypervisor is an answer all the same: the client makes its own error.
    const response =
      error instanceof HmcCommandError || error instanceof HmcProtocolError
        ? error.response
        : undefined;
    this.#end(request, error instanceof HmcCommandError ? 'command-error' : 'failed');
    if (response !== undefined) {
      this.#sendAnswer(request, response);
      return;
    }
    const wire = toWireError(error);
    request.client.send({
      type: 'refused',
      token: request.token,
      code: wire.code,
      text: wire.text,
    });
  }

  #sendAnswer(request: HeldRequest, answer: HmcMessage): void {
    request.client.served++;
    request.client.send({
      type: 'answer',
      token: request.token,
      message: encodeHmcMessage(
        {
          token: answer.token,
          target: answer.target,
          opcode: answer.opcode,
          flags: answer.flags,
          returnCode: answer.returnCode,
          data: answer.data,
        },
        { maxLength: BROKER_MAX_MESSAGE_LENGTH },
      ),
    });
  }

  /** A held request ends: its token is free, its turn goes to the next. */
  #end(request: HeldRequest, outcome: BrokerRequestOutcome): void {
    const client = request.client;
    const wasInFlight = request.state === 'in-flight';
    request.state = 'done';
    if (client.held.get(request.token) === request) client.held.delete(request.token);
    this.#held--;
    const { metrics } = this.#settings;
    metrics.requestDone(request.target, outcome, (performance.now() - request.started) / 1000);
    metrics.setInFlight(this.#held);
    this.#countBusyWrites();
    if (wasInFlight) {
      client.inFlight--;
      this.#scheduler.wake(client);
      this.#scheduler.pump();
    }
  }

  /** The session's EBUSY retries since the last look, for the metrics. */
  #countBusyWrites(): void {
    const busy = this.#upstream.session?.client.session.busyWrites ?? this.#busySeen;
    if (busy > this.#busySeen) this.#settings.metrics.busyRetries(busy - this.#busySeen);
    this.#busySeen = busy;
  }

  #onCancel(client: ClientConnection, token: number): void {
    const request = client.held.get(token);
    if (request === undefined) return; // answered already, or never sent: harmless
    this.#cancel(request, 'cancelled');
  }

  /** Takes a request back wherever it is; an answer that still comes is dropped (and counted). */
  #cancel(request: HeldRequest, outcome: BrokerRequestOutcome): void {
    if (request.state === 'queued') {
      request.client.queue.remove(request);
      this.#end(request, outcome);
      request.client.updateIntake();
    } else if (request.state === 'in-flight') {
      // Aborted first: the session frees its turn at once, and #end hands it on.
      request.controller?.abort();
      this.#end(request, outcome);
    }
  }

  /** Ends every request the client has, with no frame for any. */
  #dropRequests(client: ClientConnection, outcome: BrokerRequestOutcome): void {
    if (client.held.size === 0) return;
    for (const request of client.queue.drain()) this.#end(request, outcome);
    for (const request of [...client.held.values()]) this.#cancel(request, outcome);
    client.updateIntake(); // a client paused for its full queue reads again
  }

  // ---- the session ----------------------------------------------------------------

  #onSessionUp(session: UpSession): void {
    const reconnect = this.#sessions++ > 0;
    this.#busySeen = 0; // a new session counts from 0
    this.#perClient =
      this.#settings.maxInFlightPerClient ?? defaultPerClient(session.client.maxInFlight);
    if (reconnect) this.#settings.log.write('info', 'session-reconnected', { mtu: session.mtu });
    for (const client of this.#clients) {
      if (client.phase === 'waiting') this.#welcome(client, session);
      else if (client.phase === 'reset') {
        client.phase = 'open';
        client.maxInFlight = this.#perClient;
        client.send({
          type: 'reconnect',
          mtu: session.mtu,
          exchangeOptionsAnswer: session.exchangeOptionsAnswer,
        });
      }
    }
    this.emit('session', session.mtu, reconnect);
  }

  #onSessionReset(error: IbmvmcError): void {
    const { log, metrics } = this.#settings;
    metrics.sessionReset();
    log.write('warn', 'session-reset', { code: error.code, message: error.message });
    for (const client of this.#clients) {
      // Their requests get no frame: RESET says it.
      this.#dropRequests(client, 'reset');
      if (client.phase === 'open') {
        client.send({ type: 'reset' });
        client.phase = 'reset';
      }
    }
    this.emit('reset', error);
  }

  #onUnsolicited(message: HmcMessage, reason: UnsolicitedReason): void {
    const { log, metrics } = this.#settings;
    if (reason === 'late') {
      metrics.lateAnswer();
      log.write('debug', 'late-answer', {}, { token: message.token, target: message.target });
      return;
    }
    if (reason === 'unknown-token') {
      log.write('debug', 'unknown-token', {}, { token: message.token, target: message.target });
      return;
    }
    let bytes: Buffer | undefined;
    for (const client of this.#clients) {
      const wants = client.subscription;
      if (client.phase !== 'open' || wants === undefined) continue;
      if (wants !== 'all' && !wants.has(message.target)) continue;
      bytes ??= encodeBrokerFrame({
        type: 'event',
        message: encodeHmcMessage(
          {
            token: message.token,
            target: message.target,
            opcode: message.opcode,
            flags: message.flags,
            returnCode: message.returnCode,
            data: message.data,
          },
          { maxLength: BROKER_MAX_MESSAGE_LENGTH },
        ),
      });
      client.sendEncoded(bytes);
    }
  }

  // ---- dropping clients -----------------------------------------------------------

  #drop(
    client: ClientConnection,
    reason: string,
    last: ServerFrame,
    at: 'end' | 'destroy',
    error?: BrokerProtocolError,
  ): void {
    const { log, metrics } = this.#settings;
    const who = { id: client.id, pid: client.peer.pid, uid: client.peer.uid };
    if (error === undefined) log.write('warn', 'client-dropped', { ...who, reason });
    else
      log.write('warn', 'client-protocol-error', {
        ...who,
        reason: error.reason,
        message: error.message,
      });
    metrics.clientDropped(reason);
    this.#dropRequests(client, 'cancelled');
    if (at === 'end') client.end(last);
    else client.destroy(last);
  }

  #onProtocolError(client: ClientConnection, error: BrokerProtocolError): void {
    this.#drop(
      client,
      'protocol',
      { type: 'error', code: BROKER_PROTOCOL_ERROR_CODE, text: toWireError(error).text },
      'end',
      error,
    );
  }

  #onTimeout(client: ClientConnection, which: 'hello' | 'frame'): void {
    const ms = which === 'hello' ? this.#settings.helloTimeoutMs : this.#settings.frameTimeoutMs;
    this.#drop(
      client,
      `${which}-timeout`,
      which === 'hello'
        ? {
            type: 'error',
            code: BROKER_ERROR_CODE.HELLO_TIMEOUT,
            text: `no HELLO within ${ms} ms of connecting`,
          }
        : {
            type: 'error',
            code: BROKER_ERROR_CODE.FRAME_TIMEOUT,
            text: `a frame was begun and not finished within ${ms} ms`,
          },
      'end',
    );
  }

  #onSlowReader(client: ClientConnection): void {
    this.#drop(
      client,
      'slow-reader',
      {
        type: 'error',
        code: BROKER_ERROR_CODE.SLOW_READER,
        text: `over ${this.#settings.maxOutboundBytes} bytes waited for this client to read them`,
      },
      'destroy',
    );
  }

  #onClientClosed(client: ClientConnection): void {
    this.#dropRequests(client, 'cancelled');
    this.#clients.delete(client);
    this.#settings.metrics.setClients(this.#clients.size);
    this.#settings.log.write('info', 'client-disconnected', {
      id: client.id,
      requests: client.served,
    });
    this.emit('client-closed', client.id);
  }

  // ---- closing ----------------------------------------------------------------------

  /**
   * Stops: no new connections, GOODBYE to every client, the session closed
   * (router close, then the session), the socket file removed if the broker
   * made it; all within `timeoutMs` (default the broker's `closeTimeoutMs`),
   * after which what is left is destroyed. Calling it again returns the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closing === undefined) {
      const timeoutMs = options?.timeoutMs ?? this.#settings.closeTimeoutMs;
      if (typeof timeoutMs !== 'number' || !(timeoutMs > 0))
        return Promise.reject(
          new InvalidArgumentError(
            `close(): timeoutMs must be a number of milliseconds > 0, got ${showValue(timeoutMs)}`,
          ),
        );
      this.#closing = this.#close(timeoutMs);
    }
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    const { log } = this.#settings;
    log.write('info', 'stopping', { clients: this.#clients.size });
    const server = this.#listener.server;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#pending) socket.destroy();
    const clientsClosed = [...this.#clients].map(
      (client) =>
        new Promise<void>((resolve) => {
          if (client.phase === 'closed') resolve();
          else client.socket.once('close', () => resolve());
        }),
    );
    for (const client of this.#clients) {
      this.#dropRequests(client, 'cancelled');
      client.end({ type: 'goodbye', reason: 'the broker is stopping' });
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      // Past a timer's range (Infinity included) there is no deadline: no timer, no warning.
      if (timeoutMs <= MAX_TIMER_MS) timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([
      Promise.all([...clientsClosed, this.#upstream.close(timeoutMs), serverClosed]),
      deadline,
    ]);
    clearTimeout(timer);
    // Whatever did not finish in time is destroyed; the session's fd is closed by its client.
    for (const client of this.#clients) client.destroy();
    await Promise.all([...clientsClosed, this.#upstream.close(timeoutMs), serverClosed]);
    if (this.#listener.created !== undefined)
      await rm(this.#listener.created, { force: true }).catch(() => undefined);
    log.write('info', 'stopped', {});
    this.emit('close');
  }
}
