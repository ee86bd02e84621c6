#!/usr/bin/env node
// npm run bench: echo round trips through (a) the HMC command client, (b) the
// raw session API and (c) a C client doing blocking write and read, all on
// one fake device, measured in one run so the machine's noise cancels; then
// pipelined throughput with event-loop delay and a thread-pool probe.
// Prints a table and writes bench-results.json (or the path given).
'use strict';
const { execFileSync, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');

const root = path.resolve(__dirname, '..', '..');
const { startFakeDevice } = require(path.join(root, 'dist', 'cjs', 'fake'));
const run = promisify(execFile);
const COUNT = Number(process.env.BENCH_COUNT ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// Round trips each client makes before its clock starts (the JIT's warm-up, for C too).
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5000);
const SIZES = [64, 1024, 4096];
const out = process.argv[2] ?? path.join(root, 'bench-results.json');

function stats(rttNs, totalNs) {
  const sorted = [...rttNs].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000;
  return { perSec: (rttNs.length * 1e9) / totalNs, medianUs: at(0.5), p99Us: at(0.99) };
}

// The median of rounds, by throughput: one slow round does not decide.
function medianRound(rounds) {
  return [...rounds].sort((a, b) => a.perSec - b.perSec)[Math.floor(rounds.length / 2)];
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibmvmc-bench-'));
  const cClient = path.join(dir, 'c-client');
  execFileSync(process.env.CC ?? 'cc', [
    '-O2',
    `-I${path.join(root, 'native', 'abi')}`,
    '-o',
    cClient,
    path.join(__dirname, 'c-client.c'),
  ]);
  // MTU 8192 so that 4 KiB of data plus the 32-byte header fits.
  const fake = await startFakeDevice({ mtu: 8192, maxMtu: 8192, poolSize: 16 });
  const env = { ...process.env, ...fake.env };
  const node = (mode, bytes, count, extraEnv = {}) =>
    run(
      process.execPath,
      [
        path.join(__dirname, 'node-client.js'),
        ...[mode, fake.socketPath, fake.sysfsRoot, bytes, count, WARMUP].map(String),
      ],
      { env: { ...env, ...extraEnv }, maxBuffer: 64 << 20 },
    ).then(({ stdout }) => JSON.parse(stdout));
  const c = (bytes, count) =>
    run(cClient, [bytes, count, 8192, WARMUP].map(String), { env, maxBuffer: 64 << 20 }).then(
      ({ stdout }) => JSON.parse(stdout),
    );
  const results = {
    machine: machine(),
    count: COUNT,
    warmup: WARMUP,
    rounds: ROUNDS,
    echo: [],
    pipeline: null,
  };
  try {
    // The fake is JavaScript too: one unmeasured pass compiles its hot paths
    // before the first measured client, whichever that is.
    await Promise.all([c(64, WARMUP), node('session', 64, WARMUP), node('client', 64, WARMUP)]);
    for (const bytes of SIZES) {
      const rounds = { a: [], b: [], c: [] };
      for (let r = 0; r < ROUNDS; r++) {
        // Interleaved, so drift in the machine's speed hits all three alike.
        const rc = await c(bytes, COUNT);
        rounds.c.push(stats(rc.rttNs, rc.totalNs));
        const rb = await node('session', bytes, COUNT);
        rounds.b.push(stats(rb.rttNs, rb.totalNs));
        const ra = await node('client', bytes, COUNT);
        rounds.a.push(stats(ra.rttNs, ra.totalNs));
      }
      const a = medianRound(rounds.a);
      const b = medianRound(rounds.b);
      const cc = medianRound(rounds.c);
      results.echo.push({
        dataBytes: bytes,
        client: a,
        session: b,
        c: cc,
        ratioClientToC: a.perSec / cc.perSec,
        ratioSessionToC: b.perSec / cc.perSec,
      });
    }
    const p = await node('pipeline', 64, COUNT * 5, { UV_THREADPOOL_SIZE: '1' });
    results.pipeline = { ...p, perSec: (p.messages * 1e9) / p.totalNs };
  } finally {
    await fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  print(results);
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nJSON: ${path.relative(process.cwd(), out)}`);
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    date: new Date().toISOString(),
  };
}

function print(r) {
  const f = (n, d = 0) => n.toFixed(d).padStart(8);
  console.log(
    `Echo round trips on the fake device (${r.count} per run after ${r.warmup} unmeasured, median of ${r.rounds} runs)`,
  );
  console.log(`${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}\n`);
  console.log('   data  path              msgs/s  median µs   p99 µs   vs C');
  for (const e of r.echo) {
    for (const [name, s, ratio] of [
      ['(a) HMC client', e.client, e.ratioClientToC],
      ['(b) raw session', e.session, e.ratioSessionToC],
      ['(c) C client', e.c, 1],
    ])
      console.log(
        `${String(e.dataBytes).padStart(7)}  ${name.padEnd(16)}${f(s.perSec)}${f(s.medianUs, 1)}  ${f(s.p99Us, 1)}  ${ratio.toFixed(2)}`,
      );
  }
  const p = r.pipeline;
  console.log(`\nPipelined, ${p.inFlight} in flight: ${p.perSec.toFixed(0)} msgs/s`);
  console.log(
    `Event-loop delay while streaming: p99 ${p.eventLoopDelayP99Ms.toFixed(2)} ms, max ${p.eventLoopDelayMaxMs.toFixed(2)} ms`,
  );
  console.log(
    `fs.stat on a 1-thread pool: ${p.fsStatPerSecAlone.toFixed(0)}/s alone, ${p.fsStatPerSecStreaming.toFixed(0)}/s while streaming (${(p.fsStatPerSecStreaming / p.fsStatPerSecAlone).toFixed(2)})`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
