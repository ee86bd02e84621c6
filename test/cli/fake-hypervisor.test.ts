/**
 * `ibmvmc fake-hypervisor`: the fake hypervisor in the foreground for a QEMU
 * guest. A stand-in for QEMU (with the fake driver as the guest's) connects
 * to the socket it prints.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DRIVER_STATE } from '../../lib/fake/driver';
import { QemuGuest, until } from '../helpers/qemu-stand-in';
import { CLI, TEST_TMPDIR, envWithoutShim, runCli, startCli } from './run-cli';

/** The socket path in the printed `-chardev` argument. */
function socketFrom(stdout: string): string {
  const match = /^-chardev socket,id=vmc0,path=(\S+) -device spapr-vmc,chardev=vmc0$/m.exec(stdout);
  if (match === null) throw new Error(`no QEMU arguments in:\n${stdout}`);
  return match[1];
}

/** Whether a process runs (a zombie waiting to be reaped does not). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('ibmvmc fake-hypervisor', () => {
  it('prints the QEMU arguments and the insmod line, serves QEMU, and stops on SIGTERM', async () => {
    const run = startCli(['fake-hypervisor', '--max-hmcs', '2', '--mtu', '8192'], {
      env: envWithoutShim(),
    });
    await run.waitFor('Ctrl-C stops it.');
    const socketPath = socketFrom(run.stdout());
    expect(run.stdout().split('\n')[1]).toBe(
      'insmod ibmvmc.ko max_mtu=4096 buf_pool_size=32 max_hmcs=2',
    );
    expect(run.stderr()).toBe(
      `Fake hypervisor listening (pid ${run.child.pid}) on ${socketPath}: add the first line to ` +
        'qemu-system-ppc64 -M pseries, load the driver in the guest with the second. Ctrl-C stops it.\n',
    );
    const guest = new QemuGuest({ maxHmcs: 2, maxMtu: 8192 });
    try {
      await guest.connect(socketPath);
      guest.boot();
      await run.waitFor('the guest’s driver is ready (MTU 8192, 2 slots).');
      expect(guest.driver.state).toBe(DRIVER_STATE.READY);
    } finally {
      await guest.dispose();
    }
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Fake hypervisor stopped\.\n$/);
    expect(existsSync(socketPath)).toBe(false);
    expect(existsSync(path.dirname(socketPath))).toBe(false);
  });

  it('--json describes it in one document; --trace logs on stderr; SIGINT stops it', async () => {
    const socket = path.join(TEST_TMPDIR, 'json.sock');
    const run = startCli(['fake-hypervisor', '--json', '--trace', '--socket', socket], {
      env: envWithoutShim(),
    });
    await run.waitFor('"socketPath"');
    const guest = new QemuGuest();
    try {
      await guest.connect(socket);
      await run.waitFor('server: QEMU connected');
    } finally {
      await guest.dispose();
    }
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      socketPath: socket,
      qemuArgs: ['-chardev', `socket,id=vmc0,path=${socket}`, '-device', 'spapr-vmc,chardev=vmc0'],
      insmodArgs: ['max_mtu=4096', 'buf_pool_size=32', 'max_hmcs=1'],
      moduleParameters: { maxMtu: 4096, bufPoolSize: 32, maxHmcs: 1 },
      pid: run.child.pid,
    });
    expect(r.stderr).toMatch(/^ibmvmc-fake .*server: QEMU connected: adapter 0x71000003/m);
    expect(existsSync(socket)).toBe(false);
  });

  it.each([
    [
      ['--no-vmc'],
      /--no-vmc does not apply to the fake hypervisor: .*start QEMU without the device/,
    ],
    [
      ['--open-fault', 'EACCES'],
      /--open-fault does not apply to the fake hypervisor: .*preload shim/,
    ],
    [['--open-busy-ms', '5'], /--open-busy-ms does not apply to the fake hypervisor/],
  ])('refuses %j with a usage error saying why', async (args, message) => {
    const r = await runCli(['fake-hypervisor', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('refuses a bad value of a fake option', async () => {
    const r = await runCli(['fake-hypervisor', '--slots', '0']);
    expect(r.code).toBe(13);
    expect(r.stderr).toMatch(/slots must be an integer from 1 to 255/);
  });

  it('stops, removing its socket, when the process that started it exits', async () => {
    const socket = path.join(TEST_TMPDIR, 'orphan.sock');
    // A parent that starts the command, waits for its socket, and exits without stopping it.
    const parent = `
      const { spawn } = require('node:child_process');
      const { existsSync } = require('node:fs');
      const child = spawn(process.execPath, [${JSON.stringify(CLI)}, 'fake-hypervisor',
        '--socket', ${JSON.stringify(socket)}], { stdio: 'ignore' });
      const wait = setInterval(() => {
        if (!existsSync(${JSON.stringify(socket)})) return;
        clearInterval(wait);
        console.log(child.pid);
        process.exit(0);
      }, 10);`;
    const started = spawn(process.execPath, ['-e', parent], {
      env: envWithoutShim(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    started.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => started.once('exit', resolve));
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    await until(() => !running(pid) && !existsSync(socket), 5000, 'the orphan stopped');
  });
});
