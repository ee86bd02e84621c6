/**
 * The broker against the fake device: WELCOME, requests routed under each
 * client's own token, refusals, CANCEL, fairness, events, and clients that
 * break the protocol or stop reading. Run with `node scripts/run-jest.js`.
 */
import {
  routerHandler,
  startFakeDevice,
  type FakeDeviceHandle,
  type FakeMessageHandler,
} from '../../lib/fake/index';
import { BROKER_ERROR_CODE, encodeBrokerFrame } from '../../lib/broker/index';
import { HMC_FLAG, HMC_ROUTER_OPCODE, HMC_TARGET } from '../../lib/protocol/constants';
import { decodeHmcMessage, encodeHmcMessage } from '../../lib/protocol/hmc-message';
import { hmcEvent } from '../helpers/hmc-event';
import { TIME_SCALE } from '../helpers/time-scale';
import { BrokerFixture, recordingLog, recordingMetrics } from './helpers/fixtures';
import { echoMessage, messageText, welcomedClient, WireClient } from './helpers/wire-client';

jest.setTimeout(60_000 * TIME_SCALE);

let device: FakeDeviceHandle;
const fx = new BrokerFixture('broker-routing', () => device);

beforeAll(async () => {
  // Hypervisor-owned buffers: the fake needs them to send events of its own.
  device = await startFakeDevice({ tmpDir: fx.dir, buffers: { hypervisorOwned: 4 } });
});
afterEach(async () => {
  await fx.cleanUp();
  await device.setHandler(null);
});
afterAll(async () => {
  await device?.stop();
  fx.remove();
});

/** A handler that holds echoes whose data starts with "hold" until released. */
function holdingHandler() {
  const seen: string[] = [];
  const waiting: Array<() => void> = [];
  const handler: FakeMessageHandler = async (message, session) => {
    const request = decodeHmcMessage(message);
    const text = request.data.toString();
    if (request.opcode === HMC_ROUTER_OPCODE.ECHO) seen.push(text);
    if (text.startsWith('hold')) await new Promise<void>((resolve) => waiting.push(resolve));
    return routerHandler(message, session);
  };
  return {
    handler,
    seen,
    held: () => waiting.length,
    release: () => waiting.splice(0).forEach((r) => r()),
  };
}

async function connected(path: string): Promise<WireClient> {
  return fx.track(await welcomedClient(path));
}

