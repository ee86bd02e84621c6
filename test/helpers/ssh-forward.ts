/**
 * A real OpenSSH Unix-socket forward for tests, as a fleet tool reaches a
 * broker on another partition (`ssh -L /tmp/lpar7.sock:/run/ibmvmc/broker.sock
 * lpar7`): an sshd of our own on 127.0.0.1 (a spare port, throw-away keys, a
 * config of our own; the machine's sshd and keys are never touched) and an
 * `ssh -N -L` to it. Needs Debian's openssh-server and openssh-client
 * (scripts/ci/install-test-tools.sh installs them).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { descendantsOf, waitGone } from './process-tree';
import { TIME_SCALE } from './time-scale';

const SSHD = '/usr/sbin/sshd';

/** How long sshd and ssh get to come up, and to go (stretched by the time scale). */
const START_MS = 10_000;
const STOP_MS = 5_000;

/** A running forward. */
export interface SshForward {
  /** The local end: connect here to reach the remote socket through sshd. */
  readonly localSocketPath: string;
  /** Stops ssh and sshd (and sshd's per-connection processes), waits for them, removes the temp dir. */
  stop(): Promise<void>;
}

/** Whether the tools are here: `ok`, or why not (for the skipped test's title). */
export type SshAvailability = { ok: true } | { ok: false; why: string };

/** The full path of `command` on PATH, or undefined. */
function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Whether sshd, ssh and ssh-keygen are installed. */
export function sshAvailable(): SshAvailability {
  const missing: string[] = [];
  try {
    accessSync(SSHD, constants.X_OK);
  } catch {
    missing.push(`${SSHD} (openssh-server)`);
  }
  for (const tool of ['ssh', 'ssh-keygen'])
    if (onPath(tool) === undefined) missing.push(`${tool} (openssh-client)`);
  if (missing.length === 0) return { ok: true };
  return {
    ok: false,
    why: `not installed: ${missing.join(', ')}; scripts/ci/install-test-tools.sh installs them`,
  };
}

/** A free TCP port on 127.0.0.1: bound, read, released (sshd binds it a moment later). */
function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Whether a connection to `target` is accepted (and closed at once). */
function accepts(target: { port: number; host: string } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = connect(target);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A child's stderr, kept (the last 8 KiB) for the error when it fails. */
function collectStderr(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-8192);
  });
  return () => text.trim();
}

/** Resolves when the child has exited (at once if it has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Polls `ready` until it holds, failing at once if `child` exits first and
 * after `START_MS` (scaled) otherwise.
 */
async function waitReady(
  what: string,
  child: ChildProcess,
  stderr: () => string,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + START_MS * TIME_SCALE;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}): ${stderr()}`);
    if (await ready()) return;
    if (Date.now() >= deadline)
      throw new Error(`${what} not ready after ${START_MS * TIME_SCALE} ms: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Ends `child` with SIGTERM, then SIGKILL if it lingers, and waits for its exit. */
async function end(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = { id: undefined as NodeJS.Timeout | undefined };
  await Promise.race([
    exited(child),
    new Promise<void>((resolve) => {
      timer.id = setTimeout(resolve, STOP_MS * TIME_SCALE);
    }),
  ]);
  clearTimeout(timer.id);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited(child);
  }
}

/**
 * Starts sshd on a spare port of 127.0.0.1 and `ssh -N -L local:remote` to it
 * as the current user, and resolves once the local socket accepts connections.
 *
 * @param remoteSocketPath - The socket sshd connects to for each connection
 *   made to the local end (the broker's, in the real use).
 */
export async function startSshForward(remoteSocketPath: string): Promise<SshForward> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-ssh-'));
  const file = (name: string): string => path.join(dir, name);
  const localSocketPath = file('local.sock');
  let sshd: ChildProcess | undefined;
  let ssh: ChildProcess | undefined;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // sshd's per-connection processes are not our children: note them now,
      // and wait for them too (they end when the ssh connection does).
      const sessions = sshd?.pid === undefined ? [] : descendantsOf(sshd.pid);
      if (ssh !== undefined) await end(ssh);
      if (sshd !== undefined) await end(sshd);
      const left = await waitGone(sessions, STOP_MS);
      for (const pid of left) process.kill(pid, 'SIGKILL');
      if ((await waitGone(left, STOP_MS)).length > 0)
        throw new Error(`sshd's processes ${left.join(', ')} survived SIGKILL`);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const keygen = (name: string): Promise<unknown> =>
      promisify(execFile)('ssh-keygen', [
        '-q',
        '-t',
        'ed25519',
        '-N',
        '',
        '-C',
        name,
        '-f',
        file(name),
      ]);
    await Promise.all([keygen('host_key'), keygen('client_key')]);
    writeFileSync(file('authorized_keys'), readFileSync(file('client_key.pub')), { mode: 0o600 });
    const port = await sparePort();
    writeFileSync(
      file('sshd_config'),
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${file('host_key')}`,
        `AuthorizedKeysFile ${file('authorized_keys')}`,
        `PidFile ${file('sshd.pid')}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // The temp dir's modes are not what StrictModes wants of a home's .ssh.
        'StrictModes no',
        'AllowStreamLocalForwarding yes',
        // OpenSSH (9.2 at least) applies AllowTcpForwarding's local side to
        // socket forwards as well: "no" here denies every direct-streamlocal channel.
        'AllowTcpForwarding local',
        'X11Forwarding no',
        'PermitTTY no',
        // The tests run as root in CI: key login only.
        'PermitRootLogin prohibit-password',
        `AllowUsers ${userInfo().username}`,
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    // sshd's privilege separation needs its empty directory (made by the
    // package's init scripts, which never ran here); root only.
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

    sshd = spawn(SSHD, ['-D', '-e', '-f', file('sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const sshdErr = collectStderr(sshd);
    await waitReady('sshd', sshd, sshdErr, () => accepts({ host: '127.0.0.1', port }));

    ssh = spawn(
      'ssh',
      [
        '-N',
        '-F',
        '/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'ExitOnForwardFailure=yes',
        '-o',
        'StreamLocalBindUnlink=yes',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'LogLevel=ERROR',
        '-i',
        file('client_key'),
        '-p',
        String(port),
        '-L',
        `${localSocketPath}:${remoteSocketPath}`,
        `${userInfo().username}@127.0.0.1`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const sshErr = collectStderr(ssh);
    await waitReady(
      'ssh -L',
      ssh,
      () => `${sshErr()}\nsshd: ${sshdErr()}`,
      () => accepts({ path: localSocketPath }),
    );
    return { localSocketPath, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
