/**
 * Runs an unmodified C program through the preload shim against the fake
 * device, walking the driver contract row by row.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { startFakeDevice, type FakeDeviceOptions } from '../../lib/fake/index';

type Fake = Awaited<ReturnType<typeof startFakeDevice>>;

const root = path.resolve(__dirname, '..', '..');
let workDir: string;
let client: string;

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-contract-'));
  client = path.join(workDir, 'contract_client');
  // Compiled during the test run, with the machine's own C compiler.
  execFileSync(process.env.CC ?? 'cc', [
    '-std=gnu11',
    '-Wall',
    '-Wextra',
    '-Werror',
    `-I${path.join(root, 'native', 'abi')}`,
    '-o',
    client,
    path.join(root, 'test', 'contract', 'contract_client.c'),
  ]);
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Run {
  lines: string[];
  ready(tag: string): Promise<void>;
  go(): void;
  exit: Promise<number | null>;
}

function runClient(fake: Fake, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(client, args, {
    env: { ...process.env, ...fake.env, CONTRACT_MTU: '4096', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters = new Map<string, () => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    const tag = /^READY (.+)$/.exec(line)?.[1];
    if (tag) waiters.get(tag)?.();
  });
  return {
    lines,
    ready: (tag) =>
      new Promise<void>((resolve) => {
        if (lines.includes(`READY ${tag}`)) resolve();
        else waiters.set(tag, resolve);
      }),
    go: () => child.stdin.write('go\n'),
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
}

async function expectAllOk(run: Run, minimumChecks: number) {
  const code = await run.exit;
  const report = run.lines.join('\n');
  expect(report).not.toMatch(/^not ok/m);
  expect(run.lines.filter((l) => l.startsWith('ok ')).length).toBeGreaterThanOrEqual(minimumChecks);
  expect(code).toBe(0);
}

async function scenario(
  options: FakeDeviceOptions,
  args: string[],
  minimumChecks: number,
  during?: (run: Run, fake: Fake) => Promise<void>,
) {
  const fake = await startFakeDevice(options);
  try {
    const run = runClient(fake, args);
    if (during) await during(run, fake);
    await expectAllOk(run, minimumChecks);
  } finally {
    await fake.stop();
  }
}

describe('the contract, through the shim, from C', () => {
  it('before SETHMCID: read/write/poll/ioctl rows', () => scenario({}, ['before-bind'], 11));

  it('a bound session: EFAULT, EIO twice, writes, reads, truncation, blocking, EINTR', () =>
    scenario({}, ['bind'], 20));

  it('a read into a bad pointer: EFAULT, and the message is gone (dequeued before the copy)', () =>
    scenario({}, ['read-fault'], 9));

  it('writes get EBUSY until the hypervisor answers the open', () =>
    scenario({ openAnswer: { delayMs: 300 } }, ['opening-busy'], 3));

  it('driver still in crqinit: SETHMCID EAGAIN', () =>
    scenario({ startup: { crqinitMs: 60_000 } }, ['not-ready'], 5));

  it('no adapter: state initial, have_vmc 0, SETHMCID EAGAIN', () =>
    scenario({ haveVmc: false }, ['no-adapter'], 5));

  it('driver failed: SETHMCID EIO', () => scenario({ protocolVersion: 0x0201 }, ['failed'], 5));

  it('driver failed under a bound session: close EIO', () =>
    scenario({ reinitializeAfterMs: 10 }, ['failed-after-bind'], 3, async (run, fake) => {
      await run.ready('bound');
      // The hypervisor comes back speaking another protocol version.
      await fake.configure({ protocolVersion: 0x0201 });
      await fake.reset();
      await new Promise((r) => setTimeout(r, 200));
      run.go();
    }));

  it('no buffers yet: SETHMCID ENOBUFS', () =>
    scenario({ buffers: { startup: 0 } }, ['no-buffers'], 5));

  it('older drivers: open EBUSY', () => scenario({ openBusyMs: 60_000 }, ['legacy-busy'], 1));

  it('REQUESTVMC returns the index and QUERY reports it', () =>
    scenario({ requestVmc: { outcome: 0x30000042 } }, ['requestvmc', '0x30000042'], 4));

  it.each(['EPERM', 'EIO', 'ENODEV', 'EINVAL'] as const)('REQUESTVMC %s', (outcome) =>
    scenario({ requestVmc: { outcome } }, ['requestvmc', outcome], 1),
  );

  it('a pool of 16 buffers: 16 writes, then EBUSY until an answer is read', () =>
    scenario({ poolSize: 16 }, ['pool', '16'], 5));

  it('a refused open: writes EIO, readers not told', () =>
    scenario({ openAnswer: { status: 4 } }, ['open-refused'], 3));

  it('a reset wakes a blocked reader with EBADFD and never shows in poll', () =>
    scenario({ reinitializeAfterMs: null }, ['reset-blocked-reader'], 6, async (run, fake) => {
      await run.ready('blocking');
      await new Promise((r) => setTimeout(r, 100));
      await fake.reset();
    }));

  it('blocking round trips back to back: every answer whole and in order', () =>
    scenario({}, ['blocking-echoes'], 4));

  it('a reset empties the queue: an unread answer stops being readable', () =>
    scenario({ reinitializeAfterMs: null }, ['reset-drains'], 4, async (run, fake) => {
      await run.ready('queued');
      await fake.reset();
      run.go();
    }));

  it('every intercepted call that succeeds leaves errno as it was, on each way it succeeds', () =>
    scenario(
      // One slot, so the session opened after the reset shares the old fd's;
      // buffers held by the hypervisor, so an injected message goes out at once.
      {
        maxHmcs: 1,
        buffers: { hypervisorOwned: 2 },
        requestVmc: { outcome: 0x30000042, delayMs: 200 },
      },
      ['errno-preserved'],
      40,
      async (run, fake) => {
        for (const tag of ['waiting', 'waiting-locally']) {
          await run.ready(tag);
          await new Promise((r) => setTimeout(r, 100));
          await fake.inject(0, Buffer.from(tag));
        }
        await run.ready('reset');
        await fake.reset();
        run.go();
      },
    ));

  it('slot contention across two processes, and a close that keeps the slot busy', async () => {
    const fake = await startFakeDevice({ maxHmcs: 1, closeAnswer: { delayMs: 400 } });
    try {
      const holder = runClient(fake, ['slot-holder']);
      await holder.ready('held');
      const waiter = runClient(fake, ['slot-waiter']);
      await waiter.ready('refused');
      holder.go();
      await holder.ready('closed');
      waiter.go();
      await expectAllOk(holder, 2);
      await expectAllOk(waiter, 3);
    } finally {
      await fake.stop();
    }
  });

  it('opening the fake’s socket as the device needs no environment variable', async () => {
    const fake = await startFakeDevice({});
    try {
      const run = runClient(fake, ['before-bind'], {
        IBMVMC_FAKE_SOCKET: '',
        CONTRACT_DEVICE: fake.socketPath,
      });
      await expectAllOk(run, 11);
    } finally {
      await fake.stop();
    }
  });
});
