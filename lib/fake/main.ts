#!/usr/bin/env node
/**
 * `node dist/cjs/fake/main.js [options]`: a fake device in the foreground,
 * for other processes to use. The same as `ibmvmc fake-device`, kept here so
 * the fake can be run without knowing where the CLI lives.
 */
import { runCli } from '../cli/run';

runCli(['fake-device', ...process.argv.slice(2)]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ibmvmc fake: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
