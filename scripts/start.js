#!/usr/bin/env node
// npm start: "ibmvmc ping" on /dev/ibmvmc, or, on a machine without one, on a
// fake device started for the occasion ("ibmvmc ping --fake"). Says which.
// Arguments after "npm start --" go to ping (e.g. npm start -- --count 100).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const DEVICE = '/dev/ibmvmc';
const { runCli } = require(path.resolve(__dirname, '..', 'dist', 'cjs', 'cli', 'run.js'));

const onDevice = fs.existsSync(DEVICE);
console.log(
  onDevice
    ? `Device: ${DEVICE}`
    : `No ${DEVICE} on this machine: using the built-in fake device (ibmvmc ping --fake).`,
);
runCli(['ping', ...(onDevice ? [] : ['--fake']), ...process.argv.slice(2)]).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`npm start failed: ${error.message}`);
    process.exitCode = 1;
  },
);
