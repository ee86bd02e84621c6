import '../disposable';
import { debug } from '../debug';
import { InvalidArgumentError } from '../errors/error-classes';
import { showValue } from '../protocol/format';
import { validateOptions } from './options-argument';
import { binding, type NativeDeviceHandle } from '../native/binding';
import { asyncSystemCall, systemCall } from '../native/system-call';
import { describeDriverState, driverStateName, type DriverStateName } from './driver-state';

/** The device node the driver creates. */
export const DEFAULT_DEVICE_PATH = '/dev/ibmvmc';

/** What QUERY says about the driver. */
export interface DriverStatus {
  /** The driver's state number (-1..4). */
  state: number;
  /** Its name: `ready`, `initial`, ... */
  stateName: DriverStateName;
  /** What the state means for someone who wants to open a session. */
  description: string;
  /** Whether the partition has a VMC adapter (state > 0). */
  haveVmc: boolean;
  /** The DRC index REQUESTVMC last returned (0 if none). */
  vmcDrcIndex: number;
}

/** Checks a device path argument before any system call. */
export function validateDevicePath(path: unknown): string {
  if (path === undefined) return DEFAULT_DEVICE_PATH;
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0'))
    throw new InvalidArgumentError(`path must be a non-empty string, got ${showValue(path)}`, {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  return path;
}

/** Reads the QUERY ioctl through a native handle. */
export function queryStatus(handle: NativeDeviceHandle, path: string): DriverStatus {
  const q = systemCall(path, 'ioctl:QUERY', () => handle.query());
  return {
    state: q.state,
    stateName: driverStateName(q.state),
    description: describeDriverState(q.state),
    haveVmc: q.haveVmc !== 0,
    vmcDrcIndex: q.vmcDrcIndex,
  };
}

/**
 * The device itself, without a session: driver state and adapter requests.
 * Needs no HMC id; several can be open beside sessions.
 */
export class VmcDevice {
  /** The device node this was opened on. */
  readonly path: string;
  #handle: NativeDeviceHandle | undefined;

  private constructor(path: string, handle: NativeDeviceHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /** Opens the device node (default `/dev/ibmvmc`). */
  static async open(openOptions?: { path?: string }): Promise<VmcDevice> {
    const options = validateOptions(openOptions, 'VmcDevice.open()');
    const path = validateDevicePath(options.path);
    const { DeviceHandle } = binding();
    const handle = systemCall(path, 'open', () => new DeviceHandle(path));
    debug('opened %s as fd %d', path, handle.fd);
    return new VmcDevice(path, handle);
  }

  /** The driver's state and adapter (QUERY). */
  query(): DriverStatus {
    return queryStatus(this.#live(), this.path);
  }

  /**
   * Asks the hypervisor for a VMC adapter (REQUESTVMC) and returns its DRC
   * index. The adapter must then be added to the partition (DLPAR) before the
   * driver can use it. Runs off the main thread.
   */
  async requestVmc(): Promise<number> {
    const handle = this.#live();
    const index = await asyncSystemCall(this.path, 'ioctl:REQUESTVMC', () => handle.requestVmc());
    debug('REQUESTVMC on %s returned DRC index %d', this.path, index);
    return index;
  }

  /** Closes the device; calling it again does nothing. */
  close(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    systemCall(this.path, 'close', () => handle.close());
  }

  /** For `using device = await VmcDevice.open()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #live(): NativeDeviceHandle {
    if (this.#handle === undefined)
      throw new InvalidArgumentError(`the device ${this.path} is closed`, { code: 'EBADF' });
    return this.#handle;
  }
}
