/**
 * Listening on a Unix socket path and letting go of it again, for the fake's
 * servers (the shim's control and data sockets, QEMU's bridge socket).
 */
import { lstat, rm } from 'node:fs/promises';
import type * as net from 'node:net';
import { FakeDeviceError } from './errors';

/** Longest path a Unix socket address can hold on Linux (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH_LENGTH = 107;

/**
 * Checks that `path` fits a Unix socket address.
 *
 * @param who - Whose socket, for the message (`fake device`).
 * @throws FakeDeviceError (code `ERR_IBMVMC_FAKE_SOCKET_PATH`) when it is too long.
 */
export function checkSocketPath(path: string, who: string): void {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_LENGTH) {
    throw new FakeDeviceError(
      `${who}: socket path ${path} is longer than ${MAX_SOCKET_PATH_LENGTH} bytes; use a shorter directory`,
      'ERR_IBMVMC_FAKE_SOCKET_PATH',
    );
  }
}

/**
 * Listens on `path`, replacing a stale socket file left there (never anything else).
 *
 * @param who - Whose socket, for the message (`fake device`).
 * @throws FakeDeviceError (code `ERR_IBMVMC_FAKE_SOCKET_PATH`) when it cannot (the path is taken, its folder missing, ...).
 */
export async function listenOn(server: net.Server, path: string, who: string): Promise<void> {
  await removeStaleSocket(path);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new FakeDeviceError(
      `${who}: cannot listen on ${path}: ${String(error)}`,
      'ERR_IBMVMC_FAKE_SOCKET_PATH',
      error,
    );
  }
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
