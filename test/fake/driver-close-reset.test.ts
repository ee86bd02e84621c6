/**
 * close(), resets and refused opens: when slots are freed, who is told, and
 * what stale files can still do.
 */
import { CRQ_TYPE, hmcMessage } from '../../lib/fake/crq';
import { DRIVER_STATE } from '../../lib/fake/driver';
import { SLOT_STATE } from '../../lib/fake/driver-slot';
import { E, boot, hmcId } from './model';

describe('close()', () => {
  it('sends Interface Close; the slot stays busy until the hypervisor answers', () => {
    const m = boot({ closeAnswer: { delayMs: 30 } });
    const file = m.session();
    expect(m.driver.close(file)).toBe(0);
    m.settle();
    expect(m.crqTypes()).toContain(`hypervisor:hmc:${CRQ_TYPE.CLOSE}`);
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.READY);
    expect(m.hypervisor.snapshot(0).state).toBe('closing');
    m.scheduler.advance(30);
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.FREE);
    // The hypervisor lends the generic buffer again, so the next session can start.
    expect(m.driver.slots[0].count().valid).toBe(1);
    expect(m.driver.setHmcId(m.open(), hmcId('next'))).toBe(0);
  });

  it('a lost close answer keeps the slot busy until a reset', () => {
    const m = boot({ closeAnswer: { delayMs: null }, reinitializeAfterMs: 5 });
    m.driver.close(m.session());
    m.scheduler.advance(10_000);
    const next = m.open();
    expect(m.driver.setHmcId(next, hmcId('b'))).toBe(-E.EBUSY);
    m.hypervisor.reset();
    m.scheduler.advance(5);
    expect(m.driver.state).toBe(DRIVER_STATE.READY);
    expect(m.driver.setHmcId(next, hmcId('b'))).toBe(0);
  });

  it('a close answer with a non-zero status resets the whole driver', () => {
    const m = boot({ maxHmcs: 2, closeAnswer: { status: 3 } });
    const closing = m.session('a');
    const other = m.session('b');
    expect(m.driver.slots.map((s) => s.state)).toEqual([SLOT_STATE.READY, SLOT_STATE.READY]);
    m.driver.close(closing);
    m.settle();
    // Every slot freed, the other session's readers told; the driver re-initialised.
    expect(m.events.resets).toEqual([other.id]);
    expect(m.driver.read(other, 10)).toBe(-E.EBADFD);
    expect(m.write(other, 'x')).toBe(-E.EIO);
    expect(m.driver.state).toBe(DRIVER_STATE.READY);
    const states = m.system.log.entries().flatMap((e) => (e.kind === 'state' ? [e.state] : []));
    expect(states.slice(-4)).toEqual([-1, 1, 2, 3]);
    expect(m.driver.setHmcId(m.open(), hmcId('c'))).toBe(0);
  });

  it('in state failed: 0 for every file (the release’s EIO never reaches close)', () => {
    const m = boot({ reinitializeAfterMs: 0 });
    const bound = m.session();
    const unbound = m.open();
    m.system.configure({ protocolVersion: 0x0200 });
    m.hypervisor.reset();
    m.settle();
    expect(m.driver.state).toBe(DRIVER_STATE.FAILED);
    expect(m.driver.close(unbound)).toBe(0);
    expect(m.driver.close(bound)).toBe(0);
  });

  it('close while the open is unanswered: the open is answered first, then the close', () => {
    const m = boot({ openAnswer: { delayMs: 20 }, closeAnswer: { delayMs: 5 } });
    const file = m.open();
    m.driver.setHmcId(file, hmcId('a'));
    m.settle();
    m.driver.close(file);
    m.settle();
    m.scheduler.advance(20);
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.READY);
    m.scheduler.advance(5);
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.FREE);
  });
});

