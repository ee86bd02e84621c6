/**
 * The error the fake device throws for its own failures: bad options, a
 * control used at the wrong time, a child process that died, a compiled
 * entry point that is missing. Errors of the emulated device are never thrown:
 * they are errno results, as the real driver returns them.
 */
import { IbmvmcError } from '../errors/ibmvmc-error';

/** A failure of the fake device itself (never of the device it emulates). */
export class FakeDeviceError extends IbmvmcError {
  /**
   * @param message - What went wrong and what to do about it.
   * @param code - A stable `ERR_IBMVMC_FAKE_*` code.
   * @param cause - The underlying error, if any.
   */
  constructor(message: string, code: string, cause?: unknown) {
    super(message, { code, cause });
  }
}
