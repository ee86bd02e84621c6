/**
 * Every program in examples/ run as a user runs it, against the fake, with
 * its output checked, so none rots. They import the package by name
 * (`ibmvmc`, `ibmvmc/fake`) and run where they are: examples/ lies inside
 * this package, and Node resolves a package's own name from within it
 * (self-reference through package.json "exports"), so neither NODE_PATH
 * nor a node_modules link is needed. A user who copies them resolves the
 * name from node_modules instead. Needs `npm run build:ts` (dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { startFakeDevice, type FakeDeviceHandle } from '../../lib/fake/index';
import { encodeHmcMessage } from '../../lib/protocol/index';
import { CLI, TEST_TMPDIR, envWithoutShim } from '../cli/run-cli';
import { TIME_SCALE } from '../helpers/time-scale';

const examples = path.resolve(__dirname, '..', '..', 'examples');
const nodeModules = path.resolve(__dirname, '..', '..', 'node_modules');

interface Run {
  /** Resolves once `text` is on stdout. */
  waitFor(text: string): Promise<void>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Every process a case started: whatever a failing case leaves running is killed after it. */
const started = new Set<ChildProcess>();
afterEach(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  started.clear();
});

/** Runs `args` in `cwd` with `env` (no colours: the output is matched as text). */
function run(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const child = spawn(args[0], args.slice(1), {
    cwd,
    // TMPDIR: the fakes' folders stay out of the system's, where other suites count theirs.
    env: { ...env, TMPDIR: TEST_TMPDIR, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let stdout = '';
  let stderr = '';
  const watchers: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    watchers.forEach((w) => w());
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    },
  );
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (stdout.includes(text)) return resolve();
      watchers.push(() => stdout.includes(text) && resolve());
      void done.then(() =>
        stdout.includes(text)
          ? resolve()
          : reject(new Error(`no "${text}" in:\n${stdout}${stderr}`)),
      );
    });
  return { waitFor, done };
}

/** `ibmvmc fake-device -- ...args`: the wrapper, as the examples' comments say to run them. */
function underWrapper(args: readonly string[], cwd = examples): Run {
  return run([process.execPath, CLI, 'fake-device', '--', ...args], cwd, envWithoutShim());
}

const LONG = 60_000 * TIME_SCALE;

describe('examples/ against the fake', () => {
  let fake: FakeDeviceHandle;
  beforeEach(async () => {
    // Buffers of the hypervisor's own: it needs them to send anything unprompted.
    fake = await startFakeDevice({ buffers: { hypervisorOwned: 4 }, tmpDir: TEST_TMPDIR });
  });
  afterEach(() => fake.stop());
  const withFake = (file: string, extra: string[] = []) =>
    run([process.execPath, file, ...extra], examples, { ...envWithoutShim(), ...fake.env });

  it('echo.mjs, under the wrapper', async () => {
    const r = await underWrapper([process.execPath, 'echo.mjs']).done;
    expect(r).toEqual({
      code: 0,
      stdout: 'session open, MTU 4096\necho: hello (token 1)\n',
      stderr: '',
    });
  });

  it('hmc-client.mjs: 50 requests at once, and a refusal told apart', async () => {
    const r = await withFake('hmc-client.mjs').done;
    expect(r).toEqual({
      code: 0,
      stdout: '50 echoes back, all matched: true\nrefused: return code 0x8001\n',
      stderr: '',
    });
  });

  it('listen.mjs prints what the hypervisor sends on its own', async () => {
    const listening = withFake('listen.mjs', ['2']);
    await listening.waitFor('listening');
    const [slot] = await fake.sessions();
    for (const text of ['first', 'second'])
      await fake.inject(
        slot.slot,
        encodeHmcMessage({
          token: 0,
          target: 0x8001,
          opcode: 0x0200,
          flags: 0,
          data: Buffer.from(text),
        }),
      );
    const r = await listening.done;
    expect(r).toEqual({
      code: 0,
      stdout:
        'listening\n' +
        'unsolicited (not-a-response): target 0x8001 opcode 0x200 data "first"\n' +
        'unsolicited (not-a-response): target 0x8001 opcode 0x200 data "second"\n' +
        'done\n',
      stderr: '',
    });
  });

  it('reconnect.mjs survives a reset', async () => {
    const session = withFake('reconnect.mjs');
    await session.waitFor('waiting for a reset');
    await fake.reset({ reinitializeAfterMs: 100 });
    const r = await session.done;
    expect(r).toEqual({
      code: 0,
      stdout:
        'echo before: one\nwaiting for a reset\nreset: EBADFD\nreconnected, state open\necho after: two\n',
      stderr: '',
    });
  });
});

describe('examples/testing: each runner, as its comments say to run it', () => {
  it(
    "Jest with globalSetup/globalTeardown: the run's fake, its controls through attachFakeDevice()",
    async () => {
      // No wrapper: the globalSetup's fake is all the run has.
      const r = await run(
        [
          process.execPath,
          path.join(nodeModules, 'jest', 'bin', 'jest.js'),
          '--config',
          'jest.config.cjs',
        ],
        path.join(examples, 'testing', 'jest'),
        envWithoutShim(),
      ).done;
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/warn|did not exit|open handle/i);
      expect(r.stderr).toMatch(/^Tests: +4 passed, 4 total$/m);
    },
    LONG,
  );

  it(
    'node:test',
    async () => {
      const r = await underWrapper(
        [process.execPath, '--test'],
        path.join(examples, 'testing', 'node-test'),
      ).done;
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/warn|did not exit|open handle/i);
      expect(r.stdout).toMatch(/^# pass 4\n# fail 0\n# cancelled 0\n# skipped 0\n# todo 0$/m);
    },
    LONG,
  );

  it(
    'Vitest',
    async () => {
      const r = await underWrapper(
        [process.execPath, path.join(nodeModules, 'vitest', 'vitest.mjs'), 'run'],
        path.join(examples, 'testing', 'vitest'),
      ).done;
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/warn|did not exit|open handle/i);
      expect(r.stdout).toMatch(/^ +Tests +4 passed \(4\)$/m);
    },
    LONG,
  );
});
