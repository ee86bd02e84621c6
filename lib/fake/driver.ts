/**
 * The fake DRIVER: a model of Linux `drivers/misc/ibmvmc.c` (version 1.0).
 *
 * It keeps the driver's global state, its negotiated capabilities, its slots
 * with their buffer pools and message queues, and its open files, and it
 * answers every call from user space by the same checks, in the same order,
 * as the real driver (shared/reference/ibmvmc-driver-contract.md). It talks to
 * the hypervisor only through CRQ messages on a {@link CrqLink} and the RDMA
 * and hypervisor calls of a {@link HypervisorPort}; whatever is asynchronous in
 * the real driver (everything coming from the hypervisor) is asynchronous here.
 */
import { DriverState as DriverStates, driverStateName } from '../device/driver-state';
import {
  BUFFER_OWNER,
  CRQ_INIT_TYPE,
  CRQ_QUEUE_ENTRIES,
  CRQ_STATUS,
  CRQ_TYPE,
  INVALID_BUFFER_ID,
  VMC_PROTOCOL_VERSION,
  hmcMessage,
  type CrqCapabilitiesMessage,
  type CrqHmcMessage,
  type CrqMessage,
} from './crq';
import type { CrqEndpoint, CrqLink } from './crq-link';
import { DriverSlot, HMC_ID_LENGTH, MAX_HMCS, SLOT_STATE, type DriverBuffer } from './driver-slot';
import { ERRNO } from './errno';
import { FakeFile } from './fake-file';
import type { HypervisorPort } from './hypervisor-port';
import type { FakeCallName, FakeLog } from './log';
import type { ResolvedOptions } from './options';
import type { Scheduler } from './scheduler';

/** The driver's global states (QUERY's `state`): the library's own numbering. */
export const DRIVER_STATE = DriverStates;

/** One of {@link DRIVER_STATE}. */
export type DriverState = (typeof DRIVER_STATE)[keyof typeof DRIVER_STATE];

/** Names of the driver states, for snapshots and traces. */
export const DRIVER_STATE_NAMES: Readonly<Record<DriverState, string>> = Object.freeze(
  Object.fromEntries(Object.values(DRIVER_STATE).map((state) => [state, driverStateName(state)])),
) as Readonly<Record<DriverState, string>>;

/** What QUERY fills in. */
export interface QueryResult {
  /** 1 if the partition has a VMC adapter, else 0. */
  readonly haveVmc: number;
  /** The driver's state ({@link DRIVER_STATE}). */
  readonly state: number;
  /** The adapter's DRC index (0 without one). */
  readonly vmcDrcIndex: number;
}

/** The outcome of REQUESTVMC: `result` 0 with the DRC index, or minus the errno. */
export interface RequestVmcResult {
  /** 0 on success, else minus the errno. */
  readonly result: number;
  /** The DRC index (u32), valid when `result` is 0. */
  readonly index: number;
}

/** Where the driver reports what user space must see outside its own calls. */
export interface DriverListener {
  /** A message was queued for reading on the slot `file` last reserved. */
  messageQueued(file: FakeFile, message: Buffer): void;
  /** A reset freed the slot under `file`: blocked readers must wake with EBADFD. */
  sessionReset(file: FakeFile): void;
}

/** What the driver is built from. */
export interface FakeDriverDeps {
  /** Runs the deferred steps (real timers, or a {@link ManualScheduler}). */
  readonly scheduler: Scheduler;
  /** The CRQ between the driver and the hypervisor. */
  readonly link: CrqLink;
  /** The hypervisor calls the driver makes (REQUESTVMC). */
  readonly hypervisor: HypervisorPort;
  /** Where calls, messages and notes are logged. */
  readonly log: FakeLog;
  /** The options in force (read at each use, so configure() takes effect). */
  readonly options: () => ResolvedOptions;
}

const H_CLOSED = 2;

/** The fake driver. */
export class FakeDriver implements CrqEndpoint {
  /** Receives queued messages and resets; the socket server in a running fake. */
  listener: DriverListener | null = null;
  /**
   * The message the last {@link read} took off the queue (all of it, even the
   * bytes past the count that were lost), or null if it took none.
   * Overwritten by the next read; kept here so a read allocates nothing.
   */
  lastMessage: Buffer | null = null;

  /** The slots (MAX_HMCS of them; only those up to the negotiated count are used). */
  readonly slots: readonly DriverSlot[];

