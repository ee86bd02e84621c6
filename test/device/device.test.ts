import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  DeviceIoError,
  DeviceNotFoundError,
  InvalidArgumentError,
  PermissionDeniedError,
  VmcDevice,
  readModuleParameters,
} from '../../lib/index';
import { openFds, useFakes } from '../helpers/session-fixtures';

const fake = useFakes();

describe('VmcDevice', () => {
  it('queries a ready driver', async () => {
    const f = await fake();
    const device = await VmcDevice.open({ path: f.fake.socketPath });
    expect(device.query()).toEqual({
      state: 3,
      stateName: 'ready',
      description: expect.stringMatching(/ready/),
      haveVmc: true,
      vmcDrcIndex: 0,
    });
    device.close();
    device.close(); // idempotent
  });

  it('queries a driver without an adapter', async () => {
    const f = await fake({ haveVmc: false });
    using device = await VmcDevice.open({ path: f.fake.socketPath });
    const status = device.query();
    expect([status.state, status.stateName, status.haveVmc]).toEqual([0, 'initial', false]);
    expect(status.description).toMatch(/request one/);
  });

  it('requests a VMC and remembers its index', async () => {
    const f = await fake({ requestVmc: { outcome: 0x30000042, delayMs: 50 } });
    using device = await VmcDevice.open({ path: f.fake.socketPath });
    await expect(device.requestVmc()).resolves.toBe(0x30000042);
    expect(device.query().vmcDrcIndex).toBe(0x30000042);
  });

  it.each([
    ['EPERM', PermissionDeniedError, /firmware lacks the call/],
    ['EIO', DeviceIoError, /hardware fault/],
    ['ENODEV', DeviceNotFoundError, /no VMC resource/],
    ['EINVAL', InvalidArgumentError, /REQUESTVMC as invalid/],
  ] as const)('explains REQUESTVMC %s', async (outcome, cls, message) => {
    const f = await fake({ requestVmc: { outcome } });
    using device = await VmcDevice.open({ path: f.fake.socketPath });
    const error = await device.requestVmc().catch((e: Error) => e);
    expect(error).toBeInstanceOf(cls);
    expect((error as Error).message).toMatch(message);
    expect((error as DeviceIoError).syscall).toBe('ioctl:REQUESTVMC');
  });

  it('closes safely while REQUESTVMC runs on the thread pool', async () => {
    const f = await fake({ requestVmc: { delayMs: 200 } });
    const fds = openFds().length;
    const device = await VmcDevice.open({ path: f.fake.socketPath });
    const pending = device.requestVmc();
    device.close();
    expect(() => device.query()).toThrow(/closed/);
    await expect(pending).resolves.toBe(0x30000001);
    expect(openFds().length).toBe(fds);
  });
});

describe('module parameters', () => {
  it('are read from the fake sysfs', async () => {
    const f = await fake({ maxMtu: 8192, bufPoolSize: 48, maxHmcs: 2 });
    await expect(readModuleParameters({ sysfsRoot: f.fake.sysfsRoot })).resolves.toEqual({
      loaded: true,
      maxMtu: 8192,
      bufPoolSize: 48,
      maxHmcs: 2,
    });
  });

  it('say clearly when the module is not loaded', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'ibmvmc-sysfs-'));
    try {
      const params = await readModuleParameters({ sysfsRoot: empty });
      expect(params).toEqual({
        loaded: false,
        reason: expect.stringMatching(/not loaded.*modprobe ibmvmc/),
      });
    } finally {
      rmSync(empty, { recursive: true });
    }
  });
});
