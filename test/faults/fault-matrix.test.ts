/**
 * The fault matrix: every fault the fake device can inject, at every moment
 * it can strike. Each cell is a list of scenarios, or a sentence saying why
 * the combination is impossible or means nothing (no test is faked for it).
 *
 * Every scenario runs against its own fake, under its own deadline (well
 * under Jest's), and ends the same way (see Trial.finish): every session is
 * closed, every send has resolved (the driver took the message) or rejected,
 * every rejection is a typed IbmvmcError, and once the fake is stopped the
 * process has exactly the descriptors it had before.
 */
import { VmcDevice } from '../../lib/device/device';
import {
  ERRNO,
  type FakeCallEntry,
  type FakeCallName,
  type StartFakeDeviceOptions,
} from '../../lib/fake/index';
import { routerHandler } from '../../lib/fake/router-handler';
import type { FakeMessageHandler } from '../../lib/fake/handler';
import {
  AbortError,
  DeviceBusyError,
  DeviceNotFoundError,
  DriverFailedError,
  DriverNotReadyError,
  NoBuffersError,
  NoSlotFreeError,
  PermissionDeniedError,
  SessionClosedError,
  SessionResetError,
  TimeoutError,
} from '../../lib/errors/index';
import { HMC_ROUTER_OPCODE, decodeHmcMessage } from '../../lib/protocol/index';
import { hmcEvent } from '../helpers/hmc-event';
import type { HmcSession } from '../../lib/session/session';
import { fdBaseline, openFds } from '../helpers/session-fixtures';
import {
  Trial,
  decode,
  echoRequest,
  nextEvent,
  rejectsWithin,
  sleep,
  TIME_SCALE,
  expectNear,
  tally,
  track,
  within,
  type Tracked,
} from './harness';

const FAULTS = [
  'transport reset',
  'open refused',
  'open never answered',
  'close never answered',
  'buffers withheld',
  'driver failed',
  'driver not ready for a while',
  'hypervisor silent',
  'unsolicited messages',
  'legacy EBUSY on open',
  'device missing',
  'permission denied',
] as const;
const MOMENTS = [
  'idle',
  'during open',
  'while sending',
  'while receiving',
  'during close',
] as const;
type Fault = (typeof FAULTS)[number];
type Moment = (typeof MOMENTS)[number];

interface Scenario {
  /** What must happen. */
  readonly name: string;
  /** The fake's options: the fault, and a handler (running here) if any. */
  readonly fake?: StartFakeDeviceOptions;
  /** Everything the scenario expects must have happened within this (ms). */
  readonly deadlineMs: number;
  run(t: Trial): Promise<void>;
}

/** A list of scenarios, or why the combination is impossible or meaningless. */
type Cell = readonly Scenario[] | string;

/** Time a trial may take besides its scenario: starting and stopping the fake. */
const TRIAL_OVERHEAD_MS = 4000;

// ---- what the scenarios share ----------------------------------------------------

/** A handler that never answers anything: the hypervisor is silent. */
const silent: FakeMessageHandler = () => undefined;

/** The router, except that it never answers the opcodes given. */
function silentOn(...opcodes: number[]): FakeMessageHandler {
  return (message, session) => {
    try {
      if (opcodes.includes(decodeHmcMessage(message, { maxLength: session.mtu }).opcode)) return;
    } catch {
      // not an HMC message: the router says nothing either
    }
    return routerHandler(message, session);
  };
}

async function expectReset(promise: Promise<unknown>, ms: number, what = 'the operation') {
  const { error } = await rejectsWithin(ms, what, promise);
  expect(error).toBeInstanceOf(SessionResetError);
  return error;
}

/** The fake's log shows `call` refused with `errno` (retried), then succeeding. */
async function expectRetried(t: Trial, call: FakeCallName, errno: number) {
  const results = (await t.fake.log())
    .filter((e): e is FakeCallEntry => e.kind === 'call' && e.call === call)
    .map((e) => e.result);
  expect(results.filter((r) => r === -errno).length).toBeGreaterThan(0);
  expect(results[results.length - 1]).toBeGreaterThanOrEqual(0);
}

/** Waits until `condition` holds, polling; fails after `ms`. */
async function until(ms: number, what: string, condition: () => boolean | Promise<boolean>) {
  await within(
    ms,
    what,
    (async () => {
      while (!(await condition())) await sleep(5);
    })(),
  );
}

/** The session's reset as seen by the caller: the event, the state, and later calls. */
async function expectSessionReset(t: Trial, session: HmcSession, ms: number) {
  const [error] = await nextEvent<[SessionResetError]>(session, 'reset', ms);
  expect(error).toBeInstanceOf(SessionResetError);
  expect(session.state).toBe('reset');
  await expectReset(t.send(session, echoRequest('after').bytes).promise, 100, 'a later send');
  await expectReset(t.receive(session).promise, 100, 'a later receive');
}

/** Every send rejected with `type`. */
function expectAllRejected(sends: readonly Tracked[], type: new (...a: never[]) => Error) {
  for (const s of sends) {
    expect(s.outcome.state).toBe('rejected');
    if (s.outcome.state === 'rejected') expect(s.outcome.error).toBeInstanceOf(type);
  }
}

/**
 * Sends that timed out behind a full pool: all TimeoutError; the first one
 * (at the head of the queue, retrying EBUSY) names the busy error as its
 * cause. Those queued behind it never reached the driver, so have none.
 */
function expectTimedOutOnBusy(sends: readonly Tracked[]) {
  expectAllRejected(sends, TimeoutError);
  const first = sends[0]?.outcome;
  if (first?.state === 'rejected')
    expect((first.error as Error).cause).toBeInstanceOf(DeviceBusyError);
}

/** Sends resolved first, then rejected: nothing after a failure went out. */
function expectPrefixResolved(sends: readonly Tracked[]): number {
  const states = sends.map((s) => s.outcome.state);
  const resolved = states.indexOf('rejected') < 0 ? states.length : states.indexOf('rejected');
  expect(states.slice(resolved).every((s) => s === 'rejected')).toBe(true);
  expect(tally(sends).pending).toBe(0);
  return resolved;
}

