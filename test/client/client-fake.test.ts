import { rejection } from '../helpers/rejection';
/**
 * The client against the fake device: real sessions, a real buffer pool,
 * the fake hypervisor's router, resets. Every test runs twice: on a session
 * of the client's own, and through a broker (`startBroker`) holding the
 * session, where the same program must behave the same; where the broker
 * changes what is seen (it owns the command path, drops late answers,
 * survives resets), the test says so. Run with `node scripts/run-jest.js`
 * (the preload shim must be loaded).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  routerHandler,
  startFakeDevice,
  type FakeMessageHandler,
  type StartFakeDeviceOptions,
} from '../../lib/fake/index';
import {
  HMC_RETURN_CODE,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  SessionClosedError,
  SessionResetError,
  TimeoutError,
  decodeHmcMessage,
  encodeHmcMessage,
  encodeResponse,
} from '../../lib/index';
import { hmcEvent } from '../helpers/hmc-event';
import { openSockets } from '../helpers/open-sockets';
import {
  connect,
  HmcCommandError,
  type ClientOptions,
  type HmcClient,
} from '../../lib/client/index';
import { startBroker } from '../../lib/broker/index';
import { TIME_SCALE } from '../helpers/time-scale';

/** How the client reaches the session: its own, or a broker's. */
type Via = 'session' | 'broker';

// Node opens event-loop internals lazily (epoll fds); sockets are what the client could leak.
const socketsBefore = openSockets();
// The fakes' directories go here, not among those other tests count in the system's.
const fakeTmp = mkdtempSync(path.join(tmpdir(), 'ibmvmc-client-test-'));
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops) await stop();
  rmSync(fakeTmp, { recursive: true, force: true });
  expect(openSockets()).toEqual(socketsBefore);
});

let brokers = 0;

/**
 * A fake device, and a way to connect to it `via` a session of one's own or
 * a broker holding the one session (started here, stopped after the file).
 */
