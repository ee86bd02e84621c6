/**
 * The foreground command (dist/cjs/fake/main.js): prints the environment,
 * serves until SIGINT/SIGTERM, cleans up. Needs the compiled build.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ERRNO as E } from '../../lib/fake/errno';
import { FakeWireClient } from '../helpers/fake-wire-client';

const root = path.resolve(__dirname, '..', '..');
const main = path.join(root, 'dist', 'cjs', 'fake', 'main.js');

interface Running {
  child: ChildProcess;
  env: Record<string, string>;
  exit: Promise<number | null>;
}

async function run(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let out = '';
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n').filter((l) => l.startsWith('export '));
      // Four variables: the shim, the socket, the sysfs root, and the attach socket (last).
      if (lines.length === 4) {
        resolve(
          Object.fromEntries(
            lines.map((l) => {
              const m = /^export (\w+)='(.*)'$/.exec(l);
              if (m === null) throw new Error(`bad line ${l}`);
              return [m[1], m[2]];
            }),
          ),
        );
      }
    });
    void exit.then((code) => reject(new Error(`exited with ${code} before printing: ${out}`)));
  });
  return { child, env, exit };
}

describe('the fake device command', () => {
  it('prints the environment, serves the options given, and cleans up on SIGTERM', async () => {
    const fake = await run([
      '--mtu',
      '8192',
      '--max-mtu',
      '16384',
      '--pool',
      '20',
      '--max-hmcs',
      '2',
    ]);
    const { IBMVMC_FAKE_SOCKET: socket, IBMVMC_SYSFS_ROOT: sysfs, LD_PRELOAD: preload } = fake.env;
    expect(path.basename(preload)).toBe('ibmvmc_fake_preload.so');
    expect(readFileSync(path.join(sysfs, 'module/ibmvmc/parameters/max_mtu'), 'utf8')).toBe(
      '16384\n',
    );
    const c = await FakeWireClient.connect(socket);
    expect((await c.read(8193)).result).toBe(-E.EINVAL);
    expect((await c.read(8192)).result).toBe(-E.EIO);
    expect(await c.setHmcId('cli')).toBe(0);
    c.hangUp();
    fake.child.kill('SIGTERM');
    expect(await fake.exit).toBe(0);
    expect(existsSync(path.dirname(socket))).toBe(false);
  });

  it('drops the channel on SIGUSR1 and stops on SIGINT', async () => {
    const fake = await run(['--reinit-ms', 'never']);
    const c = await FakeWireClient.connect(fake.env.IBMVMC_FAKE_SOCKET);
    expect(await c.setHmcId('cli')).toBe(0);
    fake.child.kill('SIGUSR1');
    await c.waitForEvent();
    expect((await c.read(100)).result).toBe(-E.EBADFD);
    expect((await c.query()).state).toBe(1);
    c.hangUp();
    fake.child.kill('SIGINT');
    expect(await fake.exit).toBe(0);
  });

  it('prints its usage on --help, and refuses unknown options', () => {
    const help = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ibmvmc fake-device /);
    const bad = spawnSync(process.execPath, [main, '--frobnicate'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown option --frobnicate/);
    const invalid = spawnSync(process.execPath, [main, '--slots', '0'], { encoding: 'utf8' });
    expect(invalid.status).toBe(13); // the CLI's exit code for a FakeDeviceError
    expect(invalid.stderr).toMatch(/slots must be an integer from 1 to 255, got 0/);
  });
});
