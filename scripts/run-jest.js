#!/usr/bin/env node
// Runs Jest with the fake device's preload shim in every test process:
// LD_PRELOAD only takes effect when a process starts, so it is set here.
// Ends with a plain "N passed, N failed, N skipped" line for any CI to read.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { findPreload } = require('./preload-path');

const root = path.resolve(__dirname, '..');
const preload = findPreload(root);
if (!preload) {
  console.error('run-jest: the fake device shim is not built; run "npm run build:native" first');
  process.exit(1);
}
const env = {
  ...process.env,
  LD_PRELOAD: [preload, process.env.LD_PRELOAD].filter(Boolean).join(':'),
};
const results = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ibmvmc-jest-')), 'results.json');
const jest = require.resolve('jest/bin/jest');
const run = spawnSync(
  process.execPath,
  [jest, '--json', `--outputFile=${results}`, ...process.argv.slice(2)],
  { cwd: root, env, stdio: 'inherit' },
);
try {
  const r = JSON.parse(fs.readFileSync(results, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
} catch {
  console.log('jest: no results (the run did not complete)');
} finally {
  fs.rmSync(path.dirname(results), { recursive: true, force: true });
}
process.exit(run.status ?? 1);
