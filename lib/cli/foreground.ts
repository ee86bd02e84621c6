/**
 * What the commands that run a fake in the foreground share: quoting what
 * they print for a shell, and waiting until they are told to stop.
 */
import { hasEnded, watchedAncestors } from './parent-watch';

/** Quotes a value for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A word for a POSIX shell: as it is when nothing in it is special, quoted otherwise. */
export function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : shellQuote(value);
}

/** Why a foreground command stopped. */
export type StopReason = 'signal' | 'parent-exited';

/** How often to look whether the parent is still there (ms). */
const PARENT_CHECK_MS = 250;

/**
 * Resolves when `signal` aborts (SIGINT, SIGTERM, SIGHUP) or, with
 * `watchParent`, when the process that started this one has gone (see
 * parent-watch.ts: npm and the shell it runs us through are seen through).
 * Nothing tells a process that its parent died: Linux only re-parents it.
 *
 * @param signal - The command's abort signal.
 * @param watchParent - Also stop when the parent exits.
 */
export function untilStopped(signal: AbortSignal, watchParent = false): Promise<StopReason> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve('signal');
      return;
    }
    const parent = process.ppid;
    const watched = watchParent ? watchedAncestors(parent) : [];
    const watcher = watchParent
      ? setInterval(() => {
          if (process.ppid !== parent || watched.some(hasEnded)) finish('parent-exited');
        }, PARENT_CHECK_MS)
      : undefined;
    const onAbort = () => finish('signal');
    function finish(reason: StopReason): void {
      clearInterval(watcher);
      signal.removeEventListener('abort', onAbort);
      resolve(reason);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
