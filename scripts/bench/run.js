#!/usr/bin/env node
// npm run bench: echo round trips through (a) the HMC command client, (b) the
// raw session API and (c) a C client doing blocking write and read, all on
// one fake device, measured in one run so the machine's noise cancels; then
// pipelined throughput with event-loop delay and a thread-pool probe.
// Prints a table and writes bench-results.json (or the path given).
'use strict';
const { execFileSync, execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { promisify } = require('node:util');

const root = path.resolve(__dirname, '..', '..');
const { startFakeDevice } = require(path.join(root, 'dist', 'cjs', 'fake'));
const run = promisify(execFile);
const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 20);
const COUNT = Number(process.env.BENCH_COUNT ?? 500);
// Round trips each block makes before its clock starts (the session is new).
const BLOCK_WARMUP = Number(process.env.BENCH_BLOCK_WARMUP ?? 200);
// Round trips each client makes at each size before the first block (the JIT's warm-up, for C too).
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2000);
// Messages the pipelined run streams (after 500 unmeasured).
const PIPELINE_COUNT = Number(process.env.BENCH_PIPELINE_COUNT ?? 15000);
const SIZES = [64, 1024, 4096];
const MTU = 8192; // so that 4 KiB of data plus the 32-byte header fits
const out = process.argv[2] ?? path.join(root, 'bench-results.json');

/** The values at the given quantiles (0..1), from one sort. */
function quantiles(values, ...qs) {
  const sorted = [...values].sort((a, b) => a - b);
  return qs.map((q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
}

function stats(rttNs, totalNs) {
  const [median, p99] = quantiles(rttNs, 0.5, 0.99);
  return { perSec: (rttNs.length * 1e9) / totalNs, medianUs: median / 1000, p99Us: p99 / 1000 };
}

/** A client process that stays up for the whole bench and runs one block per request. */
function blockClient(name, command, args, env) {
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let failure = null;
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      failure = new Error(`the ${name} client exited (${signal ?? code})`);
      for (const w of waiting.splice(0)) w.reject(failure);
      resolve();
    }),
  );
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    waiting.shift()?.resolve(JSON.parse(line));
  });
  return {
    block(bytes, count, warmup) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${bytes} ${count} ${warmup}\n`);
      });
    },
    end() {
      child.stdin.end();
      return exited;
    },
  };
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
  const fake = await startFakeDevice({ mtu: MTU, maxMtu: MTU, poolSize: 16 });
  const env = { ...process.env, ...fake.env };
  const nodeClient = (mode) =>
    blockClient(
      mode,
      process.execPath,
      [path.join(__dirname, 'node-client.js'), mode, fake.socketPath, fake.sysfsRoot],
      env,
    );
  const paths = {
    c: blockClient('C', cClient, [String(MTU)], env),
    b: nodeClient('session'),
    a: nodeClient('client'),
  };
  const results = {
    machine: machine(),
    blocks: BLOCKS,
    count: COUNT,
    blockWarmup: BLOCK_WARMUP,
    warmup: WARMUP,
    echo: [],
    pipeline: null,
  };
  try {
    // The fake is JavaScript too: its hot paths and the clients' are compiled
    // at every size before anything is timed.
    for (const bytes of SIZES)
      for (const p of Object.values(paths)) await p.block(bytes, 0, WARMUP);
    for (const bytes of SIZES) {
      const blocks = { a: [], b: [], c: [] };
      for (let i = 0; i < BLOCKS; i++) {
        // Short blocks, the three paths one after the other in a rotating
        // order: each block's ratios compare runs a fraction of a second
        // apart, so the machine's drift cancels and no path always goes first.
        const order = ['c', 'b', 'a'];
        for (let k = 0; k < i % 3; k++) order.push(order.shift());
        for (const key of order)
          blocks[key].push(await paths[key].block(bytes, COUNT, BLOCK_WARMUP));
      }
      const pooled = (key) =>
        stats(
          blocks[key].flatMap((r) => r.rttNs),
          blocks[key].reduce((sum, r) => sum + r.totalNs, 0),
        );
      // Throughput ratio per block (C's time over the path's), then their median and quartiles.
      const ratios = (key) => blocks.c.map((rc, i) => rc.totalNs / blocks[key][i].totalNs);
      const summary = (values) => {
        const [q1, median, q3] = quantiles(values, 0.25, 0.5, 0.75);
        return { median, q1, q3 };
      };
      results.echo.push({
        dataBytes: bytes,
        client: pooled('a'),
        session: pooled('b'),
        c: pooled('c'),
        ratioClientToC: summary(ratios('a')),
        ratioSessionToC: summary(ratios('b')),
      });
    }
    const { stdout } = await run(
      process.execPath,
      [
        path.join(__dirname, 'node-client.js'),
        'pipeline',
        fake.socketPath,
        fake.sysfsRoot,
        '64',
        String(PIPELINE_COUNT),
      ],
      { env: { ...env, UV_THREADPOOL_SIZE: '1' }, maxBuffer: 64 << 20 },
    );
    const p = JSON.parse(stdout);
    results.pipeline = { ...p, perSec: (p.messages * 1e9) / p.totalNs };
  } finally {
    await Promise.all(Object.values(paths).map((p) => p.end()));
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
    `Echo round trips on the fake device: ${r.blocks} blocks per size of ${r.count} timed round trips per path (after ${r.blockWarmup} unmeasured), paths alternating`,
  );
  console.log(`${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}\n`);
  console.log('   data  path              msgs/s  median µs   p99 µs   vs C (quartiles)');
  for (const e of r.echo) {
    for (const [name, s, ratio] of [
      ['(a) HMC client', e.client, e.ratioClientToC],
      ['(b) raw session', e.session, e.ratioSessionToC],
      ['(c) C client', e.c, null],
    ])
      console.log(
        `${String(e.dataBytes).padStart(7)}  ${name.padEnd(16)}${f(s.perSec)}${f(s.medianUs, 1)}  ${f(s.p99Us, 1)}  ${
          ratio ? `${ratio.median.toFixed(2)} (${ratio.q1.toFixed(2)}–${ratio.q3.toFixed(2)})` : '1'
        }`,
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
  console.log(
    `Streaming with that pool's only thread blocked: ${p.perSecPoolBlocked.toFixed(0)} msgs/s, with it free ${p.perSecPoolFree.toFixed(0)} (${(p.perSecPoolBlocked / p.perSecPoolFree).toFixed(2)})${p.poolBlockedAllAlong ? '' : ' [the pool was NOT blocked all along: figure void]'}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