/** Receives until the session rejects or `quietMs` passes with nothing; the tokens, in order. */
async function drainTokens(session: HmcSession, quietMs: number): Promise<number[]> {
  const tokens: number[] = [];
  for (;;) {
    try {
      tokens.push(decode(await session.receive({ timeoutMs: quietMs })).token);
    } catch {
      return tokens;
    }
  }
}

/** An open failing at once with `type`, without retrying, for device-node faults. */
function failsAtOnce(
  openFault: 'ENOENT' | 'EACCES',
  type: typeof DeviceNotFoundError | typeof PermissionDeniedError,
): Scenario {
  return {
    name: `open() and VmcDevice.open() reject at once with ${type.name}, without retrying`,
    fake: { openFault },
    deadlineMs: 1500,
    async run(t) {
      const { error, ms } = await rejectsWithin(500, 'open', t.open({ timeoutMs: 5000 }));
      expect(error).toBeInstanceOf(type);
      expect(ms).toBeLessThan(400); // far from the 5000 ms a retry loop would take
      const device = await rejectsWithin(200, 'VmcDevice.open', VmcDevice.open(t.options()));
      expect(device.error).toBeInstanceOf(type);
    },
  };
}

/** A device-node fault appearing under an idle session: traffic goes on; a reconnect stops at once. */
function nodeFaultUnderSession(
  openFault: 'ENOENT' | 'EACCES',
  type: typeof DeviceNotFoundError | typeof PermissionDeniedError,
): Scenario {
  return {
    name: `a bound session keeps working; after a reset, reconnecting stops at once with ${type.name} as the cause`,
    fake: { reinitializeAfterMs: 20 },
    deadlineMs: 2000,
    async run(t) {
      const session = await t.open({ reconnect: { timeoutMs: 5000 } });
      await t.fake.configure({ openFault });
      await t.echo(session, 'the node only matters to open(2)');
      const waiting = t.receive(session);
      await t.fake.reset();
      await nextEvent(session, 'reset', 500);
      const error = await expectReset(waiting.promise, 1000, 'the waiting receive');
      expect(error.message).toMatch(/reconnecting failed/);
      expect(error.cause).toBeInstanceOf(type);
      expect(session.state).toBe('reset');
    },
  };
}

// ---- the matrix ------------------------------------------------------------------