  private stateValue: DriverState = DRIVER_STATE.INITIAL;
  private mtuValue: number;
  private poolValue: number;
  private maxHmcIndexValue: number;
  private vmcDrcIndexValue = 0;
  private readonly files = new Map<number, FakeFile>();
  private nextFileId = 1;
  private openBusyUntil: number;
  private readonly scheduler: Scheduler;
  private readonly link: CrqLink;
  private readonly hypervisor: HypervisorPort;
  private readonly log: FakeLog;
  private readonly options: () => ResolvedOptions;

  constructor(deps: FakeDriverDeps) {
    this.scheduler = deps.scheduler;
    this.link = deps.link;
    this.hypervisor = deps.hypervisor;
    this.log = deps.log;
    this.options = deps.options;
    const o = this.options();
    // Module init: "reasonable values" until the capabilities exchange narrows them.
    this.mtuValue = o.maxMtu;
    this.poolValue = o.bufPoolSize;
    this.maxHmcIndexValue = o.maxHmcs - 1;
    this.openBusyUntil = this.scheduler.now() + o.openBusyMs;
    this.slots = Array.from({ length: MAX_HMCS }, (_, i) => new DriverSlot(i));
    this.link.attachDriver(this);
  }

  /** The driver's global state. */
  get state(): DriverState {
    return this.stateValue;
  }

  /** The MTU in force: the module parameter until capabilities are exchanged, then the negotiated one. */
  get mtu(): number {
    return this.mtuValue;
  }

  /** The buffer pool size in force (ids at or above it are refused). */
  get poolSize(): number {
    return this.poolValue;
  }

  /** Number of usable slots (max_hmc_index + 1). */
  get slotCount(): number {
    return this.maxHmcIndexValue + 1;
  }

  /** The DRC index last returned by REQUESTVMC (0 if none). */
  get vmcDrcIndex(): number {
    return this.vmcDrcIndexValue;
  }

  /** Files open now. */
  get openFiles(): readonly FakeFile[] {
    return [...this.files.values()];
  }

  /** Makes open() fail with EBUSY for `ms` from now (the legacy behaviour). */
  restartOpenBusyWindow(ms: number): void {
    this.openBusyUntil = this.scheduler.now() + ms;
  }

  /**
   * The VMC adapter appears (the driver's probe): register the queue, go to
   * crqinit and send the CRQ initialisation message. Does nothing unless the
   * driver is in state initial.
   */
  probe(): void {
    if (this.stateValue !== DRIVER_STATE.INITIAL) return;
    this.link.driverRegistered = true;
    this.setState(DRIVER_STATE.CRQINIT);
    // Allowed to fail when the other end is not up yet: it then initialises us.
    this.link.sendToHypervisor({ format: 'init', type: CRQ_INIT_TYPE.INIT });
  }

  // ---- calls from user space ------------------------------------------------

  /**
   * open(): always succeeds in the mainline driver (nothing is sent to the
   * hypervisor). The configured faults stand for a missing node, a permission
   * problem, or a pre-4.19 driver still initialising.
   *
   * @returns The new file, or minus the errno.
   */
  open(flags = 0, pid = 0): FakeFile | number {
    const o = this.options();
    let result = 0;
    if (o.openFault !== null) result = -ERRNO[o.openFault];
    else if (this.scheduler.now() < this.openBusyUntil) result = -ERRNO.EBUSY;
    if (result < 0) return this.logged(0, 'open', flags, result);
    const file = new FakeFile(this.nextFileId++, flags, pid);
    this.files.set(file.id, file);
    this.logged(file.id, 'open', flags, file.id);
    return file;
  }

  /**
   * ioctl(SETHMCID).
   *
   * @param id - The 32 bytes of id (more are ignored, fewer are NUL-padded), or null when the caller's pointer was unreadable.
   * @returns 0 or minus the errno.
   */
  setHmcId(file: FakeFile, id: Uint8Array | null): number {
    return this.logged(file.id, 'sethmcid', id === null ? 1 : 0, this.doSetHmcId(file, id));
  }

