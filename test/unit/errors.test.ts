import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  DeviceBusyError,
  DeviceIoError,
  DeviceNotFoundError,
  DriverNotReadyError,
  fromSystemError,
  IbmvmcError,
  InvalidArgumentError,
  NoBuffersError,
  NoSlotFreeError,
  NotAVmcDeviceError,
  PermissionDeniedError,
  SessionResetError,
} from '../../lib/index';

const sys = (code: string, errno: number, syscall: string) => ({
  message: `${code}: x, ${syscall}`,
  code,
  errno: -errno,
  syscall,
});

describe('fromSystemError maps every errno the driver returns', () => {
  it.each([
    ['ENOENT', 2, 'open', DeviceNotFoundError, false, /modprobe ibmvmc/],
    ['ENODEV', 19, 'open', DeviceNotFoundError, false, /no driver or adapter/],
    ['ENXIO', 6, 'open', DeviceNotFoundError, false, /no driver or adapter/],
    ['EACCES', 13, 'open', PermissionDeniedError, false, /udev rule/],
    ['EPERM', 1, 'open', PermissionDeniedError, false, /udev rule/],
    ['EBUSY', 16, 'open', DeviceBusyError, true, /older drivers/],
    ['EAGAIN', 11, 'ioctl:SETHMCID', DriverNotReadyError, true, /still starting/],
    ['ENOBUFS', 105, 'ioctl:SETHMCID', NoBuffersError, true, /buffers/],
    ['EBUSY', 16, 'ioctl:SETHMCID', NoSlotFreeError, true, /max_hmcs/],
    ['EIO', 5, 'ioctl:SETHMCID', DeviceIoError, false, /I\/O error/],
    ['EBUSY', 16, 'write', DeviceBusyError, true, /buffer is in flight/],
    ['EIO', 5, 'write', SessionResetError, false, /session is gone/],
    ['EBADFD', 77, 'read', SessionResetError, false, /reset/],
    ['EINVAL', 22, 'read', InvalidArgumentError, false, /invalid/],
    ['EPERM', 1, 'ioctl:REQUESTVMC', PermissionDeniedError, false, /firmware lacks the call/],
    ['EIO', 5, 'ioctl:REQUESTVMC', DeviceIoError, false, /hardware fault/],
    ['ENODEV', 19, 'ioctl:REQUESTVMC', DeviceNotFoundError, false, /no VMC resource/],
    ['EINVAL', 22, 'ioctl:REQUESTVMC', InvalidArgumentError, false, /REQUESTVMC as invalid/],
    // peerCredentials()'s getsockopt(SO_PEERCRED)
    ['EBADF', 9, 'getsockopt', InvalidArgumentError, false, /not an open file descriptor/],
    ['ENOTSOCK', 88, 'getsockopt', InvalidArgumentError, false, /is not a socket/],
    ['ENOPROTOOPT', 92, 'getsockopt', InvalidArgumentError, false, /only for a connected Unix/],
  ])('%s on %s', (code, errno, syscall, cls, retryable, message) => {
    const error = fromSystemError(sys(code, errno, syscall));
    expect(error).toBeInstanceOf(cls);
    expect(error).toBeInstanceOf(IbmvmcError);
    expect(error.code).toBe(code);
    expect(error.errno).toBe(-errno);
    expect(error.syscall).toBe(syscall);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toMatch(message);
    expect(error.cause).toMatchObject({ code });
  });

  it('says that a Unix socket opened as the device needs the fake device’s preload shim', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-errors-'));
    const socketPath = path.join(dir, 'vmc.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const error = fromSystemError(sys('ENXIO', 6, 'open'), socketPath);
      expect(error).toBeInstanceOf(DeviceNotFoundError);
      expect(error.code).toBe('ENXIO');
      expect(error.message).toMatch(
        /is a Unix socket, not a device: .* preload shim \(LD_PRELOAD=/,
      );
      // Not for other files, nor for other calls on a socket.
      expect(fromSystemError(sys('ENXIO', 6, 'open'), dir).message).toMatch(/no driver or adapter/);
      expect(fromSystemError(sys('ENODEV', 19, 'open'), socketPath).message).toMatch(
        /no driver or adapter/,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a path that is not a VMC device: ENOTTY or ENOSYS on an ioctl, EISDIR on open', () => {
    for (const [code, errno, call] of [
      ['ENOTTY', 25, 'ioctl:SETHMCID'],
      ['ENOSYS', 38, 'ioctl:QUERY'],
      ['EISDIR', 21, 'open'],
    ] as const) {
      const error = fromSystemError(sys(code, errno, call), '/nowhere');
      expect(error).toBeInstanceOf(NotAVmcDeviceError);
      expect(error).toMatchObject({ code, syscall: call, errno: -errno, retryable: false });
      expect(error.message).toMatch(`/nowhere is not a VMC device (${code} on ${call}`);
    }
    // ENOSYS elsewhere is no statement about the path.
    expect(fromSystemError(sys('ENOSYS', 38, 'read')).constructor).toBe(IbmvmcError);
  });

  it('keeps the code of an errno it has no class for', () => {
    const error = fromSystemError(sys('EMFILE', 24, 'open'));
    expect(error.constructor).toBe(IbmvmcError);
    expect(error.code).toBe('EMFILE');
    // EBADF has a class only from getsockopt: on the device it stays as it is.
    const ebadf = fromSystemError(sys('EBADF', 9, 'fd'));
    expect(ebadf.constructor).toBe(IbmvmcError);
    expect(ebadf.code).toBe('EBADF');
    expect(ebadf.message).toBe('EBADF: x, fd');
  });
});
