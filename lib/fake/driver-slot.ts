/**
 * The driver's per-slot state ("struct ibmvmc_hmc"): the slot's state, its
 * session counter, the HMC id, the pool of buffers the hypervisor lent it with
 * their ownership, and the queue of messages waiting to be read.
 */
import type { FakeFile } from './fake-file';
import { BUFFER_OWNER } from './crq';

/** Slots the driver has room for (MAX_HMCS). */
export const MAX_HMCS = 2;
/** Buffers per slot the driver has room for (MAX_BUF_POOL_SIZE). */
export const MAX_BUF_POOL_SIZE = 64;
/** Length of an HMC id. */
export const HMC_ID_LENGTH = 32;

/** States of a slot. */
export const SLOT_STATE = {
  /** Not reserved. */
  FREE: 0,
  /** Reserved by SETHMCID, the open not yet sent. */
  INITIAL: 1,
  /** Interface Open sent, not yet answered. */
  OPENING: 2,
  /** Open answered: messages can flow. */
  READY: 3,
  /** The open answer named an impossible buffer. */
  FAILED: 4,
} as const;

/** One of {@link SLOT_STATE}. */
export type SlotState = (typeof SLOT_STATE)[keyof typeof SLOT_STATE];

/** Names of the slot states, for snapshots. */
export const SLOT_STATE_NAMES = ['free', 'initial', 'opening', 'ready', 'failed'] as const;

/** One buffer of a slot's pool ("struct ibmvmc_buffer"). */
export interface DriverBuffer {
  /** Its id: its index in the pool. */
  readonly id: number;
  /** The hypervisor lent it (storage allocated). */
  valid: boolean;
  /** Available to the partition: not carrying a message in either direction. */
  free: boolean;
  /** Who may put a message in it next ({@link BUFFER_OWNER}). */
  owner: number;
  /** Length of the message it holds for reading. */
  msgLen: number;
  /** The bytes it holds (the message to read, or the one written). */
  data: Buffer | null;
}

/** A slot of the driver. */
export class DriverSlot {
  /** Where the slot is in its life ({@link SLOT_STATE}). */
  state: SlotState = SLOT_STATE.FREE;
  /** Session counter, bumped at each reservation (1..254, then back to 1). */
  session = 0;
  /** The id given by SETHMCID. */
  readonly hmcId = Buffer.alloc(HMC_ID_LENGTH);
  /**
   * Set the first time the slot is reserved and never cleared, as the driver's
   * `hmc->adapter`: a slot never reserved is skipped when slots are returned,
   * so it keeps its buffers through a reset.
   */
  adapter = false;
  /** The open file that last reserved the slot (kept after that file closes, as in the driver). */
  fileSession: FakeFile | null = null;
  /** The pool; ids index it. */
  readonly buffers: DriverBuffer[];
  /** Ids of the buffers holding messages to read, oldest first. */
  readonly queue: number[] = [];

  /** @param index - The slot's number ("HMC index"). */
  constructor(readonly index: number) {
    this.buffers = Array.from({ length: MAX_BUF_POOL_SIZE }, (_, id) => emptyBuffer(id));
  }

  /** Forgets every buffer and queued message ("memset" of the pool). */
  wipe(): void {
    for (const buffer of this.buffers) {
      buffer.valid = false;
      buffer.free = false;
      buffer.owner = BUFFER_OWNER.PARTITION;
      buffer.msgLen = 0;
      buffer.data = null;
    }
    this.queue.length = 0;
  }

  /** Counts the pool, for QUERY-like snapshots and the ENOBUFS check. */
  count(): {
    /** Buffers lent by the hypervisor. */
    valid: number;
    /** Of those, free (carrying no message). */
    free: number;
    /** Of those, owned by the partition. */
    partitionOwned: number;
    /** Of those, owned by the hypervisor. */
    hypervisorOwned: number;
  } {
    let valid = 0;
    let free = 0;
    let partitionOwned = 0;
    let hypervisorOwned = 0;
    for (const buffer of this.buffers) {
      if (!buffer.valid) continue;
      valid++;
      if (buffer.free) free++;
      if (buffer.owner === BUFFER_OWNER.HYPERVISOR) hypervisorOwned++;
      else partitionOwned++;
    }
    return { valid, free, partitionOwned, hypervisorOwned };
  }
}

function emptyBuffer(id: number): DriverBuffer {
  return { id, valid: false, free: false, owner: BUFFER_OWNER.PARTITION, msgLen: 0, data: null };
}
