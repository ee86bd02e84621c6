/**
 * The broker when things go away: a client killed with requests in flight,
 * and the session reset under load. Run with `node scripts/run-jest.js`.
 */
import {
  routerHandler,
  startFakeDevice,
  type FakeDeviceHandle,
  type FakeMessageHandler,
} from '../../lib/fake/index';
import { encodeBrokerFrame } from '../../lib/broker/index';
import { decodeHmcMessage } from '../../lib/protocol/hmc-message';
import { TIME_SCALE } from '../helpers/time-scale';
import { startChildClient } from './helpers/child-client';
import { BrokerFixture, openSockets, recordingLog, recordingMetrics } from './helpers/fixtures';
import { echoMessage, messageText, welcomedClient, WireClient } from './helpers/wire-client';

jest.setTimeout(30_000 * TIME_SCALE);

let device: FakeDeviceHandle;
const fx = new BrokerFixture('broker-resilience', () => device);

beforeAll(async () => {
  device = await startFakeDevice({ tmpDir: fx.dir });
});
afterEach(async () => {
  await fx.cleanUp();
  await device.setHandler(null);
});
afterAll(async () => {
  await device?.stop();
  fx.remove();
});

const WAIT_MS = 10_000 * TIME_SCALE;

it('a client killed with requests in flight: the others carry on, nothing stays held, no fd is left', async () => {
  const waiting: Array<() => void> = [];
  const hold: FakeMessageHandler = async (message, session) => {
    if (decodeHmcMessage(message).data.toString().startsWith('hold'))
      await new Promise<void>((resolve) => waiting.push(resolve));
    return routerHandler(message, session);
  };
  await device.setHandler(hold);
  const metrics = recordingMetrics();
  const broker = await fx.start({ metrics });
  const other = fx.track(await welcomedClient(broker.address));
  const socketsBefore = openSockets();
  const child = startChildClient(broker.address);
  try {
    await child.waitFor('welcome', WAIT_MS);
    for (let token = 1; token <= 3; token++)
      child.send({ type: 'request', token, message: echoMessage(`hold ${token}`) });
    await other.until(
      () => waiting.length === 3 && broker.upstream?.inFlight === 3,
      'three requests held by the hypervisor',
    );
    expect(broker.heldRequests).toBe(3);
    child.child.kill('SIGKILL');
    await child.exited;
    await other.until(() => broker.clientCount === 1, 'the broker to see the client gone');
    expect(broker.heldRequests).toBe(0);
    expect(broker.upstream?.inFlight).toBe(0);
    expect(metrics.inFlight).toBe(0);
    other.send({ type: 'request', token: 1, message: echoMessage('carry on') });
    expect(messageText((await other.next('answer')).message)).toBe('carry on');
    waiting.splice(0).forEach((release) => release());
    await other.until(() => metrics.late === 3, 'the three late answers, dropped');
    await other.until(
      () => openSockets().join() === socketsBefore.join(),
      'the broker’s sockets back to what they were',
    );
  } finally {
    child.child.kill('SIGKILL');
    await child.exited;
  }
});

it('a reset under load: RESET, then RECONNECT; refused in between; requests work after', async () => {
  const metrics = recordingMetrics();
  const log = recordingLog();
  const broker = await fx.start({ metrics, log });
  const clients = [
    fx.track(await welcomedClient(broker.address)),
    fx.track(await welcomedClient(broker.address)),
  ];
  let refusedInReset: string | undefined;
  for (const client of clients) {
    const frames: Buffer[] = [];
    for (let token = 0; token < 2000; token++)
      frames.push(encodeBrokerFrame({ type: 'request', token, message: echoMessage(`${token}`) }));
    client.sendRaw(Buffer.concat(frames));
  }
  // The first client sends one more request as soon as it hears of the reset.
  clients[0].onFrame = (frame) => {
    if (frame.type === 'reset')
      clients[0].send({ type: 'request', token: 100_000, message: echoMessage('too soon') });
    if (frame.type === 'refused' && frame.token === 100_000) refusedInReset = frame.code;
  };
  await clients[0].until(
    () => clients[0].frames.filter((f) => f.type === 'answer').length >= 100,
    'the load to be under way',
  );
  // The hypervisor stays away long enough for a request to be refused meanwhile.
  await device.reset({ reinitializeAfterMs: 300 * TIME_SCALE });
  for (const client of clients) {
    await client.next('reset');
    await client.next('reconnect');
    expect(client.decodeError).toBeUndefined(); // nothing out of order: no ANSWER between the two
    const answered = client.frames.filter((f) => f.type === 'answer').length;
    expect(answered).toBeLessThan(2000);
  }
  expect(refusedInReset).toBe('ERR_IBMVMC_SESSION_RESET');
  expect(metrics.resets).toBe(1);
  expect(metrics.outcomes.get('reset')).toBeGreaterThan(0);
  expect(broker.heldRequests).toBe(0);
  // Nothing was re-sent: the tokens of before are free, and new requests work.
  for (const client of clients) {
    const from = client.frames.length;
    client.send({ type: 'request', token: 1, message: echoMessage('after the reset') });
    const answer = await client.next('answer', from);
    expect([answer.token, messageText(answer.message)]).toEqual([1, 'after the reset']);
  }
  const events = log.lines.map((l) => l.event);
  expect(events).toContain('session-reset');
  expect(events).toContain('session-reconnected');
});

it('without a device: retries, logs the failure once, holds HELLO without WELCOME, and still closes at once', async () => {
  const log = recordingLog();
  const broker = await fx.start({ log }, { path: `${fx.dir}/no-such-device` });
  const client = fx.track(await WireClient.connect(broker.address));
  client.send({ type: 'hello', version: 1, clientName: 'early', clientVersion: '1' });
  client.send({ type: 'request', token: 1, message: echoMessage('waits') });
  const failures = () => log.lines.filter((l) => l.event === 'session-connect-failed');
  await client.until(() => failures().length >= 3, 'three attempts');
  expect(failures().map((l) => l.level)).toEqual([
    'warn',
    ...failures()
      .slice(1)
      .map(() => 'debug'),
  ]);
  expect(failures()[0].fields.code).toBe('ENOENT');
  expect(client.frames).toEqual([]);
  const started = Date.now();
  await broker.close();
  expect(Date.now() - started).toBeLessThan(1000 * TIME_SCALE);
  expect(await client.next('goodbye')).toEqual({
    type: 'goodbye',
    reason: 'the broker is stopping',
  });
  // HMC ids go only in debug fields.
  for (const line of log.lines) expect(JSON.stringify(line.fields)).not.toContain('broker-test');
});
