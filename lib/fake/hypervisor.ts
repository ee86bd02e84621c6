/**
 * The fake HYPERVISOR: the partner of the driver on the CRQ, and the HMC
 * command side behind it.
 *
 * It completes the CRQ handshake, answers the capabilities exchange, lends
 * buffers for every slot index, answers Interface Open and Close (promptly,
 * late, never, or with a failure status, as configured), hands each message a
 * session sends to a pluggable handler, and sends the answers back in buffers
 * it owns. A message it receives keeps its buffer until an answer goes out in
 * it, so a silent hypervisor holds buffers and writes eventually get EBUSY.
 * It can also drop the channel (a transport event) and come back later.
 */
import {
  BUFFER_OWNER,
  CRQ_INIT_TYPE,
  CRQ_QUEUE_ENTRIES,
  CRQ_STATUS,
  CRQ_TYPE,
  hmcMessage,
  type CrqCapabilitiesMessage,
  type CrqHmcMessage,
  type CrqMessage,
} from './crq';
import { bufferAddress } from './buffer-address';
import type { CrqLink, HypervisorEndpoint } from './crq-link';
import { MAX_HMCS } from './driver-slot';
import {
  normalizeAnswer,
  type FakeHandlerAnswer,
  type FakeMessageHandler,
  type FakeSessionInfo,
} from './handler';
import type {
  HypervisorPort,
  RequestVmcHcallResult,
  RequestVmcReturnCode,
} from './hypervisor-port';
import type { FakeLog } from './log';
import type { RequestVmcFailure, ResolvedOptions } from './options';
import { routerHandler } from './router-handler';
import type { Cancel, Scheduler } from './scheduler';

/** The hypervisor's view of a slot's session. */
export type HypervisorSessionState = 'none' | 'opening' | 'open' | 'closing';

/** Capabilities both sides settled on. */
export interface NegotiatedCapabilities {
  /** The largest message: min(driver's `max_mtu`, hypervisor's offer). */
  readonly mtu: number;
  /** Buffers per session: min(driver's `buf_pool_size`, hypervisor's offer). */
  readonly poolSize: number;
  /** HMC slots: min(driver's `max_hmcs`, hypervisor's offer). */
  readonly slots: number;
}

/** The hypervisor's side of one slot, for snapshots. */
export interface HypervisorSlotSnapshot {
  /** Where the slot's session is, as the hypervisor sees it. */
  readonly state: HypervisorSessionState;
  /** The session number of the last open. */
  readonly session: number;
  /** The HMC id of the last open (trailing NULs removed). */
  readonly hmcId: string;
  /** Buffers of this slot lent to the driver and not taken back. */
  readonly lent: number;
  /** Of those, the ones the driver has accepted (its Add Buffer answer arrived, with success). */
  readonly accepted: number;
  /** Buffers the hypervisor holds, usable for answers and unsolicited messages. */
  readonly held: number;
  /** Messages waiting for a buffer the hypervisor holds. */
  readonly waiting: number;
}

/** What the hypervisor is built from. */
export interface FakeHypervisorDeps {
  /** Runs the deferred steps (real timers, or a {@link ManualScheduler}). */
  readonly scheduler: Scheduler;
  /** The CRQ between the driver and the hypervisor. */
  readonly link: CrqLink;
  /** Where calls, messages and notes are logged. */
  readonly log: FakeLog;
  /** The options in force (read at each use, so configure() takes effect). */
  readonly options: () => ResolvedOptions;
}

interface HypervisorSlot {
  state: HypervisorSessionState;
  session: number;
  hmcId: string;
  /** Buffer id → owner, for every buffer lent to the driver. */
  readonly lent: Map<number, number>;
  /** Ids of lent buffers the driver has accepted. */
  readonly accepted: Set<number>;
  /** Ids of the buffers the hypervisor may put a message in, oldest first. */
  held: number[];
  /** Answers and unsolicited messages waiting for a held buffer. */
  outbox: Buffer[];
  /** An answer to the open is scheduled (false when it will never come). */
  openAnswerDue: boolean;
  /** Interface Close arrived while the open answer was still due. */
  closeWaiting: boolean;
}

