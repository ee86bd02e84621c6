/**
 * Opening a session: open the device, bind the HMC id, learn the MTU.
 * Everything the driver calls temporary is retried with a capped back-off
 * until the deadline.
 */
import { debug } from '../debug';
import { queryStatus } from '../device/device';
import { DriverState } from '../device/driver-state';
import { readModuleParameters } from '../device/module-parameters';
import {
  DeviceIoError,
  DriverFailedError,
  InvalidArgumentError,
  TimeoutError,
} from '../errors/error-classes';
import { IbmvmcError } from '../errors/ibmvmc-error';
import { binding, type NativeDeviceHandle } from '../native/binding';
import { systemCall } from '../native/system-call';
import { Backoff } from './backoff';
import { Deadline, abortError, delay } from './deadline';

/** The largest MTU the driver can negotiate (its clamp on max_mtu). */
export const LARGEST_MTU = 16384;

export interface ConnectOptions {
  path: string;
  hmcId: Buffer;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  sysfsRoot: string | undefined;
}

/** A bound fd and what was learned while binding it. */
export interface Connection {
  handle: NativeDeviceHandle;
  /** The negotiated MTU, found by probing reads. */
  mtu: number;
  /** A message that arrived while probing, to deliver first. */
  early: Buffer[];
}

function closeQuietly(handle: NativeDeviceHandle | undefined): void {
  try {
    handle?.close();
  } catch {
    // The fd is released whatever close reports; the open's own error matters more.
  }
}

/** Opens and binds a session, retrying temporary refusals until the deadline. */
export async function connect(options: ConnectOptions): Promise<Connection> {
  const { path, hmcId, timeoutMs, signal } = options;
  const deadline = new Deadline(timeoutMs);
  const backoff = new Backoff({ initialMs: 2, maxMs: 250 });
  const params = await readModuleParameters({ sysfsRoot: options.sysfsRoot });
  const maxMtu = params.loaded ? params.maxMtu : LARGEST_MTU;
  const { DeviceHandle } = binding();
  let handle: NativeDeviceHandle | undefined;
  try {
    for (;;) {
      if (signal?.aborted) throw abortError(signal, 'opening the HMC session');
      try {
        handle ??= systemCall(path, 'open', () => new DeviceHandle(path));
        const live = handle;
        systemCall(path, 'ioctl:SETHMCID', () => live.setHmcId(hmcId));
        debug('SETHMCID on fd %d accepted', live.fd);
        break;
      } catch (error) {
        if (!(error instanceof IbmvmcError) || !error.retryable)
          throw explainPermanent(error, handle, path);
        const wait = backoff.next();
        if (deadline.remaining() <= 0)
          throw new TimeoutError(
            `could not open an HMC session on ${path} within ${timeoutMs} ms: ${error.message}`,
            { cause: error },
          );
        debug('open: %s, retrying in %d ms', error.code, wait);
        await delay(Math.min(wait, deadline.remaining()), signal, 'opening the HMC session');
      }
    }
    const early: Buffer[] = [];
    const mtu = probeMtu(handle, path, maxMtu, early);
    debug('session on fd %d: MTU %d', handle.fd, mtu);
    return { handle, mtu, early };
  } catch (error) {
    closeQuietly(handle);
    throw error;
  }
}

/** EIO from SETHMCID has several causes; QUERY tells a failed driver apart. */
function explainPermanent(
  error: unknown,
  handle: NativeDeviceHandle | undefined,
  path: string,
): unknown {
  if (!(error instanceof DeviceIoError) || error.syscall !== 'ioctl:SETHMCID' || !handle)
    return error;
  try {
    if (queryStatus(handle, path).state === DriverState.FAILED)
      return new DriverFailedError(
        'the ibmvmc driver has failed (e.g. a protocol version mismatch with the hypervisor): reload the module with "rmmod ibmvmc && modprobe ibmvmc"',
        { errno: error.errno, syscall: error.syscall, cause: error },
      );
  } catch {
    // QUERY failing too says nothing more than the EIO already did.
  }
  return error;
}

/**
 * The negotiated MTU cannot be read from user space, but a read larger than
 * it fails with EINVAL before anything else is checked. Right after SETHMCID
 * nothing is queued yet, so reads of decreasing size find it exactly; a
 * message that does arrive meanwhile is kept for delivery.
 */
export function probeMtu(
  handle: NativeDeviceHandle,
  path: string,
  maxMtu: number,
  early: Buffer[],
): number {
  const scratch = Buffer.allocUnsafe(maxMtu);
  const accepts = (size: number): boolean => {
    try {
      const n = systemCall(path, 'read', () => handle.read(scratch, size));
      if (n !== null) early.push(Buffer.from(scratch.subarray(0, n)));
      return true;
    } catch (error) {
      if (error instanceof InvalidArgumentError) return false;
      throw error;
    }
  };
  if (accepts(maxMtu)) return maxMtu;
  let lo = 1;
  let hi = maxMtu - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (accepts(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
