/**
 * The broker counts the session's EBUSY retries (its metric
 * `busy_retries_total`): a hypervisor that lends fewer buffers than the
 * broker keeps requests in flight makes the session retry, and every retry
 * reaches the metrics, once.
 */
import {
  routerHandler,
  startFakeDevice,
  type FakeDeviceHandle,
  type FakeMessageHandler,
} from '../../lib/fake/index';
import { TIME_SCALE } from '../helpers/time-scale';
import { BrokerFixture, recordingMetrics } from './helpers/fixtures';
import { echoMessage, welcomedClient } from './helpers/wire-client';

jest.setTimeout(30_000 * TIME_SCALE);

let device: FakeDeviceHandle;
const fx = new BrokerFixture('broker-busy', () => device);

afterAll(async () => {
  await fx.cleanUp();
  await device?.stop();
  fx.remove();
});

it('counts the EBUSY retries of a pool the hypervisor lends short', async () => {
  // Two buffers lent, the broker's session willing to keep 32 (buf_pool_size) in flight.
  // Each answer a little late: the two buffers are surely both in flight while more wait.
  const slow: FakeMessageHandler = async (message, session) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return routerHandler(message, session);
  };
  device = await startFakeDevice({ tmpDir: fx.dir, buffers: { session: 2 }, handler: slow });
  const metrics = recordingMetrics();
  const broker = await fx.start({ metrics, maxInFlightPerClient: 32 });
  const client = fx.track(await welcomedClient(broker.address));
  for (let token = 1; token <= 20; token++)
    client.send({ type: 'request', token, message: echoMessage(`busy ${token}`) });
  await client.until(() => client.frames.length === 21, '20 answers');
  expect(client.frames.slice(1).every((f) => f.type === 'answer')).toBe(true);
  expect(metrics.busy).toBeGreaterThan(0);
});