const REQUEST_VMC_RC: Readonly<Record<RequestVmcFailure, RequestVmcReturnCode>> = {
  EPERM: 'H_AUTHORITY',
  EIO: 'H_HARDWARE',
  ENODEV: 'H_RESOURCE',
  EINVAL: 'H_PARAMETER',
};

/** Add Buffer's address for a buffer outside the window layout (never a valid address). */
const NO_BUFFER_ADDRESS = 0xffffffff;

/** Reason byte of the transport event: the partner deregistered its queue. */
const PARTNER_DEREGISTERED = 0x02;

/** The fake hypervisor. */
export class FakeHypervisor implements HypervisorEndpoint, HypervisorPort {
  private handler: FakeMessageHandler = routerHandler;
  private readonly slotHandlers = new Map<number, FakeMessageHandler>();
  private negotiatedValue: NegotiatedCapabilities | null = null;
  private readonly slots: HypervisorSlot[];
  /** The hypervisor's buffer storage, by slot and id (what RDMA copies to and from). */
  private readonly memory = new Map<number, Buffer>();
  /** Timers of the channel and its sessions, cancelled when they are forgotten. */
  private readonly timers = new Set<Cancel>();
  /** Timers of hypervisor calls, cancelled only on dispose. */
  private readonly callTimers = new Set<Cancel>();
  /** Bumped whenever every session is forgotten, so late async answers are dropped. */
  private epoch = 0;
  private disposed = false;
  private readonly scheduler: Scheduler;
  private readonly link: CrqLink;
  private readonly log: FakeLog;
  private readonly options: () => ResolvedOptions;

  constructor(deps: FakeHypervisorDeps) {
    this.scheduler = deps.scheduler;
    this.link = deps.link;
    this.log = deps.log;
    this.options = deps.options;
    this.slots = Array.from({ length: MAX_HMCS }, () => emptySlot());
    this.link.attachHypervisor(this);
  }

  /** True while the hypervisor's side of the channel is up. */
  get up(): boolean {
    return this.link.hypervisorRegistered;
  }

  /** What the last capabilities exchange settled on (null before one, or after a reset). */
  get negotiated(): NegotiatedCapabilities | null {
    return this.negotiatedValue;
  }

  /**
   * Sets the handler for every slot, or for one slot only. `null` restores
   * the default (the command router), or removes the slot's own handler.
   */
  setHandler(handler: FakeMessageHandler | null, slot?: number): void {
    if (slot === undefined) this.handler = handler ?? routerHandler;
    else if (handler === null) this.slotHandlers.delete(slot);
    else this.slotHandlers.set(slot, handler);
  }

  /**
   * Sends an unsolicited message to a session. It goes out as soon as the
   * hypervisor holds a buffer of that slot (right away if it does).
   *
   * @returns false if the slot has no open session (nothing is sent).
   */
  inject(slot: number, data: Uint8Array): boolean {
    const s = this.slots[slot];
    if (s === undefined || s.state !== 'open') return false;
    s.outbox.push(Buffer.from(data));
    this.flush(slot);
    return true;
  }

  /**
   * Asks the driver to give back one free buffer of a slot (Remove Buffer).
   * Never the slot's last one.
   *
   * @returns false if the slot has one buffer or none lent.
   */
  removeBuffer(slot: number): boolean {
    const s = this.slots[slot];
    if (s === undefined || s.lent.size <= 1) return false;
    return this.link.sendToDriver(
      hmcMessage(CRQ_TYPE.REMOVE_BUFFER, { session: s.session, index: slot }),
    );
  }

  /**
   * Drops the channel: the driver sees a transport event and frees every
   * slot. The hypervisor comes back after `reinitializeAfterMs` (the
   * configured default when omitted; `null`: stays down until {@link reinitialize}).
   */
  reset(reinitializeAfterMs: number | null = this.options().reinitializeAfterMs): void {
    this.forgetSessions();
    this.negotiatedValue = null;
    if (this.link.hypervisorRegistered) {
      this.link.sendToDriver({ format: 'transport', type: PARTNER_DEREGISTERED });
      this.link.hypervisorRegistered = false;
    }
    this.note('channel reset');
    if (reinitializeAfterMs !== null) this.after(reinitializeAfterMs, () => this.reinitialize());
  }

