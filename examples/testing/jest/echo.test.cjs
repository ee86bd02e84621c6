// Two ways to test with the fake under Jest.
const { execFile } = require('node:child_process');
const path = require('node:path');
const { promisify } = require('node:util');
const { connect, encodeHmcMessage } = require('ibmvmc');
const { startFakeDevice } = require('ibmvmc/fake');

const script = path.resolve(__dirname, '..', '..', 'echo.mjs');

// 1. Your script as a child process, on the run's fake (global-setup.cjs put it in process.env).
test('the echo script talks to the hypervisor', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [script]);
  expect(stdout).toContain('echo: hello');
});

// 2. Code in this process, on a fake of this file's own, driven with its controls.
describe('with the controls', () => {
  let fake;
  let client;
  beforeAll(async () => {
    // The hypervisor needs buffers of its own to send anything unprompted.
    fake = await startFakeDevice({ buffers: { hypervisorOwned: 4 } });
    client = await connect({ hmcId: 'jest', path: fake.socketPath, sysfsRoot: fake.sysfsRoot });
  });
  afterAll(async () => {
    await client?.close();
    await fake?.stop();
  });

  test('an injected message arrives as unsolicited', async () => {
    const arrived = new Promise((resolve) => client.once('unsolicited', resolve));
    const [slot] = await fake.sessions();
    // A message as the hypervisor would send it on its own: target 0x8001, opcode 0x0200.
    await fake.inject(
      slot.slot,
      encodeHmcMessage({
        token: 0,
        target: 0x8001,
        opcode: 0x0200,
        flags: 0,
        data: Buffer.from('event'),
      }),
    );
    expect((await arrived).data.toString()).toBe('event');
  });

  test('a reset closes the client', async () => {
    const closed = new Promise((resolve) => client.once('close', resolve));
    await fake.reset();
    await closed;
    expect(client.state).toBe('closed');
  });
});