describe('HELLO and requests', () => {
  it('welcomes a client with the MTU and the router’s answer to exchange options', async () => {
    const broker = await fx.start();
    const client = fx.track(await WireClient.connect(broker.address));
    const welcome = await client.hello();
    expect(welcome.version).toBe(1);
    expect(welcome.mtu).toBe(4096);
    const answer = decodeHmcMessage(welcome.exchangeOptionsAnswer);
    expect([answer.target, answer.opcode, answer.flags, answer.returnCode]).toEqual([
      HMC_TARGET.ROUTER,
      HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS,
      HMC_FLAG.RESPONSE,
      0,
    ]);
    expect(answer.data).toEqual(broker.upstream?.commandPathOptions);
    expect(broker.clientCount).toBe(1);
  });

  it('answers under each client’s own token: two clients using the same tokens never get each other’s answers', async () => {
    const broker = await fx.start();
    const [a, b] = [await connected(broker.address), await connected(broker.address)];
    for (let token = 0; token < 20; token++) {
      a.send({ type: 'request', token, message: echoMessage(`a${token}`) });
      b.send({ type: 'request', token, message: echoMessage(`b${token}`) });
    }
    await a.until(() => a.frames.length === 21, '20 answers');
    await b.until(() => b.frames.length === 21, '20 answers');
    for (const [client, tag] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      const answers = client.frames.slice(1).map((f) => {
        if (f.type !== 'answer') throw new Error(`got ${f.type}`);
        const m = decodeHmcMessage(f.message);
        expect(m.flags & HMC_FLAG.RESPONSE).toBe(HMC_FLAG.RESPONSE);
        return `${f.token}:${m.data.toString()}`;
      });
      expect(answers).toEqual(Array.from({ length: 20 }, (_, t) => `${t}:${tag}${t}`));
    }
  });

  it('forwards an answer with a non-zero return code as an ANSWER', async () => {
    const broker = await fx.start();
    const client = await connected(broker.address);
    client.send({
      type: 'request',
      token: 7,
      message: encodeHmcMessage({ token: 0, target: HMC_TARGET.LPAR_CONFIGURATION, opcode: 0x10 }),
    });
    const answer = await client.next('answer');
    expect(answer.token).toBe(7);
    expect(decodeHmcMessage(answer.message).returnCode).toBe(0x8001);
  });

  it('refuses bad messages, router commands, responses and a token already in flight, and carries on', async () => {
    const broker = await fx.start();
    const client = await connected(broker.address);
    const garbage = Buffer.alloc(40, 0x55);
    const response = encodeHmcMessage({ token: 0, target: 0x8000, opcode: 0x0103, flags: 0x40 });
    const router = (opcode: number) => encodeHmcMessage({ token: 0, target: 0x8000, opcode });
    client.send({ type: 'request', token: 1, message: garbage });
    client.send({ type: 'request', token: 2, message: response });
    client.send({ type: 'request', token: 3, message: router(HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS) });
    client.send({ type: 'request', token: 4, message: router(HMC_ROUTER_OPCODE.CLOSE) });
    // Both in one write: the first is still held when the second is read.
    client.sendRaw(
      Buffer.concat([5, 5].map((token, n) => requestBytes(token, echoMessage(`dup ${n}`)))),
    );
    await client.until(() => client.frames.length === 7, 'five refusals and an answer');
    const refusals = client.frames
      .filter((f) => f.type === 'refused')
      .map((f) => (f.type === 'refused' ? [f.token, f.code] : []));
    expect(refusals).toEqual([
      [1, BROKER_ERROR_CODE.BAD_MESSAGE],
      [2, BROKER_ERROR_CODE.BAD_MESSAGE],
      [3, BROKER_ERROR_CODE.ROUTER_COMMAND],
      [4, BROKER_ERROR_CODE.ROUTER_COMMAND],
      [5, BROKER_ERROR_CODE.DUPLICATE_TOKEN],
    ]);
    const answer = await client.next('answer');
    expect([answer.token, messageText(answer.message)]).toEqual([5, 'dup 0']);
  });

  it('answers GOODBYE with GOODBYE and closes', async () => {
    const broker = await fx.start();
    const client = await connected(broker.address);
    client.send({ type: 'goodbye', reason: 'done' });
    expect((await client.next('goodbye')).type).toBe('goodbye');
    await client.closedByBroker();
    await client.until(() => broker.clientCount === 0, 'the broker to forget the client');
  });
});

/** A REQUEST frame's bytes, for writes of many frames at once. */
function requestBytes(token: number, message: Buffer): Buffer {
  return encodeBrokerFrame({ type: 'request', token, message });
}

describe('many clients', () => {
  it('8 clients × 10,000 pipelined echoes: each answered once, in order, to its own client', async () => {
    const broker = await fx.start();
    const N = 10_000;
    const clients = await Promise.all(Array.from({ length: 8 }, () => connected(broker.address)));
    const problems: string[] = [];
    const counts = clients.map((client, c) => {
      const count = { n: 0 };
      client.keep = false;
      client.onFrame = (frame) => {
        if (frame.type !== 'answer') {
          problems.push(`client ${c}: ${frame.type}`);
          return;
        }
        const text = messageText(frame.message);
        if (frame.token !== count.n || text !== `${c}:${count.n}`)
          problems.push(`client ${c} expected ${count.n}, got token ${frame.token} "${text}"`);
        count.n++;
      };
      return count;
    });
    clients.forEach((client, c) => {
      const chunks: Buffer[] = [];
      for (let n = 0; n < N; n++) chunks.push(requestBytes(n, echoMessage(`${c}:${n}`)));
      client.sendRaw(Buffer.concat(chunks));
    });
    for (const [c, client] of clients.entries())
      await client.until(
        () => counts[c].n === N || problems.length > 0,
        `${N} answers to client ${c}`,
        50_000 * TIME_SCALE,
      );
    expect(problems.slice(0, 5)).toEqual([]);
    expect(broker.heldRequests).toBe(0);
    expect(broker.upstream?.inFlight).toBe(0);
  });

  it('is fair: one client flooding delays another’s request by a bounded number of turns', async () => {
    const maxInFlight = 4;
    // The flooder may take every turn of the session: only the round robin can let the other in.
    const broker = await fx.start({ maxInFlightPerClient: maxInFlight }, { maxInFlight });
    const flooder = await connected(broker.address);
    const other = await connected(broker.address);
    flooder.keep = false;
    let flooderAnswers = 0;
    flooder.onFrame = () => flooderAnswers++;
    const chunks: Buffer[] = [];
    for (let n = 0; n < 2000; n++) chunks.push(requestBytes(n, echoMessage(`f${n}`)));
    flooder.sendRaw(Buffer.concat(chunks));
    await flooder.until(() => flooderAnswers >= 100, 'the flood to be under way');
    const before = flooderAnswers;
    other.send({ type: 'request', token: 1, message: echoMessage('me') });
    await other.next('answer');
    const overtaken = flooderAnswers - before;
    // Those in flight and one turn each; a FIFO would have put ~1900 first.
    expect(overtaken).toBeLessThanOrEqual(3 * maxInFlight);
    expect(flooderAnswers).toBeLessThan(2000);
  });
});

