/**
 * `ibmvmc fake-device -- COMMAND`: runs the command the way a shell would
 * (stdio shared, signals passed on, its exit status as ours: 128+N when
 * signal N ended it, 127 when it cannot be found), and ends it if the
 * process that started us goes away, so a CI job never keeps it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { untilStopped } from './foreground';

/** Signals passed on to the command. SIGUSR1 is not: it resets the fake's channel. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'];

/** How long the command has to end after SIGTERM when our parent went away, before SIGKILL (ms). */
const ABANDON_GRACE_MS = 5_000;

/** What happened to the command. */
export interface WrappedOutcome {
  /** Its exit status as a shell gives it. */
  readonly status: number;
  /** Why it could not start, when it could not (status 126 or 127). */
  readonly startError?: string;
  /** True when it was ended because the process that started us exited. */
  readonly parentExited: boolean;
}

/** A shell's status for a process that exited with `code` or was killed by `signal`. */
export function shellStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal === null ? undefined : constants.signals[signal];
  return 128 + (number ?? 0);
}

/**
 * Runs `args` with `env` until it exits.
 *
 * @param args - The command and its arguments.
 * @param env - Its whole environment.
 * @param watchParent - End it (SIGTERM, then SIGKILL) when our parent exits.
 */
export async function runWrapped(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  watchParent: boolean,
): Promise<WrappedOutcome> {
  const child = spawn(args[0], args.slice(1), { env, stdio: 'inherit' });
  const exited = new Promise<{ status: number; startError?: string }>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      // Only a failure to start comes here before 'exit'; a shell says 127 (not found) or 126.
      const status = error.code === 'ENOENT' ? 127 : 126;
      const reason = error.code === 'ENOENT' ? 'command not found' : error.message;
      resolve({ status, startError: `${args[0]}: ${reason}` });
    });
    child.once('exit', (code, signal) => resolve({ status: shellStatus(code, signal) }));
  });
  const listeners = FORWARDED.map((signal) => {
    const listener = () => {
      child.kill(signal);
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  const stopWatching = new AbortController();
  let killTimer: NodeJS.Timeout | undefined;
  let parentExited = false;
  try {
    const watcher = watchParent ? untilStopped(stopWatching.signal, true) : undefined;
    void watcher?.then((reason) => {
      if (reason !== 'parent-exited') return;
      parentExited = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), ABANDON_GRACE_MS);
    });
    const outcome = await exited;
    return { ...outcome, parentExited };
  } finally {
    stopWatching.abort();
    clearTimeout(killTimer);
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  }
}
