// The addon's watcher on the fake device, without the session above it: with
// a buffer it reads one message per callback, as read() would.
import type { FakeDeviceOptions } from '../../lib/fake/index';
import { binding, type NativeDeviceHandle } from '../../lib/native/binding';
import { decodeHmcMessage } from '../../lib/protocol/index';
import { echoRequest, sleep, useFakes } from '../helpers/session-fixtures';

const fake = useFakes();

type Call = {
  error: (Error & { code?: string; errno?: number; syscall?: string }) | null;
  bytesRead?: number;
};

/** A bound handle that has had one write taken (the hypervisor confirmed the session). */
async function openBound(path: string): Promise<NativeDeviceHandle> {
  const handle = new (binding().DeviceHandle)(path);
  const id = Buffer.alloc(32);
  id.write('watch-test');
  handle.setHmcId(id);
  return handle;
}

/** Writes `message`, retrying while the session is not yet confirmed (EBUSY). */
async function write(handle: NativeDeviceHandle, message: Buffer): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      expect(handle.write(message)).toBe(message.length);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EBUSY' || attempt > 500) throw error;
      await sleep(2);
    }
  }
}

/** Runs `body` with a bound handle on a fake of its own, and closes the handle. */
async function withHandle(
  options: FakeDeviceOptions,
  body: (handle: NativeDeviceHandle) => Promise<void>,
): Promise<void> {
  const { fake: f } = await fake(options);
  const handle = await openBound(f.socketPath);
  try {
    await body(handle);
  } finally {
    handle.close();
  }
}

/** The next call of the watcher, with a deadline. */
function nextCall(
  handle: NativeDeviceHandle,
  ...args: [buffer?: Buffer, length?: number]
): Promise<Call> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the watcher was not called in 5 s')), 5000);
    handle.watch(
      (error, bytesRead) => {
        clearTimeout(timer);
        handle.unwatch();
        resolve({ error, bytesRead });
      },
      ...args,
    );
  });
}

describe('DeviceHandle.watch with a buffer', () => {
  it('reads the message into it and passes the bytes read', async () => {
    await withHandle({ mtu: 8192, maxMtu: 8192 }, async (handle) => {
      const request = echoRequest(Buffer.from('hello, watcher'), 41, 8192);
      await write(handle, request);
      const buffer = Buffer.alloc(8192);
      const call = await nextCall(handle, buffer);
      expect(call.error).toBeNull();
      expect(call.bytesRead).toBe(request.length);
      const answer = decodeHmcMessage(buffer.subarray(0, call.bytesRead), { maxLength: 8192 });
      expect(answer.token).toBe(41);
      expect(answer.data.toString()).toBe('hello, watcher');
      expect(handle.read(buffer)).toBeNull(); // taken: nothing left in the driver
    });
  });

  it('reads at most `length` bytes; the rest of that message is lost, as with read()', async () => {
    await withHandle({ mtu: 8192, maxMtu: 8192 }, async (handle) => {
      const first = echoRequest(Buffer.alloc(100, 1), 42, 8192);
      const second = echoRequest(Buffer.alloc(30, 2), 43, 8192);
      await write(handle, first);
      const buffer = Buffer.alloc(8192, 0xee);
      const truncated = await nextCall(handle, buffer, 10);
      expect(truncated).toEqual({ error: null, bytesRead: 10 });
      expect(buffer.subarray(0, 10)).toEqual(first.subarray(0, 10));
      expect(buffer[10]).toBe(0xee); // nothing written past `length`
      await write(handle, second);
      const whole = await nextCall(handle, buffer);
      expect(whole.bytesRead).toBe(second.length);
      expect(decodeHmcMessage(buffer.subarray(0, whole.bytesRead), { maxLength: 8192 }).token).toBe(
        43,
      );
    });
  });

  it("passes a failed read's error, with its code, errno and syscall", async () => {
    // A read longer than the negotiated MTU fails with EINVAL before anything else.
    await withHandle({ mtu: 6000, maxMtu: 16384 }, async (handle) => {
      await write(handle, echoRequest(Buffer.from('x'), 44, 6000));
      const call = await nextCall(handle, Buffer.alloc(8000));
      expect(call.bytesRead).toBeUndefined();
      expect(call.error).toMatchObject({ code: 'EINVAL', syscall: 'read' });
      expect(call.error?.errno).toBe(-binding().constants.errno.EINVAL); // negative, as in Node's own
      // The message stays in the driver for a read of the right size.
      expect(handle.read(Buffer.alloc(6000))).toBeGreaterThan(0);
    });
  });

  it('without a buffer, reports readability only and leaves the message queued', async () => {
    await withHandle({ mtu: 8192, maxMtu: 8192 }, async (handle) => {
      const request = echoRequest(Buffer.from('still there'), 45, 8192);
      await write(handle, request);
      expect(await nextCall(handle)).toEqual({ error: null, bytesRead: undefined });
      expect(handle.read(Buffer.alloc(8192))).toBe(request.length);
    });
  });

  it('rejects a bad buffer or length before watching', async () => {
    await withHandle({}, async (handle) => {
      const noop = () => {};
      // The addon's errors come from another realm than Jest's: matched by name and message.
      expect(() => handle.watch(noop, 'x' as unknown as Buffer)).toThrow(
        expect.objectContaining({ name: 'TypeError', message: 'buffer must be a Buffer' }),
      );
      const outOfRange = expect.objectContaining({
        name: 'RangeError',
        message: "length must be between 0 and the buffer's length",
      });
      expect(() => handle.watch(noop, Buffer.alloc(8), 9)).toThrow(outOfRange);
      expect(() => handle.watch(noop, Buffer.alloc(8), -1)).toThrow(outOfRange);
      expect(() => handle.watch(noop, Buffer.alloc(8), '4' as unknown as number)).toThrow(
        expect.objectContaining({ name: 'TypeError', message: 'length must be a number' }),
      );
      expect(() => handle.read(Buffer.alloc(8))).not.toThrow(); // the handle is still usable
    });
  });
});