  /** Brings a dropped channel back: the CRQ handshake starts again. */
  reinitialize(): void {
    if (this.disposed || this.link.hypervisorRegistered) return;
    this.link.hypervisorRegistered = true;
    this.note('channel up');
    this.link.sendToDriver({ format: 'init', type: CRQ_INIT_TYPE.INIT });
  }

  /**
   * True once the capabilities are exchanged and the driver has accepted
   * every buffer lent on each negotiated slot, at least one per slot unless
   * start-up buffers are withheld: a SETHMCID can then find a buffer. (With
   * none configured, true as soon as the capabilities are answered.)
   */
  get startupComplete(): boolean {
    const negotiated = this.negotiatedValue;
    if (!this.link.hypervisorRegistered || negotiated === null) return false;
    const needOne = this.options().buffers.startup > 0;
    return this.slots
      .slice(0, negotiated.slots)
      .every(
        (s) =>
          (!needOne || s.accepted.size > 0) && [...s.lent.keys()].every((id) => s.accepted.has(id)),
      );
  }

  /** The hypervisor's view of a slot. */
  snapshot(slot: number): HypervisorSlotSnapshot {
    const s = this.slots[slot] ?? emptySlot();
    return {
      state: s.state,
      session: s.session,
      hmcId: s.hmcId,
      lent: s.lent.size,
      accepted: s.accepted.size,
      held: s.held.length,
      waiting: s.outbox.length,
    };
  }

  /** Cancels every timer; nothing happens afterwards. */
  dispose(): void {
    this.disposed = true;
    for (const cancel of this.timers) cancel();
    for (const cancel of this.callTimers) cancel();
    this.timers.clear();
    this.callTimers.clear();
  }

  // ---- HypervisorPort ------------------------------------------------------------

  rdmaToHypervisor(index: number, bufferId: number, data: Buffer): void {
    this.memory.set(key(index, bufferId), data);
  }

  rdmaFromHypervisor(index: number, bufferId: number, length: number): Buffer {
    const data = this.memory.get(key(index, bufferId));
    if (data === undefined) return Buffer.alloc(length);
    return data.length === length ? data : data.subarray(0, length);
  }

  requestVmc(): Promise<RequestVmcHcallResult> {
    const { outcome, delayMs } = this.options().requestVmc;
    const result: RequestVmcHcallResult =
      typeof outcome === 'number'
        ? { rc: 'H_SUCCESS', index: outcome }
        : { rc: REQUEST_VMC_RC[outcome] };
    return new Promise((resolve) => {
      const cancel = this.scheduler.after(delayMs, () => {
        this.callTimers.delete(cancel);
        resolve(result);
      });
      this.callTimers.add(cancel);
    });
  }

  // ---- HypervisorEndpoint -------------------------------------------------------

  partnerReset(): void {
    this.note('the driver re-registered its queue: every session is gone');
    this.forgetSessions();
    this.negotiatedValue = null;
  }

  receive(message: CrqMessage): void {
    if (this.disposed) return;
    switch (message.format) {
      case 'init':
        if (message.type === CRQ_INIT_TYPE.INIT) this.answerInit();
        break;
      case 'capabilities':
        if (message.type === CRQ_TYPE.CAPABILITIES) this.answerCapabilities(message);
        else this.note(`unexpected capabilities message type 0x${message.type.toString(16)}`);
        break;
      case 'hmc':
        this.process(message);
        break;
      case 'transport':
        this.note('unexpected transport event from the driver');
        break;
    }
  }

  // ---- internals -------------------------------------------------------------------

  private answerInit(): void {
    // The driver (re)initialised: whatever sessions it had are gone.
    this.forgetSessions();
    this.negotiatedValue = null;
    const epoch = this.epoch;
    this.after(this.options().startup.crqinitMs, () => {
      if (epoch !== this.epoch) return;
      this.link.sendToDriver({ format: 'init', type: CRQ_INIT_TYPE.COMPLETE });
    });
  }

