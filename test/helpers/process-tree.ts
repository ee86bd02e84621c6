/**
 * The processes under a process, read from /proc (Linux): for harnesses that
 * start daemons whose own children (sshd's per-connection processes) are not
 * theirs to wait for, and for tests that prove nothing was left running.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { TIME_SCALE } from './time-scale';

/** A process's parent and state, or undefined once it is gone. */
function stat(pid: number): { ppid: number; state: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
  const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(ppid), state };
}

/** Whether `pid` is running (a zombie waiting to be reaped counts as gone: it runs nothing). */
export function isAlive(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z';
}

/** Every live process below `pid`: children, their children, and so on. */
export function descendantsOf(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s !== undefined && s.state !== 'Z') parentOf.set(Number(name), s.ppid);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [child, ppid] of parentOf)
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
  }
  return found;
}

/**
 * Waits until none of `pids` runs, polling; returns those still running when
 * `ms` (stretched by the time scale) has passed.
 */
export async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms * TIME_SCALE;
  for (;;) {
    const left = pids.filter(isAlive);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