  /** ioctl(QUERY): needs no SETHMCID and always succeeds. */
  query(file: FakeFile): QueryResult {
    const state = this.stateValue;
    // The driver keeps its state in a u32, so sched_reset (-1) compares as
    // 0xFFFFFFFF: "state > initial" holds and have_vmc reads 1 during a reset.
    const result = {
      haveVmc: state >>> 0 > DRIVER_STATE.INITIAL ? 1 : 0,
      state,
      vmcDrcIndex: this.vmcDrcIndexValue | 0,
    };
    this.logged(file.id, 'query', 0, 0);
    return result;
  }

  /**
   * ioctl(REQUESTVMC): the hypervisor call, which may take a while. The
   * driver's state does not change; the index is remembered for QUERY.
   */
  async requestVmc(file: FakeFile): Promise<RequestVmcResult> {
    const answer = await this.hypervisor.requestVmc();
    let result = 0;
    let index = 0;
    switch (answer.rc) {
      case 'H_SUCCESS':
        index = answer.index >>> 0;
        this.vmcDrcIndexValue = index;
        break;
      case 'H_FUNCTION':
      case 'H_AUTHORITY':
      case 'H_NOT_AVAILABLE':
        result = -ERRNO.EPERM;
        break;
      case 'H_HARDWARE':
        result = -ERRNO.EIO;
        break;
      case 'H_RESOURCE':
        result = -ERRNO.ENODEV;
        break;
      case 'H_PARAMETER':
        result = -ERRNO.EINVAL;
        break;
    }
    this.logged(file.id, 'requestvmc', 0, result);
    return { result, index };
  }

  /** Any other ioctl number: EINVAL. */
  ioctl(file: FakeFile, request: number): number {
    return this.logged(file.id, 'ioctl', request, -ERRNO.EINVAL);
  }

  /**
   * write(): one whole message into one buffer, never partial, never blocking.
   *
   * @param count - The byte count asked for.
   * @param data - The bytes (at least `count`), or null when the caller's buffer was unreadable or not sent.
   * @returns `count`, 0, or minus the errno.
   */
  write(file: FakeFile, count: number, data: Buffer | null): number {
    return this.logged(file.id, 'write', count, this.doWrite(file, count, data));
  }

  /**
   * read(): takes at most one message. Never blocks: where the driver would
   * sleep this returns EAGAIN and the caller (the shim) waits for readiness.
   * When a message is taken, {@link lastMessage} holds it.
   *
   * @returns The bytes copied, 0, or minus the errno.
   */
  read(file: FakeFile, count: number): number {
    this.lastMessage = null;
    return this.logged(file.id, 'read', count, this.doRead(file, count));
  }

  /**
   * The largest read count with which `file` may take a message queued for it
   * without calling {@link read} first (the shim copies the frame it holds and
   * reports the read afterwards): the MTU while `file` is the only open file
   * on its slot. A file left on the slot by a reset reads the same queue, so
   * while one exists (0) every read must come here and find out whose turn it is.
   */
  localReadLimit(file: FakeFile): number {
    const slot = file.slot;
    if (slot === null || slot.fileSession !== file) return 0;
    for (const other of this.files.values()) {
      if (other !== file && other.slot === slot) return 0;
    }
    return this.mtuValue;
  }

  /**
   * close(): sends Interface Close if the slot is opening or ready; the slot
   * stays busy until the hypervisor answers. In state failed the driver's
   * release function sends nothing and returns EIO (the slot is then never
   * freed), but the kernel discards a release function's result (`__fput`
   * calls `->release` and ignores what it returns), so close() returns 0
   * whatever happens, as the real driver showed in QEMU.
   *
   * @returns 0.
   */
  close(file: FakeFile): number {
    if (file.closed) return 0;
    file.closed = true;
    this.files.delete(file.id);
    const slot = file.slot;
    if (slot !== null) {
      if (this.stateValue === DRIVER_STATE.FAILED) {
        this.note(
          'close: the driver has failed: its release returns EIO, which close() never sees',
        );
      } else if (slot.state >= SLOT_STATE.OPENING) {
        this.link.sendToHypervisor(
          hmcMessage(CRQ_TYPE.CLOSE, { session: slot.session, index: slot.index }),
        );
      }
    }
    return this.logged(file.id, 'close', 0, 0);
  }

  // ---- messages from the hypervisor --------------------------------------------