const MATRIX: Record<Fault, Record<Moment, Cell>> = {
  'transport reset': {
    idle: [
      {
        name: 'the probe sees it: a reset event, then SessionResetError from every call',
        fake: { reinitializeAfterMs: null },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.echo(session, 'before');
          await t.fake.reset();
          await expectSessionReset(t, session, 500);
        },
      },
      {
        name: 'with reconnect, a new session replaces it and carries traffic',
        fake: { reinitializeAfterMs: 30 },
        deadlineMs: 2000,
        async run(t) {
          const session = await t.open({ reconnect: true });
          await t.echo(session, 'before');
          const reconnected = nextEvent(session, 'reconnect', 1000);
          await t.fake.reset();
          await reconnected;
          expect(session.state).toBe('open');
          await t.echo(session, 'after');
        },
      },
    ],
    'during open': [
      {
        name: 'an open() waiting for a slot gets one once the driver is back',
        fake: { maxHmcs: 1, reinitializeAfterMs: 30 },
        deadlineMs: 2500,
        async run(t) {
          const holder = await t.open({ hmcId: 'holder' });
          const waiting = track('open', t.open({ hmcId: 'waiter', timeoutMs: 2000 }));
          await sleep(50);
          expect(waiting.outcome.state).toBe('pending');
          const holderReset = nextEvent(holder, 'reset', 500);
          await t.fake.reset();
          await holderReset;
          const waiter = await within(1500, 'the waiting open', waiting.promise);
          await t.echo(waiter, 'got the slot');
        },
      },
      {
        name: 'before the hypervisor confirmed the open: the first send rejects with SessionResetError',
        fake: { openAnswer: { delayMs: 300 }, reinitializeAfterMs: null },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.fake.reset();
          await expectReset(t.send(session, echoRequest('x').bytes).promise, 250, 'the send');
          expect(session.state).toBe('reset');
        },
      },
    ],
    'while sending': [
      {
        name: 'sends waiting on EBUSY reject with SessionResetError',
        fake: { openAnswer: { delayMs: null }, reinitializeAfterMs: null },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          const sends = [1, 2, 3, 4, 5].map((i) =>
            t.send(session, echoRequest(`${i}`).bytes, { timeoutMs: 3000 }),
          );
          await sleep(30);
          expect(tally(sends).pending).toBe(5);
          await t.fake.reset();
          await within(300, 'the sends', Promise.allSettled(sends.map((s) => s.promise)));
          expectAllRejected(sends, SessionResetError);
        },
      },
      {
        name: 'a flood cut short: sends resolve then reject in order, answers come at most once, in order',
        fake: { reinitializeAfterMs: null },
        deadlineMs: 3000,
        async run(t) {
          const session = await t.open({ queueSize: 256 });
          const requests = Array.from({ length: 200 }, (_, i) => echoRequest(`flood ${i}`));
          const sends = requests.map((r) => t.send(session, r.bytes, { timeoutMs: 2000 }));
          void sends[20].promise.then(() => t.fake.reset());
          await within(2500, 'the flood', Promise.allSettled(sends.map((s) => s.promise)));
          const resolved = expectPrefixResolved(sends);
          expect(resolved).toBeGreaterThanOrEqual(21);
          expectAllRejected(sends.slice(resolved), SessionResetError);
          // Answers read before the reset are still delivered; none twice, none out of order.
          const tokens = await drainTokens(session, 100);
          expect(tokens).toEqual(requests.slice(0, tokens.length).map((r) => r.token));
          expect(tokens.length).toBeLessThanOrEqual(resolved);
        },
      },
    ],
    'while receiving': [
      {
        name: 'a waiting receive rejects with SessionResetError',
        fake: { reinitializeAfterMs: null },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.echo(session, 'x');
          const waiting = t.receive(session);
          await sleep(20);
          await t.fake.reset();
          await expectReset(waiting.promise, 500, 'the waiting receive');
        },
      },
      {
        name: 'with reconnect, a waiting receive survives and gets the next message',
        fake: { reinitializeAfterMs: 30 },
        deadlineMs: 2000,
        async run(t) {
          const session = await t.open({ reconnect: true });
          await t.echo(session, 'x');
          const waiting = t.receive(session);
          const reconnected = nextEvent(session, 'reconnect', 1000);
          await t.fake.reset();
          await reconnected;
          expect(waiting.outcome.state).toBe('pending');
          const { token, bytes } = echoRequest('after', undefined, session.mtu);
          await t.send(session, bytes).promise;
          expect(decode(await within(500, 'the receive', waiting.promise)).token).toBe(token);
        },
      },
    ],
    'during close': [
      {
        name: 'a close never answered holds the slot; the reset frees it for a waiting open',
        fake: { maxHmcs: 1, closeAnswer: { delayMs: null }, reinitializeAfterMs: 30 },
        deadlineMs: 2500,
        async run(t) {
          const first = await t.open();
          await first.close();
          const waiting = track('open', t.open({ hmcId: 'next', timeoutMs: 2000 }));
          await sleep(100);
          expect(waiting.outcome.state).toBe('pending'); // NoSlotFreeError, retried
          await t.fake.reset();
          const next = await within(1500, 'the waiting open', waiting.promise);
          await t.echo(next, 'slot freed by the reset');
        },
      },
      {
        name: 'close() racing the reset resolves',
        fake: { reinitializeAfterMs: null },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.echo(session, 'x');
          await within(500, 'close and reset', Promise.all([session.close(), t.fake.reset()]));
          expect(session.state).toBe('closed');
        },
      },
    ],
  },

  'open refused': {
    idle: 'the hypervisor answers an open once, right after SETHMCID, and a confirmed session cannot be refused later (that is a transport reset): an idle session refused is the "during open" case',
    'during open': [
      {
        name: 'open() resolves (the driver answers SETHMCID first); readers are not told; the first send rejects with SessionResetError',
        fake: { openAnswer: { status: 4 } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await sleep(100); // 4 probes: the driver tells readers nothing
          expect(session.state).toBe('open');
          const reset = nextEvent(session, 'reset', 300);
          await expectReset(t.send(session, echoRequest('x').bytes).promise, 200, 'the send');
          await reset;
        },
      },
      {
        name: 'with reconnect, an accepted open replaces the refused one',
        fake: { openAnswer: { status: 4 } },
        deadlineMs: 2000,
        async run(t) {
          const session = await t.open({ reconnect: { timeoutMs: 1000 } });
          await until(1000, 'the refusal', async () =>
            (await t.fake.sessions()).every((slot) => slot.state === 'free'),
          );
          await t.fake.configure({ openAnswer: { status: 0 } });
          const reconnected = nextEvent(session, 'reconnect', 1000);
          await expectReset(t.send(session, echoRequest('x').bytes).promise, 200, 'the send');
          await reconnected;
          await t.echo(session, 'accepted');
        },
      },
    ],
    'while sending': [
      {
        name: 'sends waiting for the answer reject with SessionResetError when it is a refusal',
        fake: { openAnswer: { delayMs: 100, status: 4 } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          const sends = [1, 2, 3].map((i) =>
            t.send(session, echoRequest(`${i}`).bytes, { timeoutMs: 3000 }),
          );
          await within(600, 'the sends', Promise.allSettled(sends.map((s) => s.promise)));
          expectAllRejected(sends, SessionResetError);
        },
      },
    ],
    'while receiving': [
      {
        name: 'readers are not told: a receive waits to its own deadline; the next send fails every waiter with SessionResetError',
        fake: { openAnswer: { status: 4 } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          const { error } = await rejectsWithin(
            400,
            'receive',
            session.receive({ timeoutMs: 100 }),
          );
          expect(error).toBeInstanceOf(TimeoutError);
          const waiting = t.receive(session);
          await sleep(50);
          expect(waiting.outcome.state).toBe('pending');
          await expectReset(t.send(session, echoRequest('x').bytes).promise, 200, 'the send');
          await expectReset(waiting.promise, 100, 'the waiting receive');
        },
      },
    ],
    'during close': [
      {
        name: 'closing a refused session resolves, and its slot is free for the next open',
        fake: { maxHmcs: 1, openAnswer: { status: 4 } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await until(1000, 'the refusal', async () =>
            (await t.fake.sessions()).every((slot) => slot.state === 'free'),
          );
          await within(100, 'close', session.close());
          await t.fake.configure({ openAnswer: { status: 0 } });
          const next = await within(500, 'the next open', t.open({ hmcId: 'next' }));
          await t.echo(next, 'accepted');
        },
      },
    ],
  },

  'open never answered': {
    idle: [
      {
        name: 'the session stays open: the probe does not take the silence for a reset',
        fake: { openAnswer: { delayMs: null } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          const resets: unknown[] = [];
          session.on('reset', (e) => resets.push(e));
          await sleep(200); // 8 probes
          expect(session.state).toBe('open');
          expect(resets).toEqual([]);
        },
      },
    ],
    'during open': [
      {
        name: 'connect() rejects with TimeoutError at its deadline and closes its session; the slot comes back',
        fake: { openAnswer: { delayMs: null } },
        deadlineMs: 2000,
        async run(t) {
          const { error, ms } = await rejectsWithin(1000, 'connect', t.connect({ timeoutMs: 300 }));
          expect(error).toBeInstanceOf(TimeoutError);
          expectNear(ms, 300);
          await t.fake.configure({ openAnswer: { delayMs: 0 } });
          await t.echo(await within(1000, 'the next open', t.open()), 'answered now');
        },
      },
    ],
    'while sending': [
      {
        name: 'each send rejects at its own deadline with TimeoutError naming EBUSY',
        fake: { openAnswer: { delayMs: null } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          const deadlines = [200, 300, 400];
          const sends = deadlines.map((ms) =>
            t.send(session, echoRequest(`${ms}`).bytes, { timeoutMs: ms }),
          );
          await within(1000, 'the sends', Promise.allSettled(sends.map((s) => s.promise)));
          sends.forEach((s, i) => {
            expect(s.outcome.state).toBe('rejected');
            if (s.outcome.state !== 'rejected') return;
            expect(s.outcome.error).toBeInstanceOf(TimeoutError);
            expect((s.outcome.error as Error).cause).toBeInstanceOf(DeviceBusyError);
            expectNear(s.outcome.ms, deadlines[i]);
          });
        },
      },
    ],
    'while receiving': [
      {
        name: 'a receive ends at its deadline (TimeoutError) or its signal (AbortError)',
        fake: { openAnswer: { delayMs: null } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          const timed = await rejectsWithin(400, 'receive', session.receive({ timeoutMs: 100 }));
          expect(timed.error).toBeInstanceOf(TimeoutError);
          const controller = new AbortController();
          const aborted = t.receive(session, { signal: controller.signal });
          setTimeout(() => controller.abort(), 30);
          const { error } = await rejectsWithin(300, 'receive', aborted.promise);
          expect(error).toBeInstanceOf(AbortError);
        },
      },
    ],
    'during close': [
      {
        name: 'close() resolves at once, pending sends reject with SessionClosedError, the slot comes back',
        fake: { maxHmcs: 1, openAnswer: { delayMs: null } },
        deadlineMs: 2000,
        async run(t) {
          const session = await t.open();
          const send = t.send(session, echoRequest('x').bytes, { timeoutMs: 5000 });
          await sleep(20);
          await within(100, 'close', session.close());
          await within(
            100,
            'the send',
            send.promise.catch(() => undefined),
          );
          expectAllRejected([send], SessionClosedError);
          await t.fake.configure({ openAnswer: { delayMs: 0 } });
          await t.echo(await within(1000, 'the next open', t.open({ hmcId: 'next' })), 'x');
        },
      },
    ],
  },

  'close never answered': {
    idle: 'strikes only when a session is closed; an open session is not touched by it',
    'during open': [
      {
        name: 'the next open() retries NoSlotFreeError to its deadline (TimeoutError)',
        fake: { maxHmcs: 1, closeAnswer: { delayMs: null } },
        deadlineMs: 1500,
        async run(t) {
          await (await t.open()).close();
          const { error, ms } = await rejectsWithin(
            1000,
            'open',
            t.open({ hmcId: 'next', timeoutMs: 300 }),
          );
          expect(error).toBeInstanceOf(TimeoutError);
          expect(error.cause).toBeInstanceOf(NoSlotFreeError);
          expectNear(ms, 300);
        },
      },
      {
        name: 'with a second slot, the next open() gets that one',
        fake: { maxHmcs: 2, slots: 2, closeAnswer: { delayMs: null } },
        deadlineMs: 1500,
        async run(t) {
          await (await t.open()).close();
          await t.echo(await within(500, 'open', t.open({ hmcId: 'next' })), 'other slot');
        },
      },
    ],
    'while sending':
      'strikes only when a session is closed: the lost answer holds a slot, not the traffic of sessions still open',
    'while receiving':
      'strikes only when a session is closed: the lost answer holds a slot, not the traffic of sessions still open',
    'during close': [
      {
        name: 'close() and client.close() do not wait for the hypervisor: both resolve at once',
        fake: { maxHmcs: 2, slots: 2, closeAnswer: { delayMs: null } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.echo(session, 'x');
          await within(100, 'close', session.close());
          expect(session.state).toBe('closed');
          const client = await t.connect({ hmcId: 'client' });
          await client.echo(Buffer.from('x'));
          await within(300, 'client.close', client.close());
          expect(client.state).toBe('closed');
        },
      },
    ],
  },

  'buffers withheld': {
    idle: 'buffers matter to SETHMCID and to writes only; an idle session uses none',
    'during open': [
      {
        name: 'none lent: open() retries NoBuffersError to its deadline (TimeoutError)',
        fake: { buffers: { startup: 0 } },
        deadlineMs: 1500,
        async run(t) {
          const { error, ms } = await rejectsWithin(1000, 'open', t.open({ timeoutMs: 300 }));
          expect(error).toBeInstanceOf(TimeoutError);
          expect(error.cause).toBeInstanceOf(NoBuffersError);
          expectNear(ms, 300);
        },
      },
      {
        name: 'lent late: open() retries NoBuffersError and succeeds',
        fake: { startup: { buffersMs: 150 }, log: true },
        deadlineMs: 2000,
        async run(t) {
          const session = await within(1500, 'open', t.open());
          await t.echo(session, 'x');
          await expectRetried(t, 'sethmcid', ERRNO.ENOBUFS);
        },
      },
    ],
    'while sending': [
      {
        name: 'a pool of two: sends past it wait for reads, then all go out, each answered once, in order',
        fake: { buffers: { session: 1 } },
        deadlineMs: 2500,
        async run(t) {
          const session = await t.open({ queueSize: 1 });
          const requests = Array.from({ length: 12 }, (_, i) => echoRequest(`${i}`));
          const sends = requests.map((r) => t.send(session, r.bytes, { timeoutMs: 2000 }));
          await sleep(100);
          expect(tally(sends).pending).toBeGreaterThan(0); // held back: nobody reads
          const tokens: number[] = [];
          for (let i = 0; i < requests.length; i++)
            tokens.push(decode(await session.receive({ timeoutMs: 1000 })).token);
          expect(tokens).toEqual(requests.map((r) => r.token));
          expect(tally(sends)).toEqual({ pending: 0, resolved: 12, rejected: 0 });
        },
      },
      {
        name: 'nobody reads: sends past the pool time out naming EBUSY; exactly the sends that resolved are answered',
        fake: { buffers: { session: 1 } },
        deadlineMs: 2000,
        async run(t) {
          const session = await t.open({ queueSize: 1 });
          const requests = Array.from({ length: 6 }, (_, i) => echoRequest(`${i}`));
          const sends = requests.map((r) => t.send(session, r.bytes, { timeoutMs: 150 }));
          await within(800, 'the sends', Promise.allSettled(sends.map((s) => s.promise)));
          const resolved = expectPrefixResolved(sends);
          expect(resolved).toBeGreaterThan(0);
          expect(resolved).toBeLessThan(requests.length);
          expectTimedOutOnBusy(sends.slice(resolved));
          const tokens = await drainTokens(session, 150);
          expect(tokens).toEqual(requests.slice(0, resolved).map((r) => r.token));
        },
      },
    ],
    'while receiving': [
      {
        name: 'no hypervisor-owned buffer: an unsolicited message waits until a send lends one; nothing is lost',
        fake: { buffers: { hypervisorOwned: 0 } },
        deadlineMs: 2000,
        async run(t) {
          const session = await t.open();
          await t.echo(session, 'warm-up');
          expect(await t.fake.inject(await t.slotOf(), Buffer.from('news'))).toBe(true);
          const quiet = await rejectsWithin(400, 'receive', session.receive({ timeoutMs: 100 }));
          expect(quiet.error).toBeInstanceOf(TimeoutError);
          // The hypervisor answers in the buffer a message came in: the news goes first.
          const a = echoRequest('a', undefined, session.mtu);
          await t.send(session, a.bytes).promise;
          expect((await session.receive({ timeoutMs: 500 })).toString()).toBe('news');
          await t.send(session, echoRequest('b', undefined, session.mtu).bytes).promise;
          expect(decode(await session.receive({ timeoutMs: 500 })).token).toBe(a.token);
        },
      },
    ],
    'during close': 'closing takes no buffer',
  },

  'driver failed': {
    idle: [
      {
        name: 'the driver fails under an idle session: the probe sees the reset; reconnecting stops at once with DriverFailedError as the cause',
        fake: { reinitializeAfterMs: 20 },
        deadlineMs: 2000,
        async run(t) {
          const session = await t.open({ reconnect: { timeoutMs: 5000 } });
          await t.echo(session, 'x');
          const waiting = t.receive(session);
          await t.fake.configure({ protocolVersion: 0x0201 });
          await t.fake.reset();
          const error = await expectReset(waiting.promise, 1000, 'the waiting receive');
          expect(error.cause).toBeInstanceOf(DriverFailedError);
          expect(session.state).toBe('reset');
        },
      },
    ],
    'during open': [
      {
        name: 'open() rejects with DriverFailedError at once, without retrying',
        fake: { protocolVersion: 0x0201 },
        deadlineMs: 1500,
        async run(t) {
          const { error, ms } = await rejectsWithin(500, 'open', t.open({ timeoutMs: 5000 }));
          expect(error).toBeInstanceOf(DriverFailedError);
          expect(error.message).toMatch(/reload the module/);
          expect(ms).toBeLessThan(400);
        },
      },
    ],
    'while sending': [
      {
        name: 'sends waiting on EBUSY reject with SessionResetError',
        fake: { openAnswer: { delayMs: null }, reinitializeAfterMs: 20 },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          const sends = [1, 2].map((i) =>
            t.send(session, echoRequest(`${i}`).bytes, { timeoutMs: 3000 }),
          );
          await t.fake.configure({ protocolVersion: 0x0201 });
          await t.fake.reset();
          await within(300, 'the sends', Promise.allSettled(sends.map((s) => s.promise)));
          expectAllRejected(sends, SessionResetError);
        },
      },
    ],
    'while receiving': [
      {
        name: 'a waiting receive rejects with SessionResetError',
        fake: { reinitializeAfterMs: 20 },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          const waiting = t.receive(session);
          await t.fake.configure({ protocolVersion: 0x0201 });
          await t.fake.reset();
          await expectReset(waiting.promise, 500, 'the waiting receive');
        },
      },
    ],
    'during close': [
      {
        // ibmvmc_close returns -EIO on a failed driver, but it is the file's
        // release: the kernel discards its result and close(2) returns 0.
        name: 'close() of a session on a failed driver resolves (the kernel discards the release result) and releases the fd',
        fake: { reinitializeAfterMs: 20 },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open({ probeIntervalMs: 60_000 });
          await t.echo(session, 'x');
          await t.fake.configure({ protocolVersion: 0x0201 });
          await t.fake.reset();
          await until(1000, 'driver failed', async () => (await t.fake.state()).state === 4);
          await within(100, 'close', session.close());
          expect(session.state).toBe('closed');
          await within(100, 'a second close', session.close());
        },
      },
    ],
  },

  'driver not ready for a while': {
    idle: [
      {
        name: 'the driver restarts under an idle session: with reconnect, the session waits it out',
        fake: { reinitializeAfterMs: 200 },
        deadlineMs: 2500,
        async run(t) {
          const session = await t.open({ reconnect: true });
          await t.echo(session, 'before');
          const reconnected = nextEvent(session, 'reconnect', 2000);
          await t.fake.reset();
          await reconnected;
          await t.echo(session, 'after');
        },
      },
    ],
    'during open': [
      {
        name: 'open() retries DriverNotReadyError through the handshake and succeeds',
        fake: { startup: { crqinitMs: 100, capabilitiesMs: 50 }, log: true },
        deadlineMs: 2000,
        async run(t) {
          await t.echo(await within(1500, 'open', t.open()), 'ready now');
          await expectRetried(t, 'sethmcid', ERRNO.EAGAIN);
        },
      },
      {
        name: 'open() gives up at its deadline with TimeoutError, cause DriverNotReadyError',
        fake: { startup: { crqinitMs: 60_000 } },
        deadlineMs: 1500,
        async run(t) {
          const { error, ms } = await rejectsWithin(1000, 'open', t.open({ timeoutMs: 300 }));
          expect(error).toBeInstanceOf(TimeoutError);
          expect(error.cause).toBeInstanceOf(DriverNotReadyError);
          expectNear(ms, 300);
        },
      },
      {
        name: 'no adapter (state initial): the same, until the deadline',
        fake: { haveVmc: false },
        deadlineMs: 1500,
        async run(t) {
          const { error } = await rejectsWithin(600, 'open', t.open({ timeoutMs: 200 }));
          expect(error).toBeInstanceOf(TimeoutError);
          expect(error.cause).toBeInstanceOf(DriverNotReadyError);
        },
      },
    ],
    'while sending': [
      {
        name: 'with reconnect, a send made while the driver restarts goes out once it is back',
        fake: { reinitializeAfterMs: 200 },
        deadlineMs: 2500,
        async run(t) {
          const session = await t.open({ reconnect: true });
          await t.echo(session, 'before');
          const reset = nextEvent(session, 'reset', 500);
          await t.fake.reset();
          await reset;
          expect(session.state).toBe('reconnecting');
          const { token, bytes } = echoRequest('queued', undefined, session.mtu);
          const send = t.send(session, bytes, { timeoutMs: 2000 });
          await within(2000, 'the send', send.promise);
          expect(decode(await session.receive({ timeoutMs: 500 })).token).toBe(token);
        },
      },
    ],
    'while receiving': [
      {
        name: 'with reconnect, a waiting receive survives the restart and gets the next message',
        fake: { reinitializeAfterMs: 200, buffers: { hypervisorOwned: 2 } },
        deadlineMs: 2500,
        async run(t) {
          const session = await t.open({ reconnect: true });
          await t.echo(session, 'before');
          const waiting = t.receive(session);
          const reconnected = nextEvent(session, 'reconnect', 2000);
          await t.fake.reset();
          await reconnected;
          expect(await t.fake.inject(await t.slotOf(), Buffer.from('back'))).toBe(true);
          expect((await within(500, 'the receive', waiting.promise)).toString()).toBe('back');
        },
      },
    ],
    'during close': [
      {
        name: 'close() while reconnecting resolves at once, abandons the reconnect, and fails waiters with SessionClosedError',
        fake: { reinitializeAfterMs: null },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open({ reconnect: { timeoutMs: 5000 } });
          await t.echo(session, 'before');
          const waiting = t.receive(session);
          const reset = nextEvent(session, 'reset', 500);
          await t.fake.reset();
          await reset;
          await sleep(50); // the reconnect is retrying DriverNotReadyError now
          await within(100, 'close', session.close());
          const { error } = await rejectsWithin(100, 'the waiting receive', waiting.promise);
          expect(error).toBeInstanceOf(SessionClosedError);
          // The reconnect must not live on: no fd, no timer (checked after the trial).
          await sleep(50);
          expect((await t.fake.state()).openFiles).toBe(0);
        },
      },
    ],
  },

  'hypervisor silent': {
    idle: 'a silent hypervisor shows only when something is sent to it',
    'during open': [
      {
        name: 'connect() rejects with TimeoutError when exchange options go unanswered, and closes its session',
        fake: { handler: silent },
        deadlineMs: 1500,
        async run(t) {
          const { error, ms } = await rejectsWithin(1000, 'connect', t.connect({ timeoutMs: 300 }));
          expect(error).toBeInstanceOf(TimeoutError);
          expectNear(ms, 300);
          expect((await t.fake.state()).openFiles).toBe(0);
        },
      },
    ],
    'while sending': [
      {
        name: 'sends resolve while the pool has buffers (the driver took them), then time out naming EBUSY',
        fake: { handler: silent, poolSize: 16 },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          const sends = Array.from({ length: 20 }, (_, i) =>
            t.send(session, echoRequest(`${i}`).bytes, { timeoutMs: 200 }),
          );
          await within(1000, 'the sends', Promise.allSettled(sends.map((s) => s.promise)));
          expect(expectPrefixResolved(sends)).toBe(16);
          expectTimedOutOnBusy(sends.slice(16));
        },
      },
      {
        name: 'client requests time out with TimeoutError; the client goes on once the hypervisor answers again',
        fake: { handler: silentOn(HMC_ROUTER_OPCODE.ECHO) },
        deadlineMs: 1500,
        async run(t) {
          const client = await t.connect();
          const { error } = await rejectsWithin(
            500,
            'echo',
            client.echo(Buffer.from('x'), { timeoutMs: 100 }),
          );
          expect(error).toBeInstanceOf(TimeoutError);
          await t.fake.setHandler(null);
          expect((await client.echo(Buffer.from('y'), { timeoutMs: 500 })).data.toString()).toBe(
            'y',
          );
        },
      },
    ],
    'while receiving': [
      {
        name: 'a receive ends at its deadline with TimeoutError',
        fake: { handler: silent },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.send(session, echoRequest('x').bytes).promise;
          const { error } = await rejectsWithin(
            400,
            'receive',
            session.receive({ timeoutMs: 100 }),
          );
          expect(error).toBeInstanceOf(TimeoutError);
        },
      },
    ],
    'during close': [
      {
        name: "client.close() waits for the router's close at most closeTimeoutMs; requests in flight reject with SessionClosedError",
        fake: { handler: silentOn(HMC_ROUTER_OPCODE.ECHO, HMC_ROUTER_OPCODE.CLOSE) },
        deadlineMs: 1500,
        async run(t) {
          const client = await t.connect({ closeTimeoutMs: 150 });
          const request = track('echo', client.echo(Buffer.from('x'), { timeoutMs: 5000 }));
          t.sends.push(request);
          await sleep(20);
          const closing = track('close', client.close());
          await within(600, 'client.close', closing.promise);
          if (closing.outcome.state === 'resolved') expectNear(closing.outcome.ms, 150);
          expectAllRejected([request], SessionClosedError);
          expect(client.session.state).toBe('closed');
        },
      },
    ],
  },

  'unsolicited messages': {
    idle: [
      {
        name: 'messages the hypervisor sends on its own are read ahead and delivered in order',
        fake: { buffers: { hypervisorOwned: 4 } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.echo(session, 'x');
          const slot = await t.slotOf();
          for (const text of ['one', 'two', 'three'])
            expect(await t.fake.inject(slot, Buffer.from(text))).toBe(true);
          await until(500, 'read ahead', () => session.queuedMessages === 3);
          const seen = [];
          for (let i = 0; i < 3; i++) seen.push((await session.receive()).toString());
          expect(seen).toEqual(['one', 'two', 'three']);
        },
      },
    ],
    'during open': [
      {
        name: 'an event ahead of the answer to exchange options: connect() is not fooled by it',
        fake: {
          buffers: { hypervisorOwned: 4 },
          handler: (message, session) => {
            const answer = routerHandler(message, session);
            const opcode = decodeHmcMessage(message, { maxLength: session.mtu }).opcode;
            return opcode === HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS && answer
              ? [hmcEvent('event 0'), answer]
              : answer;
          },
        },
        deadlineMs: 1500,
        async run(t) {
          const client = await within(1000, 'connect', t.connect());
          expect(client.state).toBe('open');
          expect((await client.echo(Buffer.from('x'))).data.toString()).toBe('x');
        },
      },
    ],
    // The hypervisor sends only in buffers it holds, and each event it sends
    // on its own leaves one fewer (read, the buffer is the partition's): with
    // more events than buffers it lent itself, the last message would wait
    // for the next request. Hence 8 of its own for 5 events.
    'while sending': [
      {
        name: 'echoes interleaved with events: every answer once, in order; every event once, in order',
        fake: { buffers: { hypervisorOwned: 8 } },
        deadlineMs: 2500,
        async run(t) {
          const session = await t.open({ queueSize: 64 });
          const slot = await t.slotOf();
          const requests = Array.from({ length: 20 }, (_, i) => echoRequest(`${i}`));
          for (let i = 0; i < requests.length; i++) {
            t.send(session, requests[i].bytes, { timeoutMs: 2000 });
            if (i % 4 === 0) void t.fake.inject(slot, Buffer.from(`event ${i / 4}`));
          }
          const tokens: number[] = [];
          const events: string[] = [];
          while (tokens.length + events.length < 25) {
            const bytes = await within(1500, 'the messages', session.receive());
            if (bytes[0] === 0xde) tokens.push(decode(bytes).token);
            else events.push(bytes.toString());
          }
          expect(tokens).toEqual(requests.map((r) => r.token));
          expect(events).toEqual(['event 0', 'event 1', 'event 2', 'event 3', 'event 4']);
          const { error } = await rejectsWithin(
            400,
            'receive',
            session.receive({ timeoutMs: 100 }),
          );
          expect(error).toBeInstanceOf(TimeoutError); // nothing twice
        },
      },
      {
        name: 'the client answers every request and reports each event as unsolicited',
        fake: { buffers: { hypervisorOwned: 8 } },
        deadlineMs: 2500,
        async run(t) {
          const client = await t.connect();
          const slot = await t.slotOf();
          const unsolicited: string[] = [];
          client.on('unsolicited', (m, reason) => unsolicited.push(`${reason} ${m.data}`));
          const echoes = Array.from({ length: 20 }, (_, i) => {
            if (i % 4 === 0) void t.fake.inject(slot, hmcEvent(`event ${i / 4}`));
            return client.echo(Buffer.from(`${i}`), { timeoutMs: 2000 });
          });
          const answers = await within(2000, 'the echoes', Promise.all(echoes));
          expect(answers.map((a) => a.data.toString())).toEqual(echoes.map((_, i) => `${i}`));
          await until(500, 'five events', () => unsolicited.length === 5);
          expect(unsolicited).toEqual([0, 1, 2, 3, 4].map((i) => `not-a-response event ${i}`));
        },
      },
    ],
    'while receiving': [
      {
        name: 'a waiting receive gets the event; for await sees every one',
        fake: { buffers: { hypervisorOwned: 4 } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.echo(session, 'x');
          const slot = await t.slotOf();
          const waiting = t.receive(session);
          await t.fake.inject(slot, Buffer.from('a'));
          expect((await within(300, 'receive', waiting.promise)).toString()).toBe('a');
          await t.fake.inject(slot, Buffer.from('b'));
          await t.fake.inject(slot, Buffer.from('c'));
          const seen: string[] = [];
          await within(
            500,
            'for await',
            (async () => {
              for await (const m of session) if (seen.push(m.toString()) === 2) break;
            })(),
          );
          expect(seen).toEqual(['b', 'c']);
        },
      },
    ],
    'during close': [
      {
        name: 'close() with events still queued resolves; they go with the session',
        fake: { buffers: { hypervisorOwned: 4 } },
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.echo(session, 'x');
          const slot = await t.slotOf();
          for (const text of ['one', 'two']) await t.fake.inject(slot, Buffer.from(text));
          await until(500, 'read ahead', () => session.queuedMessages === 2);
          await within(100, 'close', session.close());
          expect(session.queuedMessages).toBe(0);
          const { error } = await rejectsWithin(100, 'receive', session.receive());
          expect(error).toBeInstanceOf(SessionClosedError);
        },
      },
    ],
  },

  'legacy EBUSY on open': {
    idle: [
      {
        name: 'an old driver restarting under an idle session: the reconnect waits out EBUSY on open',
        fake: { reinitializeAfterMs: 20 },
        deadlineMs: 2500,
        async run(t) {
          const session = await t.open({ reconnect: true });
          await t.echo(session, 'before');
          await t.fake.configure({ openBusyMs: 200 });
          const reconnected = nextEvent(session, 'reconnect', 2000);
          await t.fake.reset();
          await reconnected;
          await t.echo(session, 'after');
        },
      },
    ],
    'during open': [
      {
        name: 'open() retries DeviceBusyError and succeeds when the window ends',
        fake: { log: true },
        deadlineMs: 2000,
        async run(t) {
          await t.fake.configure({ openBusyMs: 150 }); // the window starts now
          await t.echo(await within(1500, 'open', t.open()), 'x');
          await expectRetried(t, 'open', ERRNO.EBUSY);
        },
      },
      {
        name: 'open() gives up at its deadline with TimeoutError, cause DeviceBusyError',
        fake: { openBusyMs: 60_000 },
        deadlineMs: 1500,
        async run(t) {
          const { error } = await rejectsWithin(600, 'open', t.open({ timeoutMs: 150 }));
          expect(error).toBeInstanceOf(TimeoutError);
          expect(error.cause).toBeInstanceOf(DeviceBusyError);
        },
      },
    ],
    'while sending': [
      {
        name: 'a bound fd is not affected: sends and receives go on during the window',
        deadlineMs: 1500,
        async run(t) {
          const session = await t.open();
          await t.fake.configure({ openBusyMs: 60_000 });
          for (const text of ['a', 'b', 'c']) await t.echo(session, text);
        },
      },
    ],
    'while receiving':
      'EBUSY on open concerns open(2) only, never read(2) on a bound fd: shown by the echoes of "while sending"',
    'during close': 'close(2) never returns EBUSY; the window concerns open(2) only',
  },

  'device missing': {
    idle: [nodeFaultUnderSession('ENOENT', DeviceNotFoundError)],
    'during open': [failsAtOnce('ENOENT', DeviceNotFoundError)],
    'while sending':
      'the node is looked up by open(2) only: writes on a bound fd never see it (shown under "idle", where traffic goes on after the node is gone)',
    'while receiving':
      'the node is looked up by open(2) only: reads on a bound fd never see it (shown under "idle")',
    'during close': 'the node is looked up by open(2) only: close(2) of a bound fd never sees it',
  },

  'permission denied': {
    idle: [nodeFaultUnderSession('EACCES', PermissionDeniedError)],
    'during open': [failsAtOnce('EACCES', PermissionDeniedError)],
    'while sending':
      'permissions are checked by open(2) only: writes on a bound fd never see them (shown under "idle")',
    'while receiving':
      'permissions are checked by open(2) only: reads on a bound fd never see them (shown under "idle")',
    'during close': 'permissions are checked by open(2) only: close(2) never sees them',
  },
};

