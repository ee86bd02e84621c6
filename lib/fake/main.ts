#!/usr/bin/env node
/**
 * `node dist/cjs/fake/main.js [options]`: runs a fake device in the
 * foreground for other processes to use. Prints the `export` lines that point
 * a shell at it (`eval "$(node dist/cjs/fake/main.js ... &)"` style use, or
 * copy them), then runs until SIGINT or SIGTERM and cleans up. SIGUSR1 drops
 * the channel (a hypervisor reset); SIGUSR2 prints the state on stderr.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FakeDevice } from './fake-device';
import type { FakeDeviceOptions, OpenFault, RequestVmcFailure } from './options';
import { findPreloadPath, preloadCandidates } from './preload-path';

const USAGE = `usage: node dist/cjs/fake/main.js [options]

Runs a fake /dev/ibmvmc until SIGINT/SIGTERM and prints the environment to use it.

  --socket PATH              control socket (default: in a new temporary directory)
  --sysfs DIR                fake sysfs root (default: beside the socket)
  --mtu N                    MTU the hypervisor offers (4096)
  --pool N                   buffers per session the hypervisor offers (16)
  --slots N                  HMC slots the hypervisor offers (2)
  --protocol-version N       hypervisor protocol version (0x0101; another major fails the driver)
  --max-mtu N                module parameter max_mtu (4096)
  --buf-pool-size N          module parameter buf_pool_size (32)
  --max-hmcs N               module parameter max_hmcs (1)
  --no-vmc                   no VMC adapter: the driver stays in state initial
  --startup-ms N             time in state crqinit at start-up (0)
  --capabilities-ms N        time in state capabilities (0)
  --buffers-ms N             delay of the start-up buffers: SETHMCID gets ENOBUFS meanwhile (0)
  --startup-buffers N        buffers lent per slot at start-up (1; 0 withholds them)
  --startup-owner WHO        partition or hypervisor (partition)
  --session-buffers N        partition-owned buffers lent per session (fills the pool)
  --hv-buffers N             hypervisor-owned buffers lent per session (0)
  --open-delay-ms N|never    delay of the open answer (0)
  --open-status N            status of the open answer (0; non-zero refuses)
  --close-delay-ms N|never   delay of the close answer (0; never: lost)
  --close-status N           status of the close answer (0; non-zero resets the driver)
  --reinit-ms N|never        delay before the hypervisor returns after a reset (10)
  --requestvmc OUTCOME       DRC index, or EPERM, EIO, ENODEV, EINVAL (0x30000001)
  --requestvmc-delay-ms N    duration of the REQUESTVMC call (0)
  --open-fault ERRNO         open() fails with ENOENT or EACCES
  --open-busy-ms N           open() fails with EBUSY for N ms (older drivers)
  --trace                    print every call and message on stderr
  -h, --help                 this text
`;

interface Parsed {
  socketPath?: string;
  sysfsRoot?: string;
  options: FakeDeviceOptions;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Parsed | null {
  const parsed: Parsed = { options: {} };
  const o = parsed.options as Record<string, unknown>;
  const group = (name: string): Record<string, unknown> =>
    (o[name] ??= {}) as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return null;
      case '--socket':
        parsed.socketPath = path.resolve(value());
        break;
      case '--sysfs':
        parsed.sysfsRoot = path.resolve(value());
        break;
      case '--mtu':
        o.mtu = num(flag, value());
        break;
      case '--pool':
        o.poolSize = num(flag, value());
        break;
      case '--slots':
        o.slots = num(flag, value());
        break;
      case '--protocol-version':
        o.protocolVersion = num(flag, value());
        break;
      case '--max-mtu':
        o.maxMtu = num(flag, value());
        break;
      case '--buf-pool-size':
        o.bufPoolSize = num(flag, value());
        break;
      case '--max-hmcs':
        o.maxHmcs = num(flag, value());
        break;
      case '--no-vmc':
        o.haveVmc = false;
        break;
      case '--startup-ms':
        group('startup').crqinitMs = num(flag, value());
        break;
      case '--capabilities-ms':
        group('startup').capabilitiesMs = num(flag, value());
        break;
      case '--buffers-ms':
        group('startup').buffersMs = num(flag, value());
        break;
      case '--startup-buffers':
        group('buffers').startup = num(flag, value());
        break;
      case '--startup-owner':
        group('buffers').startupOwner = value();
        break;
      case '--session-buffers':
        group('buffers').session = num(flag, value());
        break;
      case '--hv-buffers':
        group('buffers').hypervisorOwned = num(flag, value());
        break;
      case '--open-delay-ms':
        group('openAnswer').delayMs = msOrNever(flag, value());
        break;
      case '--open-status':
        group('openAnswer').status = num(flag, value());
        break;
      case '--close-delay-ms':
        group('closeAnswer').delayMs = msOrNever(flag, value());
        break;
      case '--close-status':
        group('closeAnswer').status = num(flag, value());
        break;
      case '--reinit-ms':
        o.reinitializeAfterMs = msOrNever(flag, value());
        break;
      case '--requestvmc': {
        const v = value();
        group('requestVmc').outcome = /^[A-Z]+$/.test(v) ? (v as RequestVmcFailure) : num(flag, v);
        break;
      }
      case '--requestvmc-delay-ms':
        group('requestVmc').delayMs = num(flag, value());
        break;
      case '--open-fault':
        o.openFault = value() as OpenFault;
        break;
      case '--open-busy-ms':
        o.openBusyMs = num(flag, value());
        break;
      case '--trace':
        o.trace = true;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  return parsed;
}

function num(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`${flag}: not a number: ${text}`);
  return n;
}

function msOrNever(flag: string, text: string): number | null {
  return text === 'never' ? null : num(flag, text);
}

/** Quotes a value for a POSIX shell. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<number> {
  let parsed: Parsed | null;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  const createdDir =
    parsed.socketPath === undefined ? await mkdtemp(path.join(tmpdir(), 'ibmvmc-fake-')) : null;
  const socketPath = parsed.socketPath ?? path.join(createdDir as string, 'vmc.sock');
  const sysfsRoot = parsed.sysfsRoot ?? path.join(path.dirname(socketPath), 'sys');
  let device: FakeDevice;
  try {
    device = await FakeDevice.start({ ...parsed.options, socketPath, sysfsRoot });
  } catch (error) {
    if (createdDir !== null) await rm(createdDir, { recursive: true, force: true });
    process.stderr.write(`ibmvmc fake: ${(error as Error).message}\n`);
    return 1;
  }
  const preload = findPreloadPath();
  process.stdout.write(
    `export IBMVMC_FAKE_SOCKET=${shellQuote(socketPath)}\n` +
      `export IBMVMC_SYSFS_ROOT=${shellQuote(sysfsRoot)}\n` +
      `export LD_PRELOAD=${shellQuote(preload ?? preloadCandidates()[0])}\n`,
  );
  if (preload === undefined) {
    process.stderr.write('ibmvmc fake: the preload shim is not built yet (npm run build:native)\n');
  }
  process.stderr.write(`ibmvmc fake: running (pid ${process.pid}); SIGINT or SIGTERM stops it\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      void (async () => {
        await device.close();
        if (createdDir !== null) await rm(createdDir, { recursive: true, force: true });
        resolve(0);
      })();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGUSR1', () => {
      device.reset();
      process.stderr.write('ibmvmc fake: channel reset\n');
    });
    process.on('SIGUSR2', () => {
      process.stderr.write(
        `ibmvmc fake: ${JSON.stringify({ state: device.state(), sessions: device.sessions() })}\n`,
      );
    });
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGUSR1');
    process.removeAllListeners('SIGUSR2');
  },
  (error: unknown) => {
    process.stderr.write(`ibmvmc fake: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
