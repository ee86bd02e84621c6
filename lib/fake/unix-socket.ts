/**
 * Listening on a Unix socket path and letting go of it again, for the fake's
 * servers (the shim's control and data sockets, QEMU's bridge socket).
 */
import { lstat, rm } from 'node:fs/promises';
import type * as net from 'node:net';

/** Longest path a Unix socket address can hold on Linux (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH_LENGTH = 107;

/**
 * Listens on `path`, replacing a stale socket file left there (never anything else).
 *
 * @throws whatever `listen` fails with (the path is taken, its folder missing, ...).
 */
export async function listenOn(server: net.Server, path: string): Promise<void> {
  await removeStaleSocket(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops listening (if listening) and waits for the server to close. */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

/** Removes a leftover socket file (never anything else) so listen() can bind. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    const stats = await lstat(path);
    if (stats.isSocket()) await rm(path, { force: true });
  } catch {
    // Missing: nothing to remove.
  }
}
