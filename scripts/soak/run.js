#!/usr/bin/env node
// npm run soak: one million echoes through one session and ten thousand
// session open/close cycles against the fake device, in a client process of
// their own, sampling its memory (after a full GC) and open descriptors.
// Targets: RSS growth under 10 MB after warm-up, descriptors back to their
// starting count, no handle left (the client exits by itself). Prints the
// figures and writes soak-results.json (or the path given); exit 1 on a miss.
// Then the broker (scripts/soak/broker.js): SOAK_BROKER_MESSAGES echoes from
// 8 clients at a time through one `ibmvmc serve`, its RSS growth and
// descriptors checked the same way.
// SOAK_MESSAGES, SOAK_CYCLES and SOAK_WINDOW make shorter or longer runs.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const { startFakeDevice } = require(path.join(root, 'dist', 'cjs', 'fake'));
const { brokerSoak } = require('./broker');

const MESSAGES = Number(process.env.SOAK_MESSAGES ?? 1_000_000);
const CYCLES = Number(process.env.SOAK_CYCLES ?? 10_000);
const WINDOW = Number(process.env.SOAK_WINDOW ?? 8);
const BROKER_MESSAGES = Number(process.env.SOAK_BROKER_MESSAGES ?? 1_000_000);
const BROKER_ROUNDS = Number(process.env.SOAK_BROKER_ROUNDS ?? 10);
const WARM_UP = 0.1; // growth is measured from the first sample past this share of the work
const RSS_GROWTH_LIMIT = 10 * 2 ** 20;
const EXIT_GRACE_MS = 5000;
const out = process.argv[2] ?? path.join(root, 'soak-results.json');

const MiB = (bytes) => bytes / 2 ** 20;

function rssOf(pid) {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
  return line ? Number(line[1]) * 1024 : NaN;
}

// Growth from the first sample past warm-up to the last, and the peak after it.
function growth(samples, total) {
  const base = samples.find((s) => s.done >= total * WARM_UP) ?? samples[0];
  const after = samples.filter((s) => s.done >= base.done);
  const last = samples[samples.length - 1];
  return {
    baseRssBytes: base.rssBytes,
    lastRssBytes: last.rssBytes,
    growthBytes: last.rssBytes - base.rssBytes,
    peakGrowthBytes: Math.max(...after.map((s) => s.rssBytes)) - base.rssBytes,
    heapGrowthBytes: last.heapUsedBytes - base.heapUsedBytes,
    fdsStart: samples[0].fds,
    fdsEnd: last.fds,
  };
}

function runWorker(fake, onLine) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        // V8 grows its young generation under steady allocation, once per
        // process, to 16 MiB semi-spaces (RSS +25 MiB over ~40,000 cycles,
        // then flat; docs/PERFORMANCE.md). Starting it at that size puts the
        // growth in the warm-up, so the figure past it is what the library keeps.
        '--min-semi-space-size=16',
        '--max-semi-space-size=16',
        path.join(__dirname, 'worker.js'),
        fake.socketPath,
        fake.sysfsRoot,
        String(MESSAGES),
        String(CYCLES),
        String(WINDOW),
      ],
      { env: { ...process.env, ...fake.env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let pending = '';
    let endedAt = null;
    let killer = null;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const record = JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (record.phase === 'end') {
          endedAt = Date.now();
          // A client that does not end by itself holds a handle: stop it, and say so.
          killer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
        }
        onLine(record);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, exitAfterMs: endedAt === null ? null : Date.now() - endedAt });
    });
  });
}

