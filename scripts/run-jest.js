#!/usr/bin/env node
// Runs Jest with the fake device's preload shim in every test process:
// LD_PRELOAD only takes effect when a process starts, so it is set here.
'use strict';
const { spawnSync } = require('node:child_process');
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
const jest = require.resolve('jest/bin/jest');
const result = spawnSync(process.execPath, [jest, ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
