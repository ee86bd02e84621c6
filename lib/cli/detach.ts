/**
 * `ibmvmc fake-device --detach --write-env FILE`: for CI systems that run each
 * step in a new shell, which ends with the step. The fake is started again
 * as a process of its own session, not watching its parent; this one waits
 * until the fake has written FILE (it does so once ready) and returns.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { FakeDeviceError } from '../fake/errors';

/** Set in the detached fake: it must not end when the command that started it returns. */
export const DETACHED_ENV = 'IBMVMC_FAKE_DETACHED';

/** How long the detached fake may take to be ready (ms). */
const READY_TIMEOUT_MS =
  Number(process.env.IBMVMC_FAKE_START_TIMEOUT_MS) > 0
    ? Number(process.env.IBMVMC_FAKE_START_TIMEOUT_MS)
    : 10_000;

/**
 * Starts `ibmvmc <args>` detached and resolves with its pid once `envFile` exists.
 *
 * @param args - The arguments after `ibmvmc`, without `--detach`.
 * @param envFile - The file the fake writes when ready (an old one is removed first).
 * @throws FakeDeviceError if the fake exits or is not ready in time.
 */
export async function startDetached(args: readonly string[], envFile: string): Promise<number> {
  rmSync(envFile, { force: true });
  const main = path.join(__dirname, 'main.js');
  const child = spawn(process.execPath, [main, ...args], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, [DETACHED_ENV]: '1' },
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    while (!existsSync(envFile)) {
      if (exited || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new FakeDeviceError(
          `the detached fake device ${exited ? 'exited' : 'was not ready in time'}: run it without --detach to see why`,
          'ERR_IBMVMC_FAKE_DETACH',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    // Not ours to wait for any more: it outlives this process.
    child.removeAllListeners();
    child.unref();
  }
  return child.pid ?? -1;
}
