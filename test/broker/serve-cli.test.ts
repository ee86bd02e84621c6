/**
 * `ibmvmc serve` as a user runs it: the compiled CLI in a child process, on
 * a fake device of its own; stopped with SIGTERM; and handed its socket by
 * socket activation (LISTEN_FDS). Needs `npm run build:ts` first.
 */
import { spawn } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CLI, envWithoutShim, startCli, TEST_TMPDIR, type CliResult } from '../cli/run-cli';
import { TIME_SCALE } from '../helpers/time-scale';
import { testDir } from './helpers/fixtures';
import { echoMessage, messageText, welcomedClient, type WireClient } from './helpers/wire-client';

jest.setTimeout(30_000 * TIME_SCALE);

const dir = testDir('serve-cli');
const clients: WireClient[] = [];
afterEach(() => clients.splice(0).forEach((c) => c.destroy()));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The run's end, or a failure after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The JSON log lines' events. */
function events(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { event: string }).event);
}

async function echoes(client: WireClient, text: string): Promise<void> {
  const from = client.frames.length;
  client.send({ type: 'request', token: 1, message: echoMessage(text) });
  expect(messageText((await client.next('answer', from)).message)).toBe(text);
}

it('SIGTERM: every client gets GOODBYE, the socket is removed, and it exits 0', async () => {
  const socketPath = path.join(dir, 'serve.sock');
  // Without the shim in its environment, as a user runs it: it starts its fake in a child.
  const run = startCli(['serve', '--fake', '--socket', socketPath], { env: envWithoutShim() });
  await within(run.waitFor('"event":"session-open"'), 10_000 * TIME_SCALE, 'the session');
  for (let n = 0; n < 2; n++) clients.push(await welcomedClient(socketPath, `client ${n}`));
  await echoes(clients[0], 'before the end');
  run.child.kill('SIGTERM');
  for (const client of clients) {
    const goodbye = await client.next('goodbye');
    expect(goodbye.reason).toBe('the broker is stopping');
    await client.closedByBroker();
  }
  const result: CliResult = await within(run.done, 10_000 * TIME_SCALE, 'exiting');
  expect([result.code, result.signal]).toEqual([0, null]);
  expect(existsSync(socketPath)).toBe(false);
  expect(events(result.stderr)).toEqual(
    expect.arrayContaining([
      'listening',
      'session-open',
      'client-connected',
      'client-disconnected',
      'stopping',
      'stopped',
    ]),
  );
  // The HMC id stays out of a log that is not --debug.
  expect(result.stderr).not.toContain('ibmvmc-cli');
});

it.each([
  ['in the process systemd started', () => process.env],
  // Without the shim, --fake runs the command again in a child: the fd must follow.
  ['in the child --fake starts without the shim', envWithoutShim],
])(
  'socket activation: serves the socket handed over as fd 3 (%s), and leaves it in place',
  async (_, baseEnv) => {
    const socketPath = path.join(dir, 'activated.sock');
    const madeAt = path.join(dir, 'activated.tmp.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(madeAt, resolve));
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    // As systemd does: LISTEN_PID is the pid of the process that runs the CLI.
    // A file, not `node -e`: a respawned CLI would run an -e script again.
    const wrapper = path.join(dir, 'systemd-like.js');
    writeFileSync(
      wrapper,
      `process.env.LISTEN_PID = String(process.pid);\n` +
        `process.argv[1] = ${JSON.stringify(CLI)};\n` +
        `require(${JSON.stringify(CLI)});\n`,
    );
    const child = spawn(process.execPath, [wrapper, 'serve', '--fake', '--socket', socketPath], {
      env: { ...baseEnv(), LISTEN_FDS: '1', TMPDIR: TEST_TMPDIR },
      stdio: ['ignore', 'pipe', 'pipe', fd],
    });
    // The child has its own copy now; ours goes, without taking the socket's name with it.
    renameSync(madeAt, socketPath);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout?.resume();
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      const client = await within(
        (async () => {
          for (;;) {
            try {
              return await welcomedClient(socketPath, 'activated');
            } catch {
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        })(),
        10_000 * TIME_SCALE,
        'a WELCOME through the activated socket',
      );
      clients.push(client);
      await echoes(client, 'activated');
      child.kill('SIGTERM');
      expect((await client.next('goodbye')).reason).toBe('the broker is stopping');
      expect(await within(exited, 10_000 * TIME_SCALE, 'exiting')).toBe(0);
      expect(existsSync(socketPath)).toBe(true); // systemd's, not the broker's
      const listening = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.event === 'listening');
      expect(listening).toMatchObject({ path: socketPath, fd: 3 });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  },
);