  private answerCapabilities(request: CrqCapabilitiesMessage): void {
    const epoch = this.epoch;
    this.after(this.options().startup.capabilitiesMs, () => {
      if (epoch !== this.epoch) return;
      const o = this.options();
      this.link.sendToDriver({
        format: 'capabilities',
        type: CRQ_TYPE.CAPABILITIES_RESPONSE,
        status: 0,
        maxHmc: o.slots,
        poolSize: o.poolSize,
        maxMtu: o.mtu,
        crqSize: CRQ_QUEUE_ENTRIES,
        version: o.protocolVersion,
      });
      if (o.protocolVersion >> 8 !== request.version >> 8) {
        this.note('protocol versions differ: the driver will fail; no buffers lent');
        return;
      }
      this.negotiatedValue = {
        mtu: Math.min(request.maxMtu, o.mtu),
        poolSize: Math.min(request.poolSize, o.poolSize),
        slots: Math.max(1, Math.min(request.maxHmc, o.slots, MAX_HMCS)),
      };
      this.after(o.startup.buffersMs, () => {
        if (epoch !== this.epoch || this.negotiatedValue === null) return;
        for (let index = 0; index < this.negotiatedValue.slots; index++) {
          this.lendStartupBuffers(index);
        }
      });
    });
  }

  private process(message: CrqHmcMessage): void {
    switch (message.type) {
      case CRQ_TYPE.OPEN:
        this.open(message);
        break;
      case CRQ_TYPE.CLOSE:
        this.close(message);
        break;
      case CRQ_TYPE.SIGNAL:
        this.signal(message);
        break;
      case CRQ_TYPE.ADD_BUFFER_RESPONSE:
        this.addBufferAnswered(message);
        break;
      case CRQ_TYPE.REMOVE_BUFFER_RESPONSE:
        this.removeBufferAnswered(message);
        break;
      default:
        this.note(`unexpected message type 0x${message.type.toString(16)}`);
    }
  }

  private open(message: CrqHmcMessage): void {
    const { index, session, bufferId } = message;
    const slot = this.slots[index];
    if (
      slot === undefined ||
      this.negotiatedValue === null ||
      index >= this.negotiatedValue.slots
    ) {
      this.link.sendToDriver(
        hmcMessage(CRQ_TYPE.OPEN_RESPONSE, {
          status: CRQ_STATUS.INVALID_HMC_INDEX,
          session,
          index,
          bufferId,
        }),
      );
      return;
    }
    const id = this.memory.get(key(index, bufferId)) ?? Buffer.alloc(0);
    slot.state = 'opening';
    slot.session = session;
    slot.hmcId = id.toString('latin1').replace(/\0+$/, '');
    slot.closeWaiting = false;
    const { delayMs } = this.options().openAnswer;
    slot.openAnswerDue = delayMs !== null;
    if (delayMs === null) {
      this.note(`open of slot ${index} will never be answered`);
      return;
    }
    this.after(delayMs, () => this.answerOpen(index, session, bufferId));
  }

  private answerOpen(index: number, session: number, bufferId: number): void {
    const slot = this.slots[index];
    if (slot.session !== session || slot.state !== 'opening') return;
    slot.openAnswerDue = false;
    const { status } = this.options().openAnswer;
    if (status !== CRQ_STATUS.SUCCESS) {
      this.link.sendToDriver(
        hmcMessage(CRQ_TYPE.OPEN_RESPONSE, { status, session, index, bufferId }),
      );
      // The driver forgets every buffer of a refused slot: lend the generic ones again.
      this.forgetSlot(index);
      this.lendStartupBuffers(index);
      return;
    }
    this.lendSessionBuffers(index, session);
    this.link.sendToDriver(
      hmcMessage(CRQ_TYPE.OPEN_RESPONSE, { status: 0, session, index, bufferId }),
    );
    slot.state = 'open';
    if (slot.closeWaiting) this.startClose(index, session);
    else this.flush(index);
  }

  private close(message: CrqHmcMessage): void {
    const { index, session } = message;
    const slot = this.slots[index];
    if (slot === undefined) return;
    if (slot.state === 'opening' && slot.session === session && slot.openAnswerDue) {
      // Answer the open first: a hypervisor handles a session's commands in order.
      slot.closeWaiting = true;
      return;
    }
    this.startClose(index, session);
  }