/** Without any fault: the baseline every cell is measured against. */
const NO_FAULT: readonly Scenario[] = [
  {
    name: 'every message sent is answered exactly once, in order (raw session, 300 at once, 1 byte to the MTU)',
    deadlineMs: 4000,
    async run(t) {
      const session = await t.open();
      const room = session.mtu - 32;
      const requests = Array.from({ length: 300 }, (_, i) =>
        echoRequest(Buffer.alloc(1 + ((i * 97) % room), i & 0xff), undefined, session.mtu),
      );
      const sends = requests.map((r) => t.send(session, r.bytes, { timeoutMs: 3000 }));
      const answers = [];
      for (let i = 0; i < requests.length; i++)
        answers.push(decode(await session.receive({ timeoutMs: 2000 })));
      expect(answers.map((a) => a.token)).toEqual(requests.map((r) => r.token));
      answers.forEach((a, i) => expect(a.data.length).toBe(requests[i].bytes.length - 32));
      expect(tally(sends)).toEqual({ pending: 0, resolved: 300, rejected: 0 });
      const { error } = await rejectsWithin(400, 'receive', session.receive({ timeoutMs: 100 }));
      expect(error).toBeInstanceOf(TimeoutError); // nothing twice
    },
  },
  {
    name: 'every request is answered exactly once (client, as many in flight as the pool allows)',
    deadlineMs: 3000,
    async run(t) {
      const client = await t.connect();
      const extra: string[] = [];
      client.on('unsolicited', (m, reason) => extra.push(`${reason} ${m.token}`));
      const echoes = Array.from({ length: 200 }, (_, i) =>
        client.echo(Buffer.from(`request ${i}`), { timeoutMs: 2500 }),
      );
      const answers = await within(2500, 'the echoes', Promise.all(echoes));
      expect(answers.map((a) => a.data.toString())).toEqual(echoes.map((_, i) => `request ${i}`));
      expect(new Set(answers.map((a) => a.token)).size).toBe(200);
      await sleep(50);
      expect(extra).toEqual([]);
    },
  },
];

