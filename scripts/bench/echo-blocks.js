// The echo measurement of the bench, apart from where the clients run: three
// block clients (a: HMC client, b: raw session, c: C), each taking one block
// at a time ("DATA_BYTES COUNT WARMUP" → round trips in ns), timed in short
// blocks that alternate in rotating order, so that the machine's drift cancels
// within a fraction of a second and no path always goes first. Used by
// `npm run bench` (clients on this machine, the fake device) and by the
// real-driver bench (clients in the POWER guest, the real driver).
'use strict';

/** The values at the given quantiles (0..1), from one sort. */
function quantiles(values, ...qs) {
  const sorted = [...values].sort((a, b) => a - b);
  return qs.map((q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
}

function stats(rttNs, totalNs) {
  const [median, p99] = quantiles(rttNs, 0.5, 0.99);
  return { perSec: (rttNs.length * 1e9) / totalNs, medianUs: median / 1000, p99Us: p99 / 1000 };
}

/**
 * Warms every client at every size, then times `blocks` blocks per size.
 *
 * @param paths {{ a, b, c }} block clients: `block(bytes, count, warmup)` → `{ rttNs, totalNs }`
 * @returns one entry per size: each path's figures and the ratios to C (median and quartiles of per-block ratios)
 */
async function echoBlocks(paths, { sizes, blocks, count, blockWarmup, warmup }) {
  // Everything is compiled at every size before anything is timed (C too, for symmetry).
  for (const bytes of sizes) for (const p of Object.values(paths)) await p.block(bytes, 0, warmup);
  const echo = [];
  for (const bytes of sizes) {
    const timed = { a: [], b: [], c: [] };
    for (let i = 0; i < blocks; i++) {
      const order = ['c', 'b', 'a'];
      for (let k = 0; k < i % 3; k++) order.push(order.shift());
      for (const key of order) timed[key].push(await paths[key].block(bytes, count, blockWarmup));
    }
    const pooled = (key) =>
      stats(
        timed[key].flatMap((r) => r.rttNs),
        timed[key].reduce((sum, r) => sum + r.totalNs, 0),
      );
    // Throughput ratio per block (C's time over the path's), then their median and quartiles.
    const ratios = (key) => timed.c.map((rc, i) => rc.totalNs / timed[key][i].totalNs);
    const summary = (values) => {
      const [q1, median, q3] = quantiles(values, 0.25, 0.5, 0.75);
      return { median, q1, q3 };
    };
    echo.push({
      dataBytes: bytes,
      client: pooled('a'),
      session: pooled('b'),
      c: pooled('c'),
      ratioClientToC: summary(ratios('a')),
      ratioSessionToC: summary(ratios('b')),
    });
  }
  return echo;
}

/** The echo table as `npm run bench` prints it: one line per path and size. */
function echoTable(echo) {
  const f = (n, d = 0) => n.toFixed(d).padStart(8);
  const lines = ['   data  path              msgs/s  median µs   p99 µs   vs C (quartiles)'];
  for (const e of echo) {
    for (const [name, s, ratio] of [
      ['(a) HMC client', e.client, e.ratioClientToC],
      ['(b) raw session', e.session, e.ratioSessionToC],
      ['(c) C client', e.c, null],
    ])
      lines.push(
        `${String(e.dataBytes).padStart(7)}  ${name.padEnd(16)}${f(s.perSec)}${f(s.medianUs, 1)}  ${f(s.p99Us, 1)}  ${
          ratio ? `${ratio.median.toFixed(2)} (${ratio.q1.toFixed(2)}–${ratio.q3.toFixed(2)})` : '1'
        }`,
      );
  }
  return lines.join('\n');
}

module.exports = { echoBlocks, echoTable, quantiles };
