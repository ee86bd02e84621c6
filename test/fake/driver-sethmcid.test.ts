/**
 * ioctl(SETHMCID), row by row of the contract: the slot checks in order,
 * EFAULT only after them, the id buffer, and the open sent before the answer.
 */
import { CRQ_TYPE } from '../../lib/fake/crq';
import { DRIVER_STATE } from '../../lib/fake/driver';
import { SLOT_STATE } from '../../lib/fake/driver-slot';
import { slotSnapshots } from '../../lib/fake/snapshots';
import { E, boot, hmcId } from './model';

describe('SETHMCID', () => {
  it('reserves a slot, sends the id and Interface Open, and returns before the answer', () => {
    const m = boot({ openAnswer: { delayMs: 20 } });
    const file = m.open();
    expect(m.driver.setHmcId(file, hmcId('my-hmc'))).toBe(0);
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.OPENING);
    expect(m.write(file, 'x')).toBe(-E.EBUSY);
    m.settle();
    // The hypervisor got the id through the buffer, before answering.
    expect(m.hypervisor.snapshot(0)).toMatchObject({
      state: 'opening',
      hmcId: 'my-hmc',
      session: 1,
    });
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.OPENING);
    m.scheduler.advance(20);
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.READY);
    expect(m.write(file, 'x')).toBe(1);
    const snapshot = slotSnapshots(m.driver, m.hypervisor)[0];
    expect(snapshot).toMatchObject({ slot: 0, state: 'ready', hmcId: 'my-hmc', fd: file.id });
  });

  it('step 1: EIO when the driver failed, EAGAIN when not ready', () => {
    const failed = boot({ protocolVersion: 0x0300 });
    expect(failed.driver.setHmcId(failed.open(), hmcId('a'))).toBe(-E.EIO);
    const early = boot({ startup: { crqinitMs: 1000 } });
    expect(early.driver.setHmcId(early.open(), hmcId('a'))).toBe(-E.EAGAIN);
  });

  it('step 1: EBUSY when every slot is in use', () => {
    const m = boot({ maxHmcs: 2 });
    m.session('a');
    m.session('b');
    const third = m.open();
    expect(m.driver.setHmcId(third, hmcId('c'))).toBe(-E.EBUSY);
    // Nothing was reserved: the same file can retry later.
    expect(third.slot).toBeNull();
  });

  it('step 1: EBUSY while a closed slot waits for the close answer', () => {
    const m = boot({ closeAnswer: { delayMs: 50 } });
    const first = m.session();
    expect(m.driver.close(first)).toBe(0);
    m.settle();
    const second = m.open();
    expect(m.driver.setHmcId(second, hmcId('b'))).toBe(-E.EBUSY);
    m.scheduler.advance(49);
    expect(m.driver.setHmcId(second, hmcId('b'))).toBe(-E.EBUSY);
    m.scheduler.advance(1);
    expect(m.driver.setHmcId(second, hmcId('b'))).toBe(0);
  });

  it('step 2: EIO on a second SETHMCID on the same file', () => {
    const m = boot();
    const file = m.open();
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(0);
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(-E.EIO); // opening
    m.settle();
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(-E.EIO); // ready
  });

  it('step 3: EFAULT only after the slot checks, and the slot stays reserved', () => {
    const early = boot({ startup: { crqinitMs: 1000 } });
    expect(early.driver.setHmcId(early.open(), null)).toBe(-E.EAGAIN);
    const m = boot();
    const file = m.open();
    expect(m.driver.setHmcId(file, null)).toBe(-E.EFAULT);
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.INITIAL);
    expect(m.driver.setHmcId(m.open(), hmcId('other'))).toBe(-E.EBUSY);
    // Nothing went to the hypervisor.
    expect(m.crqTypes()).not.toContain(`hypervisor:hmc:${CRQ_TYPE.OPEN}`);
    // The same file can try again with a readable id.
    expect(m.driver.setHmcId(file, hmcId('again'))).toBe(0);
    m.settle();
    expect(m.hypervisor.snapshot(0).hmcId).toBe('again');
  });

  it('step 4: EIO when no buffer can carry the id; the slot stays reserved, even after close', () => {
    const m = boot({ buffers: { startupOwner: 'hypervisor' } });
    const file = m.open();
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(-E.EIO);
    expect(m.driver.slots[0].state).toBe(SLOT_STATE.INITIAL);
    expect(m.driver.setHmcId(m.open(), hmcId('b'))).toBe(-E.EBUSY);
    expect(m.driver.close(file)).toBe(0);
    m.scheduler.runAll();
    expect(m.crqTypes()).not.toContain(`hypervisor:hmc:${CRQ_TYPE.CLOSE}`);
    expect(m.driver.setHmcId(m.open(), hmcId('c'))).toBe(-E.EBUSY);
  });

  it('copies exactly 32 bytes of id, NUL-padded', () => {
    const m = boot();
    const file = m.open();
    const long = Buffer.alloc(40, 0x41);
    expect(m.driver.setHmcId(file, long)).toBe(0);
    expect(m.driver.slots[0].hmcId).toEqual(Buffer.alloc(32, 0x41));
    m.settle();
    expect(m.hypervisor.snapshot(0).hmcId).toBe('A'.repeat(32));
  });

  it('bumps the session number at each reservation, 1..254 then 1 again', () => {
    const m = boot();
    const seen: number[] = [];
    for (let i = 0; i < 256; i++) {
      const file = m.session();
      seen.push(m.driver.slots[0].session);
      m.driver.close(file);
      m.settle();
    }
    expect(seen.slice(0, 3)).toEqual([1, 2, 3]);
    expect(seen.slice(252, 256)).toEqual([253, 254, 1, 2]);
  });

  it('during a scheduled reset the u32 state passes the ready check: ENOBUFS, have_vmc 1', () => {
    const m = boot({ maxHmcs: 1, closeAnswer: { status: 4 } });
    const file = m.session();
    m.driver.close(file);
    while (m.driver.state !== DRIVER_STATE.SCHED_RESET) {
      if (!m.scheduler.step()) throw new Error('never reached sched_reset');
    }
    const other = m.open();
    expect(m.driver.query(other)).toEqual({ haveVmc: 1, state: -1, vmcDrcIndex: 0 });
    expect(m.driver.setHmcId(other, hmcId('x'))).toBe(-E.ENOBUFS);
    m.settle();
    expect(m.driver.state).toBe(DRIVER_STATE.READY);
    expect(m.driver.setHmcId(other, hmcId('x'))).toBe(0);
  });
});
