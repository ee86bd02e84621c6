/**
 * The bench on the real driver: echo round trips through the HMC client, the
 * raw session and our C client (blocking write and read), all in the POWER
 * guest on the unmodified driver, timed in alternating blocks as
 * `npm run bench` does on the fake (scripts/bench/echo-blocks.js). Both sides
 * are emulated (the guest under TCG, the hypervisor behind QEMU), so only the
 * ratios to C mean anything; they are printed, not asserted (speed is judged
 * from the figures, never in a test). BENCH_REAL_BLOCKS, BENCH_REAL_COUNT and BENCH_REAL_WARMUP set the size.
 */
import {
  echoBlocks,
  echoTable,
  type BlockClient,
  type EchoFigures,
} from '../../scripts/bench/echo-blocks';
import type { GuestProcess } from '../../scripts/power/real-driver/vm';
import { bootGuest, type Guest } from './guest';
import { hypervisorDefaults } from './hypervisor-options';

const MTU = 8192; // 4 KiB of data plus the header fits, as in npm run bench
const BLOCKS = Number(process.env.BENCH_REAL_BLOCKS ?? 9);
const COUNT = Number(process.env.BENCH_REAL_COUNT ?? 100);
const WARMUP = Number(process.env.BENCH_REAL_WARMUP ?? 200);

let guest: Guest;

beforeAll(async () => {
  guest = await bootGuest({ name: 'bench', adapter: true });
});

afterAll(async () => {
  await guest?.stopAll();
});

/**
 * 64-byte round trips in alternating blocks, C first in each round: the
 * median over blocks of C's time over each path's.
 */
async function ratiosToC<K extends string>(
  c: BlockClient,
  others: Record<K, BlockClient>,
): Promise<Record<K, number>> {
  const keys = Object.keys(others) as K[];
  for (const k of keys) await others[k].block(64, 0, WARMUP);
  const ratios = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < BLOCKS; i++) {
    const base = await c.block(64, COUNT, 20);
    for (const k of keys)
      ratios[k].push(base.totalNs / (await others[k].block(64, COUNT, 20)).totalNs);
  }
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1] ?? 0;
  return Object.fromEntries(keys.map((k) => [k, median(ratios[k])])) as Record<K, number>;
}

/** A bench client in the guest: one "BYTES COUNT WARMUP" line in, one JSON line out. */
function guestBlockClient(proc: GuestProcess): BlockClient & { end(): Promise<unknown> } {
  const waiting: Array<{ resolve: (v: never) => void; reject: (e: Error) => void }> = [];
  proc.on('line', ({ stream, line }: { stream: string; line: string }) => {
    if (stream === 'out') waiting.shift()?.resolve(JSON.parse(line) as never);
    else process.stderr.write(`${proc.argv[0]}: ${line}\n`);
  });
  void proc.exit.then((r) => {
    for (const w of waiting.splice(0))
      w.reject(new Error(`${proc.argv.join(' ')} exited (${r.code ?? r.signal})`));
  });
  return {
    block: (bytes, count, warmup) =>
      new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        proc.write(`${bytes} ${count} ${warmup}\n`);
      }),
    end: () => {
      proc.closeStdin();
      return proc.exit;
    },
  };
}

test('echo round trips on the real driver: HMC client, raw session and C, with ratios', async () => {
  const hypervisor = guest.hypervisor;
  if (hypervisor === null) throw new Error('no VMC adapter');
  await hypervisor.configure({ ...hypervisorDefaults(), mtu: MTU, poolSize: 16 });
  await guest.loadModule({ maxMtu: MTU });
  const nodeClient = (mode: string) =>
    guestBlockClient(
      guest.vm.spawn(
        [
          'node',
          '/app/node_modules/ibmvmc/scripts/bench/node-client.js',
          mode,
          '/dev/ibmvmc',
          '/sys',
        ],
        { env: { BENCH_MTU: String(MTU) } },
      ),
    );
  const paths = {
    c: guestBlockClient(guest.vm.spawn(['/app/bin/bench_c_client', String(MTU)])),
    b: nodeClient('session'),
    a: nodeClient('client'),
  };
  // The floors under the library (node-client.js): the addon alone, with and
  // without the event loop. If they fall as short of C as the session does,
  // the shortfall is the platform's (Node under TCG), not the library's.
  const floors = { watch: nodeClient('addon-watch'), spin: nodeClient('addon-spin') };
  let echo: EchoFigures[];
  let floorRatios: Record<'session' | 'watch' | 'spin', number>;
  try {
    echo = await echoBlocks(paths, {
      sizes: [64, 1024, 4096],
      blocks: BLOCKS,
      count: COUNT,
      blockWarmup: 20,
      warmup: WARMUP,
    });
    floorRatios = await ratiosToC(paths.c, { session: paths.b, ...floors });
  } finally {
    await Promise.all([...Object.values(paths), ...Object.values(floors)].map((p) => p.end()));
  }
  process.stdout.write(
    `\nEcho round trips on the real driver (POWER9 guest under TCG, ${guest.vm.hello.kernel}, Node ${guest.vm.hello.node}): ` +
      `${BLOCKS} blocks per size of ${COUNT} timed round trips per path, paths alternating. ` +
      `Both sides are emulated: only the ratios to C mean anything.\n\n${echoTable(echo)}\n\n`,
  );
  process.stdout.write(
    `At 64 B, the median of per-block ratios to C (${BLOCKS} blocks of ${COUNT}): ` +
      `raw session ${floorRatios.session.toFixed(2)}, ` +
      `addon with the event loop (its watcher, no session) ${floorRatios.watch.toFixed(2)}, ` +
      `addon spinning on read (no event loop) ${floorRatios.spin.toFixed(2)}.\n\n`,
  );
  expect(echo.map((e) => e.dataBytes)).toEqual([64, 1024, 4096]);
  for (const r of Object.values(floorRatios)) expect(r).toBeGreaterThan(0);
  for (const e of echo)
    for (const figures of [e.client, e.session, e.c]) expect(figures.perSec).toBeGreaterThan(0);
}, 900_000);
