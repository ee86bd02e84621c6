/**
 * Knowing when whatever started this process has gone, read from /proc
 * (Linux). The parent alone is not enough: `npx ibmvmc fake-device &` makes
 * npm → `sh -c ibmvmc ...` → node, and a script's `kill $!` reaches only npm,
 * which does not pass the signal on to us. So the launchers between us and
 * the program that asked for us (npm, npx and the shell npm runs a bin
 * through) are watched too, and the first process above them.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** A process as first seen: its pid and its start time, which tells it from a later process with the same pid. */
export interface WatchedProcess {
  /** Its pid. */
  readonly pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot); undefined if it could not be read. */
  readonly startTime: string | undefined;
}

interface ProcStat {
  readonly ppid: number;
  readonly state: string;
  readonly startTime: string;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields after comm start at field 3 (state); starttime is field 22.
  return { state: fields[0], ppid: Number(fields[1]), startTime: fields[19] };
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** npm and npx: by their process title ("npm exec ...", "npx ...") or their scripts on node's command line. */
function isNpm(argv: readonly string[]): boolean {
  const first = argv[0] ?? '';
  if (/^(npm|npx)( |$)/.test(first) || ['npm', 'npx'].includes(path.basename(first))) return true;
  return argv.slice(1, 2).some((a) => /(^|\/)(npm|npx)(-cli\.js)?$/.test(a));
}

/** A shell running one command line: how npm runs a package's bin and a script. */
function isShellRunning(argv: readonly string[]): boolean {
  return ['sh', 'bash', 'dash'].includes(path.basename(argv[0] ?? '')) && argv[1] === '-c';
}

/**
 * The processes whose end should end this one: the parent, and while that is
 * npm, npx or the shell npm started, the process above it too.
 *
 * @param start - The pid to start from (default: this process's parent).
 */
export function watchedAncestors(start: number = process.ppid): WatchedProcess[] {
  const chain: WatchedProcess[] = [];
  let pid = start;
  // A bound, so a loop in /proc (it cannot happen, but a bug could) never hangs us.
  for (let depth = 0; depth < 8 && pid > 1; depth++) {
    const stat = procStat(pid);
    chain.push({ pid, startTime: stat?.startTime });
    if (stat === undefined) break;
    const argv = commandLine(pid);
    const launcher = isNpm(argv) || (isShellRunning(argv) && isNpm(commandLine(stat.ppid)));
    if (!launcher) break;
    pid = stat.ppid;
  }
  return chain;
}

/**
 * Whether a watched process has ended: gone from /proc, a zombie, or its pid
 * now someone else's.
 *
 * @param watched - As {@link watchedAncestors} found it.
 */
export function hasEnded(watched: WatchedProcess): boolean {
  const stat = procStat(watched.pid);
  if (stat === undefined || stat.state === 'Z') return true;
  return watched.startTime !== undefined && stat.startTime !== watched.startTime;
}
