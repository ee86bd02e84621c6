/**
 * The fake hypervisor's QEMU socket, frame by frame: HELLO and the INIT after
 * it, one connection at a time, frames that break the protocol, copies that
 * name no buffer, QEMU's notes; options; and a stop that leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { decodeCrq } from '../../lib/fake/crq';
import { FakeDeviceError } from '../../lib/fake/errors';
import { QEMU_PROTOCOL_ERROR } from '../../lib/fake/qemu/frames';
import {
  startQemuHypervisor,
  type QemuHypervisorHandle,
  type StartQemuHypervisorOptions,
} from '../../lib/fake/qemu/start';
import { QemuConnection, until } from '../helpers/qemu-stand-in';
import { TIME_SCALE } from '../helpers/time-scale';

const root = path.resolve(__dirname, '..', '..');
const tmp = mkdtempSync(path.join(tmpdir(), 'ibmvmc-qemu-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const handles: QemuHypervisorHandle[] = [];
const connections: QemuConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) await c.end();
  for (const h of handles.splice(0)) await h.stop();
});

async function start(options: StartQemuHypervisorOptions = {}): Promise<QemuHypervisorHandle> {
  const hv = await startQemuHypervisor({ tmpDir: tmp, log: true, ...options });
  handles.push(hv);
  return hv;
}

async function connect(hv: QemuHypervisorHandle, hello = true): Promise<QemuConnection> {
  const c = hello
    ? await QemuConnection.open(hv.socketPath)
    : await QemuConnection.connect(hv.socketPath);
  connections.push(c);
  return c;
}

const notes = (hv: QemuHypervisorHandle): string[] =>
  hv.log().flatMap((e) => (e.kind === 'note' ? [`${e.source}: ${e.text}`] : []));

const isInit = (f: { type: string; entry?: Buffer }): boolean =>
  f.type === 'crq' && f.entry !== undefined && f.entry[0] === 0xc0 && f.entry[1] === 0x01;

describe('the QEMU socket', () => {
  it('answers HELLO and sends INIT while the hypervisor is up', async () => {
    const hv = await start();
    const qemu = await connect(hv, false);
    const init = qemu.next(isInit);
    await qemu.hello();
    await init;
    expect(qemu.received.map((f) => f.type)).toEqual(['hello', 'crq']);
    expect(qemu.received[0]).toEqual({ type: 'hello', version: 1 });
    expect(decodeCrq((qemu.received[1] as { entry: Buffer }).entry)).toEqual({
      format: 'init',
      type: 1,
    });
    expect(hv.state()).toMatchObject({ connected: true, driverReady: false });
  });

  it('sends no INIT while the hypervisor is down, and one when it comes back', async () => {
    const hv = await start();
    hv.reset({ reinitializeAfterMs: null });
    const qemu = await connect(hv);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(qemu.received.map((f) => f.type)).toEqual(['hello']);
    const init = qemu.next(isInit);
    hv.reinitialize();
    await init;
  });

  it('closes a second connection while one is up, and keeps the first', async () => {
    const hv = await start({ requestVmc: { outcome: 0x30000007 } });
    const first = await connect(hv);
    const second = await connect(hv, false);
    await second.closed;
    expect(notes(hv)).toContain(
      'server: a second QEMU connection closed: one VMC adapter is connected already',
    );
    const answer = first.next((f) => f.type === 'request-vmc-answer');
    first.send({ type: 'request-vmc', request: 42 });
    expect(await answer).toEqual({
      type: 'request-vmc-answer',
      request: 42,
      rc: 0,
      value: 0x30000007,
    });
    await first.end();
    await until(() => !hv.state().connected);
    await connect(hv); // the next one is welcome
  });

  it.each([
    [
      'an unknown frame type',
      Buffer.from('0700000000000000', 'hex'),
      /frame type 0x07 is not one QEMU sends/,
    ],
    [
      'a hypervisor frame type',
      Buffer.from('810000000000000400000001', 'hex'),
      /0x81 is not one QEMU sends/,
    ],
    [
      'a CRQ frame of 8 bytes',
      Buffer.from('0200000000000008' + '00'.repeat(8), 'hex'),
      /8 payload bytes, not 16/,
    ],
    ['a frame too long', Buffer.from('0300000000010009', 'hex'), /announces 65545 bytes/],
  ])(
    'closes the connection on %s, with a note, and forgets the guest',
    async (_, bytes, reason) => {
      const hv = await start();
      const qemu = await connect(hv);
      qemu.sendBytes(bytes);
      await qemu.closed;
      await until(() => !hv.state().connected);
      expect(notes(hv).filter((n) => n.startsWith("server: closing QEMU's connection"))).toEqual([
        expect.stringMatching(reason),
      ]);
      await connect(hv);
    },
  );

  it.each([
    [
      'a frame before HELLO',
      { type: 'request-vmc', request: 1 } as const,
      /request-vmc frame before HELLO/,
    ],
    [
      'another version',
      {
        type: 'hello',
        version: 2,
        unitAddress: 0,
        localLiobn: 0,
        remoteLiobn: 0,
        windowSize: 0,
      } as const,
      /version 2, this hypervisor 1/,
    ],
  ])('closes the connection on %s, unanswered', async (_, frame, reason) => {
    const hv = await start();
    const qemu = await connect(hv, false);
    qemu.send(frame);
    await qemu.closed;
    expect(qemu.received).toEqual([]);
    expect(notes(hv)).toEqual([expect.stringMatching(reason)]);
  });

  it('notes a window too small for the buffer layout', async () => {
    const hv = await start();
    const qemu = await connect(hv, false);
    qemu.send({
      type: 'hello',
      version: 1,
      unitAddress: 1,
      localLiobn: 2,
      remoteLiobn: 3,
      windowSize: 0x100000,
    });
    await qemu.next((f) => f.type === 'hello');
    expect(notes(hv)).toEqual([
      'server: QEMU connected: adapter 0x1, window of 1048576 bytes',
      "server: QEMU's window is smaller than the 2097152 bytes the buffers are laid out in: " +
        'the guest cannot copy to or from the buffers past its end',
    ]);
  });

  it('closes the connection on a second HELLO', async () => {
    const hv = await start();
    const qemu = await connect(hv);
    qemu.send({
      type: 'hello',
      version: 1,
      unitAddress: 0,
      localLiobn: 0,
      remoteLiobn: 0,
      windowSize: 0,
    });
    await qemu.closed;
    expect(notes(hv)).toContainEqual(
      expect.stringMatching(/a second HELLO on the same connection/),
    );
  });

  it('stores a copy at the start of a buffer; notes and ignores any other', async () => {
    const hv = await start();
    const qemu = await connect(hv);
    qemu.send({ type: 'rdma', address: 0x104000, data: Buffer.from('slot 1, buffer 1') });
    qemu.send({ type: 'rdma', address: 0x4010, data: Buffer.from('mid-buffer') });
    qemu.send({ type: 'rdma', address: 0x8000, data: Buffer.alloc(0x4001) });
    qemu.send({ type: 'rdma', address: 0x200000, data: Buffer.from('outside') });
    qemu.send({ type: 'note', text: 'entry dropped: the guest has no queue registered' });
    await until(() => notes(hv).some((n) => n.startsWith('qemu:')));
    expect(hv.hypervisor.rdmaFromHypervisor(1, 1, 16).toString()).toBe('slot 1, buffer 1');
    expect(hv.hypervisor.rdmaFromHypervisor(0, 1, 10)).toEqual(Buffer.alloc(10));
    expect(notes(hv).filter((n) => !n.startsWith('server: QEMU connected'))).toEqual([
      'server: RDMA of 10 bytes to 0x4010 ignored: not one buffer from its start',
      'server: RDMA of 16385 bytes to 0x8000 ignored: not one buffer from its start',
      'server: RDMA of 7 bytes to 0x200000 ignored: not one buffer from its start',
      'qemu: entry dropped: the guest has no queue registered',
    ]);
    expect(hv.state().connected).toBe(true);
  });

  it('notes a CRQ entry that is no entry, and goes on', async () => {
    const hv = await start();
    const qemu = await connect(hv);
    qemu.send({ type: 'crq', entry: Buffer.alloc(16) });
    await until(() => notes(hv).some((n) => n.includes('from the guest ignored')));
    expect(hv.state().connected).toBe(true);
  });
});

describe('startQemuHypervisor', () => {
  it('gives the QEMU arguments and the insmod parameters, clamped as the driver clamps them', async () => {
    const hv = await start({ maxMtu: 100000, bufPoolSize: 8, maxHmcs: 2 });
    expect(hv.dir).not.toBeNull();
    expect(hv.socketPath).toBe(path.join(hv.dir as string, 'vmc.sock'));
    expect(hv.qemuArgs).toEqual([
      '-chardev',
      `socket,id=vmc0,path=${hv.socketPath}`,
      '-device',
      'spapr-vmc,chardev=vmc0',
    ]);
    expect(hv.moduleParameters).toEqual({ maxMtu: 16384, bufPoolSize: 16, maxHmcs: 2 });
    expect(hv.insmodArgs).toEqual(['max_mtu=16384', 'buf_pool_size=16', 'max_hmcs=2']);
    hv.configure({ maxHmcs: 1 });
    expect(hv.insmodArgs).toEqual(['max_mtu=16384', 'buf_pool_size=16', 'max_hmcs=1']);
  });

  it('listens on a given path, doubling its commas for QEMU, and removes it on stop', async () => {
    const socketPath = path.join(tmp, 'a,b.sock');
    const hv = await start({ socketPath });
    expect(hv.dir).toBeNull();
    expect(hv.qemuArgs[1]).toBe(`socket,id=vmc0,path=${path.join(tmp, 'a,,b.sock')}`);
    expect(existsSync(socketPath)).toBe(true);
    await hv.stop();
    expect(existsSync(socketPath)).toBe(false);
  });

  it.each([
    ['haveVmc', { haveVmc: false }, /start QEMU without the device/],
    ['openFault', { openFault: 'EACCES' }, /preload shim/],
    ['openBusyMs', { openBusyMs: 10 }, /fake driver’s/],
  ])('refuses %s, saying why, and leaves nothing behind', async (name, options, why) => {
    const error = await startQemuHypervisor({ tmpDir: tmp, ...(options as object) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FakeDeviceError);
    expect(error).toMatchObject({
      code: 'ERR_IBMVMC_FAKE_OPTIONS',
      message: expect.stringContaining(`option ${name} does not apply behind QEMU`),
    });
    expect((error as Error).message).toMatch(why);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses bad values at start and in configure', async () => {
    await expect(startQemuHypervisor({ tmpDir: tmp, slots: 0 })).rejects.toMatchObject({
      code: 'ERR_IBMVMC_FAKE_OPTIONS',
    });
    const hv = await start();
    expect(() => hv.configure({ mtu: -1 })).toThrow(FakeDeviceError);
    expect(() => hv.configure({ haveVmc: true } as object)).toThrow(/haveVmc does not apply/);
    expect(hv.state().moduleParameters.maxMtu).toBe(4096);
  });

  it('refuses a socket path too long, leaving nothing behind', async () => {
    await expect(
      startQemuHypervisor({ socketPath: path.join(tmp, 'x'.repeat(120)) }),
    ).rejects.toMatchObject({ code: 'ERR_IBMVMC_FAKE_SOCKET_PATH' });
    const longTmp = mkdtempSync(path.join(tmp, 'y'.repeat(100)));
    await expect(startQemuHypervisor({ tmpDir: longTmp })).rejects.toMatchObject({
      code: 'ERR_IBMVMC_FAKE_SOCKET_PATH',
    });
    expect(readdirSync(longTmp)).toEqual([]);
    rmSync(longTmp, { recursive: true });
  });

  it('waitForDriver gives up after its timeout', async () => {
    const hv = await start();
    await expect(hv.waitForDriver({ timeoutMs: 50 })).rejects.toMatchObject({
      code: 'ERR_IBMVMC_FAKE_TIMEOUT',
      message: expect.stringContaining('QEMU not connected'),
    });
  });

  it('stops leaving no socket, directory or connection behind, and fails whoever waits', async () => {
    const hv = await startQemuHypervisor({ tmpDir: tmp, requestVmc: { delayMs: 60_000 } });
    const qemu = await QemuConnection.open(hv.socketPath);
    qemu.send({ type: 'request-vmc', request: 1 });
    const waiting = hv.waitForDriver().catch((e: unknown) => e);
    await hv.stop();
    await hv.stop(); // idempotent
    expect(await waiting).toMatchObject({ code: 'ERR_IBMVMC_FAKE_STOPPED' });
    await expect(hv.waitForDriver()).rejects.toMatchObject({ code: 'ERR_IBMVMC_FAKE_STOPPED' });
    await qemu.closed;
    expect(qemu.received.filter((f) => f.type === 'request-vmc-answer')).toEqual([]);
    expect(existsSync(hv.socketPath)).toBe(false);
    expect(existsSync(hv.dir as string)).toBe(false);
  });

  it(
    'stops leaving no timer or handle: a program exits by itself right after stop()',
    async () => {
      // Every timer the hypervisor can hold is pending (a delayed call, a delayed
      // re-initialisation, a waiter): anything left would keep the child alive for a minute.
      const script = `
      const net = require('node:net');
      const fake = require(${JSON.stringify(path.join(root, 'dist/cjs/fake'))});
      (async () => {
        const hv = await fake.startQemuHypervisor({
          tmpDir: ${JSON.stringify(tmp)},
          reinitializeAfterMs: 60000,
          requestVmc: { delayMs: 60000 },
        });
        const qemu = net.connect(hv.socketPath);
        qemu.on('error', () => {});
        await new Promise((resolve) => qemu.once('connect', resolve));
        qemu.write(fake.encodeQemuFrame({ type: 'hello', version: 1, unitAddress: 0,
          localLiobn: 0, remoteLiobn: 0, windowSize: 0x200000 }));
        qemu.write(fake.encodeQemuFrame({ type: 'request-vmc', request: 1 }));
        await new Promise((resolve) => setTimeout(resolve, 50));
        hv.reset();
        hv.waitForDriver({ timeoutMs: 60000 }).catch(() => {});
        await hv.stop();
        console.log(JSON.stringify({ dir: hv.dir }));
      })();`;
      const child = spawn(process.execPath, ['-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(0);
      const { dir } = JSON.parse(out) as { dir: string };
      expect(existsSync(dir)).toBe(false);
    },
    10_000 * TIME_SCALE,
  );

  it('is an async disposable', async () => {
    let dir: string | null = null;
    {
      await using hv = await startQemuHypervisor({ tmpDir: tmp });
      dir = hv.dir;
      expect(existsSync(dir as string)).toBe(true);
    }
    expect(existsSync(dir as string)).toBe(false);
  });
});

// The protocol error codes are part of the API: a harness may tell them apart.
test('protocol error codes', () => {
  expect(Object.values(QEMU_PROTOCOL_ERROR)).toEqual([
    'ERR_IBMVMC_FAKE_QEMU_FRAME_TOO_LONG',
    'ERR_IBMVMC_FAKE_QEMU_FRAME_MALFORMED',
    'ERR_IBMVMC_FAKE_QEMU_PROTOCOL',
  ]);
});