  /** Handles one CRQ entry (the tasklet's loop body). */
  receive(message: CrqMessage): void {
    // Interrupts stay off from a scheduled reset until the reset task re-registers.
    if (this.stateValue === DRIVER_STATE.SCHED_RESET) return;
    switch (message.format) {
      case 'init':
        this.handleInit(message.type);
        break;
      case 'transport':
        this.note('transport event: the hypervisor closed its queue; resetting');
        this.reset(true);
        break;
      case 'capabilities':
        if (message.type !== CRQ_TYPE.CAPABILITIES_RESPONSE) {
          this.note(`unexpected message type 0x${message.type.toString(16)}`);
        } else if (this.stateValue === DRIVER_STATE.CAPABILITIES) {
          this.processCapabilities(message);
        } else {
          this.note(`capabilities answer ignored in state ${this.stateValue}`);
        }
        break;
      case 'hmc':
        this.process(message);
        break;
    }
  }

  // ---- internals ----------------------------------------------------------------

  private doSetHmcId(file: FakeFile, id: Uint8Array | null): number {
    // 1. Reserve a slot unless this file holds one.
    if (file.slot === null) {
      const rc = this.setupHmc(file);
      if (rc !== 0) return rc;
    }
    const slot = file.slot as DriverSlot;
    // 2. SETHMCID already done on this file (or the slot was freed under it).
    if (slot.state !== SLOT_STATE.INITIAL) return -ERRNO.EIO;
    // 3. The id is copied only now, after the slot checks.
    if (id === null) return -ERRNO.EFAULT;
    slot.hmcId.fill(0);
    slot.hmcId.set(id.subarray(0, HMC_ID_LENGTH));
    // 4. A buffer to carry the id; without one the slot stays reserved.
    const buffer = this.takeValidBuffer(slot);
    if (buffer === null) return -ERRNO.EIO;
    // 5. RDMA the id over and send Interface Open; answered later.
    const bufferId = buffer.id;
    this.hypervisor.rdmaToHypervisor(slot.index, bufferId, slot.hmcId);
    slot.state = SLOT_STATE.OPENING;
    this.link.sendToHypervisor(
      hmcMessage(CRQ_TYPE.OPEN, { session: slot.session, index: slot.index, bufferId }),
    );
    return 0;
  }

  /** ibmvmc_setup_hmc: the checks of SETHMCID step 1, then the reservation. */
  private setupHmc(file: FakeFile): number {
    const state = this.stateValue;
    if (state === DRIVER_STATE.FAILED) return -ERRNO.EIO;
    // The driver compares its u32 state with "ready": sched_reset (-1) reads as
    // 0xFFFFFFFF and passes this check, to fail on the buffer count below.
    if (state >>> 0 < DRIVER_STATE.READY) return -ERRNO.EAGAIN;
    for (let index = 0; index < this.slotCount; index++) {
      if (this.slots[index].count().valid === 0) {
        this.note(`SETHMCID: no buffers yet for slot ${index}`);
        return -ERRNO.ENOBUFS;
      }
    }
    let slot: DriverSlot | undefined;
    for (let index = 0; index < this.slotCount; index++) {
      if (this.slots[index].state === SLOT_STATE.FREE) {
        slot = this.slots[index];
        break;
      }
    }
    if (slot === undefined) return -ERRNO.EBUSY;
    slot.state = SLOT_STATE.INITIAL;
    slot.session = slot.session + 1 === 0xff ? 1 : slot.session + 1;
    slot.adapter = true;
    slot.fileSession = file;
    file.slot = slot;
    file.valid = true;
    return 0;
  }

  private doWrite(file: FakeFile, count: number, data: Buffer | null): number {
    const slot = file.slot;
    if (slot === null) return -ERRNO.EIO;
    if (slot.state === SLOT_STATE.FREE) return -ERRNO.EIO;
    if (count > this.mtuValue) return -ERRNO.EIO;
    if (slot.state === SLOT_STATE.OPENING) return -ERRNO.EBUSY;
    if (slot.state !== SLOT_STATE.READY) return -ERRNO.EIO;
    const buffer = this.takeValidBuffer(slot);
    if (buffer === null) return -ERRNO.EBUSY;
    // The driver has already taken the buffer here; on a zero count or a
    // fault it returns without giving it back, so the pool shrinks by one
    // until the slot is freed.
    if (count === 0) return 0;
    if (data === null || data.length < count) return -ERRNO.EFAULT;
    const message = data.length === count ? data : data.subarray(0, count);
    const bufferId = buffer.id;
    buffer.data = message;
    this.hypervisor.rdmaToHypervisor(slot.index, bufferId, message);
    buffer.owner = BUFFER_OWNER.HYPERVISOR;
    this.link.sendToHypervisor(
      hmcMessage(CRQ_TYPE.SIGNAL, {
        session: slot.session,
        index: slot.index,
        bufferId,
        word3: count,
      }),
    );
    if (this.log.enabled) {
      this.log.add({
        at: this.scheduler.now(),
        kind: 'message',
        to: 'hypervisor',
        slot: slot.index,
        session: slot.session,
        data: message,
      });
    }
    return count;
  }

