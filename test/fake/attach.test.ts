/**
 * attachFakeDevice: another process's fake, driven from here through its
 * attach socket. Every control against a fake in a child process and in a
 * worker, handlers that go when their peer does, the fake stopping under an
 * attached process, errors that say what is wrong, broken peers dropped
 * alone, the peer check, and an attachment that never keeps a process
 * alive. Needs the compiled build (npm run build:ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import * as path from 'node:path';
import { serialize } from 'node:v8';
import { attachFakeDevice, type AttachedFakeDevice } from '../../lib/fake/attach/attach';
import { ATTACH_PROTOCOL_VERSION, FAKE_ATTACH_ENV } from '../../lib/fake/attach/names';
import { ERRNO as E } from '../../lib/fake/errno';
import { startFakeDevice, type FakeDeviceHandle, type FakeRunIn } from '../../lib/fake/start';
import {
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  decodeHmcMessage,
  encodeHmcMessage,
} from '../../lib/protocol/index';
import { TEST_TMPDIR } from '../cli/run-cli';
import { FakeWireClient } from '../helpers/fake-wire-client';
import { TIME_SCALE } from '../helpers/time-scale';

jest.setTimeout(30_000 * TIME_SCALE);

const DIST_FAKE = path.resolve(__dirname, '..', '..', 'dist', 'cjs', 'fake', 'index.js');
const openFds = (): number => readdirSync('/proc/self/fd').length;
const asRoot = process.getuid?.() === 0;
const rootIt = asRoot ? it : it.skip;

const until = async (check: () => Promise<boolean>, ms = 3000 * TIME_SCALE): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A message as the attach socket frames it: a 4-byte big-endian length, then V8-serialized. */
function frame(message: unknown): Buffer {
  const body = serialize(message);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/** A router echo, which the fake's default handler answers. */
const echo = (text: string): Buffer =>
  encodeHmcMessage({
    token: 7,
    target: HMC_TARGET.ROUTER,
    opcode: HMC_ROUTER_OPCODE.ECHO,
    data: Buffer.from(text),
  });

/** An open, ready session on the fake through the wire protocol. */
async function session(fake: FakeDeviceHandle, hmcId: string): Promise<FakeWireClient> {
  const c = await FakeWireClient.connect(fake.socketPath);
  expect(await c.setHmcId(hmcId)).toBe(0);
  await until(async () =>
    (await fake.sessions()).some((s) => s.hmcId === hmcId && s.state === 'ready'),
  );
  return c;
}

describe.each(['process', 'worker'] as FakeRunIn[])('attaching to a fake run in a %s', (runIn) => {
  let fake: FakeDeviceHandle;
  const saved = process.env[FAKE_ATTACH_ENV];
  beforeEach(async () => {
    fake = await startFakeDevice({ runIn, tmpDir: TEST_TMPDIR, log: true, maxHmcs: 2 });
  });
  afterEach(async () => {
    await fake.stop();
    if (saved === undefined) delete process.env[FAKE_ATTACH_ENV];
    else process.env[FAKE_ATTACH_ENV] = saved;
  });

  it('finds it through IBMVMC_FAKE_ATTACH and drives every control; detaching leaves it running', async () => {
    const fdsBefore = openFds();
    expect(statSync(fake.attachPath).mode & 0o777).toBe(0o600);
    Object.assign(process.env, fake.env);
    const attached = await attachFakeDevice();
    expect(attached).toMatchObject({
      attachPath: fake.attachPath,
      pid: fake.pid,
      socketPath: fake.socketPath,
      sysfsRoot: fake.sysfsRoot,
      env: fake.env,
    });
    const c = await session(fake, 'attached-test');
    try {
      expect(await attached.sessions()).toEqual(await fake.sessions());
      expect(await attached.state()).toEqual(await fake.state());

      // inject reaches the session; the log shows it to both.
      expect(await attached.inject(0, Buffer.from('hello'))).toBe(true);
      await c.write(Buffer.from('not an HMC message')); // unanswered, but its buffer carries 'hello'
      expect((await c.readBlocking(100)).data?.toString()).toBe('hello');
      const messages = (await attached.log()).flatMap((e) =>
        e.kind === 'message' ? [e.data] : [],
      );
      expect(messages.map((m) => Buffer.isBuffer(m) && m.toString())).toEqual([
        'not an HMC message',
        'hello',
      ]);
      await attached.clearLog();
      expect(await fake.log()).toEqual([]);

      // configure: a fault the owner then sees; bad options refused before anything is sent.
      await attached.configure({ openFault: 'EACCES' });
      expect(await FakeWireClient.open(fake.socketPath)).toBe(-E.EACCES);
      await expect(attached.configure({ mtu: -1 })).rejects.toMatchObject({
        code: 'ERR_IBMVMC_FAKE_OPTIONS',
      });
      await fake.configure({ openFault: null });

      // reset: the session's reader wakes with EBADFD, as on a transport event.
      await attached.reset({ reinitializeAfterMs: null });
      await c.waitForEvent();
      expect((await c.read(100)).result).toBe(-E.EBADFD);
      expect(await fake.state()).toMatchObject({ state: 1, hypervisorUp: false });
    } finally {
      c.hangUp();
    }

    await attached.detach();
    await attached.detach(); // idempotent
    await expect(attached.state()).rejects.toMatchObject({ code: 'ERR_IBMVMC_FAKE_STOPPED' });
    expect(await fake.state()).toMatchObject({ hypervisorUp: false }); // still running
    await until(async () => openFds() === fdsBefore);
  });

  it('runs an attached handler here, and drops it (not the owner\u2019s) when its peer detaches', async () => {
    const a = await session(fake, 'a');
    const b = await session(fake, 'b');
    const first = await attachFakeDevice(fake.attachPath);
    const second = await attachFakeDevice(fake.attachPath);
    try {
      const seen: string[] = [];
      await first.setHandler((message, s) => {
        seen.push(`${s.slot}/${s.hmcId}/${message.toString()}`);
        return Buffer.from(`first: ${message.toString()}`);
      });
      await fake.setHandler(() => Buffer.from('owner'), 1);
      await a.write(Buffer.from('one'));
      expect((await a.readBlocking(100)).data?.toString()).toBe('first: one');
      await b.write(Buffer.from('two'));
      expect((await b.readBlocking(100)).data?.toString()).toBe('owner');
      expect(seen).toEqual(['0/a/one']);

      await first.detach();
      // Slot 0 is the router's again (an echo comes back), slot 1 still the owner's.
      await a.write(echo('three'));
      expect(decodeHmcMessage((await a.readBlocking(100)).data as Buffer).data.toString()).toBe(
        'three',
      );
      await b.write(Buffer.from('four'));
      expect((await b.readBlocking(100)).data?.toString()).toBe('owner');
      // The other attached process never noticed.
      expect((await second.sessions()).map((s) => s.hmcId)).toEqual(['a', 'b']);
    } finally {
      a.hangUp();
      b.hangUp();
      await first.detach();
      await second.detach();
    }
  });

  it('fails calls with ERR_IBMVMC_FAKE_STOPPED once the fake stops', async () => {
    const attached = await attachFakeDevice(fake.attachPath);
    await fake.stop();
    await expect(attached.state()).rejects.toMatchObject({
      code: 'ERR_IBMVMC_FAKE_STOPPED',
      message: expect.stringContaining('the fake stopped'),
    });
    await attached.detach();
  });
});

describe('attachFakeDevice errors', () => {
  const saved = process.env[FAKE_ATTACH_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[FAKE_ATTACH_ENV];
    else process.env[FAKE_ATTACH_ENV] = saved;
  });

  /** A Unix socket server that does `behave` with each connection. */
  async function standIn(
    name: string,
    behave: (socket: net.Socket) => void,
  ): Promise<{ path: string; close(): Promise<void> }> {
    const where = path.join(TEST_TMPDIR, `${name}-${process.pid}.sock`);
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      behave(socket);
    });
    await new Promise<void>((resolve) => server.listen(where, resolve));
    return {
      path: where,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    };
  }

  it('says what to do when there is no fake to attach to', async () => {
    delete process.env[FAKE_ATTACH_ENV];
    await expect(attachFakeDevice()).rejects.toMatchObject({
      code: 'ERR_IBMVMC_FAKE_ATTACH',
      message: expect.stringMatching(
        /IBMVMC_FAKE_ATTACH is not set.*ibmvmc fake-device -- COMMAND/,
      ),
    });
    const missing = path.join(TEST_TMPDIR, 'no-such-fake.sock.attach');
    await expect(attachFakeDevice(missing)).rejects.toMatchObject({
      code: 'ERR_IBMVMC_FAKE_ATTACH',
      message: `no fake device to attach to at ${missing} (ENOENT): it has stopped, or the path is not a fake device's attach socket`,
    });
    await expect(attachFakeDevice(missing, { timeoutMs: 0 })).rejects.toMatchObject({
      code: 'ERR_IBMVMC_FAKE_OPTIONS',
    });
  });

  it('tells a socket that is not a fake\u2019s attach socket, or another version of one', async () => {
    const fdsBefore = openFds();
    const closes = await standIn('closes', (s) => s.end());
    const silent = await standIn('silent', () => undefined);
    const garbage = await standIn('garbage', (s) => s.write(Buffer.from([0, 0, 0, 3, 1, 2, 3])));
    const other = await standIn('other', (s) =>
      s.write(
        frame({
          type: 'attached',
          version: ATTACH_PROTOCOL_VERSION + 1,
          pid: 1,
          socketPath: '/x',
          sysfsRoot: null,
        }),
      ),
    );
    try {
      await expect(attachFakeDevice(closes.path)).rejects.toMatchObject({
        code: 'ERR_IBMVMC_FAKE_ATTACH',
        message: `${closes.path} is not a fake device's attach socket (it closed the connection)`,
      });
      await expect(attachFakeDevice(silent.path, { timeoutMs: 200 })).rejects.toMatchObject({
        code: 'ERR_IBMVMC_FAKE_TIMEOUT',
      });
      await expect(attachFakeDevice(garbage.path)).rejects.toMatchObject({
        code: 'ERR_IBMVMC_FAKE_ATTACH',
        message: expect.stringContaining('a message that does not deserialize'),
      });
      await expect(attachFakeDevice(other.path)).rejects.toMatchObject({
        code: 'ERR_IBMVMC_FAKE_ATTACH',
        message: expect.stringContaining(`speaks attach protocol ${ATTACH_PROTOCOL_VERSION + 1}`),
      });
    } finally {
      await Promise.all([closes, silent, garbage, other].map((s) => s.close()));
    }
    await until(async () => openFds() === fdsBefore);
  });
});

