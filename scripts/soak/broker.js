// The broker's part of `npm run soak`: a broker (`ibmvmc serve`, its own
// process, heap sized as the soak client's) serving CLIENTS clients that
// send MESSAGES echoes in all, in rounds of one client process each; the
// broker's RSS and descriptors are sampled between rounds. Targets: RSS
// growth under 10 MB after the first round (warm-up), descriptors back to
// their count before the first client.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServe } = require('../serve-child');

function rssOf(pid) {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
  return line ? Number(line[1]) * 1024 : NaN;
}

const fdsOf = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

function runClient(env, socket, count, window, id) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'broker-worker.js'), socket, String(count), String(window), id],
      { env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`soak client ${id} exited ${code}`)),
    );
  });
}

/**
 * @param startFakeDevice - the fake's start function (from dist/cjs/fake)
 * @param o - messages (in all), clients (at once), rounds, window (per client)
 */
async function brokerSoak(startFakeDevice, o) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibmvmc-soak-broker-'));
  const socket = path.join(dir, 'broker.sock');
  const fake = await startFakeDevice({ poolSize: 16 });
  const env = { ...process.env, ...fake.env };
  const samples = [];
  const started = process.hrtime.bigint();
  let broker;
  let result;
  try {
    broker = await startServe(env, socket, [
      '--min-semi-space-size=16',
      '--max-semi-space-size=16',
    ]);
    // The probe's connection is gone once the broker has read its end.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const fdsStart = fdsOf(broker.pid);
    const perClient = Math.ceil(o.messages / o.rounds / o.clients);
    for (let round = 0; round < o.rounds; round++) {
      await Promise.all(
        Array.from({ length: o.clients }, (_, c) =>
          runClient(env, socket, perClient, o.window, `${round}.${c}`),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 100)); // the last goodbyes
      samples.push({
        done: (round + 1) * perClient * o.clients,
        rssBytes: rssOf(broker.pid),
        fds: fdsOf(broker.pid),
      });
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const base = samples[0];
    const last = samples[samples.length - 1];
    result = {
      messages: last.done,
      clients: o.clients,
      rounds: o.rounds,
      seconds,
      fdsStart,
      fdsEnd: last.fds,
      baseRssBytes: base.rssBytes,
      lastRssBytes: last.rssBytes,
      growthBytes: last.rssBytes - base.rssBytes,
      peakGrowthBytes: Math.max(...samples.map((s) => s.rssBytes)) - base.rssBytes,
      samples,
    };
  } finally {
    try {
      await broker?.stop();
    } finally {
      await fake.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return result;
}

module.exports = { brokerSoak };