  private doRead(file: FakeFile, count: number): number {
    if (count === 0) return 0;
    if (count > this.mtuValue) return -ERRNO.EINVAL;
    const slot = file.slot;
    if (slot === null) return -ERRNO.EIO;
    const bufferId = slot.queue.shift();
    if (bufferId !== undefined) {
      const buffer = slot.buffers[bufferId];
      const message = buffer.data ?? Buffer.alloc(0);
      const copied = Math.min(count, buffer.msgLen);
      buffer.free = true;
      buffer.data = null;
      this.lastMessage = message;
      return copied;
    }
    if (!file.valid) return -ERRNO.EBADFD;
    // O_NONBLOCK or not: the shim does the blocking, so the answer is the same.
    return -ERRNO.EAGAIN;
  }

  /** ibmvmc_get_valid_hmc_buffer: a lent, free, partition-owned buffer, marked taken. */
  private takeValidBuffer(slot: DriverSlot): DriverBuffer | null {
    if (slot.index >= this.slotCount) return null;
    for (const buffer of slot.buffers) {
      if (buffer.valid && buffer.free && buffer.owner === BUFFER_OWNER.PARTITION) {
        buffer.free = false;
        return buffer;
      }
    }
    return null;
  }

  private handleInit(type: number): void {
    if (type === CRQ_INIT_TYPE.INIT) {
      if (this.stateValue !== DRIVER_STATE.CRQINIT) {
        this.note(`CRQ init ignored in state ${this.stateValue}`);
        return;
      }
      if (this.link.sendToHypervisor({ format: 'init', type: CRQ_INIT_TYPE.COMPLETE })) {
        this.sendCapabilities();
      } else {
        this.note('unable to send the CRQ init response');
      }
    } else if (type === CRQ_INIT_TYPE.COMPLETE) {
      if (this.stateValue === DRIVER_STATE.CRQINIT) this.sendCapabilities();
    } else {
      this.note(`unknown CRQ init type ${type}`);
    }
  }

  private sendCapabilities(): void {
    const o = this.options();
    this.link.sendToHypervisor({
      format: 'capabilities',
      type: CRQ_TYPE.CAPABILITIES,
      status: 0,
      maxHmc: o.maxHmcs,
      poolSize: o.bufPoolSize,
      maxMtu: o.maxMtu,
      crqSize: CRQ_QUEUE_ENTRIES,
      version: VMC_PROTOCOL_VERSION,
    });
    this.setState(DRIVER_STATE.CAPABILITIES);
  }

  private processCapabilities(message: CrqCapabilitiesMessage): void {
    if (message.version >> 8 !== VMC_PROTOCOL_VERSION >> 8) {
      this.note(
        `incompatible protocol versions 0x${message.version.toString(16)} and 0x${VMC_PROTOCOL_VERSION.toString(16)}`,
      );
      this.setState(DRIVER_STATE.FAILED);
      return;
    }
    const o = this.options();
    this.mtuValue = Math.min(o.maxMtu, message.maxMtu);
    this.poolValue = Math.min(o.bufPoolSize, message.poolSize);
    // At least one slot: a hypervisor offering none would wrap the driver's u32.
    this.maxHmcIndexValue = Math.max(1, Math.min(o.maxHmcs, message.maxHmc, MAX_HMCS)) - 1;
    this.setState(DRIVER_STATE.READY);
  }

  private process(message: CrqHmcMessage): void {
    switch (message.type) {
      case CRQ_TYPE.OPEN_RESPONSE:
        if (this.validSession(message)) this.processOpenResponse(message);
        break;
      case CRQ_TYPE.ADD_BUFFER:
        if (this.validSession(message)) this.addBuffer(message);
        break;
      case CRQ_TYPE.REMOVE_BUFFER:
        if (this.validSession(message)) this.removeBuffer(message);
        break;
      case CRQ_TYPE.SIGNAL:
        if (this.validSession(message)) this.receiveMessage(message);
        break;
      case CRQ_TYPE.CLOSE_RESPONSE:
        if (this.validSession(message)) this.processCloseResponse(message);
        break;
      default:
        this.note(`unexpected message type 0x${message.type.toString(16)}`);
    }
  }

