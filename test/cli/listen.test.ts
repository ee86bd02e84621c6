/** `ibmvmc listen`: what the hypervisor sends on its own, decoded, until stopped. */
import { startFakeDevice, type FakeDeviceHandle } from '../../lib/fake/index';
import { hmcEvent } from '../helpers/hmc-event';
import { startCli, TEST_TMPDIR } from './run-cli';

let fake: FakeDeviceHandle;
beforeEach(async () => {
  // The hypervisor needs buffers of its own to send anything unprompted.
  fake = await startFakeDevice({ buffers: { hypervisorOwned: 4 }, tmpDir: TEST_TMPDIR });
});
afterEach(() => fake.stop());

const EVENT = hmcEvent('event');

/** Starts `ibmvmc listen` on the fake and waits until it listens; returns its slot. */
async function listening(args: string[]) {
  const run = startCli(['listen', ...args], { env: { ...process.env, ...fake.env } });
  await run.waitFor(args.includes('--json') ? '"kind":"listening"' : 'Listening on ');
  const slot = (await fake.sessions()).find((s) => s.hmcId === 'ibmvmc-cli')?.slot;
  if (slot === undefined) throw new Error('no session of ibmvmc listen');
  return { run, slot };
}

describe('ibmvmc listen', () => {
  it('prints each message decoded, and malformed ones with what is wrong', async () => {
    const { run, slot } = await listening(['--count', '2']);
    expect(run.stderr()).toMatch(
      /^Listening on \/dev\/ibmvmc \(the fake device at .*\) \(HMC id "ibmvmc-cli", MTU 4096\); Ctrl-C stops\.\n$/,
    );
    await fake.inject(slot, EVENT);
    await fake.inject(slot, Buffer.from('garbage'));
    const r = await run.done;
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^\d{4}-\d\d-\d\dT[\d:.]+Z token=0 target=lpar-configuration \(0x8001\) opcode=0x0200 flags=0x00 rc=0x0000 data=5 bytes: 65 76 65 6e 74$/,
      ),
      expect.stringMatching(
        /^\S+Z malformed, 7 bytes: malformed HMC message: length is 7 bytes; expected at least 32 bytes \(a whole header\): 67 61 72 62 61 67 65$/,
      ),
    ]);
  });

  it('--json prints one document per message', async () => {
    const { run, slot } = await listening(['--count', '1', '--json']);
    await fake.inject(slot, EVENT);
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // notes are for people
    const [ready, message] = r.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(ready).toEqual({
      kind: 'listening',
      device: fake.socketPath,
      hmcId: 'ibmvmc-cli',
      mtu: 4096,
    });
    expect(message).toMatchObject({
      kind: 'message',
      reason: 'not-a-response',
      message: {
        token: 0,
        target: 0x8001,
        targetName: 'lpar-configuration',
        opcode: 0x200,
        data: '6576656e74',
      },
    });
  });

  it('runs until SIGTERM, then closes and exits 0', async () => {
    const { run } = await listening([]);
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    // The session and the slot are released.
    expect(await fake.sessions()).toEqual(
      expect.not.arrayContaining([
        expect.objectContaining({ hmcId: 'ibmvmc-cli', state: 'ready' }),
      ]),
    );
  });

  it('exits 8 when the channel is reset', async () => {
    const { run } = await listening([]);
    await fake.reset();
    const r = await run.done;
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/\nibmvmc listen: .*reset.*\n$/);
  });
});
