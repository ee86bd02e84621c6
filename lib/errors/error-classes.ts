/**
 * One class per thing that can go wrong, each with a message that says what
 * happened and what to do. `instanceof` is the way to tell them apart;
 * `code`, `errno` and `syscall` carry the system's own words.
 */
import { IbmvmcError } from './ibmvmc-error';

/** Details every error class takes: the system call behind it, if any. */
export interface ErrorDetails {
  /** The code, when not the class's own (e.g. `EBUSY` for `DeviceBusyError`). */
  code?: string;
  /** Negative errno of the failed system call. */
  errno?: number;
  /** The system call that failed. */
  syscall?: string;
  /** What caused it, if anything. */
  cause?: unknown;
}

function details(defaultCode: string, d: ErrorDetails, retryable: boolean) {
  return { ...d, code: d.code ?? defaultCode, retryable };
}

/** No device node, or no driver or adapter behind it (ENOENT, ENODEV, ENXIO). */
export class DeviceNotFoundError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ENOENT', d, false));
  }
}

/** The caller may not use the device, or the hypervisor refused (EACCES, EPERM). */
export class PermissionDeniedError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('EACCES', d, false));
  }
}

/** The driver is still starting: no VMC handshake yet (EAGAIN on SETHMCID). */
export class DriverNotReadyError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('EAGAIN', d, true));
  }
}

/** The driver is unusable until the module is reloaded (state failed). */
export class DriverFailedError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('EIO', d, false));
  }
}

/** Every HMC slot of the system is in use, or still closing (EBUSY on SETHMCID). */
export class NoSlotFreeError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('EBUSY', d, true));
  }
}

/** The driver cannot take this now: session still opening, every buffer in flight, or an old driver still starting (EBUSY). */
export class DeviceBusyError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('EBUSY', d, true));
  }
}

/** The hypervisor has not yet given the driver its buffers (ENOBUFS). */
export class NoBuffersError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ENOBUFS', d, true));
  }
}

/** The driver or the hypervisor reported an I/O failure (EIO). */
export class DeviceIoError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('EIO', d, false));
  }
}

/** The session is gone: the channel was reset or the hypervisor refused the open. Open a new one. */
export class SessionResetError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ERR_IBMVMC_SESSION_RESET', d, false));
  }
}

/** The session was closed by this program. */
export class SessionClosedError extends IbmvmcError {
  constructor(message = 'the session is closed', d: ErrorDetails = {}) {
    super(message, details('ERR_IBMVMC_SESSION_CLOSED', d, false));
  }
}

/** A message is empty or larger than the negotiated MTU; nothing was written. */
export class MessageTooLargeError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ERR_IBMVMC_MESSAGE_SIZE', d, false));
  }
}

/** A bad argument, from the caller (caught before any system call) or refused by the driver (EINVAL). */
export class InvalidArgumentError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ERR_INVALID_ARG_VALUE', d, false));
  }
}

/** The deadline passed. `cause` holds the last temporary error, if there was one. */
export class TimeoutError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ETIMEDOUT', d, false));
  }
}

/** The caller's AbortSignal fired. `cause` holds the signal's reason. */
export class AbortError extends IbmvmcError {
  constructor(message = 'the operation was aborted', d: ErrorDetails = {}) {
    super(message, details('ABORT_ERR', d, false));
  }
}

/**
 * No broker answers on the socket (ENOENT, ECONNREFUSED), or it went away:
 * start `ibmvmc serve` (or its systemd socket unit), then connect again.
 */
export class BrokerUnavailableError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ECONNREFUSED', d, true));
  }
}

/** The broker refused a request or the connection, for a reason its `code` names. */
export class BrokerRefusedError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ERR_IBMVMC_BROKER', d, false));
  }
}

/**
 * The path is not a VMC device: a regular file, `/dev/null`, a directory, or
 * another driver's node refuses the VMC ioctls (ENOTTY, EISDIR).
 */
export class NotAVmcDeviceError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ENOTTY', d, false));
  }
}

/**
 * No native binary for this platform: no prebuilt one matches and none was
 * built when the package was installed (its install script did not run, or
 * the build failed). Allow the package's install script, or run
 * `npm rebuild ibmvmc` (needs python3, make and g++).
 */
export class NativeBinaryMissingError extends IbmvmcError {
  constructor(message: string, d: ErrorDetails = {}) {
    super(message, details('ERR_IBMVMC_NO_BINARY', d, false));
  }
}