  /** ibmvmc_validate_hmc_session: session 0 matches anything; else it must be the slot's. */
  private validSession(message: CrqHmcMessage): boolean {
    if (message.session === 0) return true;
    if (message.index >= this.slotCount) return false;
    const expected = this.slots[message.index].session;
    if (expected !== message.session) {
      this.note(`dropped: bad session (expected ${expected}, got ${message.session})`);
      return false;
    }
    return true;
  }

  private processOpenResponse(message: CrqHmcMessage): void {
    if (message.index >= this.slotCount) {
      this.reset(false);
      return;
    }
    const slot = this.slots[message.index];
    if (message.status !== CRQ_STATUS.SUCCESS) {
      this.note(`open refused with status ${message.status}`);
      // Readers are not told: the slot just goes away under them.
      this.returnSlot(slot, false);
      return;
    }
    if (slot.state !== SLOT_STATE.OPENING) {
      this.note(`open answer ignored in slot state ${slot.state}`);
      return;
    }
    if (message.bufferId >= this.poolValue) {
      slot.state = SLOT_STATE.FAILED;
      return;
    }
    slot.buffers[message.bufferId].free = true;
    slot.state = SLOT_STATE.READY;
  }

  private processCloseResponse(message: CrqHmcMessage): void {
    if (message.index >= this.slotCount) {
      this.reset(false);
      return;
    }
    if (message.status !== CRQ_STATUS.SUCCESS) {
      this.note(`close failed with status ${message.status}: resetting the driver`);
      this.reset(false);
      return;
    }
    this.returnSlot(this.slots[message.index], false);
  }

  private addBuffer(message: CrqHmcMessage): void {
    const { index, bufferId, session } = message;
    let status: number = CRQ_STATUS.SUCCESS;
    if (index >= this.slotCount) status = CRQ_STATUS.INVALID_HMC_INDEX;
    else if (bufferId >= this.poolValue) status = CRQ_STATUS.INVALID_BUFFER_ID;
    else {
      const buffer = this.slots[index].buffers[bufferId];
      if (buffer.valid) {
        status = CRQ_STATUS.INVALID_BUFFER_ID;
      } else {
        buffer.valid = true;
        buffer.free = true;
        buffer.owner = message.owner;
        buffer.msgLen = 0;
        buffer.data = null;
      }
    }
    this.link.sendToHypervisor(
      hmcMessage(CRQ_TYPE.ADD_BUFFER_RESPONSE, { status, session, index, bufferId }),
    );
  }

  private removeBuffer(message: CrqHmcMessage): void {
    const { index, session } = message;
    if (index >= this.slotCount) {
      this.link.sendToHypervisor(
        hmcMessage(CRQ_TYPE.REMOVE_BUFFER_RESPONSE, {
          status: CRQ_STATUS.INVALID_HMC_INDEX,
          session,
          index,
        }),
      );
      return;
    }
    // ibmvmc_get_free_hmc_buffer: free and partition-owned.
    const buffers = this.slots[index].buffers;
    const bufferId = buffers.findIndex((b) => b.free && b.owner === BUFFER_OWNER.PARTITION);
    if (bufferId < 0) {
      this.link.sendToHypervisor(
        hmcMessage(CRQ_TYPE.REMOVE_BUFFER_RESPONSE, {
          status: CRQ_STATUS.NO_BUFFER,
          session,
          index,
          bufferId: INVALID_BUFFER_ID,
        }),
      );
      return;
    }
    const buffer = buffers[bufferId];
    buffer.valid = false;
    buffer.free = false;
    buffer.owner = BUFFER_OWNER.PARTITION;
    buffer.data = null;
    this.link.sendToHypervisor(
      hmcMessage(CRQ_TYPE.REMOVE_BUFFER_RESPONSE, {
        status: CRQ_STATUS.SUCCESS,
        session,
        index,
        bufferId,
      }),
    );
  }

