/**
 * Start-up of the fake driver and hypervisor: the CRQ handshake, the
 * capabilities exchange, the start-up buffers, and what QUERY and SETHMCID
 * say at each step.
 */
import { CRQ_TYPE } from '../../lib/fake/crq';
import { DRIVER_STATE } from '../../lib/fake/driver';
import { E, boot, hmcId } from './model';

describe('start-up sequence', () => {
  it('goes initial → crqinit → capabilities → ready, then lends a buffer per slot', () => {
    const m = boot({ maxHmcs: 2 }, false);
    const file = m.open();
    expect(m.driver.query(file)).toEqual({
      haveVmc: 0,
      state: DRIVER_STATE.INITIAL,
      vmcDrcIndex: 0,
    });
    m.system.start();
    expect(m.driver.state).toBe(DRIVER_STATE.CRQINIT);
    expect(m.driver.query(file).haveVmc).toBe(1);
    m.settle();
    expect(m.driver.state).toBe(DRIVER_STATE.READY);
    expect(m.driver.slots.map((s) => s.count().valid)).toEqual([1, 1]);
    // The order on the channel, as the driver and hypervisor exchange it.
    expect(m.crqTypes()).toEqual([
      'hypervisor:init:1',
      'driver:init:2',
      `hypervisor:capabilities:${CRQ_TYPE.CAPABILITIES}`,
      `driver:capabilities:${CRQ_TYPE.CAPABILITIES_RESPONSE}`,
      `driver:hmc:${CRQ_TYPE.ADD_BUFFER}`,
      `driver:hmc:${CRQ_TYPE.ADD_BUFFER}`,
      `hypervisor:hmc:${CRQ_TYPE.ADD_BUFFER_RESPONSE}`,
      `hypervisor:hmc:${CRQ_TYPE.ADD_BUFFER_RESPONSE}`,
    ]);
  });

  it('spends the configured time in crqinit, then capabilities, then waits for buffers', () => {
    const m = boot({ startup: { crqinitMs: 100, capabilitiesMs: 50, buffersMs: 30 } });
    const file = m.open();
    expect(m.driver.state).toBe(DRIVER_STATE.CRQINIT);
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(-E.EAGAIN);
    m.scheduler.advance(99);
    expect(m.driver.state).toBe(DRIVER_STATE.CRQINIT);
    m.scheduler.advance(1);
    expect(m.driver.state).toBe(DRIVER_STATE.CAPABILITIES);
    expect(m.driver.query(file)).toEqual({ haveVmc: 1, state: 2, vmcDrcIndex: 0 });
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(-E.EAGAIN);
    m.scheduler.advance(50);
    expect(m.driver.state).toBe(DRIVER_STATE.READY);
    // Ready, but the hypervisor has not lent the start-up buffers yet.
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(-E.ENOBUFS);
    m.scheduler.advance(30);
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(0);
  });

  it('negotiates mtu, pool and slots as the minimum of both sides', () => {
    const m = boot({
      mtu: 16384,
      maxMtu: 8192,
      poolSize: 40,
      bufPoolSize: 20,
      slots: 1,
      maxHmcs: 2,
    });
    expect([m.driver.mtu, m.driver.poolSize, m.driver.slotCount]).toEqual([8192, 20, 1]);
    expect(m.hypervisor.negotiated).toEqual({ mtu: 8192, poolSize: 20, slots: 1 });
    const n = boot({
      mtu: 4096,
      maxMtu: 16384,
      poolSize: 16,
      bufPoolSize: 64,
      slots: 2,
      maxHmcs: 2,
    });
    expect([n.driver.mtu, n.driver.poolSize, n.driver.slotCount]).toEqual([4096, 16, 2]);
  });

  it('uses the module parameter as the MTU until capabilities are exchanged', () => {
    const m = boot({ maxMtu: 8192, mtu: 4096, startup: { crqinitMs: 10 } });
    const file = m.open();
    expect(m.driver.mtu).toBe(8192);
    expect(m.driver.read(file, 8192)).toBe(-E.EIO); // not EINVAL: 8192 is within the MTU for now
    m.scheduler.advance(10);
    expect(m.driver.mtu).toBe(4096);
    expect(m.driver.read(file, 8192)).toBe(-E.EINVAL);
  });

  it('with no adapter stays in state initial: have_vmc 0, SETHMCID EAGAIN', () => {
    const m = boot({ haveVmc: false });
    const file = m.open();
    m.scheduler.runAll();
    expect(m.driver.query(file)).toEqual({ haveVmc: 0, state: 0, vmcDrcIndex: 0 });
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(-E.EAGAIN);
    // The adapter appears (dynamic reconfiguration): the driver probes it.
    m.system.configure({ haveVmc: true });
    m.settle();
    expect(m.driver.state).toBe(DRIVER_STATE.READY);
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(0);
  });

  it('fails on a protocol major version mismatch: SETHMCID EIO, no buffers lent', () => {
    const m = boot({ protocolVersion: 0x0201 });
    const file = m.open();
    expect(m.driver.state).toBe(DRIVER_STATE.FAILED);
    expect(m.driver.query(file)).toEqual({ haveVmc: 1, state: 4, vmcDrcIndex: 0 });
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(-E.EIO);
    expect(m.driver.slots[0].count().valid).toBe(0);
    // A minor version difference is fine.
    expect(boot({ protocolVersion: 0x01ff }).driver.state).toBe(DRIVER_STATE.READY);
  });

  it('withheld start-up buffers: SETHMCID ENOBUFS for good', () => {
    const m = boot({ buffers: { startup: 0 } });
    m.scheduler.runAll();
    expect(m.driver.state).toBe(DRIVER_STATE.READY);
    expect(m.driver.setHmcId(m.open(), hmcId('a'))).toBe(-E.ENOBUFS);
  });

  it('ENOBUFS when any slot index lacks buffers, even if a free slot has some', () => {
    const m = boot({ maxHmcs: 2, startup: { buffersMs: 5 } });
    const file = m.open();
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(-E.ENOBUFS);
    m.scheduler.advance(5);
    expect(m.driver.setHmcId(file, hmcId('a'))).toBe(0);
    // Slot 1 without buffers blocks a reservation that would get slot 0.
    const n = boot({ maxHmcs: 2, slots: 2, buffers: { startup: 1 } });
    n.driver.slots[1].wipe();
    expect(n.driver.setHmcId(n.open(), hmcId('a'))).toBe(-E.ENOBUFS);
  });

  it('open(): faults and the legacy EBUSY window', () => {
    expect(boot({ openFault: 'ENOENT' }).driver.open()).toBe(-E.ENOENT);
    expect(boot({ openFault: 'EACCES' }).driver.open()).toBe(-E.EACCES);
    const m = boot({ openBusyMs: 100 });
    expect(m.driver.open()).toBe(-E.EBUSY);
    m.scheduler.advance(100);
    expect(typeof m.driver.open()).toBe('object');
    m.system.configure({ openBusyMs: 20 });
    expect(m.driver.open()).toBe(-E.EBUSY);
    m.scheduler.advance(20);
    expect(typeof m.driver.open()).toBe('object');
    m.system.configure({ openFault: 'ENOENT' });
    expect(m.driver.open()).toBe(-E.ENOENT);
    m.system.configure({ openFault: null });
    expect(typeof m.driver.open()).toBe('object');
  });

  it('any other ioctl number is EINVAL, with or without SETHMCID', () => {
    const m = boot();
    const file = m.open();
    expect(m.driver.ioctl(file, 0xcc99)).toBe(-E.EINVAL);
    m.bind(file);
    expect(m.driver.ioctl(file, 0x5401)).toBe(-E.EINVAL);
  });
});

