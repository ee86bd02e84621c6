/**
 * The broker killed (kill -9) and started again while client programs wait:
 * their pending requests reject with a typed error and their clients close;
 * `connect({ broker })` then works again against the new broker, which
 * replaces the dead one's stale socket and gets the session slot back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import {
  routerHandler,
  startFakeDevice,
  type FakeDeviceHandle,
  type FakeMessageHandler,
} from '../../lib/fake/index';
import { connect, HMC_ROUTER_OPCODE, SessionResetError } from '../../lib/index';
import { decodeHmcMessage } from '../../lib/protocol/hmc-message';
import { CLI } from '../cli/run-cli';
import { rejection } from '../helpers/rejection';
import { TIME_SCALE } from '../helpers/time-scale';
import { testDir } from './helpers/fixtures';

jest.setTimeout(60_000 * TIME_SCALE);

const dir = testDir('broker-restart');
let device: FakeDeviceHandle;
const children: ChildProcess[] = [];

afterAll(async () => {
  // The second broker stops as a service would; its socket goes with it.
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  await device?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `ibmvmc serve` on the fake, in a child; resolves once its session is open. */
async function serve(socket: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--socket', socket], {
    env: { ...process.env, ...device.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(
      () => reject(new Error(`no session within the deadline:\n${log}`)),
      10_000 * TIME_SCALE,
    );
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('"event":"session-open"')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

it('kill -9 of the broker: waiting clients get SessionResetError; a new broker serves them again', async () => {
  // Echoes of "hold" are never answered: requests in flight when the broker dies.
  const hold: FakeMessageHandler = (message, session) =>
    decodeHmcMessage(message).opcode === HMC_ROUTER_OPCODE.ECHO &&
    decodeHmcMessage(message).data.toString() === 'hold'
      ? undefined
      : routerHandler(message, session);
  device = await startFakeDevice({ tmpDir: dir, handler: hold });
  const socket = path.join(dir, 'broker.sock');
  const first = await serve(socket);
  const clients = await Promise.all([connect({ broker: socket }), connect({ broker: socket })]);
  const closed = clients.map((c) => new Promise<void>((resolve) => c.once('close', resolve)));
  await clients[0].echo(Buffer.from('before'));
  const pending = clients.map((c) => rejection(c.echo(Buffer.from('hold'))));
  await new Promise((resolve) => setTimeout(resolve, 100)); // both on their way to the hypervisor

  first.kill('SIGKILL');
  for (const error of await Promise.all(pending)) {
    expect(error).toBeInstanceOf(SessionResetError);
    expect(error.message).toMatch(
      /the broker at .*broker\.sock closed the connection: connect again once it is back/,
    );
  }
  await Promise.all(closed);
  expect(clients.map((c) => c.state)).toEqual(['closed', 'closed']);

  // Its socket file is left behind (stale); the new broker replaces it, and the
  // slot the dead one held is free again once the kernel closed its fd.
  await serve(socket);
  const again = await connect({ broker: socket, timeoutMs: 10_000 * TIME_SCALE });
  expect((await again.echo(Buffer.from('after'))).data.toString()).toBe('after');
  await again.close();
  expect((await device.sessions()).length).toBe(1);
});
