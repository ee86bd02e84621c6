/**
 * Making a Unix socket path free to listen on, for the broker's socket and
 * its metrics socket alike: nothing there is fine; a socket nobody listens
 * on (what a process killed with SIGKILL leaves) is removed; a live socket
 * or a file of another kind is refused, so that a mistyped path never
 * deletes someone's file or steals a running server's socket.
 */
import type { Stats } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { InvalidArgumentError } from '../errors/error-classes';

/** What a path holds, for the refusal's text. */
function describeNode(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device node';
  return 'not a socket';
}

/** Whether something accepts connections on the socket at `socketPath`. */
function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => {
      probe.destroy();
      // ECONNREFUSED: a socket file with no listener.
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve(false);
      else reject(error);
    });
  });
}

/** How to say that the path cannot be used: for a file of another kind, and for a live socket. */
export interface StaleSocketRefusals {
  notASocket(socketPath: string, what: string): Error;
  inUse(socketPath: string): Error;
}

/**
 * Clears the way for a new socket at `socketPath`, or throws the refusal.
 *
 * @param socketPath - The absolute socket path.
 * @param refusals - The errors to throw (each server says it in its own words).
 */
export async function clearStaleSocket(
  socketPath: string,
  refusals: StaleSocketRefusals,
): Promise<void> {
  let stats: Stats;
  try {
    stats = await lstat(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) throw refusals.notASocket(socketPath, describeNode(stats));
  if (await socketAnswers(socketPath)) throw refusals.inUse(socketPath);
  await unlink(socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** The refusals as InvalidArgumentError, the option named: `--metrics /run/x.sock: ...`. */
export function optionRefusals(option: string): StaleSocketRefusals {
  return {
    notASocket: (p, what) =>
      new InvalidArgumentError(`${option} ${p}: ${what} is there, not a socket`),
    inUse: (p) => new InvalidArgumentError(`${option} ${p}: another process is listening there`),
  };
}