describe('the attach socket', () => {
  let fake: FakeDeviceHandle;
  beforeAll(async () => {
    fake = await startFakeDevice({ tmpDir: TEST_TMPDIR });
  });
  afterAll(() => fake.stop());

  /** Connects a raw peer, sends `bytes`, and resolves once the fake has closed the connection. */
  function rawPeer(bytes: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(fake.attachPath);
      let received = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
      socket.on('connect', () => socket.write(bytes));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(`closed after ${received.length} bytes`));
      setTimeout(() => reject(new Error('the fake kept a broken peer')), 5000 * TIME_SCALE).unref();
    });
  }

  it('drops a peer that breaks the protocol, alone: the others and the fake carry on', async () => {
    const good: AttachedFakeDevice = await attachFakeDevice(fake.attachPath);
    try {
      const broken = [
        Buffer.from([0xff, 0xff, 0xff, 0xff]), // a 4 GiB message announced
        Buffer.from([0, 0, 0, 2, 0xde, 0xad]), // bytes that do not deserialize
        frame(null),
        frame({ type: 'call', id: 1, method: 'exit', args: [] }), // not a control
        frame({ type: 'call', id: 'x', method: 'state', args: [] }),
        frame({ type: 'stop' }), // the owner's business
        frame({ type: 'start', options: {} }),
      ];
      for (const bytes of broken) {
        expect(await rawPeer(bytes)).toMatch(/^closed after \d+ bytes$/);
        expect(await good.state()).toMatchObject({ stateName: 'ready' });
      }
      expect(await fake.state()).toMatchObject({ stateName: 'ready' });
    } finally {
      await good.detach();
    }
  });

  rootIt('refuses a peer of another user (SO_PEERCRED), saying why', async () => {
    // A fake in a folder nobody can reach, on a socket nobody may open: the peer check refuses.
    const open = mkdtempSync(path.join(tmpdir(), 'ibmvmc-attach-test-'));
    chmodSync(open, 0o711);
    await using fake = await startFakeDevice({ tmpDir: open });
    chmodSync(fake.dir, 0o711);
    chmodSync(fake.attachPath, 0o666);
    try {
      const r = spawnSync(
        process.execPath,
        [
          '-e',
          `require(${JSON.stringify(DIST_FAKE)}).attachFakeDevice(${JSON.stringify(fake.attachPath)})` +
            '.then(() => console.log("attached"), (e) => console.log(e.code, e.message))',
        ],
        { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 20_000 * TIME_SCALE },
      );
      expect(r.stdout).toBe(
        `ERR_IBMVMC_FAKE_ATTACH_REFUSED fake device: uid 65534 may not attach to a fake run by uid 0 (only that user and root may)\n`,
      );
    } finally {
      await fake.stop();
      rmSync(open, { recursive: true, force: true });
    }
  });

  it('never keeps a process alive while idle, with or without detach', async () => {
    const script =
      `const { attachFakeDevice } = require(${JSON.stringify(DIST_FAKE)});` +
      '(async () => { const f = await attachFakeDevice(); ' +
      "await f.setHandler(() => undefined); console.log('state', (await f.state()).stateName); })();";
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, ...fake.env, LD_PRELOAD: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'state ready\n' });
    // Its handler went with it: an attached process that exits leaves nothing set.
    const c = await session(fake, 'after-exit');
    try {
      await c.write(echo('still the router'));
      expect(decodeHmcMessage((await c.readBlocking(100)).data as Buffer).data.toString()).toBe(
        'still the router',
      );
    } finally {
      c.hangUp();
    }
  });
});
