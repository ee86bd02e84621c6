/**
 * Turns a system error from the native binding into the typed error that says,
 * for that call and errno, what happened and what to do.
 */
import { statSync } from 'node:fs';
import {
  DeviceBusyError,
  DeviceIoError,
  DeviceNotFoundError,
  DriverNotReadyError,
  InvalidArgumentError,
  NoBuffersError,
  NoSlotFreeError,
  NotAVmcDeviceError,
  PermissionDeniedError,
  SessionResetError,
} from './error-classes';
import { IbmvmcError } from './ibmvmc-error';

/** The shape of the errors the native binding throws (like Node's SystemError). */
export interface SystemErrorLike {
  /** What the system said, with the call. */
  message: string;
  /** The errno's name, e.g. `EBUSY`. */
  code: string;
  /** Negative errno (Node's convention). */
  errno: number;
  /** The system call that failed. */
  syscall: string;
  /** The path the call was on, if any. */
  path?: string;
}

/** Whether `error` is shaped like Node's SystemError: string `code`, numeric `errno`, string `syscall`. */
export function isSystemError(error: unknown): error is SystemErrorLike {
  const e = error as Partial<SystemErrorLike> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.code === 'string' &&
    typeof e.errno === 'number' &&
    typeof e.syscall === 'string'
  );
}

const GRANT_ACCESS =
  'run as root, or give your group read-write access with a udev rule such as ' +
  'KERNEL=="ibmvmc", GROUP="hmc", MODE="0660" in /etc/udev/rules.d/90-ibmvmc.rules';

/** open() of a Unix socket fails with ENXIO, as the driver's "no adapter" does. */
function isUnixSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** What is at `path`, in a few words: `a regular file`, `a character device (1:3)`, ... */
function describeNode(path: string): string {
  try {
    const st = statSync(path);
    if (st.isFile()) return 'it is a regular file, which';
    if (st.isDirectory()) return 'it is a directory, which';
    if (st.isSocket()) return "it is a Unix socket, which (without the fake device's preload shim)";
    if (st.isCharacterDevice())
      return `it is the character device ${Math.floor(st.rdev / 256)}:${st.rdev % 256} of another driver, which`;
    return 'it';
  } catch {
    return 'it';
  }
}

/** Maps a system error to its typed error; anything unknown keeps its code. */
export function fromSystemError(error: SystemErrorLike, device = '/dev/ibmvmc'): IbmvmcError {
  const d = { code: error.code, errno: error.errno, syscall: error.syscall, cause: error };
  const call = error.syscall;
  switch (error.code) {
    case 'ENOENT':
      return new DeviceNotFoundError(
        `${device} does not exist: load the driver with "modprobe ibmvmc" (it needs a VMC adapter; see "ibmvmc request-vmc")`,
        d,
      );
    case 'ENODEV':
    case 'ENXIO':
      if (call === 'ioctl:REQUESTVMC')
        return new DeviceNotFoundError(
          'the hypervisor has no VMC resource to give this partition (REQUESTVMC: ENODEV)',
          d,
        );
      // A fake device's socket opened without the fake's preload shim in this process.
      if (call === 'open' && error.code === 'ENXIO' && isUnixSocket(device))
        return new DeviceNotFoundError(
          `${device} is a Unix socket, not a device: a fake device's socket works as the device only in a process started with the fake's preload shim (LD_PRELOAD=$(node -p "require('ibmvmc/fake').findPreloadPath()"), or fake.env for a child process)`,
          d,
        );
      return new DeviceNotFoundError(
        `${device} has no driver or adapter behind it: check that the ibmvmc module is loaded and the partition has a VMC adapter`,
        d,
      );
    case 'EACCES':
    case 'EPERM':
      if (call === 'ioctl:REQUESTVMC')
        return new PermissionDeniedError(
          'the hypervisor refused REQUESTVMC: the firmware lacks the call, the request was denied, or this system cannot be managed through a VMC',
          d,
        );
      return new PermissionDeniedError(`permission denied on ${device}: ${GRANT_ACCESS}`, d);
    case 'EAGAIN':
      return new DriverNotReadyError(
        'the ibmvmc driver is still starting (no handshake with the hypervisor yet): retry shortly',
        d,
      );
    case 'ENOBUFS':
      return new NoBuffersError(
        'the hypervisor has not yet given the driver its buffers: retry shortly',
        d,
      );
    case 'EBUSY':
      if (call === 'ioctl:SETHMCID')
        return new NoSlotFreeError(
          'every HMC slot is in use or still closing: close another session, or raise the module parameter max_hmcs (at most 2)',
          d,
        );
      if (call === 'open')
        return new DeviceBusyError(
          'the driver is still initialising (older drivers refuse open until then): retry shortly',
          d,
        );
      return new DeviceBusyError(
        'the session is not confirmed by the hypervisor yet, or every buffer is in flight: retry once answers are read',
        d,
      );
    case 'EBADFD':
      return new SessionResetError(
        'the VMC channel was reset and this session is gone: open a new session',
        d,
      );
    case 'EINVAL':
      if (call === 'ioctl:REQUESTVMC')
        return new InvalidArgumentError('the hypervisor rejected REQUESTVMC as invalid', d);
      return new InvalidArgumentError(
        `the driver rejected the ${call} call as invalid (EINVAL)`,
        d,
      );
    case 'EIO':
      if (call === 'write')
        return new SessionResetError(
          'the session is gone (channel reset, or the hypervisor refused the open): open a new session',
          d,
        );
      if (call === 'ioctl:REQUESTVMC')
        return new DeviceIoError('the hypervisor reported a hardware fault on REQUESTVMC', d);
      return new DeviceIoError(
        `the driver reported an I/O error on ${call}; if it persists, check "ibmvmc status" and reload the module`,
        d,
      );
    case 'ENOSYS':
    case 'ENOTTY':
    case 'EISDIR':
      // ENOSYS: an ioctl nobody implements there (qemu-user answers the ones it does not know so).
      if (error.code === 'ENOSYS' && !call.startsWith('ioctl:'))
        return new IbmvmcError(`${error.message}`, d);
      return new NotAVmcDeviceError(
        `${device} is not a VMC device (${error.code} on ${call}: ${describeNode(device)} does not take the VMC ioctls): use /dev/ibmvmc (see "ibmvmc status"), or a fake device's socket in a process with its preload shim (ibmvmc fake-device)`,
        d,
      );
    // getsockopt(SO_PEERCRED) in peerCredentials(), where `device` names the fd.
    case 'EBADF':
      if (call === 'getsockopt')
        return new InvalidArgumentError(
          `${device} is not an open file descriptor (EBADF on getsockopt): pass the fd of a socket this process holds open, or the socket itself`,
          d,
        );
      return new IbmvmcError(`${error.message}`, d);
    case 'ENOTSOCK':
      return new InvalidArgumentError(
        `${device} is not a socket (ENOTSOCK on ${call}): pass a connected Unix socket, such as the one a Unix server's 'connection' event gives`,
        d,
      );
    case 'ENOPROTOOPT':
      return new InvalidArgumentError(
        `${device} is a socket without that option (ENOPROTOOPT on ${call}): peer credentials exist only for a connected Unix socket`,
        d,
      );
    default:
      return new IbmvmcError(`${error.message}`, d);
  }
}
