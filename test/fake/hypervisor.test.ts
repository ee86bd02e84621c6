/**
 * The fake hypervisor's command side: pluggable handlers (sync, async,
 * several answers, silent, throwing, per slot), unsolicited messages waiting
 * for a buffer, answers too long for the MTU, and the REQUESTVMC call.
 */
import type { FakeSessionInfo } from '../../lib/fake/handler';
import { E, boot } from './model';

describe('message handlers', () => {
  it('get each message with its session, and their answers are queued for reading', () => {
    const m = boot({ maxHmcs: 2 });
    const seen: Array<[string, FakeSessionInfo]> = [];
    m.hypervisor.setHandler((message, session) => {
      seen.push([message.toString(), session]);
      return Buffer.from(`answer to ${message.toString()}`);
    });
    m.session('first');
    const second = m.session('second');
    expect(m.write(second, 'hello')).toBe(5);
    m.settle();
    expect(seen).toEqual([['hello', { slot: 1, session: 1, hmcId: 'second', mtu: 4096 }]]);
    expect(m.read(second).message?.toString()).toBe('answer to hello');
  });

  it('several answers need several held buffers; the rest wait for the next', () => {
    const m = boot();
    m.hypervisor.setHandler((message) =>
      message.toString() === 'two' ? [Buffer.from('a'), Buffer.from('b')] : undefined,
    );
    const file = m.session();
    m.write(file, 'two');
    m.settle();
    expect(m.read(file).message?.toString()).toBe('a');
    expect(m.read(file).result).toBe(-E.EAGAIN);
    expect(m.hypervisor.snapshot(0).waiting).toBe(1);
    m.write(file, 'silence'); // lends the hypervisor another buffer
    m.settle();
    expect(m.read(file).message?.toString()).toBe('b');
  });

  it('with hypervisor-owned buffers, several answers go out at once', () => {
    const m = boot({ buffers: { hypervisorOwned: 2 } });
    m.hypervisor.setHandler(() => [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
    const file = m.session();
    m.write(file, 'x');
    m.settle();
    expect([m.read(file), m.read(file), m.read(file)].map((r) => r.message?.toString())).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('async answers arrive later, and are dropped if the session ended meanwhile', async () => {
    const m = boot({ reinitializeAfterMs: 0 });
    let release: (() => void) | undefined;
    m.hypervisor.setHandler(
      (message) =>
        new Promise<Buffer>((resolve) => {
          release = () => resolve(Buffer.from(`late ${message.toString()}`));
        }),
    );
    const file = m.session();
    m.write(file, 'one');
    m.settle();
    expect(m.read(file).result).toBe(-E.EAGAIN);
    release?.();
    await Promise.resolve();
    m.settle();
    expect(m.read(file).message?.toString()).toBe('late one');

    m.write(file, 'two');
    m.settle();
    m.hypervisor.reset();
    m.settle();
    const next = m.session();
    release?.();
    await Promise.resolve();
    m.settle();
    expect(m.read(next).result).toBe(-E.EAGAIN);
    expect(
      m.system.log
        .entries()
        .some((e) => e.kind === 'note' && /dropped: the session ended/.test(e.text)),
    ).toBe(true);
  });

  it('a throwing handler answers nothing', () => {
    const m = boot();
    m.hypervisor.setHandler(() => {
      throw new Error('boom');
    });
    const file = m.session();
    m.write(file, 'x');
    m.settle();
    expect(m.read(file).result).toBe(-E.EAGAIN);
    expect(m.system.log.entries().some((e) => e.kind === 'note' && /boom/.test(e.text))).toBe(true);
  });

  it('answers longer than the MTU are dropped, and their buffer kept', () => {
    const m = boot();
    m.hypervisor.setHandler((message) =>
      message.toString() === 'big' ? Buffer.alloc(4097) : Buffer.from('small'),
    );
    const file = m.session();
    m.write(file, 'big');
    m.settle();
    expect(m.read(file).result).toBe(-E.EAGAIN);
    m.write(file, 'x');
    m.settle();
    expect(m.read(file).message?.toString()).toBe('small');
  });

  it('per-slot handlers override the global one; null removes them', () => {
    const m = boot({ maxHmcs: 2 });
    m.hypervisor.setHandler(() => Buffer.from('global'));
    m.hypervisor.setHandler(() => Buffer.from('slot 1'), 1);
    const a = m.session('a');
    const b = m.session('b');
    m.write(a, 'x');
    m.write(b, 'x');
    m.settle();
    expect(m.read(a).message?.toString()).toBe('global');
    expect(m.read(b).message?.toString()).toBe('slot 1');
    m.hypervisor.setHandler(null, 1);
    m.write(b, 'x');
    m.settle();
    expect(m.read(b).message?.toString()).toBe('global');
  });
});

describe('unsolicited messages', () => {
  it('are refused when the slot has no open session', () => {
    const m = boot();
    expect(m.hypervisor.inject(0, Buffer.from('x'))).toBe(false);
    expect(m.hypervisor.inject(5, Buffer.from('x'))).toBe(false);
  });

  it('wait for a buffer the hypervisor holds', () => {
    const m = boot();
    m.hypervisor.setHandler(() => undefined);
    const file = m.session();
    expect(m.hypervisor.inject(0, Buffer.from('news'))).toBe(true);
    m.settle();
    expect(m.read(file).result).toBe(-E.EAGAIN);
    m.write(file, 'request'); // the hypervisor now holds that buffer
    m.settle();
    expect(m.read(file).message?.toString()).toBe('news');
  });

  it('go out at once in hypervisor-owned buffers', () => {
    const m = boot({ buffers: { hypervisorOwned: 1 } });
    const file = m.session();
    m.hypervisor.inject(0, Buffer.from('news'));
    m.settle();
    expect(m.read(file).message?.toString()).toBe('news');
  });
});

describe('REQUESTVMC', () => {
  it('returns the index and QUERY reports it; the driver state does not change', async () => {
    const m = boot({ requestVmc: { outcome: 0x30000042 } });
    const file = m.open();
    const pending = m.driver.requestVmc(file);
    m.settle();
    await expect(pending).resolves.toEqual({ result: 0, index: 0x30000042 });
    expect(m.driver.query(file)).toEqual({ haveVmc: 1, state: 3, vmcDrcIndex: 0x30000042 });
  });

  it('returns indexes above 2^31 whole, and QUERY shows them as the int they are', async () => {
    const m = boot({ requestVmc: { outcome: 0x90000001 } });
    const file = m.open();
    const pending = m.driver.requestVmc(file);
    m.settle();
    await expect(pending).resolves.toEqual({ result: 0, index: 0x90000001 });
    expect(m.driver.query(file).vmcDrcIndex).toBe(0x90000001 | 0);
  });

  it.each([
    ['EPERM', E.EPERM],
    ['EIO', E.EIO],
    ['ENODEV', E.ENODEV],
    ['EINVAL', E.EINVAL],
  ] as const)('fails with %s and leaves the index alone', async (outcome, errno) => {
    const m = boot({ requestVmc: { outcome } });
    const file = m.open();
    const pending = m.driver.requestVmc(file);
    m.settle();
    await expect(pending).resolves.toEqual({ result: -errno, index: 0 });
    expect(m.driver.query(file).vmcDrcIndex).toBe(0);
  });

  it('takes the configured time, works without SETHMCID and with no adapter', async () => {
    const m = boot({ haveVmc: false, requestVmc: { delayMs: 100 } });
    const file = m.open();
    let settled = false;
    const pending = m.driver.requestVmc(file).then((r) => {
      settled = true;
      return r;
    });
    m.scheduler.advance(99);
    await Promise.resolve();
    expect(settled).toBe(false);
    m.scheduler.advance(1);
    await expect(pending).resolves.toEqual({ result: 0, index: 0x30000001 });
    expect(m.driver.query(file)).toEqual({ haveVmc: 0, state: 0, vmcDrcIndex: 0x30000001 });
  });
});