async function main() {
  const fake = await startFakeDevice({ poolSize: 16 });
  const fakeRss = { start: rssOf(fake.pid) };
  const phases = {};
  let exit;
  try {
    exit = await runWorker(fake, (record) => {
      phases[record.phase] = record;
      if (record.phase === 'echoes' || record.phase === 'cycles') {
        fakeRss[record.phase] = rssOf(fake.pid);
        console.log(`${record.phase} done in ${record.seconds.toFixed(1)} s`);
      }
    });
  } finally {
    await fake.stop();
  }
  if (!phases.echoes || !phases.cycles || exit.code !== 0) {
    console.error(`soak client failed: exit ${exit.code ?? exit.signal}`);
    process.exitCode = 1;
    return;
  }
  const echoes = growth(phases.echoes.samples, MESSAGES);
  const cycles = growth(phases.cycles.samples, CYCLES);
  const exitedByItself = exit.signal === null && exit.exitAfterMs < EXIT_GRACE_MS;
  console.log(`broker: ${BROKER_MESSAGES} echoes from 8 clients at a time...`);
  const broker = await brokerSoak(startFakeDevice, {
    messages: BROKER_MESSAGES,
    clients: 8,
    rounds: BROKER_ROUNDS,
    window: WINDOW,
  });
  const checks = [
    [`echo RSS growth after warm-up < 10 MB`, echoes.growthBytes < RSS_GROWTH_LIMIT],
    [`cycle RSS growth after warm-up < 10 MB`, cycles.growthBytes < RSS_GROWTH_LIMIT],
    ['descriptors back to their start (echoes)', echoes.fdsEnd === echoes.fdsStart],
    ['descriptors back to their start (cycles)', cycles.fdsEnd === cycles.fdsStart],
    ['no handles left', phases.end.handles.length === 0],
    ['client exited by itself', exitedByItself],
    ['broker RSS growth after the first round < 10 MB', broker.growthBytes < RSS_GROWTH_LIMIT],
    ['broker descriptors back to their start', broker.fdsEnd === broker.fdsStart],
  ];
  const results = {
    messages: MESSAGES,
    cycles: CYCLES,
    window: WINDOW,
    echoes: { seconds: phases.echoes.seconds, ...echoes, samples: phases.echoes.samples },
    sessionCycles: { seconds: phases.cycles.seconds, ...cycles, samples: phases.cycles.samples },
    fdsBeforeWarmUp: phases['warm-up'].fdsBefore,
    fdsAfterWarmUp: phases['warm-up'].fdsAfter,
    handlesLeft: phases.end.handles,
    exitAfterMs: exit.exitAfterMs,
    fakeRssBytes: fakeRss,
    broker,
    checks: Object.fromEntries(checks),
  };
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');

  const row = (name, g, count, seconds, unit) =>
    console.log(
      `${name.padEnd(22)}${String(count).padStart(9)} in ${seconds.toFixed(1).padStart(6)} s ` +
        `(${(count / seconds).toFixed(0)} ${unit}/s)  RSS ${MiB(g.baseRssBytes).toFixed(1)} -> ` +
        `${MiB(g.lastRssBytes).toFixed(1)} MiB (growth ${MiB(g.growthBytes).toFixed(2)}, peak ` +
        `${MiB(g.peakGrowthBytes).toFixed(2)}; heap ${MiB(g.heapGrowthBytes).toFixed(2)})  ` +
        `fds ${g.fdsStart} -> ${g.fdsEnd}`,
    );
  console.log(`\nSoak (${WINDOW} in flight; growth measured after the first ${WARM_UP * 100}%)`);
  row('echoes, one session', echoes, MESSAGES, phases.echoes.seconds, 'msgs');
  row('open/echo/close cycles', cycles, CYCLES, phases.cycles.seconds, 'cycles');
  console.log(
    `fake device RSS: ${MiB(fakeRss.start).toFixed(1)} at start, ${MiB(fakeRss.echoes).toFixed(1)} ` +
      `after the echoes, ${MiB(fakeRss.cycles).toFixed(1)} after the cycles (MiB)`,
  );
  console.log(
    `descriptors made once per process (stdout, the shim's reset watcher): ` +
      `${phases['warm-up'].fdsBefore} -> ${phases['warm-up'].fdsAfter} before the first sample`,
  );
  console.log(
    `client exited ${exit.exitAfterMs} ms after its last line; handles left: ${phases.end.handles.join(', ') || 'none'}\n`,
  );
  console.log(
    `broker: ${broker.messages} echoes from ${broker.clients} clients at a time, ${broker.rounds} rounds, in ` +
      `${broker.seconds.toFixed(1)} s (${(broker.messages / broker.seconds).toFixed(0)} msgs/s); broker RSS ` +
      `${MiB(broker.baseRssBytes).toFixed(1)} -> ${MiB(broker.lastRssBytes).toFixed(1)} MiB after the first round ` +
      `(growth ${MiB(broker.growthBytes).toFixed(2)}, peak ${MiB(broker.peakGrowthBytes).toFixed(2)}); fds ` +
      `${broker.fdsStart} -> ${broker.fdsEnd}\n`,
  );
  for (const [name, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
  console.log(`\nJSON: ${path.relative(process.cwd(), out)}`);
  if (!checks.every(([, ok]) => ok)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
