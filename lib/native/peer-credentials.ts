/**
 * Who is on the other end of a Unix socket: SO_PEERCRED, which Node has no
 * API for. The broker reads it for every connection to decide who may use it.
 */
import * as net from 'node:net';
import { InvalidArgumentError } from '../errors/error-classes';
import { showValue } from '../protocol/format';
import { binding } from './binding';
import { systemCall } from './system-call';

/**
 * A Unix socket peer's process and ids, as the kernel recorded them when the
 * peer connected (they do not follow later `setuid()` calls or fd passing).
 */
export interface PeerCredentials {
  /** The peer's process id as this process's pid namespace sees it: 0 if it cannot see that process. */
  pid: number;
  /** Its effective user id, mapped into this user namespace (the overflow uid, 65534, if unmapped). */
  uid: number;
  /** Its effective group id, mapped the same way (its supplementary groups are not included). */
  gid: number;
}

/** `(uid_t)-1`: the uid and gid the kernel gives for a socket with no peer credentials. */
const NO_ID = 0xffffffff;

/** The largest fd a C `int` holds. */
const MAX_FD = 0x7fffffff;

/** The part of a `net.Socket` read here: Node's undocumented libuv handle and its `fd`. */
interface SocketInternals {
  _handle?: { fd?: unknown } | null;
}

/** The fd behind a connected socket, or an InvalidArgumentError saying why there is none. */
function socketFd(socket: net.Socket): number {
  const fd = (socket as unknown as SocketInternals)._handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0)
    throw new InvalidArgumentError(
      'the socket has no file descriptor (it is not connected yet, is already closed, or is not ' +
        "backed by one, as a TLS socket is not): pass the socket a Unix server's 'connection' " +
        'event gives, or its fd',
    );
  return fd;
}

/** The fd to ask about: the socket's own, or the number itself once checked. */
function fdOf(socket: unknown): number {
  if (socket instanceof net.Socket) return socketFd(socket);
  if (typeof socket !== 'number')
    throw new InvalidArgumentError(
      `socket must be a net.Socket or a file descriptor, got ${showValue(socket)}`,
      { code: 'ERR_INVALID_ARG_TYPE' },
    );
  if (!Number.isInteger(socket) || socket < 0 || socket > MAX_FD)
    throw new InvalidArgumentError(
      `a file descriptor must be an integer from 0 to ${MAX_FD}, got ${showValue(socket)}`,
    );
  return socket;
}

/**
 * The pid, uid and gid of the process on the other end of a connected Unix
 * socket, read with one `getsockopt(SO_PEERCRED)`. For the broker's checks of
 * who may use it; it decides nothing itself. Synchronous: the call never blocks.
 *
 * @param socket - A connected Unix socket (the one a `net.Server`'s
 *   `'connection'` event gives, or a client's once connected), or the fd of
 *   any socket. The fd is not checked to be this process's own: pass one it holds.
 * @returns What the kernel recorded when the peer connected. A listening Unix
 *   socket gives the listener's own.
 * @throws InvalidArgumentError before any system call when `socket` is neither
 *   a `net.Socket` nor an integer fd (code `ERR_INVALID_ARG_TYPE` or
 *   `ERR_INVALID_ARG_VALUE`), or is a socket without an fd; from the call when
 *   the fd is not open (`EBADF`), not a socket (`ENOTSOCK`), or a socket without
 *   peer credentials (TCP, UDP, an unconnected Unix socket: Linux answers those
 *   with uid and gid -1 rather than an error, and this turns that into one, with
 *   syscall `getsockopt`).
 */
export function peerCredentials(socket: net.Socket | number): PeerCredentials {
  const fd = fdOf(socket);
  const label = `fd ${fd}`;
  const { pid, uid, gid } = systemCall(label, 'getsockopt', () => binding().peerCredentials(fd));
  if (uid === NO_ID && gid === NO_ID)
    throw new InvalidArgumentError(
      `${label} has no peer credentials (SO_PEERCRED gave uid and gid -1): the kernel records ` +
        'them only for a connected or listening Unix socket, and this is a TCP or UDP socket or ' +
        "an unconnected one; pass the socket a Unix server's 'connection' event gives",
      { syscall: 'getsockopt' },
    );
  return { pid, uid, gid };
}
