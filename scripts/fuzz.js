#!/usr/bin/env node
// npm run fuzz [-- --seed N --codec N --api N --broker N --replay codec:I|api:I|broker:I]
//
// Feeds decodeHmcMessage a million (--codec) random and mutated messages,
// the public API (--api) calls with random argument types and sizes
// against a fake device, and the broker's wire codec (--broker) a million
// random, mutated and streamed frames. Only typed errors may come out. Seeded and
// reproducible: each case has its own stream (seed, part, index), so a
// failing case replays alone with --replay. The engine is test/fuzz/engine.ts,
// which the Jest suite also runs (briefly); it is loaded from the TypeScript
// sources, so what is fuzzed is lib/ as it is now. Exits 1 on any failure.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { findPreload } = require('./preload-path');

const root = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const args = { seed: 1, codec: 1_000_000, api: 20_000, broker: 1_000_000, replay: null };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    if (name === '--') continue;
    const value = argv[++i];
    if (name === '--seed') args.seed = Number(value);
    else if (name === '--codec') args.codec = Number(value);
    else if (name === '--api') args.api = Number(value);
    else if (name === '--broker') args.broker = Number(value);
    else if (name === '--replay') {
      const m = /^(codec|api|broker):(\d+)$/.exec(value ?? '');
      if (!m) usage(`--replay takes codec:INDEX, api:INDEX or broker:INDEX, got ${value}`);
      args.replay = { part: m[1], index: Number(m[2]) };
    } else usage(`unknown option ${name}`);
  }
  for (const key of ['seed', 'codec', 'api', 'broker'])
    if (!Number.isInteger(args[key]) || args[key] < 0) usage(`--${key} must be an integer ≥ 0`);
  return args;
}

function usage(message) {
  console.error(`fuzz: ${message}`);
  console.error(
    'usage: node scripts/fuzz.js [--seed N] [--codec N] [--api N] [--broker N] [--replay codec:I|api:I|broker:I]',
  );
  process.exit(2);
}

/** Lets require() load the TypeScript sources (types stripped, nothing checked). */
function loadTypeScript() {
  const ts = require('typescript');
  Module._extensions['.ts'] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        sourceMap: false,
      },
    });
    module._compile(outputText, filename);
  };
}

const count = (n) => n.toLocaleString('en-US');

// Errors nobody can catch (a rejection left unhandled, an exception thrown
// from a callback) are failures too: record them and carry on.
const failures = [];
for (const event of ['unhandledRejection', 'uncaughtException']) {
  process.on(event, (error) => {
    failures.push({
      part: 'api',
      index: -1,
      what: `${event}: ${error instanceof Error ? error.message : String(error)}`,
      detail: error instanceof Error ? (error.stack ?? '') : String(error),
    });
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // The API part opens the fake through the preload shim, which must be
  // loaded when the process starts: start again with it if it is not.
  const preload = findPreload(root);
  if (args.api > 0 && !(process.env.LD_PRELOAD ?? '').includes('ibmvmc_fake_preload')) {
    if (!preload) {
      console.error('fuzz: the fake device shim is not built; run "npm run build:native" first');
      process.exit(1);
    }
    const env = {
      ...process.env,
      LD_PRELOAD: [preload, process.env.LD_PRELOAD].filter(Boolean).join(':'),
    };
    const r = spawnSync(process.execPath, [__filename, ...process.argv.slice(2)], {
      env,
      stdio: 'inherit',
    });
    process.exit(r.status ?? 1);
  }
  loadTypeScript();
  const { fuzzCodec, fuzzApi } = require(path.join(root, 'test', 'fuzz', 'engine.ts'));
  const { fuzzBrokerWire } = require(path.join(root, 'test', 'fuzz', 'broker-wire.ts'));
  const { startFakeDevice } = require(path.join(root, 'lib', 'fake', 'index.ts'));
  const started = Date.now();
  console.log(`fuzz: seed ${args.seed}`);

  const codecRuns = args.replay ? (args.replay.part === 'codec' ? 1 : 0) : args.codec;
  const codecStart = args.replay?.part === 'codec' ? args.replay.index : 0;
  if (codecRuns > 0) {
    const r = fuzzCodec(args.seed, codecRuns, failures, codecStart);
    const rate = Math.round(r.iterations / (r.ms / 1000));
    console.log(
      `codec: ${count(r.iterations)} messages in ${(r.ms / 1000).toFixed(1)} s (${count(rate)}/s): ` +
        `${count(r.decoded)} decoded, ${count(r.badOptions)} bad options refused (TypeError/RangeError)`,
    );
    console.log(`  made as: ${fmt(r.kinds)}`);
    console.log(`  HmcDecodeError by field: ${fmt(r.rejected)}`);
  }

  const brokerRuns = args.replay ? (args.replay.part === 'broker' ? 1 : 0) : args.broker;
  const brokerStart = args.replay?.part === 'broker' ? args.replay.index : 0;
  if (brokerRuns > 0) {
    const r = fuzzBrokerWire(args.seed, brokerRuns, failures, brokerStart);
    const rate = Math.round(r.iterations / (r.ms / 1000));
    console.log(
      `broker wire: ${count(r.iterations)} cases in ${(r.ms / 1000).toFixed(1)} s (${count(rate)}/s): ` +
        `${count(r.decoded)} frames decoded, ${count(r.encodeRefused)} encodings refused (TypeError/RangeError)`,
    );
    console.log(`  made as: ${fmt(r.kinds)}`);
    console.log(`  BrokerProtocolError by reason: ${fmt(r.rejected)}`);
  }

  const apiRuns = args.replay ? (args.replay.part === 'api' ? 1 : 0) : args.api;
  const apiStart = args.replay?.part === 'api' ? args.replay.index : 0;
  if (apiRuns > 0) {
    const fakes = await Promise.all([0, 1].map(() => startFakeDevice({ maxHmcs: 2, slots: 2 })));
    const [traffic, opens] = fakes.map((f) => ({ path: f.socketPath, sysfsRoot: f.sysfsRoot }));
    try {
      const r = await fuzzApi(args.seed, apiRuns, { traffic, opens }, failures, apiStart);
      console.log(
        `api: ${count(r.iterations)} calls in ${(r.ms / 1000).toFixed(1)} s, ` +
          `${count(r.sessionsOpened)} sessions opened to carry them`,
      );
      console.log(
        '  per call: returned, and refused with a typed error (or TypeError/RangeError where documented)',
      );
      for (const [op, c] of Object.entries(r.calls).sort())
        console.log(
          `  ${op.padEnd(22)} ${count(c.ok).padStart(7)} returned ${count(c.typed).padStart(7)} refused`,
        );
    } finally {
      await Promise.all(fakes.map((f) => f.stop()));
    }
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length > 0) {
    for (const f of failures) {
      console.error(`\nFAIL ${f.part}:${f.index} ${f.what}`);
      console.error(
        `  replay: node scripts/fuzz.js --seed ${args.seed} --replay ${f.part}:${f.index}`,
      );
      console.error(`  ${f.detail.split('\n').join('\n  ')}`);
    }
    console.error(`\nfuzz: ${failures.length} failure(s) (at most 50 shown) in ${seconds} s`);
    process.exit(1);
  }
  console.log(`fuzz: no failure in ${seconds} s`);
}

function fmt(counts) {
  return Object.entries(counts)
    .map(([k, v]) => `${k} ${count(v)}`)
    .join(', ');
}

main().catch((error) => {
  console.error('fuzz: crashed:', error);
  process.exit(1);
});
