/**
 * The bench (`npm run bench`, scripts/bench/run.js) at a tiny size, so that
 * it keeps working: every path and size measured, every figure present. The
 * figures themselves are not asserted: speed is judged from full runs
 * (docs/PERFORMANCE.md), never in the suite.
 */
import { runReportingScript } from '../helpers/reporting-script';

interface PathFigures {
  perSec: number;
  medianUs: number;
  p99Us: number;
}
interface Ratio {
  median: number;
  q1: number;
  q3: number;
}
interface BenchResults {
  echo: Array<{
    dataBytes: number;
    client: PathFigures;
    session: PathFigures;
    c: PathFigures;
    ratioClientToC: Ratio;
    ratioSessionToC: Ratio;
  }>;
  pipeline: {
    perSec: number;
    eventLoopDelayP99Ms: number;
    fsStatPerSecAlone: number;
    fsStatPerSecStreaming: number;
    perSecPoolFree: number;
    perSecPoolBlocked: number;
    poolBlockedAllAlong: boolean;
  };
  broker: {
    echo64: { directMedianUs: number; brokerMedianUs: number; ratio: Ratio };
    pipeline: { clients: number; directPerSec: number; brokerPerSec: number; ratio: number };
  };
}

const positive = (n: number) => Number.isFinite(n) && n > 0;

test('a tiny bench measures every path at every size and prints every figure', async () => {
  const { results, stdout } = await runReportingScript<BenchResults>('scripts/bench/run.js', {
    BENCH_BLOCKS: '2',
    BENCH_COUNT: '20',
    BENCH_BLOCK_WARMUP: '10',
    BENCH_WARMUP: '20',
    BENCH_PIPELINE_COUNT: '600',
  });
  expect(results.echo.map((e) => e.dataBytes)).toEqual([64, 1024, 4096]);
  for (const e of results.echo) {
    for (const figures of [e.client, e.session, e.c])
      expect([figures.perSec, figures.medianUs, figures.p99Us].every(positive)).toBe(true);
    for (const ratio of [e.ratioClientToC, e.ratioSessionToC])
      expect([ratio.median, ratio.q1, ratio.q3].every(positive)).toBe(true);
  }
  const p = results.pipeline;
  expect(
    [
      p.perSec,
      p.eventLoopDelayP99Ms,
      p.fsStatPerSecAlone,
      p.fsStatPerSecStreaming,
      p.perSecPoolFree,
      p.perSecPoolBlocked,
    ].every(positive),
  ).toBe(true);
  expect(p.poolBlockedAllAlong).toBe(true);
  const b = results.broker;
  expect(
    [
      b.echo64.directMedianUs,
      b.echo64.brokerMedianUs,
      b.echo64.ratio.median,
      b.pipeline.directPerSec,
      b.pipeline.brokerPerSec,
      b.pipeline.ratio,
    ].every(positive),
  ).toBe(true);
  expect(b.pipeline.clients).toBe(8);
  for (const line of [
    /^ +4096 {2}\(b\) raw session .* \d\.\d\d \(\d\.\d\d–\d\.\d\d\)$/m,
    /^Pipelined, 16 in flight: \d+ msgs\/s$/m,
    /^Event-loop delay while streaming: p99 [\d.]+ ms/m,
    /^Streaming with that pool's only thread blocked: \d+ msgs\/s, with it free \d+ \([\d.]+\)$/m,
    /^Through the broker \(ibmvmc serve\), 64 B echoes: median [\d.]+ µs, direct [\d.]+ µs; throughput vs direct \d\.\d\d /m,
    /^Pipelined: 8 clients through the broker \d+ msgs\/s, one direct client \d+ msgs\/s: \d\.\d\d \(target ≥ 0\.9\)$/m,
  ])
    expect(stdout).toMatch(line);
}, 120_000);