async function fake(via: Via, options: StartFakeDeviceOptions = {}) {
  const device = await startFakeDevice({ tmpDir: fakeTmp, ...options });
  stops.push(() => device.stop());
  const sessionOptions = (
    extra: Partial<ClientOptions> = {},
  ): ClientOptions & { path: string } => ({
    hmcId: 'client-test',
    path: device.socketPath,
    sysfsRoot: device.sysfsRoot,
    timeoutMs: 5000,
    ...extra,
  });
  if (via === 'session')
    return {
      device,
      connect: (extra: Partial<ClientOptions> = {}): Promise<HmcClient> =>
        connect(sessionOptions(extra)),
    };
  const socketPath = path.join(fakeTmp, `broker-${++brokers}.sock`);
  const broker = await startBroker({
    socketPath,
    session: sessionOptions({ probeIntervalMs: 20 }),
  });
  stops.unshift(() => broker.close());
  return {
    device,
    connect: (extra: Partial<ClientOptions> = {}): Promise<HmcClient> => {
      const { timeoutMs, maxInFlight, requestTimeoutMs, closeTimeoutMs } = extra;
      return connect({
        broker: socketPath,
        timeoutMs: timeoutMs ?? 5000,
        maxInFlight,
        requestTimeoutMs,
        closeTimeoutMs,
      });
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` holds, at most a few seconds: a loaded machine is slow, not wrong. */
async function eventually(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 5000; waited += 10) await sleep(10);
}

describe.each<Via>(['session', 'broker'])('via %s', (via) => {
  describe('connect()', () => {
    it('opens the session and the command path, and close() closes both', async () => {
      const f = await fake(via, { log: true });
      const client = await f.connect();
      expect(client.mtu).toBe(4096);
      // On its own session, the fake's buf_pool_size module parameter; through
      // the broker (which may be on another machine), the client's default.
      expect(client.maxInFlight).toBe(via === 'session' ? 32 : 16);
      // The fake router's answer to exchange options carries no data; the broker passes it on.
      expect(client.commandPathOptions).toEqual(Buffer.alloc(0));
      const [slot] = await f.device.sessions();
      expect(slot.hmcId).toBe('client-test');
      await client.close();
      const sent = (await f.device.log())
        .filter((e) => e.kind === 'message' && e.to === 'hypervisor')
        .map((e) => (e.kind === 'message' ? decodeHmcMessage(e.data) : undefined));
      const exchangeOptions = [0x8000, 0x0001, 0x80, [0, 1, 0, 0, 0, 0]];
      const routerClose = [0x8000, 0x0002, 0x80, []];
      // Through the broker, the command path is the broker's: opened once, and
      // still open when a client leaves.
      expect(sent.map((m) => [m?.target, m?.opcode, m?.flags, [...(m?.data ?? [])]])).toEqual(
        via === 'session' ? [exchangeOptions, routerClose] : [exchangeOptions],
      );
      expect((client.session as unknown as { state: string }).state).toBe('closed');
      if (via === 'broker') expect(await f.device.sessions()).toHaveLength(1);
      // The slot is free again: another client can connect.
      await (await f.connect({ hmcId: 'next' })).close();
    });

    it('rejects with HmcCommandError when the router refuses the options, and releases the slot', async () => {
      const refuse: FakeMessageHandler = (message) =>
        encodeResponse(decodeHmcMessage(message), {
          returnCode: HMC_RETURN_CODE.INVALID_SESSION_STATE,
        });
      const f = await fake(via, { handler: refuse });
      const error = await rejection(f.connect({ timeoutMs: 500 }));
      if (via === 'session') {
        expect(error).toBeInstanceOf(HmcCommandError);
        expect(error.message).toBe(
          'exchange-options (0x0001) to router (0x8000) failed with return code 0x8028 (invalid session state)',
        );
      } else {
        // The broker keeps trying for a session, and welcomes nobody until it has one.
        expect(error).toBeInstanceOf(TimeoutError);
        expect(error.message).toMatch(/did not welcome this client within 500 ms/);
      }
      await f.device.setHandler(null);
      await (await f.connect({ timeoutMs: 10_000 * TIME_SCALE })).close();
    });
  });

  describe('requests over a real buffer pool', () => {
    it('runs hundreds of concurrent echoes through a pool of 4 buffers without wedging', async () => {
      const f = await fake(via, { poolSize: 4 });
      const client = await f.connect({ maxInFlight: 64 });
      const answers = await Promise.all(
        Array.from({ length: 300 }, (_, n) => client.echo(Buffer.from(`echo ${n}`))),
      );
      expect(answers.map((a) => a.data.toString())).toEqual(
        Array.from({ length: 300 }, (_, n) => `echo ${n}`),
      );
      expect(new Set(answers.map((a) => a.token)).size).toBeGreaterThan(1);
      await client.close();
    });

    it('turns a non-zero return code into HmcCommandError', async () => {
      const f = await fake(via);
      const client = await f.connect();
      const error = await rejection(
        client.request({ target: HMC_TARGET.LPAR_CONFIGURATION, opcode: 0x0010 }),
      );
      expect(error).toBeInstanceOf(HmcCommandError);
      expect((error as HmcCommandError).returnCode).toBe(HMC_RETURN_CODE.INVALID_OPCODE);
      expect(error.message).toBe(
        '0x0010 to lpar-configuration (0x8001) failed with return code 0x8001 (invalid opcode)',
      );
      // The client is still usable.
      await client.echo(Buffer.from('after'));
      await client.close();
    });

    it('takes back a request given up while the session holds it: it never reaches the hypervisor', async () => {
      const answerLater: FakeMessageHandler = async (message, session) => {
        if (decodeHmcMessage(message).data.toString().startsWith('hold')) await sleep(300);
        return routerHandler(message, session);
      };
      // A pool of two buffers, both held by the first two echoes until their answers come.
      const f = await fake(via, { handler: answerLater, buffers: { session: 1 }, log: true });
      const client = await f.connect();
      const held = [client.echo(Buffer.from('hold 1')), client.echo(Buffer.from('hold 2'))];
      const error = await rejection(client.echo(Buffer.from('given up'), { timeoutMs: 50 }));
      expect(error).toBeInstanceOf(TimeoutError);
      // Through the broker the request waits in the broker's queue, where the give-up cancels it.
      expect(error.message).toMatch(
        via === 'session' ? /the driver did not take it/ : /timed out after 50 ms/,
      );
      await Promise.all(held);
      await client.echo(Buffer.from('after'));
      await client.close();
      const echoed = (await f.device.log())
        .filter((e) => e.kind === 'message' && e.to === 'hypervisor')
        .map((e) => (e.kind === 'message' ? decodeHmcMessage(e.data) : undefined))
        .filter((m) => m?.opcode === HMC_ROUTER_OPCODE.ECHO)
        .map((m) => m?.data.toString());
      expect(echoed).toEqual(['hold 1', 'hold 2', 'after']);
    });

    it('times out a request whose answer is late, and reports the late answer (the broker drops it)', async () => {
      const slow: FakeMessageHandler = async (message, session) => {
        const request = decodeHmcMessage(message);
        if (request.opcode === HMC_ROUTER_OPCODE.ECHO && request.data.toString() === 'slow')
          await sleep(150);
        return routerHandler(message, session);
      };
      const f = await fake(via, { handler: slow });
      const client = await f.connect();
      const late: number[] = [];
      client.on('unsolicited', (m, reason) => reason === 'late' && late.push(m.token));
      const error = await rejection(client.echo(Buffer.from('slow'), { timeoutMs: 50 }));
      expect(error).toBeInstanceOf(TimeoutError);
      if (via === 'session') {
        await eventually(() => late.length > 0);
        expect(late).toHaveLength(1);
      } else {
        // The client cancelled it: the broker drops the answer when it comes.
        await sleep(300 * TIME_SCALE);
        expect(late).toEqual([]);
      }
      await client.echo(Buffer.from('fast'));
      await client.close();
    });
  });

  describe('messages from the hypervisor', () => {
    it('delivers unsolicited and malformed messages as events', async () => {
      // The hypervisor needs buffers of its own to send anything unprompted.
      const f = await fake(via, { buffers: { hypervisorOwned: 4 } });
      const client = await f.connect();
      const seen: string[] = [];
      client.on('unsolicited', (m, reason) => seen.push(`${reason} ${m.data.toString()}`));
      client.on('malformed', (e) => seen.push(`malformed ${e.field}`));
      const [slot] = await f.device.sessions();
      await f.device.inject(slot.slot, hmcEvent('event'));
      await f.device.inject(slot.slot, Buffer.from('garbage'));
      await f.device.inject(
        slot.slot,
        encodeHmcMessage({ token: 4242, target: 0x8000, opcode: 0x0103, flags: 0x40 }),
      );
      await eventually(() => seen.length >= (via === 'session' ? 3 : 1));
      await client.echo(Buffer.from('still fine'));
      // The broker passes on what the hypervisor sent on its own; bytes that are
      // no message, and answers to nobody's request, stop at the broker.
      expect(seen).toEqual(
        via === 'session'
          ? ['not-a-response event', 'malformed length', 'unknown-token ']
          : ['not-a-response event'],
      );
      await client.close();
    });
  });

  describe('ending', () => {
    it('close() rejects a request still waiting for its answer', async () => {
      const silent: FakeMessageHandler = (message, session) => {
        const request = decodeHmcMessage(message);
        if (request.opcode === HMC_ROUTER_OPCODE.ECHO) return undefined; // never answered
        return routerHandler(message, session);
      };
      const f = await fake(via, { handler: silent });
      const client = await f.connect();
      // Handled from the start: it rejects while close() runs.
      const pending = rejection(client.echo(Buffer.from('never')));
      await sleep(20);
      expect(client.inFlight).toBe(1);
      await client.close();
      const error = await pending;
      expect(error).toBeInstanceOf(SessionClosedError);
    });

    it('a reset rejects pending requests with SessionResetError and closes the client (through the broker: it reconnects)', async () => {
      const silent: FakeMessageHandler = (message, session) =>
        decodeHmcMessage(message).opcode === HMC_ROUTER_OPCODE.ECHO
          ? undefined
          : routerHandler(message, session);
      const f = await fake(via, { handler: silent });
      const client = await f.connect({ probeIntervalMs: 20 });
      const events: string[] = [];
      client.on('reset', (e) => events.push(e.constructor.name));
      client.on('close', () => events.push('close'));
      client.on('reconnect', () => events.push('reconnect'));
      // Handled from the start: on a slow machine the probe can see the reset
      // before reset() returns, and an unhandled rejection would fail the test.
      const pending = rejection(client.echo(Buffer.from('x')));
      await sleep(20);
      await f.device.reset();
      expect(await pending).toBeInstanceOf(SessionResetError);
      await eventually(() => events.length >= 2);
      if (via === 'session') {
        expect(events).toEqual(['SessionResetError', 'close']);
        expect(client.state).toBe('closed');
      } else {
        // The broker's new session: the same client goes on, nothing re-sent.
        expect(events).toEqual(['SessionResetError', 'reconnect']);
        expect(client.state).toBe('open');
        await f.device.setHandler(null);
        await client.echo(Buffer.from('after the reset'));
      }
      await client.close();
    });
  });
});