  private startClose(index: number, session: number): void {
    const slot = this.slots[index];
    slot.state = 'closing';
    slot.session = session;
    slot.outbox = [];
    const { delayMs } = this.options().closeAnswer;
    if (delayMs === null) {
      this.note(`close of slot ${index} lost: it stays busy until a reset`);
      return;
    }
    this.after(delayMs, () => this.answerClose(index, session));
  }

  private answerClose(index: number, session: number): void {
    const slot = this.slots[index];
    if (slot.session !== session || slot.state !== 'closing') return;
    const { status } = this.options().closeAnswer;
    this.link.sendToDriver(hmcMessage(CRQ_TYPE.CLOSE_RESPONSE, { status, session, index }));
    if (status !== CRQ_STATUS.SUCCESS) {
      // The driver resets itself on this; its re-registration clears us.
      slot.state = 'none';
      return;
    }
    this.forgetSlot(index);
    this.lendStartupBuffers(index);
  }

  private signal(message: CrqHmcMessage): void {
    const { index, session, bufferId } = message;
    const slot = this.slots[index];
    if (slot === undefined || slot.session !== session || slot.state !== 'open') {
      this.note(`message for slot ${index} session ${session} dropped: no such open session`);
      return;
    }
    const data = this.rdmaFromHypervisor(index, bufferId, message.word3);
    slot.lent.set(bufferId, BUFFER_OWNER.HYPERVISOR);
    slot.held.push(bufferId);
    const info: FakeSessionInfo = {
      slot: index,
      session,
      hmcId: slot.hmcId,
      mtu: this.negotiatedValue?.mtu ?? 0,
    };
    const handler = this.slotHandlers.get(index) ?? this.handler;
    let answer: FakeHandlerAnswer | Promise<FakeHandlerAnswer>;
    try {
      answer = handler(data, info);
    } catch (error) {
      this.note(`handler threw: ${String(error)}`);
      this.flush(index);
      return;
    }
    if (isPromise(answer)) {
      const epoch = this.epoch;
      this.flush(index);
      answer.then(
        (value) => this.deliver(index, session, epoch, value),
        (error: unknown) => this.note(`handler rejected: ${String(error)}`),
      );
    } else {
      this.deliver(index, session, this.epoch, answer);
    }
  }

  private deliver(index: number, session: number, epoch: number, answer: FakeHandlerAnswer): void {
    const slot = this.slots[index];
    let messages: Buffer[];
    try {
      messages = normalizeAnswer(answer);
    } catch (error) {
      this.note(`handler answered with something that is not bytes: ${String(error)}`);
      return;
    }
    if (messages.length === 0) {
      this.flush(index);
      return;
    }
    if (
      this.disposed ||
      epoch !== this.epoch ||
      slot.session !== session ||
      slot.state !== 'open'
    ) {
      this.note(`answer for slot ${index} session ${session} dropped: the session ended`);
      return;
    }
    for (const m of messages) slot.outbox.push(m);
    this.flush(index);
  }

  /** Sends waiting messages in the buffers the hypervisor holds, oldest first. */
  private flush(index: number): void {
    const slot = this.slots[index];
    const mtu = this.negotiatedValue?.mtu ?? 0;
    while (slot.outbox.length > 0 && slot.held.length > 0) {
      const message = slot.outbox.shift() as Buffer;
      if (message.length > mtu) {
        this.note(`message of ${message.length} bytes dropped: over the MTU (${mtu})`);
        continue;
      }
      const bufferId = slot.held.shift() as number;
      this.memory.set(key(index, bufferId), message);
      slot.lent.set(bufferId, BUFFER_OWNER.PARTITION);
      this.link.sendToDriver(
        hmcMessage(CRQ_TYPE.SIGNAL, {
          session: slot.session,
          index,
          bufferId,
          word3: message.length,
        }),
      );
      if (this.log.enabled) {
        this.log.add({
          at: this.scheduler.now(),
          kind: 'message',
          to: 'partition',
          slot: index,
          session: slot.session,
          data: message,
        });
      }
    }
  }

