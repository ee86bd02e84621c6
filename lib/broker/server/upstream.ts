/**
 * The broker's one session with the hypervisor: connected in a retry loop
 * (100 ms doubling to 5 s) from the start, and again after every reset,
 * until the broker closes. Requests are the broker's business; this only
 * keeps a session up and says when it comes and goes.
 */
import { DEFAULT_DEVICE_PATH } from '../../device/device';
import { EventEmitter } from 'node:events';
import type { HmcClient, UnsolicitedReason } from '../../client/client';
import { connect } from '../../client/connect';
import type { ClientOptions } from '../../client/options';
import type { IbmvmcError } from '../../errors/ibmvmc-error';
import { HMC_FLAG, HMC_ROUTER_OPCODE, HMC_TARGET } from '../../protocol/constants';
import { encodeHmcMessage, type HmcMessage } from '../../protocol/hmc-message';
import type { HmcSession } from '../../session/session';
import { Backoff } from '../../session/backoff';
import type { BrokerLog } from '../observe/log';

/** A session that is up, and what clients are told about it. */
export interface UpSession {
  readonly client: HmcClient<HmcSession>;
  readonly mtu: number;
  /** The router's answer to exchange options, as a whole HMC message (for WELCOME, RECONNECT). */
  readonly exchangeOptionsAnswer: Buffer;
}

/** Events of {@link UpstreamLink}. */
export interface UpstreamEvents {
  /** A session is up (the first, or a new one after a reset). */
  up: [session: UpSession];
  /** The session was reset: its requests failed, and a new one is being connected. */
  reset: [error: IbmvmcError];
  /** A message that answers no request of the session's. */
  unsolicited: [message: HmcMessage, reason: UnsolicitedReason];
}

const INITIAL_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/** Keeps one upstream session up. */
export class UpstreamLink extends EventEmitter<UpstreamEvents> {
  readonly #options: Omit<ClientOptions, 'signal'>;
  readonly #log: BrokerLog;
  readonly #stop = new AbortController();
  #session: UpSession | undefined;
  #loop: Promise<void> | undefined;
  /** Sessions that ended (reset) and are closing: close() awaits them. */
  readonly #retired = new Set<Promise<void>>();
  #sleeping: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  /** Takes this link's listeners off the session's client. */
  #detach: (() => void) | undefined;
  #closed = false;

  /**
   * @param options - What `connect()` takes (checked by `connect()` itself, on the first try).
   * @param log - Where connect failures and sessions are logged.
   */
  constructor(options: Omit<ClientOptions, 'signal'>, log: BrokerLog) {
    super();
    this.#options = options;
    this.#log = log;
  }

  /** The session, while one is up. */
  get session(): UpSession | undefined {
    return this.#session;
  }

  /** Starts connecting (in the background). */
  start(): void {
    this.#loop ??= this.#connectLoop();
  }

  /** Connects until a session is up or the link closes. Never rejects. */
  async #connectLoop(): Promise<void> {
    const backoff = new Backoff({ initialMs: INITIAL_RETRY_MS, maxMs: MAX_RETRY_MS });
    let lastKind: string | undefined;
    while (!this.#closed) {
      let client: HmcClient<HmcSession>;
      try {
        // The device named, never IBMVMC_BROKER: a broker must not connect to a broker.
        client = await connect({
          ...this.#options,
          path: this.#options.path ?? DEFAULT_DEVICE_PATH,
          signal: this.#stop.signal,
        });
      } catch (error) {
        if (this.#closed) return;
        const code = String((error as { code?: unknown }).code ?? 'ERR_UNKNOWN');
        const message = error instanceof Error ? error.message : String(error);
        // Once per kind: a partition without its VMC would otherwise log every 5 s forever.
        this.#log.write(code === lastKind ? 'debug' : 'warn', 'session-connect-failed', {
          code,
          message,
        });
        lastKind = code;
        await this.#sleep(backoff.next());
        continue;
      }
      if (this.#closed) {
        await client.close().catch(() => undefined);
        return;
      }
      this.#attach(client);
      return;
    }
  }

  #attach(client: HmcClient<HmcSession>): void {
    const session: UpSession = {
      client,
      mtu: client.mtu,
      exchangeOptionsAnswer: encodeHmcMessage(
        {
          token: 0,
          target: HMC_TARGET.ROUTER,
          opcode: HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS,
          flags: HMC_FLAG.RESPONSE,
          returnCode: 0,
          data: client.commandPathOptions,
        },
        { maxLength: 65536 },
      ),
    };
    const onUnsolicited = (message: HmcMessage, reason: UnsolicitedReason) =>
      this.emit('unsolicited', message, reason);
    const onReset = (error: IbmvmcError) => {
      this.#detach?.();
      this.#session = undefined;
      // The client closes itself after a reset; this waits for its fd to be released.
      this.#retire(client);
      this.emit('reset', error);
      if (!this.#closed) {
        this.#loop = this.#connectLoop();
      }
    };
    client.on('unsolicited', onUnsolicited);
    client.on('reset', onReset);
    this.#detach = () => {
      this.#detach = undefined;
      client.removeListener('unsolicited', onUnsolicited);
      client.removeListener('reset', onReset);
    };
    this.#session = session;
    this.#log.write(
      'info',
      'session-open',
      { mtu: session.mtu, maxInFlight: client.maxInFlight },
      { hmcId: String(this.#options.hmcId) },
    );
    this.emit('up', session);
  }

  #retire(client: HmcClient<HmcSession>, timeoutMs?: number): void {
    const closing: Promise<void> = client
      .close(timeoutMs === undefined ? undefined : { timeoutMs })
      .catch(() => undefined)
      .finally(() => this.#retired.delete(closing));
    this.#retired.add(closing);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#sleeping = undefined;
        resolve();
      };
      this.#sleeping = { timer: setTimeout(wake, ms), wake };
    });
  }

  /**
   * Stops connecting and closes the session (router close, then the
   * session), waiting at most `timeoutMs` for the router.
   */
  async close(timeoutMs: number): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#stop.abort(new Error('the broker is stopping'));
      if (this.#sleeping) {
        clearTimeout(this.#sleeping.timer);
        this.#sleeping.wake();
      }
      const session = this.#session;
      this.#session = undefined;
      if (session) {
        this.#detach?.();
        this.#retire(session.client, timeoutMs);
      }
    }
    await this.#loop;
    while (this.#retired.size > 0) await Promise.all([...this.#retired]);
  }
}
