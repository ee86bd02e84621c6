#!/usr/bin/env node
/**
 * The `ibmvmc` executable. Everything is in run.ts; this only hands over the
 * arguments and sets the exit code, letting the process end on its own so
 * that stdout is flushed.
 */
import { runCli } from './run';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // runCli reports every error itself; this is a bug in it.
    process.stderr.write(`ibmvmc: internal error: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