describe('CANCEL', () => {
  it('takes a queued request back (never sent) and abandons one in flight (its late answer dropped and counted)', async () => {
    const hold = holdingHandler();
    await device.setHandler(hold.handler);
    const metrics = recordingMetrics();
    const broker = await fx.start({ maxInFlightPerClient: 1, metrics });
    const client = await connected(broker.address);
    client.send({ type: 'request', token: 1, message: echoMessage('hold 1') });
    client.send({ type: 'request', token: 2, message: echoMessage('queued 2') });
    await client.until(
      () => hold.held() === 1 && broker.heldRequests === 2,
      'one held, one queued',
    );
    client.send({ type: 'cancel', token: 2 }); // queued
    client.send({ type: 'cancel', token: 1 }); // in flight
    client.send({ type: 'cancel', token: 99 }); // unknown: ignored
    await client.until(() => broker.heldRequests === 0, 'both dropped');
    expect(broker.upstream?.inFlight).toBe(0);
    hold.release();
    await client.until(() => metrics.late === 1, 'the late answer');
    // The token is free again at once, and the connection goes on.
    client.send({ type: 'request', token: 1, message: echoMessage('after') });
    const answer = await client.next('answer');
    expect([answer.token, messageText(answer.message)]).toEqual([1, 'after']);
    expect(client.frames.map((f) => f.type)).toEqual(['welcome', 'answer']);
    expect(hold.seen).toEqual(['hold 1', 'after']);
    expect(metrics.outcomes.get('cancelled')).toBe(2);
  });
});

describe('events', () => {
  it('goes only to clients whose subscription covers the target', async () => {
    const broker = await fx.start();
    const all = await connected(broker.address);
    const lpar = await connected(broker.address);
    const other = await connected(broker.address);
    const none = await connected(broker.address);
    all.send({ type: 'subscribe', targets: [] });
    lpar.send({ type: 'subscribe', targets: [HMC_TARGET.LPAR_CONFIGURATION] });
    other.send({ type: 'subscribe', targets: [HMC_TARGET.CAPACITY_ON_DEMAND] });
    // A request answered proves the subscriptions were read before the event is sent.
    for (const c of [all, lpar, other, none]) {
      c.send({ type: 'request', token: 1, message: echoMessage('sync') });
      await c.next('answer');
    }
    const [slot] = await device.sessions();
    await device.inject(slot.slot, hmcEvent('hello subscribers'));
    const event = await all.next('event');
    expect(messageText(event.message)).toBe('hello subscribers');
    expect(messageText((await lpar.next('event')).message)).toBe('hello subscribers');
    // A later answer to the others shows the event was not sent to them first.
    for (const c of [other, none]) {
      c.send({ type: 'request', token: 2, message: echoMessage('sync') });
      await c.until(() => c.frames.length === 3, 'the second answer');
      expect(c.frames.map((f) => f.type)).toEqual(['welcome', 'answer', 'answer']);
    }
  });
});

