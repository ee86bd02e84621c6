/**
 * Plain-data views of a running fake, for tests and tools: what each slot
 * holds, and the driver's global state. Plain data so they cross a process or
 * thread boundary unchanged.
 */
import { DRIVER_STATE_NAMES, type DriverState, type FakeDriver } from './driver';
import { SLOT_STATE_NAMES } from './driver-slot';
import type { FakeHypervisor, HypervisorSlotSnapshot } from './hypervisor';
import type { ResolvedOptions } from './options';

/** One slot of the driver, with the hypervisor's view of it. */
export interface FakeSlotSnapshot {
  /** The slot's number (HMC index). */
  readonly slot: number;
  /** The driver's slot state. */
  readonly state: (typeof SLOT_STATE_NAMES)[number];
  /** The driver's session number for the slot (0 if never reserved). */
  readonly session: number;
  /** The HMC id set on the slot, trailing NULs removed (latin1). */
  readonly hmcId: string;
  /** The fake's number of the open file that reserved the slot, or null if it closed. */
  readonly fd: number | null;
  /** Messages waiting to be read. */
  readonly queued: number;
  /** The slot's buffer pool. */
  readonly buffers: {
    /** Buffers lent by the hypervisor. */
    readonly valid: number;
    /** Of those, free (carrying no message). */
    readonly free: number;
    /** Of those, owned by the partition. */
    readonly partitionOwned: number;
    /** Of those, owned by the hypervisor. */
    readonly hypervisorOwned: number;
  };
  /** The hypervisor's side of the slot. */
  readonly hypervisor: HypervisorSlotSnapshot;
}

/** The driver's global state and what it negotiated. */
export interface FakeDeviceState {
  /** QUERY's state: -1 sched_reset, 0 initial, 1 crqinit, 2 capabilities, 3 ready, 4 failed. */
  readonly state: DriverState;
  /** The state's name (`ready`, ...). */
  readonly stateName: string;
  /** Whether the partition has a VMC adapter. */
  readonly haveVmc: boolean;
  /** The adapter's DRC index (0 without one). */
  readonly vmcDrcIndex: number;
  /** The MTU in force (negotiated once capabilities are exchanged). */
  readonly mtu: number;
  /** The buffer pool size in force. */
  readonly poolSize: number;
  /** Usable slots. */
  readonly slots: number;
  /** The module parameters (as sysfs shows them). */
  readonly moduleParameters: {
    /** `max_mtu`. */
    readonly maxMtu: number;
    /** `buf_pool_size`. */
    readonly bufPoolSize: number;
    /** `max_hmcs`. */
    readonly maxHmcs: number;
  };
  /** Files open on the device now. */
  readonly openFiles: number;
  /** Whether the hypervisor's side of the channel is up. */
  readonly hypervisorUp: boolean;
}

/** Snapshots of the usable slots. */
export function slotSnapshots(driver: FakeDriver, hypervisor: FakeHypervisor): FakeSlotSnapshot[] {
  return driver.slots.slice(0, driver.slotCount).map((slot) => {
    const file = slot.fileSession;
    return {
      slot: slot.index,
      state: SLOT_STATE_NAMES[slot.state],
      session: slot.session,
      hmcId: slot.hmcId.toString('latin1').replace(/\0+$/, ''),
      fd: file !== null && !file.closed ? file.id : null,
      queued: slot.queue.length,
      buffers: slot.count(),
      hypervisor: hypervisor.snapshot(slot.index),
    };
  });
}

/** Snapshot of the driver's global state. */
export function deviceState(
  driver: FakeDriver,
  hypervisor: FakeHypervisor,
  options: ResolvedOptions,
): FakeDeviceState {
  const state = driver.state;
  return {
    state,
    stateName: DRIVER_STATE_NAMES[state],
    haveVmc: state >>> 0 > 0, // as QUERY computes it (a u32 state)
    vmcDrcIndex: driver.vmcDrcIndex,
    mtu: driver.mtu,
    poolSize: driver.poolSize,
    slots: driver.slotCount,
    moduleParameters: {
      maxMtu: options.maxMtu,
      bufPoolSize: options.bufPoolSize,
      maxHmcs: options.maxHmcs,
    },
    openFiles: driver.openFiles.length,
    hypervisorUp: hypervisor.up,
  };
}
