#!/usr/bin/env node
// The package's install script: node-gyp-build, with one clear line instead
// of node-gyp's stack trace when the build cannot even start.
//
// A prebuilt binary that loads on this machine (prebuilds/<platform>-<arch>/,
// or an earlier build in build/) is used as is. Otherwise node-gyp-build
// builds from source, which needs Python 3, make and a C/C++ compiler; if one
// of them is missing, this says which and how to install them, and fails.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const fromSource = process.env.npm_config_build_from_source === 'true';

function prebuiltLoads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

/** Whether `command --version` runs and succeeds ($CC and the like may carry arguments). */
function works(command) {
  const [file, ...args] = command.trim().split(/\s+/);
  if (!file) return false;
  const run = spawnSync(file, [...args, '--version'], { stdio: 'ignore' });
  return !run.error && run.status === 0;
}

/** What node-gyp will need and cannot run, named as the user would look for it. */
function missingTools() {
  const env = process.env;
  const python = env.npm_config_python || env.PYTHON;
  const named = (variable, fallback) => (env[variable] ? `${variable}=${env[variable]}` : fallback);
  const tools = [
    [python ? `python (${python})` : 'python3', python ? [python] : ['python3', 'python']],
    [named('MAKE', 'make'), [env.MAKE || 'make']],
    [named('CXX', 'g++'), [env.CXX || 'g++']],
    [named('CC', 'cc'), [env.CC || 'cc']],
  ];
  return tools.filter(([, candidates]) => !candidates.some(works)).map(([name]) => name);
}

if (!fromSource && prebuiltLoads()) process.exit(0);

const missing = missingTools();
if (missing.length > 0) {
  console.error(
    `ibmvmc: no prebuilt binary for ${process.platform}-${process.arch} and no C++ toolchain ` +
      `to build one (missing: ${missing.join(', ')}): ` +
      'apt-get install python3 make g++ (or dnf install python3 make gcc-c++)',
  );
  process.exit(1);
}

const build = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) {
  console.error(
    `ibmvmc: building the native addon from source failed (output above); ` +
      `no prebuilt binary matches ${process.platform}-${process.arch}`,
  );
}
process.exit(build.status ?? 1);
