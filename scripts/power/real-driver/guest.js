// A POWER guest running the unmodified ibmvmc driver: the initramfs (busybox,
// ppc64le Node, the packed package, our guest scripts and static C programs,
// and whatever else the caller adds), QEMU with or without the VMC adapter,
// and loading the module. Used by the real-driver suites
// (test/real-driver/guest.ts) and by `npm run real-driver` (try.js). The
// hypervisor behind the adapter is the caller's: startQemuHypervisor() of
// ibmvmc/fake, already started.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { buildInitrd } = require('./initramfs');
const { GuestVm } = require('./vm');

const root = path.resolve(__dirname, '..', '..', '..');
// The package's build: insmod's arguments are the fake's (ibmvmc/fake).
const { insmodArguments, resolveOptions } = require(path.join(root, 'dist', 'cjs', 'fake'));

const guestDir = path.join(__dirname, 'guest');

/** The manifest prepare.sh printed. */
function readInputs(file = process.env.IBMVMC_REAL_DRIVER_INPUTS) {
  if (!file) {
    throw new Error(
      'IBMVMC_REAL_DRIVER_INPUTS is not set: scripts/power/real-driver/prepare.sh prints the manifest to give it',
    );
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The files every guest gets. */
function guestFiles(inputs) {
  const benchDir = '/app/node_modules/ibmvmc/scripts/bench';
  return [
    { from: path.join(guestDir, 'init'), to: '/init', mode: 0o755 },
    { from: path.join(guestDir, 'agent.js'), to: '/checks/agent.js' },
    { from: path.join(guestDir, 'checks.js'), to: '/checks/checks.js' },
    { from: path.join(guestDir, 'e2e.js'), to: '/checks/e2e.js' },
    { from: inputs.module, to: '/checks/ibmvmc.ko' },
    { from: inputs.expectedIoctl, to: '/checks/expected-ioctl.json' },
    { from: inputs.nodeModules, to: '/app/node_modules' },
    { from: inputs.contractClient, to: '/app/bin/contract_client', mode: 0o755 },
    { from: inputs.benchClient, to: '/app/bin/bench_c_client', mode: 0o755 },
    { from: inputs.randomOps, to: '/app/bin/random_ops', mode: 0o755 },
    // The bench's Node client, where it finds the package's dist/ (../../dist).
    {
      from: path.join(root, 'scripts', 'bench', 'node-client.js'),
      to: `${benchDir}/node-client.js`,
    },
    {
      from: path.join(root, 'scripts', 'bench', 'block-thread-pool.js'),
      to: `${benchDir}/block-thread-pool.js`,
    },
    {
      from: path.join(root, 'scripts', 'bench', 'stopwatch.js'),
      to: `${benchDir}/stopwatch.js`,
    },
  ];
}

class RealDriverGuest {
  /**
   * Builds the initramfs and boots.
   *
   * @param o.inputs      the manifest (default: readInputs())
   * @param o.hypervisor  a started QEMU hypervisor (ibmvmc/fake), or null: no VMC adapter
   * @param o.files       more { from, to, mode } for the initramfs
   * @param o.onConsole   each line of the guest's console
   * @param o.append      more kernel command line
   */
  static async boot(o) {
    const inputs = o.inputs ?? readInputs();
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibmvmc-guest-'));
    try {
      const initrd = buildInitrd({
        base: inputs.base,
        out: path.join(workDir, 'initrd.cpio'),
        stage: path.join(workDir, 'stage'),
        entries: [...guestFiles(inputs), ...(o.files ?? [])],
      });
      const vm = await GuestVm.boot({
        qemu: inputs.qemu,
        kernel: inputs.vmlinux,
        initrd,
        workDir,
        extraArgs: o.hypervisor?.qemuArgs ?? [],
        onConsole: o.onConsole,
        append: o.append,
      });
      return new RealDriverGuest(vm, o.hypervisor ?? null, inputs, workDir);
    } catch (error) {
      fs.rmSync(workDir, { recursive: true, force: true });
      throw error;
    }
  }

  constructor(vm, hypervisor, inputs, workDir) {
    this.vm = vm;
    this.hypervisor = hypervisor;
    this.inputs = inputs;
    this.workDir = workDir;
    this.moduleLoaded = false;
  }

  /**
   * (Re)loads the module with these parameters. With an adapter, resolves once
   * the driver has finished its start-up with the hypervisor, unless `settle` is false.
   */
  async loadModule(parameters = {}, settle = true) {
    await this.unloadModule();
    // rmmod freed the driver's queue: to the hypervisor, its partner went away.
    // It forgets every session and comes back up (a scenario may have left it
    // down), so that the new driver's INIT starts a fresh handshake.
    this.hypervisor?.reset({ reinitializeAfterMs: null });
    this.hypervisor?.reinitialize();
    const started = settle ? this.hypervisor?.waitForDriver({ timeoutMs: 60_000 }) : undefined;
    // Every parameter given, defaults filled in: nothing depends on the module's own defaults.
    const o = resolveOptions(parameters);
    const args = insmodArguments({
      maxMtu: o.maxMtu,
      bufPoolSize: o.bufPoolSize,
      maxHmcs: o.maxHmcs,
    });
    const r = await this.vm.exec(['insmod', '/checks/ibmvmc.ko', ...args]);
    if (r.code !== 0)
      throw new Error(`insmod ibmvmc.ko ${args.join(' ')}: ${r.stderr || r.stdout}`);
    this.moduleLoaded = true;
    if (started !== undefined) await started;
  }

  async unloadModule() {
    if (!this.moduleLoaded) return;
    const r = await this.vm.exec(['rmmod', 'ibmvmc']);
    if (r.code !== 0) throw new Error(`rmmod ibmvmc: ${r.stderr || r.stdout}`);
    this.moduleLoaded = false;
  }

  /** The kernel's log; `clear` empties it after reading. */
  async dmesg(clear = false) {
    return (await this.vm.exec(['dmesg', ...(clear ? ['-c'] : [])])).stdout;
  }

  /**
   * Powers the guest off and removes its files (the hypervisor stays the
   * caller's). The console log is kept as `keepConsoleAs`, if given.
   */
  async stop(keepConsoleAs) {
    try {
      await this.vm.poweroff();
    } finally {
      if (keepConsoleAs) fs.copyFileSync(this.vm.consoleLog, keepConsoleAs);
      fs.rmSync(this.workDir, { recursive: true, force: true });
    }
  }
}

module.exports = { RealDriverGuest, readInputs };