describe('the hypervisor knows when start-up is complete', () => {
  it('once the driver accepted a buffer on every negotiated slot', () => {
    const m = boot({ maxHmcs: 2, startup: { buffersMs: 30 } }, false);
    expect(m.hypervisor.startupComplete).toBe(false);
    m.system.start();
    m.settle();
    expect(m.hypervisor.negotiated).not.toBeNull();
    expect(m.hypervisor.startupComplete).toBe(false); // capabilities done, buffers not lent
    m.scheduler.advance(30);
    expect(m.hypervisor.startupComplete).toBe(true);
    expect([0, 1].map((slot) => m.hypervisor.snapshot(slot))).toMatchObject([
      { lent: 1, accepted: 1 },
      { lent: 1, accepted: 1 },
    ]);
    m.hypervisor.reset(null);
    expect(m.hypervisor.startupComplete).toBe(false);
  });

  it('not while a lent buffer is unanswered; refused ones do not count', () => {
    const m = boot({ bufPoolSize: 16, poolSize: 16, buffers: { startup: 17 } }, false);
    m.system.start();
    m.scheduler.step(); // the INIT only
    expect(m.hypervisor.startupComplete).toBe(false);
    m.settle();
    // Ids 0 to 15 accepted; 16 is past the pool, refused and forgotten.
    expect(m.hypervisor.snapshot(0)).toMatchObject({ lent: 16, accepted: 16 });
    expect(m.hypervisor.startupComplete).toBe(true);
  });

  it('at the capabilities answer when start-up buffers are withheld', () => {
    const m = boot({ buffers: { startup: 0 } });
    expect(m.hypervisor.startupComplete).toBe(true);
    expect(boot({ protocolVersion: 0x0201 }).hypervisor.startupComplete).toBe(false);
  });
});
