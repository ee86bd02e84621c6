/**
 * A `--device` that is not a VMC device (a regular file, /dev/null, a
 * directory) is named as such, with what to do: not a bare ENOTTY. (Under
 * qemu-user, which runs the emulated POWER suite, an ioctl it does not know
 * fails with ENOSYS instead: the same error, that errno named.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NotAVmcDeviceError, open } from '../../lib/index';
import { rejection } from '../helpers/rejection';
import { runCli } from './run-cli';

const dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-not-a-device-'));
const file = path.join(dir, 'plain-file');
writeFileSync(file, '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What an unknown ioctl fails with here: ENOTTY from Linux, ENOSYS from qemu-user. */
const IOCTL_ERRNO = process.env.IBMVMC_TEST_QEMU_USER === '1' ? 'ENOSYS' : 'ENOTTY';

describe('a path that is not a VMC device', () => {
  it.each([
    [file, /it is a regular file/],
    ['/dev/null', /it is the character device 1:3 of another driver/],
    [dir, /EISDIR on open: it is a directory/],
  ])('open() of %s rejects with NotAVmcDeviceError saying what it is', async (device, what) => {
    const error = await rejection(open({ hmcId: 'x', path: device, timeoutMs: 1000 }));
    expect(error).toBeInstanceOf(NotAVmcDeviceError);
    expect(error.message).toMatch(`${device} is not a VMC device`);
    expect(error.message).toMatch(what);
    expect(error.message).toMatch(/use \/dev\/ibmvmc/);
  });

  it('ibmvmc ping names it and exits 3', async () => {
    const r = await runCli(['ping', '--device', file, '--count', '1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `ibmvmc ping: ${file} is not a VMC device (${IOCTL_ERRNO} on ioctl:SETHMCID: it is a regular file, which does not take the VMC ioctls): use /dev/ibmvmc (see "ibmvmc status"), or a fake device's socket in a process with its preload shim (ibmvmc fake-device)\n`,
    );
  });

  it('ibmvmc status says so instead of "cannot be opened", and exits 3', async () => {
    const r = await runCli(['status', '--device', '/dev/null', '--json']);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { problems: Array<{ problem: string; advice: string }> };
    expect(doc.problems).toContainEqual({
      problem: `/dev/null is not a VMC device (${IOCTL_ERRNO} on ioctl:QUERY: it is the character device 1:3 of another driver, which does not take the VMC ioctls)`,
      advice:
        'point --device at the VMC device node (/dev/ibmvmc), or run "ibmvmc fake-device" for a fake one',
      exitCode: 3,
    });
  });
});
