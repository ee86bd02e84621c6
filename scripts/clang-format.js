#!/usr/bin/env node
// clang-format over our C and C++ (--check fails on any difference, --fix rewrites).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const files = [];
const walk = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(file);
    else if (/\.(c|cc|h)$/.test(entry.name)) files.push(path.relative(root, file));
  }
};
for (const dir of ['native', 'test'])
  if (fs.existsSync(path.join(root, dir))) walk(path.join(root, dir));
const fix = process.argv.includes('--fix');
const bin = require.resolve('clang-format/index.js');
const args = fix ? ['-i', ...files] : ['--dry-run', '-Werror', ...files];
const result = spawnSync(process.execPath, [bin, '--style=file', ...args], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0 && !fix) console.error('clang-format: run "npm run format" to fix');
process.exit(result.status ?? 1);
