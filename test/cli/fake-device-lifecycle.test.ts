/**
 * `ibmvmc fake-device` in someone else's pipeline: it ends with whatever
 * started it (npm exec and the shell npm runs it through included), runs a
 * command with its environment (`-- COMMAND`), writes a dotenv file
 * (`--write-env`) and runs on its own for later CI steps (`--detach`).
 * Every "nothing is left" claim is checked in /proc.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { isAlive, waitGone } from '../helpers/process-tree';
import { TIME_SCALE } from '../helpers/time-scale';
import { CLI, TEST_TMPDIR, envWithoutShim, runCli, startCli } from './run-cli';

const root = path.resolve(__dirname, '..', '..');

/** Parses the NAME='value' lines of a --write-env file. */
function dotenv(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of readFileSync(file, 'utf8').matchAll(/^(\w+)='([^']*)'$/gm))
    env[match[1]] = match[2];
  return env;
}

/** Waits until `file` exists (the fake writes it once ready). */
async function waitForFile(file: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms * TIME_SCALE;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let caseNumber = 0;
/** A fresh folder for one case. */
function caseDir(): string {
  const dir = path.join(TEST_TMPDIR, `case-${++caseNumber}`);
  mkdirSync(dir);
  return dir;
}

/**
 * A user's project with ibmvmc installed as a link (node_modules/ibmvmc ->
 * this repository, and its bin in node_modules/.bin), as `npm link` or a
 * `file:` dependency leaves it: npm exec then runs the bin without installing anything.
 */
function userProject(): string {
  const dir = caseDir();
  mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(root, path.join(dir, 'node_modules', 'ibmvmc'));
  symlinkSync(
    path.join('..', 'ibmvmc', 'dist', 'cjs', 'cli', 'main.js'),
    path.join(dir, 'node_modules', '.bin', 'ibmvmc'),
  );
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'user-project',
      private: true,
      scripts: { fake: 'ibmvmc fake-device' },
    }),
  );
  return dir;
}

/** Runs a shell script to its end. */
async function sh(script: string, cwd: string): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)('sh', ['-c', script], {
    cwd,
    env: { ...envWithoutShim(), TMPDIR: TEST_TMPDIR, npm_config_update_notifier: 'false' },
    timeout: 30_000 * TIME_SCALE,
  });
}

/**
 * Waits for `pids` to end; those still running are killed (so a failing case
 * leaves nothing behind) and returned, for the case to fail on.
 */
async function goneOrKilled(pids: readonly number[]): Promise<number[]> {
  const left = await waitGone(pids, 3_000);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  return left;
}

/** The fake must end, and take its file with it. */
async function expectFakeEnds(envFile: string, pid: number): Promise<void> {
  expect(await goneOrKilled([pid])).toEqual([]);
  expect(existsSync(envFile)).toBe(false);
}

