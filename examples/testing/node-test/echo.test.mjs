// node:test with the fake. Run the runner under the wrapper, so the test
// processes it starts have the fake's LD_PRELOAD (needed only for part 2):
//   npx ibmvmc fake-device -- node --test
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { connect, encodeHmcMessage } from 'ibmvmc';
import { startFakeDevice } from 'ibmvmc/fake';

const script = fileURLToPath(new URL('../../echo.mjs', import.meta.url));
let fake;
// The hypervisor needs buffers of its own to send anything unprompted.
before(async () => (fake = await startFakeDevice({ buffers: { hypervisorOwned: 4 } })));
after(() => fake?.stop());

// 1. Your script as a child process: fake.env makes its /dev/ibmvmc the fake.
test('the echo script talks to the hypervisor', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [script], {
    env: { ...process.env, ...fake.env },
  });
  assert.match(stdout, /echo: hello/);
});

// 2. Code in this process, driven with the fake's controls.
describe('with the controls', () => {
  let client;
  before(async () => {
    client = await connect({
      hmcId: 'node-test',
      path: fake.socketPath,
      sysfsRoot: fake.sysfsRoot,
    });
  });
  after(() => client?.close());

  test('an injected message arrives as unsolicited', async () => {
    const arrived = new Promise((resolve) => client.once('unsolicited', resolve));
    const [slot] = await fake.sessions();
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
    assert.equal((await arrived).data.toString(), 'event');
  });

  test('a reset closes the client', async () => {
    const closed = new Promise((resolve) => client.once('close', resolve));
    await fake.reset();
    await closed;
    assert.equal(client.state, 'closed');
  });
});

// 3. A fault, configured at run time: the hypervisor refuses every session.
test('the echo script fails when the hypervisor refuses its session', async () => {
  await fake.configure({ openAnswer: { status: 1 } });
  try {
    const run = promisify(execFile)(process.execPath, [script], {
      env: { ...process.env, ...fake.env },
    });
    // The driver lets the session open; its first write finds it gone.
    await assert.rejects(
      run,
      (error) => error.code === 1 && /SessionResetError/.test(error.stderr),
    );
  } finally {
    await fake.configure({ openAnswer: { status: 0 } });
  }
});
