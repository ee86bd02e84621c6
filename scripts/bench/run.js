#!/usr/bin/env node
// npm run bench: echo round trips through (a) the HMC command client, (b) the
// raw session API and (c) a C client doing blocking write and read, all on
// one fake device, measured in one run so the machine's noise cancels; then
// pipelined throughput with event-loop delay and a thread-pool probe.
// Then the broker: round trips and pipelining through `ibmvmc serve` against
// a direct client (scripts/bench/broker.js). Prints a table and writes
// bench-results.json (or the path given).
'use strict';
const { execFileSync, execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { promisify } = require('node:util');
const { echoBlocks, echoTable } = require('./echo-blocks');
const { brokerBench, brokerTable } = require('./broker');

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
    broker: null,
  };
  try {
    // The fake is JavaScript too: its hot paths are compiled in the warm-up as the clients' are.
    results.echo = await echoBlocks(paths, {
      sizes: SIZES,
      blocks: BLOCKS,
      count: COUNT,
      blockWarmup: BLOCK_WARMUP,
      warmup: WARMUP,
    });
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
  results.broker = await brokerBench(startFakeDevice, {
    blocks: BLOCKS,
    count: COUNT,
    blockWarmup: BLOCK_WARMUP,
    warmup: WARMUP,
    streamCount: PIPELINE_COUNT,
    clients: 8,
  });
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
  printEcho(r);
  console.log(`\n${brokerTable(r.broker)}`);
}

function printEcho(r) {
  console.log(
    `Echo round trips on the fake device: ${r.blocks} blocks per size of ${r.count} timed round trips per path (after ${r.blockWarmup} unmeasured), paths alternating`,
  );
  console.log(`${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}\n`);
  console.log(echoTable(r.echo));
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
