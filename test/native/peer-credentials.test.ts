// peerCredentials(): one getsockopt(SO_PEERCRED) in the addon, and its typed
// wrapper, on real sockets: Unix ones in this process and from child
// processes, TCP ones, and fds that are not sockets at all.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import * as path from 'node:path';
import { IbmvmcError, InvalidArgumentError, peerCredentials } from '../../lib/index';
import { binding } from '../../lib/native/binding';
import { nativeConstants } from '../../lib/native/constants';
import { TIME_SCALE } from '../helpers/time-scale';

type Thrown = Error & { code?: string; errno?: number; syscall?: string; cause?: unknown };

const { EBADF, ENOTSOCK } = osConstants.errno;
/** `(uid_t)-1`: what the kernel gives as uid and gid for a socket without credentials. */
const NO_ID = 0xffffffff;
const NOBODY = 65534;
/** A gid unlike the uid, so that the two cannot be swapped unseen. */
const OTHER_GID = 12345;
const INT_MAX = 0x7fffffff;
const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };

/** The error `call` throws; fails the test if it returns. */
function thrown(call: () => unknown): Thrown {
  try {
    call();
  } catch (error) {
    return error as Thrown;
  }
  throw new Error('expected a throw');
}

/** Node's fd behind a socket or server (its undocumented `_handle.fd`). */
function fdOf(socket: net.Socket | net.Server): number {
  const fd = (socket as unknown as { _handle: { fd: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no fd behind this socket');
  return fd;
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, what: string, ms = 5000 * TIME_SCALE): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function nextConnection(server: net.Server): Promise<net.Socket> {
  const [socket] = (await within(once(server, 'connection'), 'a connection')) as [net.Socket];
  return socket;
}

/** The first line `socket` sends. */
async function firstLine(socket: net.Socket): Promise<string> {
  let text = '';
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    text += chunk.toString();
    if (text.includes('\n')) break;
  }
  return text.slice(0, text.indexOf('\n'));
}

// A node process that connects to the socket given it, says who it is, and
// waits until the other side closes.
const PEER_SCRIPT = `
const c = require('node:net').connect(process.argv[1], () =>
  c.write(JSON.stringify({ pid: process.pid, uid: process.getuid(), gid: process.getgid() }) + '\\n'));
c.resume();
c.on('end', () => c.end());
`;

function spawnPeer(socketPath: string, options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, ['-e', PEER_SCRIPT, socketPath], {
    stdio: ['ignore', 'ignore', 'inherit'],
    ...options,
  });
}

let dir: string;
let server: net.Server;
const sockets: net.Socket[] = [];
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-peercred-'));
  server = net.createServer();
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill();
  if (server.listening) await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Listens on a Unix socket in `dir`; returns its path. */
async function listenUnix(): Promise<string> {
  const socketPath = path.join(dir, 'peer.sock');
  server.listen(socketPath);
  await within(once(server, 'listening'), 'listening');
  return socketPath;
}

/** A connected pair on `server`: the client's end and the server's. */
async function connectedPair(
  options: net.NetConnectOpts,
): Promise<{ client: net.Socket; accepted: net.Socket }> {
  const accepting = nextConnection(server);
  const client = net.connect(options);
  sockets.push(client);
  await within(once(client, 'connect'), 'connect');
  const accepted = await accepting;
  sockets.push(accepted);
  return { client, accepted };
}

/** A child's connection, what it says about itself, and what peerCredentials() says. */
async function peerOfChild(socketPath: string, options: SpawnOptions = {}) {
  const accepting = nextConnection(server);
  const child = spawnPeer(socketPath, options);
  children.push(child);
  const accepted = await accepting;
  sockets.push(accepted);
  const credentials = peerCredentials(accepted);
  const said = JSON.parse(await within(firstLine(accepted), "the child's line")) as unknown;
  accepted.end();
  const [code] = (await within(once(child, 'exit'), "the child's exit")) as [number | null];
  return { child, credentials, said, code };
}

describe('peerCredentials() on a Unix socket', () => {
  it("gives this process's pid, uid and gid for a client in this process, from both ends", async () => {
    const socketPath = await listenUnix();
    const { client, accepted } = await connectedPair({ path: socketPath });
    expect(peerCredentials(accepted)).toEqual(me);
    expect(peerCredentials(client)).toEqual(me);
    // A raw fd, through the wrapper and straight into the addon.
    expect(peerCredentials(fdOf(accepted))).toEqual(me);
    expect(binding().peerCredentials(fdOf(accepted))).toEqual(me);
    // A listening socket gives the listener's own credentials.
    expect(peerCredentials(fdOf(server))).toEqual(me);
  });

  it("gives a child process's pid", async () => {
    const socketPath = await listenUnix();
    const { child, credentials, said, code } = await peerOfChild(socketPath);
    expect(child.pid).toEqual(expect.any(Number));
    expect(child.pid).not.toBe(process.pid);
    expect(credentials).toEqual({ pid: child.pid, uid: me.uid, gid: me.gid });
    expect(said).toEqual(credentials);
    expect(code).toBe(0);
  });

  (me.uid === 0 ? it : it.skip)(
    "gives another user's uid and gid (a child run as nobody with another group; needs root)",
    async () => {
      const socketPath = await listenUnix();
      chmodSync(dir, 0o755);
      chmodSync(socketPath, 0o777);
      // The preload shim lives where nobody may not read it, and is not needed there.
      const env = { ...process.env };
      delete env.LD_PRELOAD;
      const { child, credentials, said, code } = await peerOfChild(socketPath, {
        uid: NOBODY,
        gid: OTHER_GID,
        env,
        cwd: '/',
      });
      expect(credentials).toEqual({ pid: child.pid, uid: NOBODY, gid: OTHER_GID });
      expect(said).toEqual(credentials);
      expect(code).toBe(0);
    },
  );
});

describe('peerCredentials() on a TCP socket', () => {
  it('is refused: Linux answers SO_PEERCRED with pid 0 and uid and gid -1, not an error', async () => {
    server.listen(0, '127.0.0.1');
    await within(once(server, 'listening'), 'listening');
    const { port } = server.address() as net.AddressInfo;
    const { client, accepted } = await connectedPair({ host: '127.0.0.1', port });
    for (const socket of [accepted, client]) {
      // What the kernel says, as the addon passes it on.
      expect(binding().peerCredentials(fdOf(socket))).toEqual({ pid: 0, uid: NO_ID, gid: NO_ID });
      for (const argument of [socket, fdOf(socket)]) {
        const error = thrown(() => peerCredentials(argument));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
        expect(error.syscall).toBe('getsockopt');
        expect(error.errno).toBeUndefined();
        expect(error.message).toBe(
          `fd ${fdOf(socket)} has no peer credentials (SO_PEERCRED gave uid and gid -1): the kernel records them only for a connected or listening Unix socket, and this is a TCP or UDP socket or an unconnected one; pass the socket a Unix server's 'connection' event gives`,
        );
      }
    }
  });
});

describe('peerCredentials() on an fd that is not a socket', () => {
  it('throws EBADF for a closed fd and for one no process can have', () => {
    const closed = openSync(__filename, 'r');
    closeSync(closed);
    for (const fd of [closed, INT_MAX]) {
      const native = thrown(() => binding().peerCredentials(fd));
      expect(native).not.toBeInstanceOf(IbmvmcError);
      expect(native).toMatchObject({ code: 'EBADF', errno: -EBADF, syscall: 'getsockopt' });
      expect(native.message).toBe('EBADF: Bad file descriptor, getsockopt');

      const error = thrown(() => peerCredentials(fd));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'EBADF', errno: -EBADF, syscall: 'getsockopt' });
      expect(error.message).toMatch(new RegExp(`^fd ${fd} is not an open file descriptor`));
      expect(error.cause).toMatchObject({ code: 'EBADF' });
    }
  });

  it("throws ENOTSOCK for a regular file's fd", () => {
    const fd = openSync(__filename, 'r');
    try {
      const native = thrown(() => binding().peerCredentials(fd));
      expect(native).toMatchObject({ code: 'ENOTSOCK', errno: -ENOTSOCK, syscall: 'getsockopt' });
      expect(native.message).toBe('ENOTSOCK: Socket operation on non-socket, getsockopt');

      const error = thrown(() => peerCredentials(fd));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'ENOTSOCK', errno: -ENOTSOCK, syscall: 'getsockopt' });
      expect(error.message).toMatch(new RegExp(`^fd ${fd} is not a socket \\(ENOTSOCK`));
    } finally {
      closeSync(fd);
    }
  });

  it('names the errnos it can produce with the values of this platform', () => {
    expect(nativeConstants().errno.ENOTSOCK).toBe(ENOTSOCK);
    expect(nativeConstants().errno.ENOPROTOOPT).toBe(osConstants.errno.ENOPROTOOPT);
  });
});

