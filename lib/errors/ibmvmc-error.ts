/**
 * Base class of every error this package throws or rejects with.
 *
 * Shaped like Node's own SystemError: `code` names what happened, and for
 * errors that come from a system call `errno` (negative, as in Node) and
 * `syscall` say which call failed and how.
 */
export class IbmvmcError extends Error {
  /** A stable, machine-readable name, e.g. `EBUSY` or `ERR_IBMVMC_TIMEOUT`. */
  readonly code: string;
  /** Negative errno of the failed system call (Node's convention), if any. */
  readonly errno: number | undefined;
  /** The system call that failed (`open`, `ioctl:SETHMCID`, `write`, ...), if any. */
  readonly syscall: string | undefined;
  /** True when trying the same thing again later may succeed. */
  readonly retryable: boolean;

  constructor(
    message: string,
    details: {
      code: string;
      errno?: number;
      syscall?: string;
      retryable?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code;
    this.errno = details.errno;
    this.syscall = details.syscall;
    this.retryable = details.retryable ?? false;
  }
}