describe('clients that break the protocol', () => {
  it('REQUEST before HELLO gets ERROR out-of-order and is closed', async () => {
    const log = recordingLog();
    const broker = await fx.start({ log });
    const client = fx.track(await WireClient.connect(broker.address));
    client.send({ type: 'request', token: 1, message: echoMessage('early') });
    const error = await client.next('error');
    expect(error.code).toBe('ERR_IBMVMC_BROKER_PROTOCOL');
    expect(error.text).toBe(
      'broker protocol error (out-of-order): REQUEST from the client before HELLO (phase start)',
    );
    await client.closedByBroker();
    const line = log.lines.find((l) => l.event === 'client-protocol-error');
    expect(line?.fields).toMatchObject({ reason: 'out-of-order', uid: 0, pid: process.pid });
  });

  it.each([
    ['malformed (another magic)', Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'malformed'],
    [
      'oversized (a header announcing 1 GB)',
      Buffer.from([0xb7, 1, 0x02, 0, 0x40, 0, 0, 0]),
      'oversized',
    ],
  ])('%s: only that client is closed', async (_name, bytes, reason) => {
    const metrics = recordingMetrics();
    const broker = await fx.start({ metrics });
    const good = await connected(broker.address);
    const bad = await connected(broker.address);
    bad.sendRaw(bytes);
    const error = await bad.next('error');
    expect(error.code).toBe('ERR_IBMVMC_BROKER_PROTOCOL');
    expect(error.text).toContain(`(${reason})`);
    await bad.closedByBroker();
    expect(metrics.dropped).toEqual(['protocol']);
    good.send({ type: 'request', token: 1, message: echoMessage('still here') });
    expect(messageText((await good.next('answer')).message)).toBe('still here');
  });

  it('a frame that never ends is cut off after the frame timeout; a slow but steady one is not', async () => {
    const metrics = recordingMetrics();
    const frameTimeoutMs = 300 * TIME_SCALE;
    const broker = await fx.start({ metrics, frameTimeoutMs });
    const good = await connected(broker.address);
    const stuck = await connected(broker.address);
    // A frame in two halves, the second well within the timeout: fine.
    const whole = requestBytes(1, echoMessage('split'));
    good.sendRaw(whole.subarray(0, 10));
    await new Promise((r) => setTimeout(r, frameTimeoutMs / 3));
    good.sendRaw(whole.subarray(10));
    // The header and a bit of the payload, and nothing more.
    stuck.sendRaw(requestBytes(1, echoMessage('never')).subarray(0, 12));
    const error = await stuck.next('error');
    expect(error.code).toBe(BROKER_ERROR_CODE.FRAME_TIMEOUT);
    await stuck.closedByBroker();
    expect(metrics.dropped).toEqual(['frame-timeout']);
    expect(messageText((await good.next('answer')).message)).toBe('split');
  });

  it('a client that says nothing is closed after the HELLO timeout', async () => {
    const broker = await fx.start({ helloTimeoutMs: 200 * TIME_SCALE });
    const silent = fx.track(await WireClient.connect(broker.address));
    expect((await silent.next('error')).code).toBe(BROKER_ERROR_CODE.HELLO_TIMEOUT);
    await silent.closedByBroker();
  });

  it('drops a client that does not read past maxOutboundBytes; another carries on', async () => {
    const metrics = recordingMetrics();
    const log = recordingLog();
    const broker = await fx.start({ metrics, log, maxOutboundBytes: 256 * 1024 });
    const good = await connected(broker.address);
    const slow = await connected(broker.address);
    slow.socket.pause(); // reads nothing more: the kernel's buffers fill, then the broker's
    const chunks: Buffer[] = [];
    const data = Buffer.alloc(3000, 0x61);
    for (let n = 0; n < 1000; n++) chunks.push(requestBytes(n, echoMessage(data)));
    slow.sendRaw(Buffer.concat(chunks));
    await good.until(() => metrics.dropped.includes('slow-reader'), 'the slow reader dropped');
    expect(log.lines.find((l) => l.event === 'client-dropped')?.fields.reason).toBe('slow-reader');
    await good.until(() => broker.clientCount === 1, 'one client left');
    slow.socket.resume();
    await slow.until(() => slow.closed, 'the slow reader’s socket to close');
    good.send({ type: 'request', token: 1, message: echoMessage('fine') });
    expect(messageText((await good.next('answer')).message)).toBe('fine');
    await good.until(() => broker.heldRequests === 0, 'nothing held');
  });
});
