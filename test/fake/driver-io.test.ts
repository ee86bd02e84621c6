/**
 * read() and write(), row by row of the contract, and the buffer pool's flow
 * control: every message written holds a buffer until the answer in it is read.
 */
import { E, boot, hmcId } from './model';

const silent = (): undefined => undefined;

describe('read()', () => {
  it('n = 0 returns 0 and n > MTU is EINVAL, both before anything else', () => {
    const m = boot();
    const unbound = m.open();
    expect(m.driver.read(unbound, 0)).toBe(0);
    expect(m.driver.read(unbound, 4097)).toBe(-E.EINVAL);
    expect(m.driver.read(unbound, 0xffffffff)).toBe(-E.EINVAL);
    expect(m.driver.read(unbound, 4096)).toBe(-E.EIO);
  });

  it('without SETHMCID: EIO', () => {
    const m = boot();
    expect(m.driver.read(m.open(), 100)).toBe(-E.EIO);
  });

  it('nothing queued: EAGAIN (the shim blocks), one message per read, oldest first', () => {
    const m = boot({ buffers: { hypervisorOwned: 3 } });
    const file = m.session();
    expect(m.driver.read(file, 4096)).toBe(-E.EAGAIN);
    m.hypervisor.inject(0, Buffer.from('one'));
    m.hypervisor.inject(0, Buffer.from('two'));
    m.settle();
    expect(m.events.queued.map((q) => [q.fd, q.data.toString()])).toEqual([
      [file.id, 'one'],
      [file.id, 'two'],
    ]);
    expect(m.read(file)).toEqual({ result: 3, message: Buffer.from('one') });
    expect(m.read(file)).toEqual({ result: 3, message: Buffer.from('two') });
    expect(m.read(file)).toEqual({ result: -E.EAGAIN, message: null });
  });

  it('copies min(n, length) and loses the rest of the message', () => {
    const m = boot({ buffers: { hypervisorOwned: 2 } });
    const file = m.session();
    m.hypervisor.inject(0, Buffer.from('abcdefgh'));
    m.hypervisor.inject(0, Buffer.from('next'));
    m.settle();
    const first = m.read(file, 3);
    expect(first.result).toBe(3);
    expect(first.message?.length).toBe(8); // the full message, for the shim to skip
    expect(m.read(file, 100)).toEqual({ result: 4, message: Buffer.from('next') });
  });

  it('after a reset: EBADFD once the queue is empty', () => {
    const m = boot({ reinitializeAfterMs: null });
    const file = m.session();
    m.hypervisor.reset();
    m.settle();
    expect(m.driver.read(file, 10)).toBe(-E.EBADFD);
    expect(m.events.resets).toEqual([file.id]);
  });

  it('a reset empties the queue: an unread message is gone', () => {
    const m = boot({ reinitializeAfterMs: null, buffers: { hypervisorOwned: 1 } });
    const file = m.session();
    m.hypervisor.inject(0, Buffer.from('lost'));
    m.settle();
    expect(m.driver.slots[0].queue).toHaveLength(1);
    m.hypervisor.reset();
    m.settle();
    expect(m.driver.read(file, 10)).toBe(-E.EBADFD);
  });

  it('reads of the module parameter size get EINVAL when the negotiated MTU is smaller', () => {
    const m = boot({ maxMtu: 16384, mtu: 4096 });
    const file = m.session();
    expect(m.driver.read(file, 16384)).toBe(-E.EINVAL);
    expect(m.driver.read(file, 4096)).toBe(-E.EAGAIN);
  });
});

