/**
 * The exit status of `ibmvmc` for each kind of failure, so scripts can react
 * without parsing messages. One code per error class (or group of classes
 * that call for the same reaction); the README's table is this one.
 */
import { HmcCommandError, HmcProtocolError } from '../client/errors';
import {
  AbortError,
  BrokerRefusedError,
  BrokerUnavailableError,
  DeviceBusyError,
  DeviceIoError,
  DeviceNotFoundError,
  DriverFailedError,
  DriverNotReadyError,
  InvalidArgumentError,
  MessageTooLargeError,
  NoBuffersError,
  NoSlotFreeError,
  NotAVmcDeviceError,
  PermissionDeniedError,
  SessionClosedError,
  SessionResetError,
  TimeoutError,
} from '../errors/error-classes';
import { BrokerProtocolError } from '../broker/wire/error';
import { FakeDeviceError } from '../fake/errors';
import { HmcDecodeError } from '../protocol/decode-error';
import { UsageError } from './usage-error';

/** Exit codes, by what went wrong. */
export const EXIT = {
  /** Everything worked. */
  OK: 0,
  /** An error of no class below: a bug, or a system error the library does not map. */
  UNEXPECTED: 1,
  /** A bad option or argument, caught before any system call. */
  USAGE: 2,
  /** No device node, module, adapter or VMC resource. */
  NOT_FOUND: 3,
  /** Permission denied (the device node, or the hypervisor refused REQUESTVMC). */
  PERMISSION: 4,
  /** The driver failed: reload the module. */
  DRIVER_FAILED: 5,
  /** Temporarily unavailable: driver starting, no buffers yet, every slot or buffer busy. */
  BUSY: 6,
  /** A deadline passed. */
  TIMEOUT: 7,
  /** The session was reset or closed under the command. */
  SESSION_GONE: 8,
  /** The driver or hypervisor reported an I/O error, or refused a call as invalid. */
  IO: 9,
  /** The hypervisor answered with a non-zero return code. */
  COMMAND_FAILED: 10,
  /** The hypervisor's answer broke the protocol (malformed, mismatched, wrong echo). */
  PROTOCOL: 11,
  /** ping: some echoes were lost or came back wrong. */
  ECHO_LOST: 12,
  /** The fake device (`--fake`, `fake-device`) failed. */
  FAKE_FAILED: 13,
  /** Interrupted (SIGINT, SIGTERM) before the command finished. */
  INTERRUPTED: 130,
} as const;

/** One of the {@link EXIT} codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The exit code for an error.
 *
 * @param error - Whatever a command threw.
 */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError || error instanceof MessageTooLargeError) return EXIT.USAGE;
  // The library's own checks have no syscall; EINVAL from the driver has one.
  if (error instanceof InvalidArgumentError) return error.syscall ? EXIT.IO : EXIT.USAGE;
  if (
    error instanceof DeviceNotFoundError ||
    error instanceof NotAVmcDeviceError ||
    error instanceof BrokerUnavailableError
  )
    return EXIT.NOT_FOUND;
  if (error instanceof PermissionDeniedError) return EXIT.PERMISSION;
  if (error instanceof DriverFailedError) return EXIT.DRIVER_FAILED;
  if (
    error instanceof DriverNotReadyError ||
    error instanceof NoBuffersError ||
    error instanceof NoSlotFreeError ||
    error instanceof DeviceBusyError
  )
    return EXIT.BUSY;
  if (error instanceof TimeoutError) return EXIT.TIMEOUT;
  if (error instanceof SessionResetError || error instanceof SessionClosedError)
    return EXIT.SESSION_GONE;
  if (error instanceof DeviceIoError) return EXIT.IO;
  if (error instanceof HmcCommandError || error instanceof BrokerRefusedError)
    return EXIT.COMMAND_FAILED;
  if (
    error instanceof HmcProtocolError ||
    error instanceof HmcDecodeError ||
    error instanceof BrokerProtocolError
  )
    return EXIT.PROTOCOL;
  if (error instanceof FakeDeviceError) return EXIT.FAKE_FAILED;
  if (error instanceof AbortError) return EXIT.INTERRUPTED;
  return EXIT.UNEXPECTED;
}