describe('the fake ends when whatever started it ends', () => {
  it.each([
    ['npm exec -- ibmvmc fake-device'],
    ['npx ibmvmc fake-device'],
    ['npm run fake --'], // package.json: "fake": "ibmvmc fake-device"
  ])(
    '%s --write-env e.env & ... kill $!: npm does not pass SIGTERM on, the fake still ends',
    async (start) => {
      const dir = userProject();
      const { stdout } = await sh(
        `${start} --write-env e.env > out.txt 2>&1 & ` +
          'while [ ! -f e.env ]; do sleep 0.05; done; cat e.env; kill $!',
        dir,
      );
      const pid = Number(/^IBMVMC_FAKE_PID='(\d+)'$/m.exec(stdout)?.[1]);
      expect(pid).toBeGreaterThan(0);
      await expectFakeEnds(path.join(dir, 'e.env'), pid);
      expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toMatch(
        /Fake device stopped: the process that started it exited\.\n$/,
      );
    },
  );

  it('npm exec killed with SIGKILL (its shell lives on): the fake ends', async () => {
    const dir = userProject();
    const npm = spawn('npm', ['exec', '--', 'ibmvmc', 'fake-device', '--write-env', 'e.env'], {
      cwd: dir,
      env: { ...envWithoutShim(), TMPDIR: TEST_TMPDIR },
      stdio: 'ignore',
    });
    const envFile = path.join(dir, 'e.env');
    try {
      await waitForFile(envFile);
    } finally {
      npm.kill('SIGKILL'); // also when the fake never got ready: nothing is left running
    }
    await expectFakeEnds(envFile, Number(dotenv(envFile).IBMVMC_FAKE_PID));
  });

  it('sh -c "ibmvmc fake-device & kill $!" (SIGTERM to the fake itself)', async () => {
    const dir = caseDir();
    const { stdout } = await sh(
      `"${process.execPath}" "${CLI}" fake-device --write-env e.env > out.txt 2>&1 & ` +
        'while [ ! -f e.env ]; do sleep 0.05; done; cat e.env; kill $!; wait $!; echo "status $?"',
      dir,
    );
    expect(stdout).toMatch(/^status 0$/m);
    expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toMatch(/Fake device stopped\.\n$/);
    await expectFakeEnds(path.join(dir, 'e.env'), Number(/FAKE_PID='(\d+)'/.exec(stdout)?.[1]));
  });

  it.each(['SIGHUP', 'SIGINT'] as const)('%s stops it cleanly', async (signal) => {
    const run = startCli(['fake-device'], { env: envWithoutShim() });
    await run.waitFor('Ctrl-C stops it.');
    run.child.kill(signal);
    const r = await run.done;
    expect([r.code, r.signal]).toEqual([0, null]);
    expect(r.stderr).toMatch(/Fake device stopped\.\n$/);
  });
});

describe('ibmvmc fake-device -- COMMAND', () => {
  it('runs the command with the fake environment; every word after -- is its own', async () => {
    const script =
      'echo "args: $*"; echo "pid ok: $([ "$IBMVMC_FAKE_PID" = "$PPID" ] && echo yes)"; ' +
      `"${process.execPath}" "${CLI}" status --json; exit 3`;
    const r = await runCli(
      ['fake-device', '--max-hmcs', '2', '--', 'sh', '-c', script, 'sh', '--json', '--fake', '--'],
      {
        env: envWithoutShim(),
      },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('');
    const [args, pidOk, status] = r.stdout.trimEnd().split('\n');
    expect(args).toBe('args: --json --fake --');
    expect(pidOk).toBe('pid ok: yes');
    expect(JSON.parse(status)).toMatchObject({ fake: true, module: { maxHmcs: 2 } });
  });

  it('exits 128+N when signal N ended the command, 127 when it is not found', async () => {
    const killed = await runCli(['fake-device', '--', 'sh', '-c', 'kill -KILL $$'], {
      env: envWithoutShim(),
    });
    expect(killed.code).toBe(137);
    const missing = await runCli(['fake-device', '--', 'no-such-command-ibmvmc'], {
      env: envWithoutShim(),
    });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toBe('ibmvmc fake-device: no-such-command-ibmvmc: command not found\n');
  });

  it('passes SIGTERM on to the command, then stops the fake and removes its files', async () => {
    const dir = caseDir();
    const envFile = path.join(dir, 'e.env');
    const run = startCli(
      [
        'fake-device',
        '--write-env',
        envFile,
        '--',
        'sh',
        '-c',
        'trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 0.05; done',
      ],
      { env: envWithoutShim() },
    );
    await run.waitFor('ready');
    const fakeDir = path.dirname(dotenv(envFile).IBMVMC_FAKE_SOCKET);
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect([r.code, r.stdout, r.stderr]).toEqual([42, 'ready\ngot TERM\n', '']);
    expect(existsSync(envFile)).toBe(false);
    expect(existsSync(fakeDir)).toBe(false);
  });

  it('ends the command too when the process that started the wrapper is killed', async () => {
    const dir = caseDir();
    const pidFile = path.join(dir, 'command.pid');
    // A parent that starts the wrapper and is then SIGKILLed: nothing tells the wrapper but /proc.
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `require('node:child_process').spawn(process.execPath, [${JSON.stringify(CLI)}, 'fake-device', '--write-env', 'e.env', '--', 'sh', '-c', 'echo $$ > command.pid; exec sleep 600'], { stdio: 'ignore' }); setInterval(() => {}, 1000);`,
      ],
      { cwd: dir, env: { ...envWithoutShim(), TMPDIR: TEST_TMPDIR }, stdio: 'ignore' },
    );
    let fakePid: number;
    let commandPid: number;
    try {
      await waitForFile(pidFile);
      await waitForFile(path.join(dir, 'e.env'));
      fakePid = Number(dotenv(path.join(dir, 'e.env')).IBMVMC_FAKE_PID);
      commandPid = Number(readFileSync(pidFile, 'utf8'));
      for (let i = 0; !(commandPid > 0) && i < 50; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        commandPid = Number(readFileSync(pidFile, 'utf8'));
      }
      expect(isAlive(commandPid)).toBe(true);
    } finally {
      parent.kill('SIGKILL'); // the case itself, and also when a wait above failed
    }
    expect(await goneOrKilled([fakePid, commandPid])).toEqual([]);
    expect(existsSync(path.join(dir, 'e.env'))).toBe(false);
  });

  it('any other command refuses --', async () => {
    const r = await runCli(['status', '--', 'x'], { env: envWithoutShim() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ibmvmc status: unexpected argument "x"$/m);
  });
});

