/**
 * The native binding, loaded through node-gyp-build: a prebuilt binary from
 * `prebuilds/` when one matches, otherwise the one built from source in `build/`.
 */
import * as path from 'node:path';
import { NativeBinaryMissingError } from '../errors/error-classes';
import { packageRoot } from './package-root';

/** Driver state and adapter, as the QUERY ioctl returns them. */
export interface NativeQueryResult {
  haveVmc: number;
  state: number;
  vmcDrcIndex: number;
}

/** One open fd of the device. Each method is one system call. */
export interface NativeDeviceHandle {
  /** The fd, or -1 once closed. */
  readonly fd: number;
  setHmcId(id: Buffer): void;
  query(): NativeQueryResult;
  /** Runs on the thread pool: the hypervisor call can sleep. */
  requestVmc(): Promise<number>;
  /** Bytes read, or null when nothing is queued (EAGAIN). */
  read(buffer: Buffer, length?: number): number | null;
  /** Bytes written, or null if the fd would block (the driver never does). */
  write(buffer: Buffer): number | null;
  /**
   * Calls back whenever the fd is readable (level-triggered). Given a buffer,
   * each call first reads once into it, up to `length` bytes (default: the
   * buffer's length), and passes the bytes read; a read that finds nothing
   * (EAGAIN) calls nothing, a failed one passes its error (syscall `read`),
   * and passing a message drops the ref (`setRef(false)`). Watching again
   * replaces the callback and the buffer.
   */
  watch(
    callback: (error: Error | null, bytesRead?: number) => void,
    buffer?: Buffer,
    length?: number,
  ): void;
  unwatch(): void;
  /** Whether an active watcher keeps the event loop alive (a reading one: until it passes a message). */
  setRef(ref: boolean): void;
  /** True if closed now, false if deferred until an in-flight ioctl returns. */
  close(): boolean;
}

/**
 * A socket peer's credentials as getsockopt(SO_PEERCRED) gives them, unchecked:
 * a socket without any (TCP, an unconnected Unix socket) gives pid 0 and uid
 * and gid 4294967295 (`(uid_t)-1`).
 */
export interface NativePeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** Constants the binary was compiled with, from the target's own headers. */
export interface NativeConstants {
  /** The driver's ioctl request numbers. */
  ioctl: {
    /** Binds the fd to an HMC id (opens the session). */
    SETHMCID: number;
    /** Reads the driver's state and adapter. */
    QUERY: number;
    /** Asks the hypervisor for a VMC adapter. */
    REQUESTVMC: number;
  };
  /** The errno values the library handles, by name (`EBUSY`: 16, ...). */
  errno: Readonly<Record<string, number>>;
  /** Bytes of an HMC id. */
  HMC_ID_LEN: number;
  /** Bytes of the QUERY ioctl's struct. */
  QUERY_STRUCT_SIZE: number;
}

/** What the addon exports. */
export interface NativeBinding {
  DeviceHandle: new (path: string) => NativeDeviceHandle;
  /**
   * One getsockopt(SO_PEERCRED) on any socket fd. A fd that is not a number
   * throws TypeError, one that is not an integer from 0 to 2^31-1 RangeError,
   * both before the call; a failed call throws a system error with syscall
   * `getsockopt` (EBADF, ENOTSOCK, ...).
   */
  peerCredentials(fd: number): NativePeerCredentials;
  constants: NativeConstants;
}

let loaded: NativeBinding | undefined;

/** node-gyp-build: `resolve` finds the binary (or throws), calling it loads one. */
interface NodeGypBuild {
  (dir: string): unknown;
  resolve(dir: string): string;
}

/**
 * Loads the binding on first use, so importing the package never needs it
 * (the fake and the codecs run without). Where no binary matches this
 * platform, throws {@link NativeBinaryMissingError}, one line saying what to do.
 */
export function binding(): NativeBinding {
  if (loaded === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as NodeGypBuild;
    const root = path.resolve(packageRoot());
    let file: string;
    try {
      file = load.resolve(root);
    } catch (cause) {
      throw new NativeBinaryMissingError(
        `no native binary for ${process.platform}-${process.arch} in ${root} (no prebuilt one ` +
          'matches and none was built: the install script did not run or failed): allow ' +
          'ibmvmc\'s install script, or run "npm rebuild ibmvmc" (needs python3, make and g++)',
        { cause },
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file) as NativeBinding;
  }
  return loaded;
}
