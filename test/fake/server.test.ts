/**
 * The socket server, spoken to through a TypeScript client of the wire
 * protocol (the shim's side): the open handshake, every op, data frames,
 * the reset byte and its ordering, aux connections, and clean-up.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { ERRNO as E } from '../../lib/fake/errno';
import { FakeDevice } from '../../lib/fake/fake-device';
import type { FakeDeviceOptions } from '../../lib/fake/options';
import { WIRE_OP, encodeRequest } from '../../lib/fake/wire';
import {
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  decodeHmcMessage,
  encodeHmcMessage,
} from '../../lib/protocol';
import { FakeWireClient } from '../helpers/fake-wire-client';

let dir: string;
const devices: FakeDevice[] = [];
const clients: FakeWireClient[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-fake-server-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.hangUp();
  for (const d of devices.splice(0)) await d.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: FakeDeviceOptions = {}): Promise<FakeDevice> {
  const device = await FakeDevice.start({
    ...options,
    socketPath: path.join(dir, 'vmc.sock'),
    sysfsRoot: path.join(dir, 'sys'),
  });
  devices.push(device);
  return device;
}

async function client(device: FakeDevice): Promise<FakeWireClient> {
  const c = await FakeWireClient.connect(device.socketPath);
  clients.push(c);
  return c;
}

const until = async (check: () => boolean, ms = 2000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
};

/** SETHMCID, then write until the open is answered. */
async function bound(device: FakeDevice, name = 'hmc'): Promise<FakeWireClient> {
  const c = await client(device);
  expect(await c.setHmcId(name)).toBe(0);
  await until(() => device.sessions().some((s) => s.hmcId === name && s.state === 'ready'));
  return c;
}

function echo(token: number, data: Buffer): Buffer {
  return encodeHmcMessage({
    token,
    target: HMC_TARGET.ROUTER,
    opcode: HMC_ROUTER_OPCODE.ECHO,
    data,
  });
}

