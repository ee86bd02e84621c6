/**
 * `--broker PATH` (and IBMVMC_BROKER) on the commands that speak HMC
 * commands: ping, send and listen go through a broker's session instead of
 * opening one; status says whether a broker runs and holds the session.
 */
import * as path from 'node:path';
import { startBroker, type Broker } from '../../lib/broker/index';
import { startFakeDevice, type FakeDeviceHandle } from '../../lib/fake/index';
import { hmcEvent } from '../helpers/hmc-event';
import { envWithoutShim, runCli, startCli, TEST_TMPDIR } from './run-cli';

let fake: FakeDeviceHandle;
let broker: Broker;
let socket: string;
let brokers = 0;

beforeEach(async () => {
  fake = await startFakeDevice({ buffers: { hypervisorOwned: 4 }, tmpDir: TEST_TMPDIR });
  socket = path.join(TEST_TMPDIR, `cli-broker-${++brokers}.sock`);
  broker = await startBroker({
    socketPath: socket,
    session: { hmcId: 'cli-broker', path: fake.socketPath, sysfsRoot: fake.sysfsRoot },
  });
});
afterEach(async () => {
  await broker.close();
  await fake.stop();
});

/** The broker's one session, once it is up. */
async function brokerSlot(): Promise<number> {
  for (;;) {
    const slot = (await fake.sessions()).find((s) => s.hmcId === 'cli-broker')?.slot;
    if (slot !== undefined) return slot;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('--broker', () => {
  it('ping goes through the broker (no session of its own), without the fake shim', async () => {
    const r = await runCli(['ping', '--broker', socket, '--count', '2', '--interval', '0'], {
      env: envWithoutShim(),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      `PING router on the broker at ${socket}: 2 echoes of 64 bytes, MTU 4096`,
    );
    expect(r.stdout).toMatch(/^--- 2 echoes: 2 answered, 0 lost, 0 wrong ---$/m);
    // One session on the device: the broker's.
    expect((await fake.sessions()).map((s) => s.hmcId)).toEqual(['cli-broker']);
  });

  it('IBMVMC_BROKER does the same when no --device is given', async () => {
    const r = await runCli(['send', '--target', 'router', '--opcode', 'echo', '--data', 'abcd'], {
      env: { ...envWithoutShim(), IBMVMC_BROKER: socket },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Response to echo \(0x0103\) to router \(0x8000\) in [\d.]+ ms:$/m);
    expect(r.stdout).toMatch(/^ {4}0000 {2}ab cd +\.\.$/m);
  });

  it('send gets the typed error and exit code of what the broker refuses', async () => {
    const r = await runCli(
      ['send', '--broker', socket, '--target', 'router', '--opcode', 'close'],
      { env: envWithoutShim() },
    );
    expect(r.code).toBe(10);
    expect(r.stderr).toMatch(/^ibmvmc send: the broker refused the request: /);
  });

  it('listen prints what the broker passes on', async () => {
    const run = startCli(['listen', '--broker', socket, '--count', '1'], {
      env: envWithoutShim(),
    });
    await run.waitFor('Listening through ');
    expect(run.stderr()).toBe(
      `Listening through the broker at ${socket} (MTU 4096); Ctrl-C stops.\n`,
    );
    await fake.inject(await brokerSlot(), hmcEvent('event'));
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /target=lpar-configuration \(0x8001\) opcode=0x0200 .* 65 76 65 6e 74$/m,
    );
  });

  it('says when no broker listens there (exit 3), and refuses --broker with --device', async () => {
    const missing = path.join(TEST_TMPDIR, 'no-broker-here.sock');
    const r = await runCli(['ping', '--broker', missing, '--count', '1'], {
      env: envWithoutShim(),
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `ibmvmc ping: no broker is listening on ${missing} (ENOENT): start one with "ibmvmc serve" (or "systemctl start ibmvmc-broker.socket"), or point --broker / IBMVMC_BROKER at its socket\n`,
    );
    const both = await runCli(['ping', '--broker', socket, '--device', '/dev/null']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(
      /--broker goes through the broker's session: leave out --device and --fake/,
    );
  });
});

describe('ibmvmc status', () => {
  it('says a broker runs on its socket and holds the session', async () => {
    await brokerSlot();
    const r = await runCli(['status', '--fake'], {
      env: { ...process.env, IBMVMC_BROKER: socket },
    });
    expect(r.stdout).toMatch(
      new RegExp(
        `^Broker {7}${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: running, holds the session \\(MTU 4096\\); other programs can share it with --broker$`,
        'm',
      ),
    );
    const json = await runCli(['status', '--fake', '--json'], {
      env: { ...process.env, IBMVMC_BROKER: socket },
    });
    expect((JSON.parse(json.stdout) as { broker: unknown }).broker).toEqual({
      state: 'serving',
      socket,
      mtu: 4096,
    });
  });
});