describe('write()', () => {
  it('without SETHMCID: EIO', () => {
    const m = boot();
    expect(m.write(m.open(), 'x')).toBe(-E.EIO);
  });

  it('over the MTU: EIO, not EINVAL, checked before the opening state', () => {
    const m = boot({ openAnswer: { delayMs: 10 } });
    const file = m.open();
    m.driver.setHmcId(file, hmcId('a'));
    expect(m.write(file, Buffer.alloc(4097))).toBe(-E.EIO);
    expect(m.write(file, Buffer.alloc(4096))).toBe(-E.EBUSY);
    m.scheduler.advance(10);
    expect(m.write(file, Buffer.alloc(4097))).toBe(-E.EIO);
    expect(m.write(file, Buffer.alloc(4096))).toBe(4096);
  });

  it('slot still initial (SETHMCID failed at EFAULT): EIO', () => {
    const m = boot();
    const file = m.open();
    expect(m.driver.setHmcId(file, null)).toBe(-E.EFAULT);
    expect(m.write(file, 'x')).toBe(-E.EIO);
  });

  it('sends the whole message in one buffer and returns n; the hypervisor gets exactly it', () => {
    const m = boot();
    const got: Buffer[] = [];
    m.hypervisor.setHandler((message) => {
      got.push(Buffer.from(message));
      return undefined;
    });
    const file = m.session();
    const message = Buffer.from(Array.from({ length: 4096 }, (_, i) => i & 0xff));
    expect(m.write(file, message)).toBe(4096);
    m.settle();
    expect(got).toEqual([message]);
  });

  it('n = 0 returns 0, sends nothing, and (as the driver does) keeps the buffer it took', () => {
    const m = boot({ poolSize: 16 });
    m.hypervisor.setHandler(silent);
    const file = m.session();
    expect(m.write(file, Buffer.alloc(0))).toBe(0);
    m.settle();
    expect(m.system.log.entries().filter((e) => e.kind === 'message')).toEqual([]);
    let ok = 0;
    while (m.write(file, 'x') === 1) ok++;
    expect(ok).toBe(15);
  });

  it('an unreadable buffer: EFAULT, and the buffer is lost to the pool', () => {
    const m = boot({ poolSize: 16 });
    m.hypervisor.setHandler(silent);
    const file = m.session();
    expect(m.driver.write(file, 10, null)).toBe(-E.EFAULT);
    let ok = 0;
    while (m.write(file, 'x') === 1) ok++;
    expect(ok).toBe(15);
  });

  it('after a reset or a refused open: EIO', () => {
    const m = boot({ reinitializeAfterMs: null });
    const file = m.session();
    m.hypervisor.reset();
    m.settle();
    expect(m.write(file, 'x')).toBe(-E.EIO);
    const r = boot({ openAnswer: { status: 4 } });
    const refused = r.open();
    r.bind(refused);
    expect(r.write(refused, 'x')).toBe(-E.EIO);
  });
});

describe('buffer pool flow control', () => {
  it.each([16, 20])(
    'pool %i: that many writes outstanding, then EBUSY until an answer is read',
    (pool) => {
      const m = boot({ poolSize: pool, bufPoolSize: 32 });
      m.hypervisor.setHandler((message) => Buffer.concat([Buffer.from('re:'), message]));
      const file = m.session();
      for (let i = 0; i < pool; i++) expect(m.write(file, `m${i}`)).toBe(1 + String(i).length);
      expect(m.write(file, 'more')).toBe(-E.EBUSY);
      m.settle(); // every answer arrives, each in its request's buffer
      expect(m.driver.slots[0].queue).toHaveLength(pool);
      expect(m.write(file, 'more')).toBe(-E.EBUSY);
      expect(m.read(file).message?.toString()).toBe('re:m0');
      expect(m.write(file, 'more')).toBe(4);
      expect(m.write(file, 'more')).toBe(-E.EBUSY);
    },
  );

  it('a silent hypervisor holds the buffers: EBUSY for good until it sends something', () => {
    const m = boot();
    m.hypervisor.setHandler(silent);
    const file = m.session();
    for (let i = 0; i < 16; i++) expect(m.write(file, 'x')).toBe(1);
    m.settle();
    expect(m.write(file, 'x')).toBe(-E.EBUSY);
    expect(m.hypervisor.snapshot(0).held).toBe(16);
    // An unsolicited message goes out in one of the held buffers; reading it frees it.
    expect(m.hypervisor.inject(0, Buffer.from('news'))).toBe(true);
    m.settle();
    expect(m.write(file, 'x')).toBe(-E.EBUSY);
    expect(m.read(file).message?.toString()).toBe('news');
    expect(m.write(file, 'x')).toBe(1);
  });

  it('hypervisor-owned buffers are not used for writes', () => {
    const m = boot({ buffers: { session: 3, hypervisorOwned: 2 } });
    m.hypervisor.setHandler(silent);
    const file = m.session();
    // The start-up buffer plus the 3 partition-owned ones.
    let ok = 0;
    while (m.write(file, 'x') === 1) ok++;
    expect(ok).toBe(4);
    expect(m.driver.slots[0].count()).toMatchObject({ valid: 6, hypervisorOwned: 6 });
  });
});
