/**
 * The fake hypervisor behind QEMU, end to end through its real socket: a
 * stand-in for QEMU's spapr-vmc device carries the FAKE driver's hypervisor
 * calls as frames, so the driver's own behaviour (start-up, SETHMCID,
 * messages both ways, close, resets, REQUESTVMC) checks the bridge.
 */
import { bufferAddress } from '../../lib/fake/buffer-address';
import { CRQ_TYPE, decodeCrq, type CrqHmcMessage, type CrqMessage } from '../../lib/fake/crq';
import { DRIVER_STATE } from '../../lib/fake/driver';
import { SLOT_STATE } from '../../lib/fake/driver-slot';
import { ERRNO as E } from '../../lib/fake/errno';
import type { FakeFile } from '../../lib/fake/fake-file';
import type { HypervisorFrame } from '../../lib/fake/qemu/frames';
import {
  startQemuHypervisor,
  type QemuHypervisorHandle,
  type StartQemuHypervisorOptions,
} from '../../lib/fake/qemu/start';
import {
  HMC_FLAG,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  decodeHmcMessage,
  encodeHmcMessage,
} from '../../lib/protocol';
import { QemuGuest, STAND_IN_ADAPTER, until, type QemuConnection } from '../helpers/qemu-stand-in';
import { TIME_SCALE } from '../helpers/time-scale';

const started: Array<{ stop(): Promise<void> } | QemuGuest> = [];
afterEach(async () => {
  for (const thing of started.splice(0).reverse()) {
    if (thing instanceof QemuGuest) await thing.dispose();
    else await thing.stop();
  }
});

interface Machine {
  readonly hv: QemuHypervisorHandle;
  readonly guest: QemuGuest;
  readonly qemu: QemuConnection;
}

/** The hypervisor, QEMU connected, and the guest booted with the module parameters it prints. */
async function boot(options: StartQemuHypervisorOptions = {}): Promise<Machine> {
  const hv = await startQemuHypervisor({ log: true, logChannel: true, ...options });
  started.push(hv);
  const guest = new QemuGuest(hv.moduleParameters);
  started.push(guest);
  const qemu = await guest.connect(hv.socketPath);
  guest.boot();
  await hv.waitForDriver({ timeoutMs: 3000 * TIME_SCALE });
  return { hv, guest, qemu };
}

/** An open file with a session on a ready slot. */
async function session(m: Machine, name = 'hmc'): Promise<FakeFile> {
  const file = m.guest.open();
  expect(m.guest.setHmcId(file, name)).toBe(0);
  await until(() => file.slot?.state === SLOT_STATE.READY, 3000, 'the open answered');
  return file;
}

const entries = (frames: readonly HypervisorFrame[]): CrqMessage[] =>
  frames.flatMap((f) => (f.type === 'crq' ? [decodeCrq(f.entry)] : []));

const isHmc = (m: CrqMessage, type: number): m is CrqHmcMessage =>
  m.format === 'hmc' && m.type === type;

const notes = (hv: QemuHypervisorHandle): string[] =>
  hv.log().flatMap((e) => (e.kind === 'note' ? [`${e.source}: ${e.text}`] : []));

