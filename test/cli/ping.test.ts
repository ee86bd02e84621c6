/**
 * `ibmvmc ping`: round trips, the summary, lost and wrong echoes, Ctrl-C,
 * and --fake both in this process's shim and through a child.
 */
import {
  routerHandler,
  startFakeDevice,
  type FakeDeviceHandle,
  type FakeMessageHandler,
} from '../../lib/fake/index';
import { decodeHmcMessage, encodeResponse, HMC_ROUTER_OPCODE } from '../../lib/index';
import { envWithoutShim, runCli, startCli, TEST_TMPDIR } from './run-cli';

const SUMMARY = /^round trip min\/median\/p99\/max = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/m;

/** A fake whose router treats the echo with this sequence number specially. */
async function fakeWith(change: (seq: number) => 'drop' | 'corrupt' | undefined) {
  const handler: FakeMessageHandler = (message, session) => {
    const request = decodeHmcMessage(message);
    if (request.opcode === HMC_ROUTER_OPCODE.ECHO && request.data.length >= 4) {
      const what = change(request.data.readUInt32BE(0));
      if (what === 'drop') return undefined;
      if (what === 'corrupt') {
        const data = Buffer.from(request.data);
        data[data.length - 1] ^= 0xff;
        return encodeResponse(request, { data });
      }
    }
    return routerHandler(message, session);
  };
  return startFakeDevice({ handler, tmpDir: TEST_TMPDIR });
}

let fake: FakeDeviceHandle | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

describe('ibmvmc ping', () => {
  it('prints each round trip and a summary, and exits 0', async () => {
    const r = await runCli(['ping', '--fake', '--count', '3', '--interval', '0']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'PING router on a fake device started for this command: 3 echoes of 64 bytes, MTU 4096',
    );
    expect(lines.slice(1, 4)).toEqual([
      expect.stringMatching(/^64 bytes: seq=1 time=[\d.]+ ms$/),
      expect.stringMatching(/^64 bytes: seq=2 time=[\d.]+ ms$/),
      expect.stringMatching(/^64 bytes: seq=3 time=[\d.]+ ms$/),
    ]);
    expect(lines[4]).toBe('--- 3 echoes: 3 answered, 0 lost, 0 wrong ---');
    expect(lines[5]).toMatch(SUMMARY);
    expect(lines).toHaveLength(6);
    expect(r.stderr).toBe(''); // no progress line: not a terminal
  });

  it('--size and --quiet', async () => {
    const r = await runCli(['ping', '--fake', '-c', '5', '-i', '0', '-s', '100', '-q']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^PING router on .*: 5 echoes of 100 bytes, MTU 4096\n--- 5 echoes: 5 answered, 0 lost, 0 wrong ---\n/,
    );
  });

  it('refuses a size over the MTU (exit 2)', async () => {
    const r = await runCli(['ping', '--fake', '--size', '4065']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'ibmvmc ping: --size must be from 1 to 4064, got 4065\nRun "ibmvmc ping --help" for usage.\n',
    );
  });

  it('--json gives one document with every echo and the statistics', async () => {
    const r = await runCli(['ping', '--fake', '--count', '4', '--interval', '0', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      sent: number;
      answered: number;
      lost: number;
      wrong: number;
      roundTripMs: Record<string, number>;
      echoes: Array<{ seq: number; outcome: string; ms: number }>;
    };
    expect(doc).toMatchObject({
      fake: true,
      sent: 4,
      answered: 4,
      lost: 0,
      wrong: 0,
      interrupted: false,
    });
    expect(doc.echoes.map((e) => [e.seq, e.outcome])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'ok'],
      [4, 'ok'],
    ]);
    const { min, median, p99, max } = doc.roundTripMs;
    expect(min).toBeLessThanOrEqual(median);
    expect(median).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(max);
  });

  it('counts lost and wrong echoes, carries on, and exits 12', async () => {
    fake = await fakeWith((seq) => (seq === 2 ? 'drop' : seq === 3 ? 'corrupt' : undefined));
    const r = await runCli(['ping', '--count', '4', '--interval', '0', '--timeout', '1000'], {
      env: { ...process.env, ...fake.env },
    });
    expect(r.code).toBe(12);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PING router on \/dev\/ibmvmc \(the fake device at .*\): 4 echoes/);
    expect(lines[2]).toBe('seq=2 lost: no answer within 1000 ms');
    expect(lines[3]).toBe(
      'seq=3 wrong: the echo came back with other data: sent 64 bytes, got 64 that differ',
    );
    expect(lines[4]).toMatch(/^64 bytes: seq=4 /);
    expect(lines[5]).toBe('--- 4 echoes: 2 answered, 1 lost, 1 wrong ---');
    expect(lines[6]).toMatch(SUMMARY);
  });

  it('stops at Ctrl-C, prints the summary, and closes', async () => {
    const run = startCli(['ping', '--fake', '--count', '0', '--interval', '10']);
    await run.waitFor('seq=3 ');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^--- (\d+) echoes: \1 answered, 0 lost, 0 wrong \(interrupted\) ---$/m,
    );
    expect(r.stdout).toMatch(SUMMARY);
  });

  it('--fake without the shim in the environment runs the command in a child, and SIGTERM reaches it', async () => {
    const run = startCli(['ping', '--fake', '--count', '0', '--interval', '10'], {
      env: envWithoutShim(),
    });
    await run.waitFor('seq=2 ');
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PING router on a fake device started for this command/);
    expect(r.stdout).toMatch(/\(interrupted\) ---$/m);
  });

  it('exits 7 when the hypervisor never confirms the session', async () => {
    const r = await runCli(['ping', '--fake', '--open-delay-ms', 'never', '--timeout', '200']);
    expect(r.code).toBe(7);
    expect(r.stderr).toEqual(
      expect.stringMatching(
        /^ibmvmc ping: could not open the command path on \S+ within 200 ms: exchange-options \(0x0001\) to router \(0x8000\) timed out after \d+ ms: the driver did not take it \(the hypervisor has not confirmed the session, or every buffer is in flight\)\n$/,
      ),
    );
  });
});
