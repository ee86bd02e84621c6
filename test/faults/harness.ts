/**
 * The machinery of the fault matrix: one fake device per trial, sessions and
 * clients that are tracked so the trial can prove, at its end, that nothing
 * was left behind: every send settled, every rejection typed, every session
 * closed, and (checked by the caller once the fake is stopped) no descriptor
 * left open.
 */
import { performance } from 'node:perf_hooks';
import { startFakeDevice, type StartFakeDeviceOptions } from '../../lib/fake/index';
import { connect, type HmcClient } from '../../lib/client/index';
import type { ClientOptions } from '../../lib/client/options';
import { IbmvmcError } from '../../lib/errors/index';
import {
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  decodeHmcMessage,
  encodeHmcMessage,
  type HmcMessage,
} from '../../lib/protocol/index';
import {
  open,
  type CallOptions,
  type HmcSession,
  type SessionOptions,
} from '../../lib/session/session';

export type Fake = Awaited<ReturnType<typeof startFakeDevice>>;

/** What a tracked promise came to. */
export type Outcome<T = unknown> =
  | { state: 'pending' }
  | { state: 'resolved'; value: T; ms: number }
  | { state: 'rejected'; error: unknown; ms: number };

/** A promise whose outcome can be read synchronously. */
export interface Tracked<T = unknown> {
  readonly what: string;
  readonly promise: Promise<T>;
  outcome: Outcome<T>;
}

/** Tracks a promise's outcome and the time it took; never leaves a rejection unhandled. */
export function track<T>(what: string, promise: Promise<T>): Tracked<T> {
  const started = performance.now();
  const t: Tracked<T> = { what, promise, outcome: { state: 'pending' } };
  promise.then(
    (value) => (t.outcome = { state: 'resolved', value, ms: performance.now() - started }),
    (error: unknown) => (t.outcome = { state: 'rejected', error, ms: performance.now() - started }),
  );
  return t;
}

export { TIME_SCALE } from '../helpers/time-scale';
import { TIME_SCALE } from '../helpers/time-scale';

/**
 * How much earlier than its deadline an operation may end, as measured here.
 * Node arms a timer from the loop's cached clock, and each call into the fake
 * is a synchronous round trip to another process: on a loaded machine the
 * cached clock can lag by tens of milliseconds, so timers fire that much early.
 */
export const EARLY_MS = 100;

/** How much later than its deadline an operation may end on a loaded machine. */
export const LATE_MS = 500;

/** Fails unless `ms` is around `deadline` (see EARLY_MS and LATE_MS). */
export function expectNear(ms: number, deadline: number): void {
  expect(ms).toBeGreaterThanOrEqual(deadline - EARLY_MS);
  expect(ms).toBeLessThan(deadline + LATE_MS * TIME_SCALE);
}