const echoRequest = (data: Buffer): Buffer =>
  encodeHmcMessage(
    { token: 7, target: HMC_TARGET.ROUTER, opcode: HMC_ROUTER_OPCODE.ECHO, data },
    { maxLength: 32 + data.length },
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the fake hypervisor behind QEMU', () => {
  it('completes the handshake and lends the start-up buffers at their window addresses', async () => {
    const m = await boot({ maxHmcs: 2 });
    expect(m.hv.insmodArgs).toEqual(['max_mtu=4096', 'buf_pool_size=32', 'max_hmcs=2']);
    expect(m.guest.driver.state).toBe(DRIVER_STATE.READY);
    expect(m.guest.driver.slots.map((s) => s.count().valid)).toEqual([1, 1]);
    expect([m.guest.addressOf(0, 0), m.guest.addressOf(1, 0)]).toEqual([0, 0x100000]);
    expect(m.hv.state()).toEqual({
      connected: true,
      adapter: STAND_IN_ADAPTER,
      hypervisorUp: true,
      negotiated: { mtu: 4096, poolSize: 16, slots: 2 },
      driverReady: true,
      moduleParameters: { maxMtu: 4096, bufPoolSize: 32, maxHmcs: 2 },
    });
    // The INIT sent at HELLO found no guest queue (the driver was not loaded yet)...
    expect(m.guest.notes).toEqual([
      `entry 0x${'c001'.padEnd(32, '0')} dropped: no queue registered`,
    ]);
    // ...so the driver's own INIT started the handshake.
    expect(entries(m.qemu.received).map((e) => `${e.format}:${e.type}`)).toEqual([
      'init:1',
      'init:2',
      `capabilities:${CRQ_TYPE.CAPABILITIES_RESPONSE}`,
      `hmc:${CRQ_TYPE.ADD_BUFFER}`,
      `hmc:${CRQ_TYPE.ADD_BUFFER}`,
    ]);
    expect(m.hv.sessions().map((s) => [s.slot, s.state, s.lent, s.accepted])).toEqual([
      [0, 'none', 1, 1],
      [1, 'none', 1, 1],
    ]);
  });

  it('opens a session: the HMC id copied into the hypervisor, buffers lent, the open answered', async () => {
    const m = await boot();
    const file = await session(m, 'hmc-one');
    // The driver's answers to Add Buffer travel on after the open: wait for the last.
    await until(() => m.hv.sessions()[0].accepted === 16, 3000, 'every buffer accepted');
    expect(m.hv.sessions()[0]).toMatchObject({
      state: 'open',
      session: 1,
      hmcId: 'hmc-one',
      lent: 16,
      accepted: 16,
    });
    for (let id = 0; id < 16; id++) expect(m.guest.addressOf(0, id)).toBe(id * 0x4000);
    expect(file.slot?.count()).toMatchObject({ valid: 16 });
  });

  it('answers an open late, or refuses it, as configured', async () => {
    const m = await boot({ maxHmcs: 2, openAnswer: { delayMs: 150 } });
    const began = Date.now();
    await session(m, 'late');
    expect(Date.now() - began).toBeGreaterThanOrEqual(140);

    m.hv.configure({ openAnswer: { delayMs: 0, status: 3 } });
    const refused = m.guest.open();
    expect(m.guest.setHmcId(refused, 'refused')).toBe(0);
    // The driver frees the slot; the hypervisor lends its start-up buffer again.
    await until(() => refused.slot?.state === SLOT_STATE.FREE);
    await until(() => m.hv.sessions()[1].accepted === 1);
    expect(m.hv.sessions()[1]).toMatchObject({ state: 'none', lent: 1 });
  });

  it('never answers an open when told to', async () => {
    const m = await boot({ openAnswer: { delayMs: null } });
    const file = m.guest.open();
    expect(m.guest.setHmcId(file, 'never')).toBe(0);
    await until(() => m.hv.sessions()[0].state === 'opening');
    await sleep(100);
    expect(file.slot?.state).toBe(SLOT_STATE.OPENING);
    expect(m.guest.write(file, 'x')).toBe(-E.EBUSY);
    expect(notes(m.hv)).toContain('hypervisor: open of slot 0 will never be answered');
  });

  it('echoes through the router: the message written into the window before its Signal', async () => {
    const m = await boot();
    const file = await session(m);
    const request = echoRequest(Buffer.from('ping through QEMU'));
    const mark = m.qemu.received.length;
    expect(m.guest.write(file, request)).toBe(request.length);
    const answer = await m.guest.read(file);
    expect(decodeHmcMessage(answer)).toMatchObject({
      token: 7,
      flags: HMC_FLAG.RESPONSE,
      data: Buffer.from('ping through QEMU'),
    });
    const frames = m.qemu.received.slice(mark);
    const at = frames.findIndex(
      (f) => f.type === 'crq' && isHmc(decodeCrq(f.entry), CRQ_TYPE.SIGNAL),
    );
    const signal = entries([frames[at]])[0] as CrqHmcMessage;
    expect(signal.word3).toBe(answer.length);
    expect(frames[at - 1]).toEqual({
      type: 'mem-write',
      address: bufferAddress(0, signal.bufferId),
      data: answer,
    });
    const messages = m.hv.log().flatMap((e) => (e.kind === 'message' ? [[e.to, e.data]] : []));
    expect(messages).toEqual([
      ['hypervisor', request],
      ['partition', answer],
    ]);
  });

  it('carries messages of the largest MTU intact both ways', async () => {
    const m = await boot({ mtu: 16384, maxMtu: 16384 });
    const file = await session(m);
    const data = Buffer.alloc(16384 - 32);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const request = echoRequest(data);
    expect(m.guest.write(file, request)).toBe(16384);
    expect(decodeHmcMessage(await m.guest.read(file), { maxLength: 16384 }).data).toEqual(data);
  });

  it('runs custom handlers, per slot too, and the router again on null', async () => {
    const m = await boot({ maxHmcs: 2 });
    m.hv.setHandler((message, s) => Buffer.from(`${s.hmcId} said ${message.toString()}`));
    m.hv.setHandler(() => Buffer.from('slot one'), 1);
    const a = await session(m, 'a');
    const b = await session(m, 'b');
    m.guest.write(a, 'hi');
    m.guest.write(b, 'hi');
    expect((await m.guest.read(a)).toString()).toBe('a said hi');
    expect((await m.guest.read(b)).toString()).toBe('slot one');
    m.hv.setHandler(null);
    m.hv.setHandler(null, 1);
    const request = echoRequest(Buffer.from('router'));
    m.guest.write(a, request);
    expect(decodeHmcMessage(await m.guest.read(a)).data.toString()).toBe('router');
  });

  it('sends unsolicited messages in hypervisor-owned buffers, and takes a buffer back', async () => {
    const m = await boot({ buffers: { hypervisorOwned: 1 } });
    const file = await session(m);
    expect(m.hv.inject(0, Buffer.from('news'))).toBe(true);
    expect((await m.guest.read(file)).toString()).toBe('news');
    expect(m.hv.inject(1, Buffer.from('nobody'))).toBe(false);
    const lent = m.hv.sessions()[0].lent;
    expect(m.hv.removeBuffer(0)).toBe(true);
    await until(() => m.hv.sessions()[0].lent === lent - 1);
    expect(file.slot?.count().valid).toBe(lent - 1);
  });

  it('answers a close late, or never (the slot stays busy until a reset)', async () => {
    const m = await boot({ closeAnswer: { delayMs: 150 }, reinitializeAfterMs: 20 });
    const file = await session(m);
    const slot = file.slot;
    const began = Date.now();
    m.guest.driver.close(file);
    await until(() => m.hv.sessions()[0].state === 'closing');
    expect(slot?.state).toBe(SLOT_STATE.READY);
    await until(() => slot?.state === SLOT_STATE.FREE);
    expect(Date.now() - began).toBeGreaterThanOrEqual(140);
    await until(() => slot?.count().valid === 1); // the start-up buffer again

    m.hv.configure({ closeAnswer: { delayMs: null } });
    const lost = await session(m);
    m.guest.driver.close(lost);
    await sleep(100);
    expect(slot?.state).toBe(SLOT_STATE.READY);
    expect(m.guest.setHmcId(m.guest.open(), 'another')).toBe(-E.EBUSY);
    m.hv.reset();
    await until(() => slot?.state === SLOT_STATE.FREE);
    await m.hv.waitForDriver({ timeoutMs: 3000 * TIME_SCALE });
    await session(m, 'after the reset');
  });

  it('resets the channel: a transport event, then INIT after reinitializeAfterMs', async () => {
    const m = await boot({ reinitializeAfterMs: 100 });
    const file = await session(m);
    const mark = m.qemu.received.length;
    const began = Date.now();
    m.hv.reset();
    await until(() => m.guest.driver.state === DRIVER_STATE.CRQINIT);
    expect(m.hv.state()).toMatchObject({
      hypervisorUp: false,
      driverReady: false,
      negotiated: null,
    });
    expect(m.guest.driver.read(file, 100)).toBe(-E.EBADFD);
    await m.hv.waitForDriver({ timeoutMs: 3000 * TIME_SCALE });
    expect(Date.now() - began).toBeGreaterThanOrEqual(90);
    const sent = entries(m.qemu.received.slice(mark));
    expect(sent.slice(0, 3)).toEqual([
      { format: 'transport', type: 2 },
      { format: 'init', type: 1 },
      // The driver answered INIT with INIT_COMPLETE and its capabilities:
      expect.objectContaining({ format: 'capabilities', type: CRQ_TYPE.CAPABILITIES_RESPONSE }),
    ]);
    await session(m, 'again');

    m.hv.reset({ reinitializeAfterMs: null });
    await sleep(50);
    expect(m.hv.state().hypervisorUp).toBe(false);
    m.hv.reinitialize();
    await m.hv.waitForDriver({ timeoutMs: 3000 * TIME_SCALE });
  });

  it.each([
    [0x30000042, 'H_SUCCESS', 0, { result: 0, index: 0x30000042 }],
    ['EPERM', 'H_AUTHORITY', -10, { result: -E.EPERM, index: 0 }],
    ['EIO', 'H_HARDWARE', -1, { result: -E.EIO, index: 0 }],
    ['ENODEV', 'H_RESOURCE', -16, { result: -E.ENODEV, index: 0 }],
    ['EINVAL', 'H_PARAMETER', -4, { result: -E.EINVAL, index: 0 }],
  ] as const)('REQUESTVMC %s: %s (%d) on the wire', async (outcome, _name, rc, result) => {
    const m = await boot({ requestVmc: { outcome } });
    const file = m.guest.open();
    await expect(m.guest.driver.requestVmc(file)).resolves.toEqual(result);
    expect(m.qemu.received.filter((f) => f.type === 'request-vmc-answer')).toEqual([
      { type: 'request-vmc-answer', request: 1, rc, value: result.index },
    ]);
  });

  it('REQUESTVMC takes the configured time', async () => {
    const m = await boot({ requestVmc: { delayMs: 150 } });
    const began = Date.now();
    await expect(m.guest.driver.requestVmc(m.guest.open())).resolves.toEqual({
      result: 0,
      index: 0x30000001,
    });
    expect(Date.now() - began).toBeGreaterThanOrEqual(140);
  });

  it('forgets the guest when QEMU goes away, and starts over when it comes back', async () => {
    const m = await boot();
    const file = await session(m);
    await m.guest.disconnect();
    await until(() => !m.hv.state().connected);
    expect(m.hv.state()).toMatchObject({ adapter: null, negotiated: null, driverReady: false });
    expect(m.hv.sessions()[0]).toMatchObject({ state: 'none', lent: 0 });
    await until(() => m.guest.driver.state === DRIVER_STATE.CRQINIT); // QEMU's transport event
    expect(m.guest.driver.read(file, 100)).toBe(-E.EBADFD);
    expect(notes(m.hv)).toContain('server: QEMU disconnected: every session is gone');

    await m.guest.connect(m.hv.socketPath);
    // The hypervisor's INIT at HELLO restarts the waiting driver.
    await m.hv.waitForDriver({ timeoutMs: 3000 * TIME_SCALE });
    const again = await session(m, 'again');
    const request = echoRequest(Buffer.from('back'));
    m.guest.write(again, request);
    expect(decodeHmcMessage(await m.guest.read(again)).data.toString()).toBe('back');
  });

  it('forgets the sessions when the machine is reset', async () => {
    const m = await boot();
    await session(m);
    m.qemu.send({ type: 'reset' });
    await until(() => m.hv.sessions()[0].state === 'none');
    expect(m.hv.state()).toMatchObject({ connected: true, driverReady: false, negotiated: null });
    expect(notes(m.hv)).toContain('server: the machine was reset: the guest’s queue is gone');
  });
});
