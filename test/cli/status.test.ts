/**
 * `ibmvmc status` against fakes in every state a real system can be in, and
 * against a machine without the driver.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { envWithoutShim, runCli } from './run-cli';

describe('ibmvmc status', () => {
  it('reports a healthy device and exits 0', async () => {
    // No broker on the socket status looks at (IBMVMC_BROKER, else the default).
    const noBroker = path.join(tmpdir(), `ibmvmc-no-broker-${process.pid}.sock`);
    const r = await runCli(['status', '--fake'], {
      env: { ...process.env, IBMVMC_BROKER: noBroker },
    });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('Module       loaded: max_mtu 4096, buf_pool_size 32, max_hmcs 1');
    expect(lines[1]).toMatch(
      /^Device node {2}\/.*\/vmc\.sock: socket \(a fake device\), mode 0\d{3}, owner \S+:\S+$/,
    );
    expect(lines[2]).toMatch(/^Access {7}this user \(uid \d+\) can open it$/);
    expect(lines[3]).toBe('Driver       ready (state 3): sessions can be opened');
    expect(lines[4]).toBe(
      'VMC adapter  yes (have_vmc 1), DRC index 0 (none requested since the module loaded)',
    );
    expect(lines[5]).toBe(`Broker       none on ${noBroker}`);
    expect(lines.slice(6)).toEqual(['', 'Ready: HMC sessions can be opened.', '']);
    expect(r.stderr).toBe('');
  });

  it('--json gives the same as one document', async () => {
    const r = await runCli([
      'status',
      '--fake',
      '--json',
      '--max-hmcs',
      '2',
      '--buf-pool-size',
      '64',
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      fake: true,
      ok: true,
      problems: [],
      module: { loaded: true, maxMtu: 4096, bufPoolSize: 64, maxHmcs: 2 },
      node: { exists: true, type: 'socket' },
      access: { canOpen: true, error: null },
      driver: { state: 3, stateName: 'ready', haveVmc: true, vmcDrcIndex: 0 },
    });
  });

  it('says to request a VMC when the partition has none (exit 3)', async () => {
    const r = await runCli(['status', '--fake', '--no-vmc']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      'Driver       initial (state 0): the module is loaded but the partition has no VMC adapter',
    );
    expect(r.stdout).toContain('VMC adapter  no (have_vmc 0), DRC index 0');
    expect(r.stdout).toContain(
      'Problem:\n  - this partition has no VMC adapter\n    what to do: request one with "ibmvmc request-vmc", then add the adapter to this partition (dynamic LPAR); the driver then finds it\n',
    );
  });

  it('says to reload the module when the driver failed (exit 5)', async () => {
    const r = await runCli(['status', '--fake', '--protocol-version', '0x0201']);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain('Driver       failed (state 4)');
    expect(r.stdout).toContain('what to do: reload the module: rmmod ibmvmc && modprobe ibmvmc');
  });

  it('says to wait while the driver is still starting (exit 6)', async () => {
    const r = await runCli(['status', '--fake', '--startup-ms', '60000']);
    expect(r.code).toBe(6);
    expect(r.stdout).toContain('Driver       crqinit (state 1)');
    expect(r.stdout).toContain('what to do: wait a few seconds and run "ibmvmc status" again');
  });

  it('explains a permission problem with the udev rule (exit 4)', async () => {
    const r = await runCli(['status', '--fake', '--open-fault', 'EACCES']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(
      /^Access {7}this user \(uid \d+\) cannot open it: permission denied on /m,
    );
    expect(r.stdout).toContain(
      'what to do: run as root, or give your group access with a udev rule: KERNEL=="ibmvmc", GROUP="hmc", MODE="0660"',
    );
  });

  it('on a machine without the driver, says to load the module (exit 3)', async () => {
    const emptySys = await mkdtemp(path.join(tmpdir(), 'ibmvmc-nosys-'));
    try {
      const r = await runCli(['status', '--device', path.join(emptySys, 'ibmvmc')], {
        env: { ...envWithoutShim(), IBMVMC_SYSFS_ROOT: emptySys },
      });
      expect(r.code).toBe(3);
      expect(r.stdout).toContain(
        `Module       the ibmvmc module is not loaded (no ${emptySys}/module/ibmvmc/parameters): load it with "modprobe ibmvmc"`,
      );
      expect(r.stdout).toContain(`Device node  ${emptySys}/ibmvmc does not exist`);
      expect(r.stdout).toContain('Driver       unknown (the device could not be opened)');
      expect(r.stdout).toContain(
        'Problem:\n  - the ibmvmc module is not loaded\n    what to do: load it: modprobe ibmvmc (as root)\n',
      );
    } finally {
      await rm(emptySys, { recursive: true, force: true });
    }
  });
});
