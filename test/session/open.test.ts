import { rejection } from '../helpers/rejection';
import {
  AbortError,
  DeviceNotFoundError,
  DriverFailedError,
  InvalidArgumentError,
  NoBuffersError,
  NoSlotFreeError,
  DeviceBusyError,
  DriverNotReadyError,
  PermissionDeniedError,
  TimeoutError,
  open,
} from '../../lib/index';
import { echo, sleep, useFakes } from '../helpers/session-fixtures';

const fake = useFakes();

describe('open() retries what the driver calls temporary', () => {
  it('waits for a driver that is still starting (EAGAIN) and succeeds', async () => {
    const f = await fake({ startup: { crqinitMs: 150, capabilitiesMs: 100 } });
    const started = Date.now();
    const session = await f.open();
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect((await echo(session, Buffer.from('hi'))).data.toString()).toBe('hi');
    await session.close();
  });

  it('times out on a driver that never gets ready, saying why', async () => {
    const f = await fake({ startup: { crqinitMs: 60_000 } });
    const error = await rejection(f.open({ timeoutMs: 200 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.cause).toBeInstanceOf(DriverNotReadyError);
    expect(error.message).toMatch(/within 200 ms: the ibmvmc driver is still starting/);
  });

  it('waits for buffers (ENOBUFS), and times out when they never come', async () => {
    const late = await fake({ startup: { buffersMs: 150 } });
    const session = await late.open();
    await session.close();
    const never = await fake({ buffers: { startup: 0 } });
    const error = await rejection(never.open({ timeoutMs: 150 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.cause).toBeInstanceOf(NoBuffersError);
  });

  it('retries EBUSY on open from older drivers', async () => {
    const f = await fake({ openBusyMs: 150 });
    const session = await f.open();
    await session.close();
    const g = await fake({ openBusyMs: 60_000 });
    const error = await rejection(g.open({ timeoutMs: 100 }));
    expect(error.cause).toBeInstanceOf(DeviceBusyError);
  });

  it('waits for a slot held by another session, and for its close to be answered', async () => {
    const f = await fake({ maxHmcs: 1, closeAnswer: { delayMs: 200 } });
    const first = await f.open({ hmcId: 'first' });
    const busy = await rejection(f.open({ hmcId: 'second', timeoutMs: 100 }));
    expect(busy).toBeInstanceOf(TimeoutError);
    expect(busy.cause).toBeInstanceOf(NoSlotFreeError);
    await first.close();
    const started = Date.now();
    const second = await f.open({ hmcId: 'second' });
    // The slot is freed only when the hypervisor answers the close.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await second.close();
  });

  it('gives two sessions two slots, and a third waits for one of them', async () => {
    const f = await fake({ maxHmcs: 2, slots: 2 });
    const a = await f.open({ hmcId: 'a' });
    const b = await f.open({ hmcId: 'b' });
    const third = f.open({ hmcId: 'c' });
    await sleep(100);
    await a.close();
    const c = await third;
    expect((await echo(b, Buffer.from('b'))).data.toString()).toBe('b');
    expect((await echo(c, Buffer.from('c'))).data.toString()).toBe('c');
    await Promise.all([b.close(), c.close()]);
  });
});

describe('open() fails at once on what retrying cannot fix', () => {
  it('device missing', async () => {
    const f = await fake({ openFault: 'ENOENT' });
    const error = await rejection(f.open());
    expect(error).toBeInstanceOf(DeviceNotFoundError);
    const nowhere = await rejection(open({ hmcId: 'x', path: '/nonexistent/ibmvmc' }));
    expect(nowhere).toBeInstanceOf(DeviceNotFoundError);
    expect(nowhere.message).toMatch(/modprobe ibmvmc/);
  });

  it('permission denied, saying how to grant access', async () => {
    const f = await fake({ openFault: 'EACCES' });
    const error = await rejection(f.open());
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toMatch(/udev rule/);
  });

  it('driver failed', async () => {
    const f = await fake({ protocolVersion: 0x0201 });
    const error = await rejection(f.open({ timeoutMs: 2000 }));
    expect(error).toBeInstanceOf(DriverFailedError);
    expect(error.message).toMatch(/reload the module/);
  });
});

describe('open() checks its arguments before any system call', () => {
  it.each([
    [{ hmcId: 'x'.repeat(33) }, /33 bytes/],
    [{ hmcId: 7 }, /string or a Uint8Array/],
    [{ hmcId: 'ok', timeoutMs: -1 }, /timeoutMs/],
    [{ hmcId: 'ok', path: '' }, /path/],
    [{ hmcId: 'ok', queueSize: 0 }, /queueSize/],
    [{ hmcId: 'ok', signal: {} }, /AbortSignal/],
  ])('%p', async (options, message) => {
    const f = await fake({ log: true });
    const error = await rejection(
      open({ path: f.fake.socketPath, ...(options as object) } as never),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toMatch(message);
    expect(await f.fake.log()).toEqual([]);
  });

  it('honours an AbortSignal while retrying', async () => {
    const f = await fake({ startup: { crqinitMs: 60_000 } });
    const controller = new AbortController();
    const pending = f.open({ signal: controller.signal, timeoutMs: 10_000 });
    setTimeout(() => controller.abort(new Error('enough')), 50);
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(AbortError);
    expect((error.cause as Error).message).toBe('enough');
  });
});

describe('the MTU', () => {
  it('is found exactly, below the module parameter', async () => {
    const f = await fake({ maxMtu: 16384, mtu: 6000 });
    const session = await f.open();
    expect(session.mtu).toBe(6000);
    const big = Buffer.alloc(6000 - 32, 7);
    expect((await echo(session, big)).data.equals(big)).toBe(true);
    await session.close();
  });
});
