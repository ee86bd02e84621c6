/**
 * The broker's listening socket: created at its path (parent made, a stale
 * socket removed, a running broker or a non-socket refused, mode and group
 * set), or handed over as an fd (socket activation).
 */
import { chmod, chown, mkdir, unlink } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { InvalidArgumentError } from '../../errors/error-classes';
import { clearStaleSocket } from '../stale-socket';
import type { ListenSettings } from './options';

/** A listening server and what the broker must undo at the end. */
export interface Listener {
  readonly server: net.Server;
  /** The socket's path, or a label for a handed-over fd. */
  readonly address: string;
  /** The path to remove at close: only a socket the broker created. */
  readonly created: string | undefined;
}

/** Clears the way for a new socket at `socketPath`, or says why it cannot be. */
function clearPath(socketPath: string): Promise<void> {
  return clearStaleSocket(socketPath, {
    notASocket: (p, what) =>
      new InvalidArgumentError(
        `${p} exists and is ${what}: the broker will not replace it; ` +
          'remove it or choose another socket path',
      ),
    inUse: (p) =>
      new InvalidArgumentError(`a broker is already running on ${p}`, { code: 'EADDRINUSE' }),
  });
}

function listen(server: net.Server, target: string | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    const done = () => {
      server.removeListener('error', onError);
      resolve();
    };
    if (typeof target === 'string') server.listen(target, done);
    else server.listen(target, done);
  });
}

/**
 * Starts listening as the settings say. The server is not yet handling
 * connections: the caller adds its `connection` listener.
 *
 * @throws InvalidArgumentError when the path holds a running broker or a
 *   non-socket; the system's errors otherwise (EACCES, EADDRINUSE, EBADF...).
 */
export async function openListener(settings: ListenSettings): Promise<Listener> {
  const server = net.createServer({ pauseOnConnect: true });
  if (settings.kind === 'fd') {
    try {
      await listen(server, { fd: settings.fd });
    } catch (error) {
      server.close();
      throw error;
    }
    return { server, address: settings.label, created: undefined };
  }
  const socketPath = settings.path;
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  await clearPath(socketPath);
  try {
    await listen(server, socketPath);
  } catch (error) {
    server.close();
    throw error;
  }
  try {
    await chown(socketPath, process.getuid?.() ?? 0, settings.gid);
    await chmod(socketPath, settings.mode);
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(socketPath).catch(() => undefined);
    throw error;
  }
  return { server, address: socketPath, created: socketPath };
}