  /** ibmvmc_recv_msg: a message from the hypervisor in one of its buffers. */
  private receiveMessage(message: CrqHmcMessage): void {
    const { index, bufferId, session } = message;
    // Odd but true: the driver complains with an add-buffer response.
    if (index >= this.slotCount || bufferId >= this.poolValue) {
      this.link.sendToHypervisor(
        hmcMessage(CRQ_TYPE.ADD_BUFFER_RESPONSE, {
          status:
            index >= this.slotCount ? CRQ_STATUS.INVALID_HMC_INDEX : CRQ_STATUS.INVALID_BUFFER_ID,
          session,
          index,
          bufferId,
        }),
      );
      return;
    }
    const slot = this.slots[index];
    if (slot.state === SLOT_STATE.FREE) {
      this.note(`message for free slot ${index} dropped`);
      return;
    }
    const buffer = slot.buffers[bufferId];
    if (!buffer.valid || buffer.owner === BUFFER_OWNER.PARTITION) {
      this.note(`message in buffer ${bufferId} dropped: not lent or not the hypervisor's`);
      return;
    }
    const data = this.hypervisor.rdmaFromHypervisor(index, bufferId, message.word3);
    buffer.msgLen = data.length;
    buffer.data = data;
    buffer.free = false;
    buffer.owner = BUFFER_OWNER.PARTITION;
    slot.queue.push(bufferId);
    const file = slot.fileSession;
    if (file !== null && !file.closed) this.listener?.messageQueued(file, data);
  }

  /**
   * ibmvmc_return_hmc: frees the slot, empties its queue and forgets its
   * buffers. A slot never reserved is left alone, buffers and all.
   */
  private returnSlot(slot: DriverSlot, releaseReaders: boolean): void {
    if (!slot.adapter) return;
    if (releaseReaders) {
      const file = slot.fileSession;
      if (file !== null && file.valid) {
        file.valid = false;
        if (!file.closed) this.listener?.sessionReset(file);
      }
    }
    slot.state = SLOT_STATE.FREE;
    slot.wipe();
  }

  /**
   * ibmvmc_reset: every slot returned. A transport event (the partner closed)
   * leaves the driver waiting in crqinit; a reset of its own (a failed close,
   * an impossible slot index) frees and re-registers the queue in a task.
   *
   * Readers are released in both cases, as the contract says. The mainline
   * code passes `xport_event` as release_readers, so after a reset of its own
   * a blocked reader would stay asleep; the shim could not emulate that (it
   * would spin on the stale data connection), and the contract is the bar.
   */
  private reset(transportEvent: boolean): void {
    if (this.stateValue === DRIVER_STATE.SCHED_RESET) return;
    const count = Math.min(this.options().maxHmcs, MAX_HMCS);
    for (let i = 0; i < count; i++) this.returnSlot(this.slots[i], true);
    if (transportEvent) {
      this.setState(DRIVER_STATE.CRQINIT);
      return;
    }
    this.setState(DRIVER_STATE.SCHED_RESET);
    // The tasklet stops here and stays off until the reset task has run.
    this.link.stopDrainToDriver();
    this.scheduler.defer(() => this.resetTask());
  }

  /** ibmvmc_reset_task: re-register the queue and start the handshake again. */
  private resetTask(): void {
    if (this.stateValue !== DRIVER_STATE.SCHED_RESET) return;
    // H_REG_CRQ answers H_CLOSED when the partner is not up, and the task
    // treats anything but success as fatal.
    const rc = this.link.hypervisorRegistered ? 0 : H_CLOSED;
    if (rc !== 0) {
      this.link.driverQueueReset();
      this.note(`error initialising the CRQ (rc ${rc})`);
      this.setState(DRIVER_STATE.FAILED);
      return;
    }
    this.link.driverQueueReset();
    this.setState(DRIVER_STATE.CRQINIT);
    this.link.sendToHypervisor({ format: 'init', type: CRQ_INIT_TYPE.INIT });
  }

  private setState(state: DriverState): void {
    this.stateValue = state;
    if (this.log.enabled) this.log.add({ at: this.scheduler.now(), kind: 'state', state });
  }

  private logged(fd: number, call: FakeCallName, arg: number, result: number): number {
    if (this.log.enabled) {
      this.log.add({ at: this.scheduler.now(), kind: 'call', fd, call, arg, result });
    }
    return result;
  }

  private note(text: string): void {
    if (this.log.enabled) {
      this.log.add({ at: this.scheduler.now(), kind: 'note', source: 'driver', text });
    }
  }
}
