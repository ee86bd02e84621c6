/**
 * startFakeDevice in a child process and in a worker thread: the handle's
 * environment and controls, a handler running in this process, and a stop
 * that leaves nothing behind. Needs the compiled build (npx tsc -p tsconfig.build.json).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ERRNO as E } from '../../lib/fake/errno';
import { FakeDeviceError } from '../../lib/fake/errors';
import { startFakeDevice, type FakeRunIn } from '../../lib/fake/start';
import { FakeWireClient } from '../helpers/fake-wire-client';

const root = path.resolve(__dirname, '..', '..');
/** Whether a process runs (a zombie waiting for init to reap it does not). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

const until = async (check: () => Promise<boolean>, ms = 3000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe.each(['process', 'worker'] as FakeRunIn[])('startFakeDevice in a %s', (runIn) => {
  it('gives the environment, serves the wire protocol, and stops leaving nothing behind', async () => {
    const fdsBefore = openFds();
    const fake = await startFakeDevice({ runIn, maxMtu: 8192, mtu: 8192, log: true });
    expect(fake.runIn).toBe(runIn);
    expect(fake.env).toEqual({
      LD_PRELOAD: fake.preloadPath,
      IBMVMC_FAKE_SOCKET: fake.socketPath,
      IBMVMC_SYSFS_ROOT: fake.sysfsRoot,
      IBMVMC_FAKE_ATTACH: `${fake.socketPath}.attach`,
    });
    expect(fake.attachPath).toBe(`${fake.socketPath}.attach`);
    expect(path.basename(fake.preloadPath)).toBe('ibmvmc_fake_preload.so');
    expect(fake.preloadBuilt).toBe(existsSync(fake.preloadPath));
    expect(path.dirname(fake.socketPath)).toBe(fake.dir);
    expect(
      readFileSync(path.join(fake.sysfsRoot, 'module/ibmvmc/parameters/max_mtu'), 'utf8'),
    ).toBe('8192\n');
    expect(await fake.state()).toMatchObject({ state: 3, mtu: 8192, openFiles: 0 });

    const c = await FakeWireClient.connect(fake.socketPath);
    expect(await c.setHmcId('handle-test')).toBe(0);
    await until(async () => (await fake.sessions())[0].state === 'ready');
    expect((await fake.sessions())[0]).toMatchObject({ slot: 0, hmcId: 'handle-test', fd: 1 });
    expect(await fake.inject(0, Buffer.from('hello'))).toBe(true);
    await c.write(Buffer.from('not an HMC message')); // unanswered, but its buffer carries 'hello'
    expect((await c.readBlocking(100)).data?.toString()).toBe('hello');
    const log = await fake.log();
    const messages = log.flatMap((e) => (e.kind === 'message' ? [e.data] : []));
    expect(messages.map((m) => Buffer.isBuffer(m) && m.toString())).toEqual([
      'not an HMC message',
      'hello',
    ]);
    await fake.clearLog();
    expect(await fake.log()).toEqual([]);

    await fake.configure({ openFault: 'EACCES' });
    expect(await FakeWireClient.open(fake.socketPath)).toBe(-E.EACCES);
    await expect(fake.configure({ mtu: -1 })).rejects.toBeInstanceOf(FakeDeviceError);

    await fake.reset({ reinitializeAfterMs: null });
    await c.waitForEvent();
    expect((await c.read(100)).result).toBe(-E.EBADFD);
    expect(await fake.state()).toMatchObject({ state: 1, hypervisorUp: false });
    c.hangUp();

    await fake.stop();
    await fake.stop(); // idempotent
    expect(existsSync(fake.dir)).toBe(false);
    if (runIn === 'process') expect(running(fake.pid)).toBe(false);
    else expect(fake.pid).toBe(process.pid);
    if (runIn === 'process') expect(running(fake.pid)).toBe(false);
    else expect(fake.pid).toBe(process.pid);
    await expect(fake.state()).rejects.toMatchObject({ code: 'ERR_IBMVMC_FAKE_STOPPED' });
    expect(openFds()).toBe(fdsBefore);
  });

  it('runs a custom handler in the calling process, and switches handlers at run time', async () => {
    const seen: string[] = [];
    await using fake = await startFakeDevice({
      runIn,
      maxHmcs: 2,
      handler: (message, session) => {
        seen.push(`${session.slot}/${session.hmcId}/${message.toString()}`);
        return Promise.resolve([Buffer.from(`re ${message.toString()}`)]);
      },
    });
    const a = await FakeWireClient.connect(fake.socketPath);
    const b = await FakeWireClient.connect(fake.socketPath);
    try {
      expect(await a.setHmcId('a')).toBe(0);
      expect(await b.setHmcId('b')).toBe(0);
      await until(async () => (await fake.sessions()).every((s) => s.state === 'ready'));
      await a.write(Buffer.from('one'));
      expect((await a.readBlocking(100)).data?.toString()).toBe('re one');
      await fake.setHandler(() => Buffer.from('slot one only'), 1);
      await b.write(Buffer.from('two'));
      expect((await b.readBlocking(100)).data?.toString()).toBe('slot one only');
      await fake.setHandler(null); // back to the router: this is no HMC message, so silence
      await a.write(Buffer.from('three'));
      await new Promise((r) => setTimeout(r, 50));
      expect((await a.read(100)).result).toBe(-E.EAGAIN);
      expect(seen).toEqual(['0/a/one']);
    } finally {
      a.hangUp();
      b.hangUp();
    }
  });
});

describe('startFakeDevice', () => {
  it('refuses bad options before starting anything', async () => {
    const tmpDir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-start-test-'));
    try {
      await expect(startFakeDevice({ tmpDir, slots: 0 })).rejects.toMatchObject({
        code: 'ERR_IBMVMC_FAKE_OPTIONS',
      });
      await expect(startFakeDevice({ tmpDir, runIn: 'thread' as never })).rejects.toMatchObject({
        code: 'ERR_IBMVMC_FAKE_OPTIONS',
      });
      expect(readdirSync(tmpDir)).toEqual([]);
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  });

  it('cleans up when the fake cannot start (a socket path too long)', async () => {
    const fdsBefore = openFds();
    const tmpDir = mkdtempSync(path.join(tmpdir(), `ibmvmc-start-test-${'x'.repeat(100)}`));
    try {
      await expect(startFakeDevice({ tmpDir })).rejects.toMatchObject({
        code: 'ERR_IBMVMC_FAKE_SOCKET_PATH',
      });
      expect(readdirSync(tmpDir)).toEqual([]);
      expect(openFds()).toBe(fdsBefore);
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  });

  it('is gone when its child process dies: controls reject, stop still cleans up', async () => {
    const fake = await startFakeDevice({ runIn: 'process' });
    expect((await fake.state()).state).toBe(3);
    expect(fake.pid).not.toBe(process.pid);
    expect(readFileSync(`/proc/${fake.pid}/cmdline`, 'utf8')).toContain('child-entry.js');
    process.kill(fake.pid, 'SIGKILL');
    await until(async () =>
      fake.state().then(
        () => false,
        () => true,
      ),
    );
    await expect(fake.sessions()).rejects.toMatchObject({ code: 'ERR_IBMVMC_FAKE_STOPPED' });
    await fake.stop();
    expect(existsSync(fake.dir)).toBe(false);
  });

  it.each([
    ['killed', "process.kill(process.pid, 'SIGKILL')"],
    ['exiting without stop()', 'process.exit(0)'],
  ])('leaves nothing behind when the program is %s', async (_, end) => {
    const script = `
      const { startFakeDevice } = require(${JSON.stringify(path.join(root, 'dist/cjs/fake'))});
      startFakeDevice().then((fake) => {
        console.log(JSON.stringify({ dir: fake.dir, pid: fake.pid }));
        ${end};
      });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    const { dir, pid } = JSON.parse(out) as { dir: string; pid: number };
    await until(async () => !running(pid) && !existsSync(dir));
  });
});
