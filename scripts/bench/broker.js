// The broker's part of `npm run bench`: 64 B round trips through a broker
// (`ibmvmc serve` in its own process) against a direct HMC client, in
// alternating blocks; then 8 clients pipelining through the broker against
// one direct client pipelining. The fake has two session slots, so the
// broker and the direct client each hold one the whole time.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServe } = require('../serve-child');
const readline = require('node:readline');
const { quantiles } = require('./echo-blocks');

const CLIENT = path.join(__dirname, 'broker-client.js');

/** A block client as in run.js: one block per line, one JSON line back. */
function blockClient(args, env) {
  const child = spawn(process.execPath, [CLIENT, ...args], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = [];
  child.once('exit', (code, signal) => {
    for (const w of waiting.splice(0))
      w.reject(new Error(`a bench client exited (${signal ?? code})`));
  });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    waiting.shift()?.resolve(JSON.parse(line));
  });
  return {
    block(bytes, count, warmup) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${bytes} ${count} ${warmup}\n`);
      });
    },
    end: () => new Promise((resolve) => (child.stdin.end(), child.once('exit', resolve))),
  };
}

/** A streaming client: resolves `ready` after its warm-up, streams on `go()`. */
function streamClient(args, env) {
  const child = spawn(process.execPath, [CLIENT, ...args], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout });
  const next = () =>
    new Promise((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`a stream client exited (${code})`)));
    });
  const ready = next();
  return {
    ready,
    go() {
      const done = next().then((line) => JSON.parse(line));
      child.stdin.end('go\n');
      return done;
    },
  };
}

/**
 * Runs the broker bench on a fake of its own.
 *
 * @param startFakeDevice - the fake's start function (from dist/cjs/fake)
 * @param o - blocks, count, blockWarmup, warmup (as the echo bench), streamCount, clients
 */
async function brokerBench(startFakeDevice, o) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibmvmc-bench-broker-'));
  const socket = path.join(dir, 'broker.sock');
  const fake = await startFakeDevice({ maxHmcs: 2, poolSize: 16 });
  const env = { ...process.env, ...fake.env };
  const clientArgs = [fake.socketPath, fake.sysfsRoot, socket];
  let broker;
  try {
    broker = await startServe(env, socket);
    const paths = {
      direct: blockClient(['direct', ...clientArgs], env),
      broker: blockClient(['broker', ...clientArgs], env),
    };
    const timed = { direct: [], broker: [] };
    try {
      for (const p of Object.values(paths)) await p.block(64, 0, o.warmup);
      for (let i = 0; i < o.blocks; i++) {
        const order = i % 2 === 0 ? ['direct', 'broker'] : ['broker', 'direct'];
        for (const key of order)
          timed[key].push(await paths[key].block(64, o.count, o.blockWarmup));
      }
    } finally {
      await Promise.all(Object.values(paths).map((p) => p.end()));
    }
    const ratios = timed.direct.map((d, i) => d.totalNs / timed.broker[i].totalNs);
    const [q1, median, q3] = quantiles(ratios, 0.25, 0.5, 0.75);
    const medianUs = (key) =>
      quantiles(
        timed[key].flatMap((r) => r.rttNs),
        0.5,
      )[0] / 1000;

    // Pipelined: one direct client, then `clients` through the broker at once.
    const perClient = Math.ceil(o.streamCount / o.clients);
    const direct = streamClient(
      ['stream', ...clientArgs, 'direct', String(o.streamCount), '16'],
      env,
    );
    await direct.ready;
    const d = await direct.go();
    const many = Array.from({ length: o.clients }, () =>
      streamClient(['stream', ...clientArgs, 'broker', String(perClient), '16'], env),
    );
    await Promise.all(many.map((c) => c.ready));
    const t0 = process.hrtime.bigint();
    const results = await Promise.all(many.map((c) => c.go()));
    const wallNs = Number(process.hrtime.bigint() - t0);
    const brokerMessages = results.reduce((sum, r) => sum + r.messages, 0);
    const directPerSec = (d.messages * 1e9) / d.totalNs;
    const brokerPerSec = (brokerMessages * 1e9) / wallNs;
    return {
      echo64: {
        directMedianUs: medianUs('direct'),
        brokerMedianUs: medianUs('broker'),
        ratio: { median, q1, q3 },
      },
      pipeline: {
        clients: o.clients,
        directPerSec,
        brokerPerSec,
        ratio: brokerPerSec / directPerSec,
      },
    };
  } finally {
    try {
      await broker?.stop();
    } finally {
      await fake.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** The broker's lines of the bench's printout. */
function brokerTable(b) {
  return [
    `Through the broker (ibmvmc serve), 64 B echoes: median ${b.echo64.brokerMedianUs.toFixed(1)} µs, direct ${b.echo64.directMedianUs.toFixed(1)} µs; throughput vs direct ${b.echo64.ratio.median.toFixed(2)} (${b.echo64.ratio.q1.toFixed(2)}–${b.echo64.ratio.q3.toFixed(2)}) (target ≥ 0.7)`,
    `Pipelined: ${b.pipeline.clients} clients through the broker ${b.pipeline.brokerPerSec.toFixed(0)} msgs/s, one direct client ${b.pipeline.directPerSec.toFixed(0)} msgs/s: ${b.pipeline.ratio.toFixed(2)} (target ≥ 0.9)`,
  ].join('\n');
}

module.exports = { brokerBench, brokerTable };
