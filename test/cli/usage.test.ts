/**
 * The command line itself: help texts, usage errors and their exit code,
 * the version, JSON errors.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TIME_SCALE } from '../helpers/time-scale';
import { runCli } from './run-cli';

const COMMANDS = [
  'status',
  'request-vmc',
  'ping',
  'send',
  'listen',
  'serve',
  'fake-device',
  'fake-hypervisor',
];

describe('help', () => {
  it('--help lists every command, the common options and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: ibmvmc <command> \[options\]\n/);
    for (const name of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    for (const option of ['--device', '--hmc-id', '--timeout', '--json', '--fake', '--debug'])
      expect(r.stdout).toContain(option);
    expect(r.stdout).toMatch(/^ {2}12 +ping: echoes lost or wrong$/m);
    expect(r.stdout).toMatch(/^ {2}130 +interrupted$/m);
  });

  it.each(COMMANDS)('%s --help prints its usage and exits 0', async (name) => {
    const r = await runCli([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: ibmvmc ${name}`));
    expect(r.stdout).toContain('Common options:');
    // "help <command>" says the same.
    expect((await runCli(['help', name])).stdout).toBe(r.stdout);
  });

  it('ping --help documents its options', async () => {
    const r = await runCli(['ping', '--help']);
    expect(r.stdout).toContain(
      'Usage: ibmvmc ping [--count N] [--size BYTES] [--interval MS] [--quiet] [common options]',
    );
    expect(r.stdout).toMatch(/-c, --count N +echoes to send \(default 10; 0: until interrupted\)/);
  });

  it('fake-device --help lists the fake options', async () => {
    const r = await runCli(['fake-device', '--help']);
    for (const option of ['--mtu N', '--no-vmc', '--open-fault ERRNO', '--requestvmc OUTCOME'])
      expect(r.stdout).toContain(option);
  });

  it('fake-hypervisor --help lists the fake options that shape the hypervisor alone', async () => {
    const r = await runCli(['fake-hypervisor', '--help']);
    for (const option of ['--socket PATH', '--mtu N', '--max-hmcs N', '--requestvmc OUTCOME'])
      expect(r.stdout).toContain(option);
    for (const option of ['--no-vmc', '--open-fault', '--open-busy-ms', '--sysfs'])
      expect(r.stdout).not.toContain(option);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(
      readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8'),
    ) as { version: string };
    const r = await runCli(['--version']);
    expect([r.code, r.stdout]).toEqual([0, `${pkg.version}\n`]);
  });
});

describe('usage errors exit 2 with one line and a pointer to the help', () => {
  it.each([
    [[], /^ibmvmc: a command is needed$/m],
    [['frob'], /^ibmvmc: unknown command "frob" \(see "ibmvmc --help"\)$/m],
    [['ping', '--bogus'], /^ibmvmc ping: unknown option --bogus$/m],
    [['ping', 'extra'], /^ibmvmc ping: unexpected argument "extra"$/m],
    [
      ['ping', '--count', 'many', '--fake'],
      /^ibmvmc ping: --count takes an integer \(decimal or 0x\.\.\.\), got "many"$/m,
    ],
    [
      ['ping', '--mtu', '8192'],
      /^ibmvmc ping: --mtu shapes a fake device: use it with --fake, or with "ibmvmc fake-device"$/m,
    ],
    [
      ['ping', '--fake', '--device', '/dev/x'],
      /^ibmvmc ping: --fake starts its own device: leave out --device$/m,
    ],
    [
      ['fake-device', '--fake'],
      /^ibmvmc fake-device: fake-device is itself the fake: --fake does not apply$/m,
    ],
    [['send', '--target', 'router', '--fake'], /^ibmvmc send: send needs --opcode$/m],
    [
      ['send', '-t', 'router', '-o', 'echo', '-d', 'xyz', '--fake'],
      /^ibmvmc send: --data takes hex bytes/m,
    ],
    [
      ['send', '-t', '0x8001', '-o', 'echo', '--fake'],
      /^ibmvmc send: --opcode echo is a router opcode; give a number for other targets$/m,
    ],
    [['ping', '--timeout=-5'], /^ibmvmc ping: --timeout takes milliseconds/m],
    [
      ['ping', '--timeout', '-5'],
      /^ibmvmc ping: --timeout needs a value; for one that starts with "-", write --timeout=VALUE$/m,
    ],
    [['ping', '--count'], /^ibmvmc ping: --count needs a value$/m],
    [
      ['ping', '--fake', '--hmc-id', 'x'.repeat(33)],
      /^ibmvmc ping: hmcId is 33 bytes long; the driver takes at most 32$/m,
    ],
  ])('ibmvmc %j', async (args, message) => {
    const r = await runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('with --json, the error is also a JSON document on stdout', async () => {
    const r = await runCli(['ping', '--bogus', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: false,
      error: { name: 'UsageError', message: 'unknown option --bogus', code: null, exitCode: 2 },
    });
    expect(r.stderr).toMatch(/^ibmvmc ping: unknown option --bogus$/m);
  });
});

describe('--debug', () => {
  it('adds the error class, its code and the causes, and turns on the system-call log', async () => {
    // Long enough for one retry even under emulation.
    const timeout = 200 * TIME_SCALE;
    const r = await runCli([
      'ping',
      '--fake',
      '--startup-buffers',
      '0',
      '--timeout',
      String(timeout),
      '--debug',
    ]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(
      new RegExp(
        `^ibmvmc ping: could not open an HMC session on .* within ${timeout} ms: the hypervisor has not yet given the driver its buffers: retry shortly$`,
        'm',
      ),
    );
    expect(r.stderr).toMatch(/^ {2}\(TimeoutError, code ETIMEDOUT; exit code 7\)$/m);
    expect(r.stderr).toMatch(
      /^ {2}caused by: .* \(NoBuffersError, code ENOBUFS, errno -105, syscall ioctl:SETHMCID, retryable\)$/m,
    );
    expect(r.stderr).toMatch(/^IBMVMC \d+: open: ENOBUFS, retrying in \d+ ms$/m);
  });
});