// ---- running it ------------------------------------------------------------------

let baseline: string[];
beforeAll(async () => {
  baseline = await fdBaseline();
});

/** Jest's deadline for a trial: the scenario's own, and time to start and stop the fake. */
const jestDeadline = (scenario: Scenario) => (scenario.deadlineMs + TRIAL_OVERHEAD_MS) * TIME_SCALE;

async function runScenario(scenario: Scenario): Promise<void> {
  const t = await Trial.start(scenario.fake ?? {});
  try {
    await within(scenario.deadlineMs, 'the scenario', scenario.run(t));
  } finally {
    await t.finish();
  }
  expect(openFds()).toEqual(baseline);
}

describe('no fault', () => {
  for (const scenario of NO_FAULT)
    it(scenario.name, () => runScenario(scenario), jestDeadline(scenario));
});

for (const fault of FAULTS) {
  describe(fault, () => {
    for (const moment of MOMENTS) {
      const cell = MATRIX[fault][moment];
      if (typeof cell === 'string') continue; // impossible or meaningless: the cell says why
      for (const scenario of cell) {
        it(`${moment}: ${scenario.name}`, () => runScenario(scenario), jestDeadline(scenario));
      }
    }
  });
}

describe('the matrix', () => {
  it('has a scenario or a reason for every fault at every moment, and a scenario for every fault', () => {
    for (const fault of FAULTS) {
      expect(Object.keys(MATRIX[fault]).sort()).toEqual([...MOMENTS].sort());
      const cells = MOMENTS.map((moment) => MATRIX[fault][moment]);
      for (const cell of cells) expect(cell.length).toBeGreaterThan(0);
      expect(cells.some((cell) => typeof cell !== 'string')).toBe(true);
    }
  });
});