describe('the fake device server', () => {
  it('starts ready, with its sockets and sysfs tree; close removes them', async () => {
    const device = await start({ maxMtu: 8192, bufPoolSize: 48, maxHmcs: 2 });
    expect(device.state()).toMatchObject({ state: 3, stateName: 'ready', haveVmc: true, slots: 2 });
    const params = path.join(dir, 'sys', 'module', 'ibmvmc', 'parameters');
    expect(readFileSync(path.join(params, 'max_mtu'), 'utf8')).toBe('8192\n');
    expect(readFileSync(path.join(params, 'buf_pool_size'), 'utf8')).toBe('48\n');
    expect(readFileSync(path.join(params, 'max_hmcs'), 'utf8')).toBe('2\n');
    await device.configure({ maxMtu: 16384 });
    expect(readFileSync(path.join(params, 'max_mtu'), 'utf8')).toBe('16384\n');
    expect(existsSync(device.socketPath)).toBe(true);
    expect(existsSync(`${device.socketPath}.data`)).toBe(true);
    await device.close();
    expect(existsSync(device.socketPath)).toBe(false);
    expect(existsSync(`${device.socketPath}.data`)).toBe(false);
    expect(existsSync(path.join(dir, 'sys', 'module'))).toBe(false);
  });

  it('answers QUERY, SETHMCID, IOCTL, WRITE and READ errno for errno', async () => {
    const device = await start();
    const c = await client(device);
    expect(await c.query()).toEqual({ result: 0, haveVmc: 1, state: 3, vmcDrcIndex: 0 });
    expect((await c.read(4096)).result).toBe(-E.EIO);
    expect((await c.read(4097)).result).toBe(-E.EINVAL);
    expect((await c.read(0)).result).toBe(0);
    expect(await c.write(Buffer.from('x'))).toBe(-E.EIO);
    expect(await c.ioctl(0xcc55)).toBe(-E.EINVAL);
    expect(await c.setHmcId(null)).toBe(-E.EFAULT);
    expect(await c.setHmcId('id')).toBe(0);
    expect(await c.setHmcId('id')).toBe(-E.EIO);
    await until(() => device.sessions()[0].state === 'ready');
    expect(await c.writeOmitted(70000, 1)).toBe(-E.EIO);
    expect(await c.writeOmitted(10, 2)).toBe(-E.EFAULT);
    expect(await c.write(Buffer.alloc(4097))).toBe(-E.EIO);
    expect((await c.read(4096)).result).toBe(-E.EAGAIN);
  });

  it('carries messages both ways; a READ consumes exactly one data frame', async () => {
    const device = await start();
    const c = await bound(device);
    for (let i = 0; i < 50; i++) {
      const request = echo(i, Buffer.alloc(i + 1, i));
      expect(await c.write(request)).toBe(request.length);
      const answer = await c.readBlocking(4096);
      expect(answer.result).toBe(request.length);
      const decoded = decodeHmcMessage(answer.data as Buffer);
      expect([decoded.token, decoded.data]).toEqual([i, Buffer.alloc(i + 1, i)]);
    }
    expect(c.framesWaiting).toBe(0);
  });

  it('truncates a short read and drops the rest of that message', async () => {
    const device = await start();
    const c = await bound(device);
    await c.write(echo(7, Buffer.from('0123456789')));
    await c.write(echo(8, Buffer.from('next')));
    await c.waitForFrame();
    const short = await c.read(10);
    expect(short).toMatchObject({ result: 10, length: 42 });
    expect(short.data?.length).toBe(10);
    const next = await c.readBlocking(4096);
    expect(decodeHmcMessage(next.data as Buffer).data.toString()).toBe('next');
  });

  it('fails OPEN with the configured fault and drops the data connection', async () => {
    const device = await start({ openFault: 'ENOENT' });
    expect(await FakeWireClient.open(device.socketPath)).toBe(-E.ENOENT);
    await device.configure({ openFault: 'EACCES' });
    expect(await FakeWireClient.open(device.socketPath)).toBe(-E.EACCES);
    await device.configure({ openFault: null, openBusyMs: 60_000 });
    expect(await FakeWireClient.open(device.socketPath)).toBe(-E.EBUSY);
    expect(device.state().openFiles).toBe(0);
  });

  it('refuses an OPEN with an unknown token', async () => {
    const device = await start();
    const socket = net.connect(device.socketPath);
    const reply = await new Promise<Buffer>((resolve) => {
      socket.once('data', resolve);
      socket.write(encodeRequest(WIRE_OP.OPEN, 0, 1, Buffer.alloc(8, 9)));
    });
    expect(reply.readInt32LE(4)).toBe(-E.EIO);
    socket.destroy();
  });

  it('writes the reset byte after the data frames already sent, and only to the reset session', async () => {
    const device = await start({
      maxHmcs: 2,
      reinitializeAfterMs: null,
      buffers: { hypervisorOwned: 8 },
    });
    const a = await bound(device, 'a');
    const b = await client(device);
    const big = Buffer.alloc(4000, 1);
    for (let i = 0; i < 8; i++) expect(device.inject(0, big)).toBe(true);
    device.reset();
    await a.waitForEvent();
    expect(a.framesWaiting).toBe(8);
    expect(a.events).toBe(1);
    expect((await a.read(4096)).result).toBe(-E.EBADFD);
    expect(await a.write(Buffer.from('x'))).toBe(-E.EIO);
    await new Promise((r) => setTimeout(r, 20));
    expect(b.events).toBe(0);
  });

  it('holds the reset byte back until every data frame before it has been flushed', async () => {
    const device = await start({
      maxMtu: 16384,
      mtu: 16384,
      bufPoolSize: 64,
      poolSize: 64,
      reinitializeAfterMs: null,
      buffers: { hypervisorOwned: 63 },
    });
    const c = await bound(device);
    c.pauseData();
    const big = Buffer.alloc(16384, 2);
    for (let i = 0; i < 63; i++) expect(device.inject(0, big)).toBe(true);
    await until(() => device.sessions()[0].queued === 63);
    device.reset();
    // About 1 MiB is waiting: more than the socket buffers hold, so the byte waits.
    await new Promise((r) => setTimeout(r, 100));
    expect(c.events).toBe(0);
    c.resumeData();
    await c.waitForEvent();
    expect(c.framesWaiting).toBe(63);
  });

  it('gives a stale fd that reads the new session’s queue its own data frame', async () => {
    const device = await start({ reinitializeAfterMs: 0, buffers: { hypervisorOwned: 1 } });
    const stale = await bound(device, 'old');
    device.reset();
    await stale.waitForEvent();
    expect((await stale.read(100)).result).toBe(-E.EBADFD);
    await until(() => device.state().state === 3);
    const fresh = await bound(device, 'new');
    expect(device.inject(0, Buffer.from('shared queue'))).toBe(true);
    // The stale fd may take it first, so the new one must ask before taking its frame.
    expect(await fresh.peekLocalReadLimit()).toBe(0);
    const got = await stale.read(100);
    expect(got.data?.toString()).toBe('shared queue');
    expect((await fresh.read(100)).result).toBe(-E.EAGAIN);
  });

  it('lets the only file on a slot take frames without asking; READ_TAKEN is that read, unanswered', async () => {
    const device = await start({
      maxMtu: 8192,
      mtu: 8192,
      log: true,
      buffers: { hypervisorOwned: 2 },
    });
    const c = await bound(device);
    expect(device.inject(0, Buffer.from('first'))).toBe(true);
    expect(device.inject(0, Buffer.from('second'))).toBe(true);
    await until(() => device.sessions()[0].queued === 2);
    expect(await c.peekLocalReadLimit()).toBe(8192);
    const taken = await c.readTaken(3);
    expect(taken).toEqual({ message: Buffer.from('first'), localReadLimit: 8192 });
    // No reply to READ_TAKEN: the next request's reply is its own, and the
    // fake has taken 'first' off the queue by then (same connection, in order).
    expect((await c.query()).result).toBe(0);
    expect(device.sessions()[0].queued).toBe(1);
    expect((await c.read(100)).data?.toString()).toBe('second');
    expect((await c.read(100)).result).toBe(-E.EAGAIN);
    const reads = device.log().flatMap((e) => (e.kind === 'call' && e.call === 'read' ? [e] : []));
    expect(reads.map((e) => [e.arg, e.result])).toEqual([
      [3, 3],
      [100, 6],
      [100, -E.EAGAIN],
    ]);
  });

  it('ignores a READ_TAKEN with nothing queued (a note), and stays in step', async () => {
    const device = await start({ log: true, buffers: { hypervisorOwned: 1 } });
    const c = await bound(device);
    c.send(WIRE_OP.READ_TAKEN, 100);
    expect((await c.query()).result).toBe(0);
    expect(device.log().some((e) => e.kind === 'note' && e.text.includes('READ_TAKEN'))).toBe(true);
    expect(device.inject(0, Buffer.from('intact'))).toBe(true);
    expect((await c.readBlocking(100)).data?.toString()).toBe('intact');
  });

  it('wakes a blocked reader with EBADFD on reset', async () => {
    const device = await start({ reinitializeAfterMs: null });
    const c = await bound(device);
    const reading = c.readBlocking(4096);
    await new Promise((r) => setTimeout(r, 20));
    device.reset();
    expect((await reading).result).toBe(-E.EBADFD);
  });

  it('CLOSE answers, closes the data connection, and the slot frees when the hypervisor answers', async () => {
    const device = await start({ closeAnswer: { delayMs: 50 } });
    const c = await bound(device);
    expect(await c.close()).toBe(0);
    await c.dataClosed;
    expect(device.state().openFiles).toBe(0);
    const next = await client(device);
    expect(await next.setHmcId('next')).toBe(-E.EBUSY);
    await until(() => device.sessions()[0].state === 'free');
    expect(await next.setHmcId('next')).toBe(0);
  });

  it('runs the close path when a control connection ends without CLOSE', async () => {
    const device = await start({ log: true });
    const c = await bound(device);
    c.hangUp();
    await until(() => device.state().openFiles === 0);
    await until(() => device.sessions()[0].state === 'free');
    expect(device.log().some((e) => e.kind === 'call' && e.call === 'close')).toBe(true);
  });

  it('serves REQUESTVMC on an aux connection while the control connection stays usable', async () => {
    const device = await start({ requestVmc: { outcome: 0x90000001, delayMs: 200 } });
    const c = await client(device);
    const pending = c.requestVmc();
    const started = Date.now();
    expect((await c.query()).vmcDrcIndex).toBe(0);
    expect(Date.now() - started).toBeLessThan(150);
    expect(await pending).toEqual({ result: 0, index: 0x90000001 });
    expect((await c.query()).vmcDrcIndex).toBe(0x90000001 | 0);
    await device.configure({ requestVmc: { outcome: 'ENODEV', delayMs: 0 } });
    expect(await c.requestVmc()).toEqual({ result: -E.ENODEV });
  });

  it('lets a custom handler answer, and inject unsolicited messages', async () => {
    const device = await start({ buffers: { hypervisorOwned: 1 } });
    device.setHandler((message, session) => [
      Buffer.from(`${session.hmcId}:${message.toString()}`),
    ]);
    const c = await bound(device, 'custom');
    await c.write(Buffer.from('ping'));
    expect((await c.readBlocking(100)).data?.toString()).toBe('custom:ping');
    expect(device.inject(0, Buffer.from('unsolicited'))).toBe(true);
    expect((await c.readBlocking(100)).data?.toString()).toBe('unsolicited');
    expect(device.inject(1, Buffer.from('nobody'))).toBe(false);
  });

  it('logs calls and messages for assertions, nothing at start-up', async () => {
    const device = await start({ log: true });
    expect(device.log()).toEqual([]);
    const c = await bound(device);
    await c.write(echo(1, Buffer.from('x')));
    await c.readBlocking(4096);
    const calls = device.log().flatMap((e) => (e.kind === 'call' ? [`${e.call}=${e.result}`] : []));
    expect(calls).toEqual(['open=1', 'sethmcid=0', 'write=33', 'read=33']);
    expect(
      device
        .log()
        .filter((e) => e.kind === 'message')
        .map((e) => e.kind === 'message' && e.to),
    ).toEqual(['hypervisor', 'partition']);
    device.clearLog();
    expect(device.log()).toEqual([]);
  });

  it('keeps up: 2000 echo round trips', async () => {
    const device = await start();
    const c = await bound(device);
    const request = echo(1, Buffer.alloc(100, 1));
    for (let i = 0; i < 2000; i++) {
      await c.write(request);
      expect((await c.readBlocking(4096)).result).toBe(request.length);
    }
  });

  it('refuses a socket path too long for a Unix socket', async () => {
    const long = path.join(dir, 'x'.repeat(120));
    await expect(FakeDevice.start({ socketPath: long })).rejects.toMatchObject({
      code: 'ERR_IBMVMC_FAKE_SOCKET_PATH',
    });
  });
});
