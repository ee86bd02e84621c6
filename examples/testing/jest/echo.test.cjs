// Your scripts run as child processes against the run's fake (global-setup.cjs),
// and the tests drive that same fake with its controls: inject, reset, configure.
// The fake is shared by the whole run: when several test files run at once, keep
// the tests that reset or reconfigure it in one file.
const { execFile, spawn } = require('node:child_process');
const path = require('node:path');
const { promisify } = require('node:util');
const { encodeHmcMessage } = require('ibmvmc');
const { attachFakeDevice } = require('ibmvmc/fake');

const examples = path.resolve(__dirname, '..', '..');

/** Runs a script to its end. */
const run = (script, ...args) =>
  promisify(execFile)(process.execPath, [path.join(examples, script), ...args]);

/** Starts a script: printed(text) resolves once it has printed text, exited once it ends. */
function start(script, ...args) {
  const child = spawn(process.execPath, [path.join(examples, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  const checks = [];
  child.stdout.on('data', (data) => {
    stdout += data;
    checks.forEach((check) => check());
  });
  const exited = new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
  const printed = (text) =>
    new Promise((resolve, reject) => {
      const check = () => stdout.includes(text) && resolve();
      checks.push(check);
      check();
      exited.then(() => reject(new Error(`${script} ended without printing "${text}"`)));
    });
  return { printed, exited };
}

let fake;
beforeAll(async () => {
  fake = await attachFakeDevice(); // the run's fake, through IBMVMC_FAKE_ATTACH
});
afterAll(() => fake?.detach());

test('the echo script talks to the hypervisor', async () => {
  const { stdout } = await run('echo.mjs');
  expect(stdout).toContain('echo: hello');
});

test('an injected message reaches a listening script', async () => {
  const listener = start('listen.mjs', '1');
  await listener.printed('listening');
  const [slot] = await fake.sessions();
  // A message as the hypervisor would send it on its own: target 0x8001, opcode 0x0200.
  const event = { token: 0, target: 0x8001, opcode: 0x0200, data: Buffer.from('event') };
  await fake.inject(slot.slot, encodeHmcMessage(event));
  const { code, stdout } = await listener.exited;
  expect(code).toBe(0);
  expect(stdout).toContain('data "event"');
});

test('a script survives a reset of the channel', async () => {
  const script = start('reconnect.mjs');
  await script.printed('waiting for a reset');
  await fake.reset({ reinitializeAfterMs: 100 });
  const { code, stdout } = await script.exited;
  expect(code).toBe(0);
  expect(stdout).toContain('echo after: two');
});

test('a fault: the hypervisor refuses every session', async () => {
  await fake.configure({ openAnswer: { status: 1 } });
  try {
    // The driver lets the session open; its first write finds it gone.
    await expect(run('echo.mjs')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('SessionResetError'),
    });
  } finally {
    await fake.configure({ openAnswer: { status: 0 } });
  }
});