describe('peerCredentials() with a bad argument', () => {
  it('the addon throws TypeError or RangeError before any system call', () => {
    const call = binding().peerCredentials as (...args: unknown[]) => unknown;
    for (const bad of [[], ['3'], [undefined], [null], [{}], [3n]]) {
      const error = thrown(() => call(...bad));
      // Made in the addon's realm, not the test's: compared by name.
      expect(error.constructor.name).toBe('TypeError');
      expect(error.message).toBe('fd must be a number');
      expect(error.syscall).toBeUndefined();
    }
    // Each would be EBADF or another fd's answer if it reached getsockopt.
    for (const bad of [-1, 1.5, NaN, Infinity, INT_MAX + 1]) {
      const error = thrown(() => call(bad));
      expect(error.constructor.name).toBe('RangeError');
      expect(error.message).toBe('fd must be an integer from 0 to 2147483647');
      expect(error.syscall).toBeUndefined();
    }
  });

  it('the wrapper throws InvalidArgumentError without calling the addon', async () => {
    const spy = jest.spyOn(binding(), 'peerCredentials');
    try {
      const wrongType: unknown[] = ['3', null, undefined, {}, [], Buffer.alloc(4), 3n];
      for (const bad of wrongType) {
        const error = thrown(() => peerCredentials(bad as number));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
        expect(error.message).toMatch(/^socket must be a net\.Socket or a file descriptor, got /);
      }
      for (const bad of [-1, 1.5, NaN, INT_MAX + 1]) {
        const error = thrown(() => peerCredentials(bad));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
        expect(error.message).toBe(
          `a file descriptor must be an integer from 0 to 2147483647, got ${bad}`,
        );
      }
      // Sockets with no fd: never connected, and connected then destroyed.
      const socketPath = await listenUnix();
      const { accepted } = await connectedPair({ path: socketPath });
      accepted.destroy();
      for (const socket of [new net.Socket(), accepted]) {
        const error = thrown(() => peerCredentials(socket));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
        expect(error.message).toMatch(/^the socket has no file descriptor/);
      }
      expect(spy).not.toHaveBeenCalled();
      // The spy does see a call that gets through.
      const { client } = await connectedPair({ path: socketPath });
      expect(peerCredentials(client)).toEqual(me);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });
});
