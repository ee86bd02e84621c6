/**
 * Who may use the broker, and its socket: peers refused or let in read-only
 * (children running as nobody; the test runs as root), the socket's mode
 * and group, what is found at its path. Run with `node scripts/run-jest.js`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { startFakeDevice, type FakeDeviceHandle } from '../../lib/fake/index';
import { BROKER_ERROR_CODE, startBroker } from '../../lib/broker/index';
import { InvalidArgumentError } from '../../lib/errors/error-classes';
import { hmcEvent } from '../helpers/hmc-event';
import { rejection } from '../helpers/rejection';
import { TIME_SCALE } from '../helpers/time-scale';
import { startChildClient } from './helpers/child-client';
import { BrokerFixture, recordingLog, recordingMetrics } from './helpers/fixtures';
import { echoMessage, messageText, welcomedClient } from './helpers/wire-client';

jest.setTimeout(30_000 * TIME_SCALE);

const NOBODY = { uid: 65534, gid: 65534 };
const WAIT_MS = 10_000 * TIME_SCALE;
const asRoot = process.getuid?.() === 0;
const rootIt = asRoot ? it : it.skip;

let device: FakeDeviceHandle;
const fx = new BrokerFixture('broker-peers', () => device);

beforeAll(async () => {
  device = await startFakeDevice({ tmpDir: fx.dir, buffers: { hypervisorOwned: 4 } });
});
afterEach(() => fx.cleanUp());
afterAll(async () => {
  await device?.stop();
  fx.remove();
});

describe('peers', () => {
  rootIt('a peer not allowed gets ERROR EACCES, and the log says its uid', async () => {
    const log = recordingLog();
    const metrics = recordingMetrics();
    const broker = await fx.start({ log, metrics, socketMode: 0o666, allowUsers: ['root'] });
    const child = startChildClient(broker.address, NOBODY);
    try {
      const error = await child.waitFor('error', WAIT_MS);
      expect(error.code).toBe('EACCES');
      expect(error.text).toBe(
        'uid 65534 is not allowed: not in --allow-user, and none of its groups (65534) in --allow-group or --read-only-group',
      );
      await child.waitFor('closed', WAIT_MS);
      const line = log.lines.find((l) => l.event === 'client-refused');
      expect(line?.level).toBe('warn');
      expect(line?.fields).toMatchObject({ uid: 65534, gid: 65534 });
      expect(metrics.refused).toEqual(['not-allowed']);
      expect(broker.clientCount).toBe(0);
    } finally {
      child.child.kill('SIGKILL');
      await child.exited;
    }
  });

  rootIt('a peer in a read-only group gets events, and its requests are refused', async () => {
    const broker = await fx.start({ socketMode: 0o666, readOnlyGroups: ['nogroup'] });
    const child = startChildClient(broker.address, NOBODY);
    try {
      await child.waitFor('welcome', WAIT_MS);
      child.send({ type: 'subscribe', targets: [] });
      child.send({ type: 'request', token: 9, message: echoMessage('may I?') });
      const refused = await child.waitFor('refused', WAIT_MS);
      expect([refused.token, refused.code]).toEqual([9, BROKER_ERROR_CODE.READ_ONLY]);
      const [slot] = await device.sessions();
      await device.inject(slot.slot, hmcEvent('for listeners'));
      const event = await child.waitFor('event', WAIT_MS);
      expect(messageText(Buffer.from(String(event.message), 'hex'))).toBe('for listeners');
    } finally {
      child.child.kill('SIGKILL');
      await child.exited;
    }
  });

  it('root and the broker’s own user are always let in', async () => {
    const broker = await fx.start({ allowUsers: [65534], allowGroups: [] });
    const client = fx.track(await welcomedClient(broker.address));
    client.send({ type: 'request', token: 1, message: echoMessage('me') });
    expect(messageText((await client.next('answer')).message)).toBe('me');
  });
});

describe('the socket', () => {
  rootIt('is created with mode 0660 and the group given, in a parent made 0755', async () => {
    const socketPath = path.join(fx.dir, 'made', 'here', 'broker.sock');
    const log = recordingLog();
    const broker = await fx.start({ socketPath, group: 'nogroup', log });
    const stats = statSync(socketPath);
    expect(stats.isSocket()).toBe(true);
    expect(stats.mode & 0o777).toBe(0o660);
    expect([stats.uid, stats.gid]).toEqual([0, 65534]);
    expect(statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o755);
    expect(log.lines.find((l) => l.event === 'listening')?.fields).toEqual({
      path: socketPath,
      mode: '0660',
      group: 'nogroup',
    });
    await broker.close();
    expect(existsSync(socketPath)).toBe(false);
    await broker.close(); // again: the same, nothing more
  });

  it('replaces a stale socket (nobody listening)', async () => {
    const socketPath = fx.socketPath();
    // A process that dies listening leaves its socket file behind.
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(statSync(socketPath).isSocket()).toBe(true);
    const broker = await fx.start({ socketPath });
    fx.track(await welcomedClient(broker.address));
  });

  it('refuses to start where a broker answers, or where something else is', async () => {
    const running = await fx.start();
    const again = await rejection(fx.start({ socketPath: running.address }));
    expect(again).toBeInstanceOf(InvalidArgumentError);
    expect(again.message).toBe(`a broker is already running on ${running.address}`);
    const file = path.join(fx.dir, 'a-file');
    writeFileSync(file, 'not a socket');
    const dir = path.join(fx.dir, 'a-dir');
    mkdirSync(dir);
    expect((await rejection(fx.start({ socketPath: file }))).message).toMatch(
      /a-file exists and is a regular file: the broker will not replace it/,
    );
    expect((await rejection(fx.start({ socketPath: dir }))).message).toMatch(
      /a-dir exists and is a directory/,
    );
    expect(execFileSync('cat', [file]).toString()).toBe('not a socket');
  });

  it.each([
    [
      { allowUsers: ['no-such-user-here'] },
      'allowUsers: no user named "no-such-user-here" in /etc/passwd',
    ],
    [{ group: 'no-such-group' }, 'group: no group named "no-such-group" in /etc/group'],
    [{ maxOutboundBytes: 0 }, 'maxOutboundBytes must be an integer ≥ 1, got 0'],
    [{ socketPath: 'relative.sock' }, 'socketPath must be an absolute path, got "relative.sock"'],
    [{ bogus: 1 }, 'startBroker(): unknown option bogus'],
  ])('refuses bad options before anything is opened: %j', async (options, message) => {
    const error = await rejection(startBroker({ session: { hmcId: 'x' }, ...(options as object) }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe(message);
  });
});
