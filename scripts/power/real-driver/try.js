#!/usr/bin/env node
// npm run real-driver -- [hypervisor options] --run PATH [ARGS...]
//
// Runs your own program against the REAL ibmvmc driver on any x86_64 Linux
// machine: boots a POWER guest (Debian's ppc64el kernel, the unmodified driver,
// under qemu-system-ppc64) whose VMC adapter is served by our fake hypervisor,
// loads the module, and runs the static ppc64le executable PATH in it with
// /dev/ibmvmc ready. Its output is printed as it comes; the exit status is
// its own (or 124 if --timeout passed, 125 if the guest could not run it).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..', '..', '..');
const HELP = `Usage: npm run real-driver -- [options] --run PATH [ARGS...]

Boots a POWER guest with the unmodified ibmvmc driver and our fake hypervisor
behind its VMC adapter, and runs PATH (a static ppc64le executable: C, Go, Rust,
...) in it with /dev/ibmvmc ready. Prints its output; exits with its status.

The hypervisor by default: driver ready, one slot, MTU 4096, 32 buffers, the
router answering exchange-options, echo and close. Options before --run change
it (the same as "ibmvmc fake-device --help" lists; --max-mtu, --buf-pool-size
and --max-hmcs are module parameters, given to insmod). Also:
  --timeout SECONDS  give up after this long (default 600)
  --console          print the guest's console (kernel messages) too
  -h, --help         this text

Needs root (apt-get for the first run's downloads, mknod for the initramfs).
The first run builds what it needs (QEMU, the driver; about 10 minutes);
later runs reuse it from .tmp/power/.`;

function usage(message) {
  process.stderr.write(`real-driver: ${message}\n\n${HELP}\n`);
  process.exit(2);
}

async function main() {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--run');
  if (argv.includes('-h') || argv.includes('--help')) {
    if (at === -1 || argv.indexOf('-h') < at || argv.indexOf('--help') < at) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
  }
  if (at === -1 || at + 1 >= argv.length) usage('--run PATH is required');
  const program = path.resolve(argv[at + 1]);
  const programArgs = argv.slice(at + 2);
  if (!fs.existsSync(program)) usage(`${program} does not exist`);

  // The package's own pieces, built first (quietly unless that fails).
  const build = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) {
    process.stderr.write(build.stdout + build.stderr);
    return 125;
  }
  const { FAKE_OPTION_SPEC, fakeOptionsFrom } = require(
    path.join(root, 'dist/cjs/cli/fake-options'),
  );
  const { startQemuHypervisor } = require(path.join(root, 'dist/cjs/fake'));
  const { RealDriverGuest, readInputs } = require('./guest');

  let values;
  try {
    ({ values } = parseArgs({
      args: argv.slice(0, at),
      options: { ...FAKE_OPTION_SPEC, timeout: { type: 'string' }, console: { type: 'boolean' } },
      strict: true,
    }));
  } catch (error) {
    usage(error.message);
  }
  const timeoutS = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!(timeoutS > 0)) usage(`--timeout takes seconds, got ${values.timeout}`);
  const { options } = fakeOptionsFrom(values);
  // The run's defaults: one slot, 32 buffers (the module's own defaults on both sides).
  const hypervisorOptions = { slots: 1, poolSize: 32, ...options };

  if (process.getuid?.() !== 0) usage('run as root (apt-get and mknod, the first time)');
  const progress = (line) => process.stderr.write(`real-driver: ${line}\n`);
  progress('preparing the guest (cached after the first run)');
  const prepared = spawnSync(path.join(__dirname, 'prepare.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (prepared.status !== 0) return 125;
  const inputs = readInputs(prepared.stdout.trim().split('\n').pop());

  let hypervisor;
  try {
    hypervisor = await startQemuHypervisor(hypervisorOptions);
  } catch (error) {
    usage(error.message);
  }
  let guest;
  const deadline = setTimeout(() => {
    progress(`--timeout ${timeoutS} s passed`);
    void stop(124);
  }, timeoutS * 1000);
  async function stop(code) {
    clearTimeout(deadline);
    await guest?.stop().catch(() => {});
    await hypervisor.stop();
    process.exit(code);
  }
  try {
    const name = path.basename(program);
    progress(`booting (${path.basename(inputs.vmlinux)}, QEMU with the VMC adapter)`);
    guest = await RealDriverGuest.boot({
      inputs,
      hypervisor,
      files: [{ from: program, to: `/app/run/${name}`, mode: 0o755 }],
      onConsole: values.console ? (line) => process.stderr.write(`console| ${line}\n`) : undefined,
    });
    progress(`insmod ibmvmc.ko ${hypervisor.insmodArgs.join(' ')}`);
    await guest.loadModule(hypervisor.moduleParameters);
    progress(`driver ready; running ${name} ${programArgs.join(' ')}`.trimEnd());
    const p = guest.vm.spawn([`/app/run/${name}`, ...programArgs], { cwd: '/app/run' });
    p.on('line', ({ stream, line }) =>
      (stream === 'out' ? process.stdout : process.stderr).write(`${line}\n`),
    );
    const r = await p.exit;
    if (r.error !== undefined) {
      progress(`could not run ${name}: ${r.error}`);
      return stop(125);
    }
    // Killed by a signal: 128 + its number, as a shell reports it.
    return stop(r.code ?? 128 + (os.constants.signals[r.signal] ?? 0));
  } catch (error) {
    progress(`${error.message}`);
    if (guest === undefined) progress('(the guest did not start; --console shows its console)');
    return stop(125);
  }
}

main().then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (error) => {
    process.stderr.write(`real-driver: ${error.stack ?? error}\n`);
    process.exit(125);
  },
);
