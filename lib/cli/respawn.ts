/**
 * Running this same command again in a child process, with more in its
 * environment. Needed because LD_PRELOAD (the fake's shim) and NODE_DEBUG
 * take effect only when a process starts.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { EXIT } from './exit-codes';
import { activationFdCount, LISTEN_FDS_START, LISTEN_INHERITED_ENV } from './socket-activation';

/** Set in the child of `--fake`, so it uses the fake its parent started instead of starting one. */
export const FAKE_CHILD_ENV = 'IBMVMC_CLI_FAKE_CHILD';

/**
 * Runs `ibmvmc <argv>` in a child with `env`, its stdio the same as ours,
 * and resolves with its exit code. SIGINT and SIGTERM are passed on, so the
 * child stops cleanly while this process waits for it (and can clean up after).
 *
 * @param argv - The arguments after `ibmvmc`.
 * @param env - The child's whole environment.
 */
export function respawn(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  // main.js beside this file: the compiled CLI, whatever path started this process.
  const main = path.join(__dirname, 'main.js');
  // Sockets systemd handed us (serve under socket activation) go on to the child, at the same fds.
  const handed = activationFdCount(env, process.pid);
  const fds = Array.from({ length: handed }, (_, i) => LISTEN_FDS_START + i);
  const childEnv =
    handed > 0 ? { ...env, LISTEN_PID: undefined, [LISTEN_INHERITED_ENV]: '1' } : env;
  const child = spawn(process.execPath, [...process.execArgv, main, ...argv], {
    env: childEnv,
    stdio: ['inherit', 'inherit', 'inherit', ...fds],
  });
  const forward = (signal: NodeJS.Signals) => () => {
    child.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? EXIT.INTERRUPTED : 1));
    });
  }).finally(() => {
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
  });
}