describe('--write-env and --detach', () => {
  it('writes NAME=value lines a shell can source, and removes the file when the fake stops', async () => {
    const dir = caseDir();
    const envFile = path.join(dir, 'fake.env');
    const run = startCli(['fake-device', '--write-env', envFile], { env: envWithoutShim() });
    await run.waitFor('Ctrl-C stops it.');
    expect(statSync(envFile).mode & 0o777).toBe(0o644);
    const env = dotenv(envFile);
    expect(Object.keys(env)).toEqual([
      'LD_PRELOAD',
      'IBMVMC_FAKE_SOCKET',
      'IBMVMC_SYSFS_ROOT',
      'IBMVMC_FAKE_ATTACH',
      'IBMVMC_FAKE_PID',
    ]);
    expect(env.IBMVMC_FAKE_PID).toBe(String(run.child.pid));
    const { stdout } = await sh(
      `set -a; . "${envFile}"; set +a; "${process.execPath}" "${CLI}" status --json`,
      dir,
    );
    expect(JSON.parse(stdout)).toMatchObject({ fake: true, device: env.IBMVMC_FAKE_SOCKET });
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(0);
    expect(existsSync(envFile)).toBe(false);
  });

  it('--detach returns once ready and leaves the fake running on its own until killed', async () => {
    const dir = caseDir();
    const envFile = path.join(dir, 'fake.env');
    const r = await runCli(['fake-device', '--detach', '--write-env', envFile], {
      env: envWithoutShim(),
    });
    expect(r.code).toBe(0);
    const pid = Number(dotenv(envFile).IBMVMC_FAKE_PID);
    try {
      expect(r.stderr).toBe(
        `Fake device running in the background (pid ${pid}); its variables are in ${envFile}. "kill ${pid}" stops it.\n`,
      );
      // The command that started it has exited: the fake must still be there.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(isAlive(pid)).toBe(true);
    } finally {
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    }
    await expectFakeEnds(envFile, pid);
  });

  it('--detach without --write-env is a usage error', async () => {
    const r = await runCli(['fake-device', '--detach'], { env: envWithoutShim() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--detach needs --write-env/);
  });
});