  private addBufferAnswered(message: CrqHmcMessage): void {
    const slot = this.slots[message.index];
    if (slot === undefined) return;
    if (message.status === CRQ_STATUS.SUCCESS) {
      if (slot.lent.has(message.bufferId)) slot.accepted.add(message.bufferId);
      return;
    }
    this.note(
      `add buffer ${message.bufferId} of slot ${message.index} refused with status ${message.status}`,
    );
    const pool = this.negotiatedValue?.poolSize ?? 0;
    // An id in range refused as a duplicate: the driver kept that buffer
    // through a reset (a slot never reserved is not wiped), so it is still lent.
    if (message.status === CRQ_STATUS.INVALID_BUFFER_ID && message.bufferId < pool) {
      if (slot.lent.has(message.bufferId)) slot.accepted.add(message.bufferId);
      return;
    }
    slot.lent.delete(message.bufferId);
    slot.held = slot.held.filter((id) => id !== message.bufferId);
  }

  private removeBufferAnswered(message: CrqHmcMessage): void {
    const slot = this.slots[message.index];
    if (slot === undefined || message.status !== CRQ_STATUS.SUCCESS) return;
    slot.lent.delete(message.bufferId);
    slot.accepted.delete(message.bufferId);
    slot.held = slot.held.filter((id) => id !== message.bufferId);
  }

  private lendStartupBuffers(index: number): void {
    const { startup, startupOwner } = this.options().buffers;
    const owner = startupOwner === 'hypervisor' ? BUFFER_OWNER.HYPERVISOR : BUFFER_OWNER.PARTITION;
    for (let i = 0; i < startup; i++) this.lend(index, 0, owner);
  }

  private lendSessionBuffers(index: number, session: number): void {
    const { session: partitionCount, hypervisorOwned } = this.options().buffers;
    const slot = this.slots[index];
    const pool = this.negotiatedValue?.poolSize ?? 0;
    const count = partitionCount ?? Math.max(0, pool - slot.lent.size - hypervisorOwned);
    for (let i = 0; i < count; i++) this.lend(index, session, BUFFER_OWNER.PARTITION);
    for (let i = 0; i < hypervisorOwned; i++) this.lend(index, session, BUFFER_OWNER.HYPERVISOR);
  }

  /** Sends Add Buffer for the lowest id not lent; ids past the pool are sent too (and refused). */
  private lend(index: number, session: number, owner: number): void {
    const slot = this.slots[index];
    let bufferId = 0;
    while (slot.lent.has(bufferId)) bufferId++;
    slot.lent.set(bufferId, owner);
    if (owner === BUFFER_OWNER.HYPERVISOR) slot.held.push(bufferId);
    this.link.sendToDriver(
      hmcMessage(CRQ_TYPE.ADD_BUFFER, {
        owner,
        session,
        index,
        bufferId,
        // The buffer's address in the hypervisor's window, which the driver
        // copies to and from. An id with no place in the layout is past any
        // pool: the driver refuses it before using the address.
        word3: bufferAddress(index, bufferId) ?? NO_BUFFER_ADDRESS,
      }),
    );
  }

  private forgetSlot(index: number): void {
    const slot = this.slots[index];
    slot.state = 'none';
    slot.lent.clear();
    slot.accepted.clear();
    slot.held = [];
    slot.outbox = [];
    slot.openAnswerDue = false;
    slot.closeWaiting = false;
    for (const k of [...this.memory.keys()]) if (k >>> 16 === index) this.memory.delete(k);
  }

  private forgetSessions(): void {
    this.epoch++;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    for (let index = 0; index < this.slots.length; index++) this.forgetSlot(index);
  }

  private after(ms: number, fn: () => void): void {
    if (this.disposed) return;
    const cancel = this.scheduler.after(ms, () => {
      this.timers.delete(cancel);
      fn();
    });
    this.timers.add(cancel);
  }

  private note(text: string): void {
    if (this.log.enabled) {
      this.log.add({ at: this.scheduler.now(), kind: 'note', source: 'hypervisor', text });
    }
  }
}

function emptySlot(): HypervisorSlot {
  return {
    state: 'none',
    session: 0,
    hmcId: '',
    lent: new Map(),
    accepted: new Set(),
    held: [],
    outbox: [],
    openAnswerDue: false,
    closeWaiting: false,
  };
}

function key(index: number, bufferId: number): number {
  return index * 0x10000 + bufferId;
}

function isPromise(value: unknown): value is Promise<FakeHandlerAnswer> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