describe('transport reset', () => {
  it('frees every slot, marks files invalid, wakes readers; the driver comes back', () => {
    const m = boot({ maxHmcs: 2, reinitializeAfterMs: 25 });
    const a = m.session('a');
    const b = m.session('b');
    const unbound = m.open();
    m.hypervisor.reset();
    m.settle();
    expect(m.driver.state).toBe(DRIVER_STATE.CRQINIT);
    expect(m.driver.slots.map((s) => s.state)).toEqual([SLOT_STATE.FREE, SLOT_STATE.FREE]);
    expect(m.events.resets.sort()).toEqual([a.id, b.id]);
    expect([a.valid, b.valid]).toEqual([false, false]);
    expect(m.driver.read(a, 10)).toBe(-E.EBADFD);
    expect(m.write(b, 'x')).toBe(-E.EIO);
    expect(m.driver.setHmcId(unbound, hmcId('c'))).toBe(-E.EAGAIN);
    m.scheduler.advance(25);
    expect(m.driver.state).toBe(DRIVER_STATE.READY);
    expect(m.driver.setHmcId(unbound, hmcId('c'))).toBe(0);
    // Old files stay dead: their slot is free or someone else's.
    expect(m.driver.setHmcId(b, hmcId('b'))).toBe(-E.EIO);
  });

  it('stays down until reinitialised when told to', () => {
    const m = boot({ reinitializeAfterMs: null });
    m.session();
    m.hypervisor.reset();
    m.scheduler.advance(60_000);
    expect(m.driver.state).toBe(DRIVER_STATE.CRQINIT);
    expect(m.hypervisor.up).toBe(false);
    m.hypervisor.reinitialize();
    m.settle();
    expect(m.driver.state).toBe(DRIVER_STATE.READY);
  });

  it('a stale file reads and writes in the session of whoever reserves its old slot', () => {
    const m = boot({ reinitializeAfterMs: 0, buffers: { hypervisorOwned: 1 } });
    const stale = m.session('old');
    m.hypervisor.reset();
    m.settle();
    const fresh = m.session('new');
    expect(fresh.slot).toBe(stale.slot);
    expect(m.driver.read(stale, 10)).toBe(-E.EBADFD); // empty queue, invalid file
    expect(m.write(stale, 'from the stale fd')).toBe(17);
    m.hypervisor.inject(0, Buffer.from('for the new session'));
    m.settle();
    // The message is pushed to the slot's current owner...
    expect(m.events.queued.at(-1)?.fd).toBe(fresh.id);
    // ...but the stale file can take it off the shared queue.
    expect(m.read(stale, 100).message?.toString()).toBe('for the new session');
    // Closing the stale file closes the new session.
    m.driver.close(stale);
    m.settle();
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.FREE);
  });

  it('a second reset does not tell the same reader twice', () => {
    const m = boot({ reinitializeAfterMs: 0 });
    const file = m.session();
    m.hypervisor.reset();
    m.settle();
    m.hypervisor.reset();
    m.settle();
    expect(m.events.resets).toEqual([file.id]);
  });

  it('a slot never reserved keeps its buffers through a reset', () => {
    const m = boot({ maxHmcs: 2, reinitializeAfterMs: 0 });
    m.session('a');
    m.hypervisor.reset();
    m.settle();
    // Slot 0 was wiped and lent again; slot 1 kept its buffer and refused the duplicate.
    expect(m.driver.slots.map((s) => s.count().valid)).toEqual([1, 1]);
    const refusals = m.system.log
      .entries()
      .filter((e) => e.kind === 'note' && /add buffer 0 of slot 1 refused/.test(e.text));
    expect(refusals).toHaveLength(1);
    expect(m.driver.setHmcId(m.open(), hmcId('b'))).toBe(0);
  });
});

describe('refused open', () => {
  it('frees the slot: writes EIO, readers are not told (EAGAIN, not EBADFD)', () => {
    const m = boot({ openAnswer: { status: 4 } });
    const file = m.open();
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(0);
    m.settle();
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.FREE);
    expect(m.events.resets).toEqual([]);
    expect(file.valid).toBe(true);
    expect(m.write(file, 'x')).toBe(-E.EIO);
    expect(m.driver.read(file, 10)).toBe(-E.EAGAIN);
    // The slot is usable again (its generic buffer lent anew).
    m.system.configure({ openAnswer: { status: 0 } });
    const next = m.open();
    m.bind(next, 'b');
    expect(m.write(next, 'x')).toBe(1);
  });
});

describe('messages from the hypervisor', () => {
  it('drops messages whose session number is not the slot’s', () => {
    const m = boot({ buffers: { hypervisorOwned: 1 } });
    const file = m.session();
    const session = m.driver.slots[0].session;
    m.system.link.sendToDriver(
      hmcMessage(CRQ_TYPE.SIGNAL, { session: session + 1, index: 0, bufferId: 15, word3: 1 }),
    );
    m.settle();
    expect(m.driver.slots[0].queue).toHaveLength(0);
    expect(
      m.system.log.entries().some((e) => e.kind === 'note' && /bad session/.test(e.text)),
    ).toBe(true);
    expect(m.driver.read(file, 10)).toBe(-E.EAGAIN);
  });

  it('drops messages in buffers the partition owns', () => {
    const m = boot();
    const file = m.session();
    m.system.link.sendToDriver(
      hmcMessage(CRQ_TYPE.SIGNAL, { session: 0, index: 0, bufferId: 0, word3: 1 }),
    );
    m.settle();
    expect(m.driver.read(file, 10)).toBe(-E.EAGAIN);
  });

  it('answers Remove Buffer with a free partition-owned buffer, or "no buffer"', () => {
    const m = boot({ poolSize: 16 });
    m.hypervisor.setHandler(() => undefined);
    const file = m.session();
    expect(m.hypervisor.removeBuffer(0)).toBe(true);
    m.settle();
    expect(m.driver.slots[0].count().valid).toBe(15);
    while (m.write(file, 'x') === 1);
    m.system.link.sendToDriver(hmcMessage(CRQ_TYPE.REMOVE_BUFFER, { index: 0 }));
    m.settle();
    const last = m.system.log
      .entries()
      .filter((e) => e.kind === 'crq' && e.to === 'hypervisor')
      .at(-1);
    expect(last).toMatchObject({
      message: { type: CRQ_TYPE.REMOVE_BUFFER_RESPONSE, status: 5, bufferId: 0xffff },
    });
  });
});