/**
 * Waits for `promise` at most `ms` (times TIME_SCALE); fails with a message
 * naming `what` if it has not settled by then. The timer never outlives the wait.
 */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = ms * TIME_SCALE;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${limit} ms`)), limit);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error `promise` rejects with within `ms`; fails if it resolves or takes longer. */
export async function rejectsWithin(ms: number, what: string, promise: Promise<unknown>) {
  const started = performance.now();
  const result = await within(
    ms,
    what,
    promise.then(
      () => ({ resolved: true as const }),
      (error: unknown) => ({ resolved: false as const, error }),
    ),
  );
  if (result.resolved) throw new Error(`${what}: resolved, expected a rejection`);
  return { error: result.error as Error, ms: performance.now() - started };
}

/** An event's first emission within `ms`. */
export function nextEvent<T extends unknown[]>(
  emitter: { once(event: string, listener: (...args: T) => void): unknown },
  event: string,
  ms: number,
): Promise<T> {
  return within(
    ms,
    `event "${event}"`,
    new Promise<T>((resolve) => emitter.once(event, (...args: T) => resolve(args))),
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let nextToken = 1;

/** A router echo request with a fresh token. */
export function echoRequest(data: Buffer | string, token = nextToken++, maxLength = 16384) {
  return {
    token,
    bytes: encodeHmcMessage(
      {
        token,
        target: HMC_TARGET.ROUTER,
        opcode: HMC_ROUTER_OPCODE.ECHO,
        data: Buffer.isBuffer(data) ? data : Buffer.from(data),
      },
      { maxLength },
    ),
  };
}

/** Decodes what a session received. */
export const decode = (bytes: Buffer): HmcMessage => decodeHmcMessage(bytes, { maxLength: 16384 });

/** Session options used by every trial unless it says otherwise: quick probes, short deadlines. */
export const TRIAL_SESSION_DEFAULTS: Partial<SessionOptions> = {
  hmcId: 'fault-matrix',
  timeoutMs: 2000,
  probeIntervalMs: 25,
  sendTimeoutMs: 1000,
};

/** One fake device and everything opened against it during one cell of the matrix. */
export class Trial {
  readonly sessions: HmcSession[] = [];
  readonly clients: HmcClient<HmcSession>[] = [];
  /** Every send and request made through the trial, in call order. */
  readonly sends: Tracked[] = [];
  /** Every other tracked operation (receives, opens, closes). */
  readonly others: Tracked[] = [];

  private constructor(readonly fake: Fake) {}

  static async start(options: StartFakeDeviceOptions = {}): Promise<Trial> {
    return new Trial(await startFakeDevice(options));
  }

  /** Session options pointing at this trial's fake. */
  options(extra: Partial<SessionOptions> = {}): SessionOptions {
    return {
      ...TRIAL_SESSION_DEFAULTS,
      path: this.fake.socketPath,
      sysfsRoot: this.fake.sysfsRoot,
      ...extra,
    } as SessionOptions;
  }

  /** Opens a session (tracked, closed at the end of the trial). */
  open(extra: Partial<SessionOptions> = {}): Promise<HmcSession> {
    const opening = open(this.options(extra)).then((session) => {
      this.sessions.push(session);
      return session;
    });
    this.others.push(track('open', opening));
    return opening;
  }

  /** Opens a client (session and command path), tracked. */
  connect(extra: Partial<ClientOptions> = {}): Promise<HmcClient<HmcSession>> {
    const options: ClientOptions & { path: string } = {
      ...TRIAL_SESSION_DEFAULTS,
      hmcId: 'fault-matrix',
      path: this.fake.socketPath,
      sysfsRoot: this.fake.sysfsRoot,
      ...extra,
    };
    const opening = connect(options).then((client) => {
      this.clients.push(client);
      return client;
    });
    this.others.push(track('connect', opening));
    return opening;
  }

  /** A send whose outcome the trial checks at its end. */
  send(session: HmcSession, bytes: Buffer, options: CallOptions = {}): Tracked<void> {
    const t = track('send', session.send(bytes, options));
    this.sends.push(t);
    return t;
  }

  /** A tracked receive. */
  receive(session: HmcSession, options: CallOptions = {}): Tracked<Buffer> {
    const t = track('receive', session.receive(options));
    this.others.push(t);
    return t;
  }

  /** One echo round trip; checks the answer's token. */
  async echo(session: HmcSession, text: string, timeoutMs = 1000): Promise<HmcMessage> {
    const { token, bytes } = echoRequest(text, undefined, session.mtu);
    await this.send(session, bytes, { timeoutMs }).promise;
    const answer = decode(await session.receive({ timeoutMs }));
    if (answer.token !== token) throw new Error(`answer token ${answer.token}, expected ${token}`);
    return answer;
  }

  /** The slot the fake gave the session bound with `hmcId`. */
  async slotOf(hmcId = 'fault-matrix'): Promise<number> {
    const sessions = await this.fake.sessions();
    const found = sessions.find((s) => s.hmcId.startsWith(hmcId));
    if (found === undefined) throw new Error(`no slot holds ${hmcId}`);
    return found.slot;
  }

  /**
   * Ends the trial: closes every client and session, then checks that every
   * send settled (nothing lost unseen) and every rejection is typed, and
   * stops the fake. Closing must settle whatever was still pending.
   */
  async finish(): Promise<void> {
    try {
      for (const client of this.clients) await client.close({ timeoutMs: 0 }).catch(typed);
      for (const session of this.sessions) await session.close().catch(typed);
      await sleep(0);
      const pending = [...this.sends, ...this.others].filter((t) => t.outcome.state === 'pending');
      expect(pending.map((t) => t.what)).toEqual([]);
      for (const t of [...this.sends, ...this.others]) {
        if (t.outcome.state === 'rejected') typed(t.outcome.error);
      }
    } finally {
      await this.fake.stop();
    }
  }
}

/** Fails unless `error` is one of the library's typed errors. */
export function typed(error: unknown): void {
  if (!(error instanceof IbmvmcError)) {
    throw new Error(`an untyped error came out: ${String(error)}`, { cause: error });
  }
}

/** Counts of the outcomes of tracked operations. */
export function tally(ops: readonly Tracked[]) {
  const count = { pending: 0, resolved: 0, rejected: 0 };
  for (const t of ops) count[t.outcome.state]++;
  return count;
}
