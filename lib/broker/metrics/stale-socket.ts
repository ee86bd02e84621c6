/** Clearing a Unix socket path that a dead process left behind. */
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { InvalidArgumentError } from '../../errors/index';

/** Whether something accepts connections on the socket at `path`. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => {
      probe.destroy();
      // ECONNREFUSED: a socket file with no listener, what a killed process leaves.
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve(false);
      else reject(error);
    });
  });
}

/**
 * Makes `path` free to listen on: nothing there is fine; a socket nobody
 * listens on is removed (a broker killed with SIGKILL leaves one); a live
 * socket or a file of another kind is left alone and refused, so that a
 * mistyped path never deletes someone's file or steals a running broker's socket.
 *
 * @param path - The absolute socket path.
 * @param what - The option it came from, for the error message (`--metrics`).
 */
export async function clearStaleSocket(path: string, what: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!isSocket)
    throw new InvalidArgumentError(`${what} ${path}: a file that is not a socket is there`);
  if (await socketAnswers(path))
    throw new InvalidArgumentError(`${what} ${path}: another process is listening there`);
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
