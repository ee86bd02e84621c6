/**
 * Reaching a Unix socket on another partition through OpenSSH's socket
 * forwarding, as a fleet tool reaches each partition's broker: a real sshd on
 * 127.0.0.1 and `ssh -N -L` (test/helpers/ssh-forward.ts). The far end is a
 * plain echo server (the forward itself), then a broker on a fake device
 * with `ibmvmc ping --broker` through the forward. Without sshd the tests are
 * skipped, saying why, unless IBMVMC_REQUIRE_SSH=1 (CI), where they fail.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startBroker } from '../../lib/broker/index';
import { startFakeDevice } from '../../lib/fake/index';
import { runCli } from '../cli/run-cli';
import { descendantsOf, isAlive } from '../helpers/process-tree';
import { sshAvailable, startSshForward, type SshForward } from '../helpers/ssh-forward';

const ssh = sshAvailable();
const required = process.env.IBMVMC_REQUIRE_SSH === '1';
const sshIt = ssh.ok || required ? it : it.skip;
const skipped = ssh.ok || required ? '' : ` [skipped: ${ssh.why}]`;
if (!ssh.ok && !required) process.stdout.write(`ssh-forward.test: skipped: ${ssh.why}\n`);

/** An echo server on a Unix socket; `close()` ends its connections too. */
async function echoServer(socketPath: string): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Sends `data` on a new connection to `socketPath`; resolves with all it got
 * back before the connection closed (the far end hanging up included).
 */
function roundTrip(socketPath: string, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const socket = connect(socketPath, () => socket.write(data));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= data.length) socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The far end hanging up while we write ends the exchange; the bytes tell the rest.
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

let dir: string;
let forward: SshForward | undefined;
let echo: { close(): Promise<void> } | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-sshfwd-'));
});

afterEach(async () => {
  await forward?.stop();
  await echo?.close();
  forward = undefined;
  echo = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe(`a Unix socket forwarded over ssh -L${skipped}`, () => {
  sshIt('carries bytes both ways, on several connections at once', async () => {
    expect(ssh).toEqual({ ok: true });
    const remote = path.join(dir, 'remote.sock');
    echo = await echoServer(remote);
    forward = await startSshForward(remote);
    expect(forward.localSocketPath).not.toBe(remote);

    const big = randomBytes(256 * 1024);
    const small = Buffer.from('HELLO over ssh\n');
    const [a, b] = await Promise.all([
      roundTrip(forward.localSocketPath, big),
      roundTrip(forward.localSocketPath, small),
    ]);
    expect(a.equals(big)).toBe(true);
    expect(b.equals(small)).toBe(true);

    // Nobody at the far end: ssh accepts locally, then closes without a byte.
    await echo.close();
    echo = undefined;
    expect((await roundTrip(forward.localSocketPath, small)).length).toBe(0);
  });

  sshIt('stop() ends ssh, sshd and its session processes, and removes its files', async () => {
    expect(ssh).toEqual({ ok: true });
    const remote = path.join(dir, 'remote.sock');
    echo = await echoServer(remote);
    const before = new Set(descendantsOf(process.pid));
    forward = await startSshForward(remote);
    const started = descendantsOf(process.pid).filter((pid) => !before.has(pid));
    // ssh, the sshd listener, and sshd's processes for the connection.
    expect(started.length).toBeGreaterThanOrEqual(3);
    const local = forward.localSocketPath;
    // ssh makes it with StreamLocalBindMask 0177: only this user may connect.
    expect((lstatSync(local).mode & 0o777).toString(8)).toBe('600');

    await forward.stop();
    await forward.stop();
    expect(started.filter(isAlive)).toEqual([]);
    expect(existsSync(path.dirname(local))).toBe(false);
  });

  sshIt('ibmvmc ping --broker reaches a broker on the far side of the forward', async () => {
    expect(ssh).toEqual({ ok: true });
    const fake = await startFakeDevice({ tmpDir: dir });
    const brokerSocket = path.join(dir, 'broker.sock');
    const broker = await startBroker({
      socketPath: brokerSocket,
      session: { hmcId: 'ssh-test', path: fake.socketPath, sysfsRoot: fake.sysfsRoot },
    });
    try {
      forward = await startSshForward(brokerSocket);
      const r = await runCli(['ping', '--broker', forward.localSocketPath, '--count', '3']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(
          `^PING router on the broker at ${forward.localSocketPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 3 echoes of 64 bytes, MTU 4096$`,
          'm',
        ),
      );
      expect(r.stdout).toMatch(/^--- 3 echoes: 3 answered, 0 lost, 0 wrong ---$/m);
    } finally {
      await forward?.stop();
      forward = undefined;
      await broker.close();
      await fake.stop();
    }
  });
});
