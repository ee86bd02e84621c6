/**
 * The library and the CLI, end to end, on the real driver in state ready:
 * the packed package in a POWER guest, the unmodified ibmvmc module, and our
 * fake hypervisor behind QEMU's VMC adapter, scripted case by case. The
 * guest's side of each case is scripts/power/real-driver/guest/e2e.js.
 */
import {
  routerHandler,
  type FakeHandlerAnswer,
  type FakeMessageHandler,
  type QemuHypervisorOptions,
} from '../../lib/fake/index';
import { hmcEvent } from '../helpers/hmc-event';
import { bootGuest, type Guest, type ModuleParameters } from './guest';
import { hypervisorDefaults } from './hypervisor-options';

let guest: Guest;

beforeAll(async () => {
  guest = await bootGuest({ name: 'library', adapter: true });
});

afterAll(async () => {
  await guest?.stopAll();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function hypervisor() {
  const h = guest.hypervisor;
  if (h === null) throw new Error('this guest has no VMC adapter');
  return h;
}

/** A handler that keeps every message until `release()`, then answers each as the router would. */
function holdingHandler() {
  const held: Array<() => void> = [];
  let released = false;
  const handler: FakeMessageHandler = (message, session) => {
    if (released) return routerHandler(message, session);
    return new Promise<FakeHandlerAnswer>((resolve) =>
      held.push(() => resolve(routerHandler(message, session))),
    );
  };
  return {
    handler,
    get held() {
      return held.length;
    },
    release() {
      released = true;
      for (const answer of held.splice(0)) answer();
    },
  };
}

interface LibraryCase {
  /** The case in e2e.js. */
  readonly name: string;
  readonly title: string;
  readonly hypervisor?: QemuHypervisorOptions;
  readonly module?: ModuleParameters;
  /** Before the case starts (after the module is loaded). */
  readonly before?: () => void;
  /** What the host does at each "READY tag" before it says go. */
  readonly steps?: Readonly<Record<string, () => Promise<void> | void>>;
  readonly minimumPasses: number;
}

const pool = holdingHandler();

const CASES: readonly LibraryCase[] = [
  {
    name: 'open-echo-close',
    title: 'HmcSession and HmcClient open, echo and close',
    minimumPasses: 7,
  },
  {
    name: 'send-before-open-answered',
    title: 'send() absorbs EBUSY until the hypervisor answers the open (1 s late)',
    hypervisor: { openAnswer: { delayMs: 1000 } },
    minimumPasses: 2,
  },
  {
    name: 'full-pool',
    title: 'a full buffer pool (16): the 17th send waits until an answer is read',
    hypervisor: { poolSize: 16 },
    before: () => hypervisor().setHandler(pool.handler),
    steps: {
      'pool-full': () => {
        expect(pool.held).toBe(16);
        pool.release();
      },
    },
    minimumPasses: 5,
  },
  {
    name: 'reset-idle',
    title: 'a reset while idle is detected (no reconnect)',
    steps: { idle: () => hypervisor().reset({ reinitializeAfterMs: 50 }) },
    minimumPasses: 3,
  },
  {
    name: 'reset-idle-reconnect',
    title: 'a reset while idle, with reconnect: a new session carries messages',
    steps: { idle: () => hypervisor().reset({ reinitializeAfterMs: 50 }) },
    minimumPasses: 3,
  },
  {
    name: 'reset-receiving',
    title: 'a reset while receiving rejects the receive',
    steps: { receiving: () => hypervisor().reset({ reinitializeAfterMs: 50 }) },
    minimumPasses: 1,
  },
  {
    name: 'reset-receiving-reconnect',
    title: 'a reset while receiving, with reconnect: the receive gets the new session’s message',
    // Buffers the hypervisor holds for messages of its own, as for every inject.
    hypervisor: { buffers: { hypervisorOwned: 2 } },
    steps: {
      receiving: () => hypervisor().reset({ reinitializeAfterMs: 50 }),
      reconnected: async () => {
        // The new session's buffers may still be on their way.
        for (
          let i = 0;
          i < 100 && !hypervisor().inject(0, hmcEvent('unsolicited after reconnect'));
          i++
        )
          await sleep(20);
      },
    },
    minimumPasses: 2,
  },
  {
    name: 'reset-sending',
    title: 'a reset while a send waits for a buffer rejects the send',
    before: () => hypervisor().setHandler(() => undefined),
    steps: { sending: () => hypervisor().reset({ reinitializeAfterMs: 50 }) },
    minimumPasses: 1,
  },
  {
    name: 'close-unanswered',
    title: 'a close never answered holds the slot for the next open, until a reset',
    hypervisor: { closeAnswer: { delayMs: null } },
    steps: { 'slot-held': () => hypervisor().reset({ reinitializeAfterMs: 50 }) },
    minimumPasses: 2,
  },
  {
    name: 'two-sessions',
    title: 'two sessions at once with max_hmcs=2',
    module: { maxHmcs: 2 },
    hypervisor: { slots: 2 },
    minimumPasses: 3,
  },
  {
    name: 'smaller-mtu',
    title: 'a hypervisor offering a smaller MTU than max_mtu: the probe finds it',
    module: { maxMtu: 8192 },
    hypervisor: { mtu: 4096 },
    minimumPasses: 3,
  },
  {
    name: 'requestvmc',
    title: 'REQUESTVMC: success and each error the driver maps',
    steps: Object.fromEntries(
      (['0x30000042', 'EPERM', 'EIO', 'ENODEV', 'EINVAL'] as const).map((outcome) => [
        `requestvmc ${outcome}`,
        () =>
          hypervisor().configure({
            requestVmc: {
              outcome: outcome.startsWith('0x') ? Number(outcome) : (outcome as 'EPERM'),
            },
          }),
      ]),
    ),
    minimumPasses: 6,
  },
  {
    name: 'unsolicited',
    title: 'an unsolicited message reaches the client',
    hypervisor: { buffers: { hypervisorOwned: 2 } },
    steps: { connected: () => void hypervisor().inject(0, hmcEvent('event')) },
    minimumPasses: 1,
  },
];

/** Runs one case of e2e.js in the guest with the hypervisor and module set for it. */
async function runCase(c: LibraryCase): Promise<string[]> {
  const h = hypervisor();
  h.setHandler(null);
  await h.configure({ ...hypervisorDefaults(), ...c.hypervisor });
  await guest.loadModule(c.module);
  c.before?.();
  const p = guest.vm.spawn(['node', '/checks/e2e.js', c.name]);
  const stepsDone: Array<Promise<void>> = [];
  p.on('line', ({ line }: { line: string }) => {
    const tag = /^READY (.+)$/.exec(line)?.[1];
    if (tag === undefined) return;
    stepsDone.push(
      (async () => {
        await c.steps?.[tag]?.();
        p.write('go\n');
      })(),
    );
  });
  const exit = await p.exit;
  await Promise.all(stepsDone);
  const lines = p.lines.map((l) => l.line);
  const failed = lines.filter((l) => l.startsWith('FAIL'));
  const passed = lines.filter((l) => l.startsWith('PASS')).length;
  const report = lines.join('\n');
  expect({ failed, exit: exit.code }).toEqual({ failed: [], exit: 0 });
  expect(passed).toBeGreaterThanOrEqual(c.minimumPasses);
  return report.split('\n');
}

describe('the library on the real driver (state ready)', () => {
  it.each(CASES.map((c) => [c.title, c] as const))('%s', async (_title, c) => {
    const lines = await runCase(c);
    console.log(`${c.name}\n${lines.map((l) => `  ${l}`).join('\n')}`);
  });
});

describe('a driver bug: a transport event after a close writes into freed memory', () => {
  // ibmvmc_close frees the file's session but leaves hmcs[i].file_session
  // pointing at it; ibmvmc_reset(adapter, true) then calls ibmvmc_return_hmc
  // (hmc, true), which writes session->valid = 0 into the freed object. The
  // guest runs with SLUB's checks on kmalloc-32 (SLUB_GUARD), so the write is
  // reported instead of corrupting the free list (unguarded, a later open()
  // oopsed in __kmem_cache_alloc_node, called from ibmvmc_open).
  it('SLUB reports the freed session overwritten after close, then reset', async () => {
    const h = hypervisor();
    h.setHandler(null);
    await h.configure(hypervisorDefaults());
    await guest.loadModule();
    await guest.dmesg(true);
    const lines = await runCase({
      name: 'close-then-reset',
      title: '',
      steps: { closed: () => h.reset({ reinitializeAfterMs: 50 }) },
      minimumPasses: 2,
    });
    // Check every kmalloc-32 object now: the report names the write.
    await guest.vm.exec(['sh', '-c', 'echo 1 > /sys/kernel/slab/kmalloc-32/validate']);
    const log = await guest.dmesg();
    process.stdout.write(`${lines.join('\n')}\n${log}\n`);
    expect(log).toMatch(/Poison overwritten/);
    expect(log).toMatch(/Freed in ibmvmc_close/);
  });
});

describe('the CLI on the real driver', () => {
  beforeAll(async () => {
    const h = hypervisor();
    h.setHandler(null);
    await h.configure(hypervisorDefaults());
    await guest.loadModule();
  });

  const ibmvmc = (...args: string[]) => guest.vm.exec(['ibmvmc', ...args]);

  it('status: ready, exit 0', async () => {
    const r = await ibmvmc('status');
    expect(r.stdout).toMatch(/^Driver +ready \(state 3\)/m);
    expect(r.stdout).toMatch(/^VMC adapter +yes \(have_vmc 1\)/m);
    expect(r.code).toBe(0);
    const json = JSON.parse((await ibmvmc('status', '--json')).stdout) as {
      ok: boolean;
      driver: { state: number };
    };
    expect(json).toMatchObject({ ok: true, driver: { state: 3 } });
  });

  it('request-vmc: the DRC index, exit 0; EPERM: exit 4', async () => {
    await hypervisor().configure({ requestVmc: { outcome: 0x30000077 } });
    const ok = await ibmvmc('request-vmc');
    expect(ok.stdout).toContain('DRC index 0x30000077');
    expect(ok.code).toBe(0);
    await hypervisor().configure({ requestVmc: { outcome: 'EPERM' } });
    const refused = await ibmvmc('request-vmc');
    expect(refused.code).toBe(4);
    await hypervisor().configure({ requestVmc: { outcome: 0x30000001 } });
  });

  it('ping: 5 echoes answered, exit 0', async () => {
    const r = await ibmvmc('ping', '--count', '5', '--interval', '0');
    expect(r.stdout).toMatch(/5 echoes: 5 answered, 0 lost, 0 wrong/);
    expect(r.code).toBe(0);
  });

  it('send: an echo answered (exit 0); an unknown command refused (exit 10)', async () => {
    const echo = await ibmvmc(
      'send',
      '--target',
      'router',
      '--opcode',
      'echo',
      '--data',
      'de ad be ef',
    );
    expect(echo.stdout).toMatch(/de ad be ef/);
    expect(echo.code).toBe(0);
    const refused = await ibmvmc('send', '--target', 'lpar-configuration', '--opcode', '0x10');
    expect(refused.stderr).toMatch(/0x8001/);
    expect(refused.code).toBe(10);
  });

  it('listen: prints an unsolicited message, exit 0', async () => {
    await hypervisor().configure({ buffers: { hypervisorOwned: 2 } });
    const p = guest.vm.spawn(['ibmvmc', 'listen', '--count', '1', '--json']);
    // It says when it listens: messages before that are not its to print.
    await p.waitFor(/"kind":"listening"/);
    expect(hypervisor().inject(0, hmcEvent('listen me'))).toBe(true);
    const r = await p.exit;
    const out = p.stdout.join('\n');
    expect(out).toContain(Buffer.from('listen me').toString('hex'));
    expect(r.code).toBe(0);
  });
});
