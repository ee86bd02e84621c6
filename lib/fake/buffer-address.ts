/**
 * Where the hypervisor's buffers sit in its own DMA window (the "remote"
 * window the driver copies to and from with H_COPY_RDMA). The hypervisor
 * chooses each address and hands it to the driver in Add Buffer (the last
 * word); the driver keeps it and uses nothing else. One layout serves every
 * party: the fake hypervisor puts these addresses in Add Buffer, and the QEMU
 * bridge maps the addresses the guest copies to back to a slot and a buffer.
 *
 * Slot `index` owns 1 MiB from `index × 0x100000`; inside it, buffer `id`
 * owns 16 KiB (the largest MTU the driver accepts) from `id × 0x4000`, so 64
 * buffers (the driver's largest pool) fill a slot and two slots a 2 MiB window.
 */
import { MAX_BUF_POOL_SIZE, MAX_HMCS } from './driver-slot';

/** Bytes of the window each buffer owns: the largest MTU (module parameter `max_mtu` stops at 16384). */
export const BUFFER_ADDRESS_STRIDE = 0x4000;

/** Bytes of the window each slot owns: room for {@link MAX_BUF_POOL_SIZE} buffers. */
export const SLOT_ADDRESS_STRIDE = BUFFER_ADDRESS_STRIDE * MAX_BUF_POOL_SIZE;

/** Size of the whole window: every slot's buffers (2 MiB, QEMU's default `window-size`). */
export const BUFFER_WINDOW_SIZE = SLOT_ADDRESS_STRIDE * MAX_HMCS;

/** A place in the window: which buffer, and how far into it. */
export interface BufferLocation {
  /** The slot ("HMC index"). */
  readonly index: number;
  /** The buffer id within the slot. */
  readonly bufferId: number;
  /** Bytes from the start of the buffer (below {@link BUFFER_ADDRESS_STRIDE}). */
  readonly offset: number;
}

/**
 * The window address of a buffer.
 *
 * @param index - The slot.
 * @param bufferId - The buffer id.
 * @returns The address, or undefined when the slot or id has no place in the
 *   layout (an id past any pool the driver accepts: it refuses the buffer
 *   before it could use the address).
 */
export function bufferAddress(index: number, bufferId: number): number | undefined {
  if (!inRange(index, MAX_HMCS) || !inRange(bufferId, MAX_BUF_POOL_SIZE)) return undefined;
  return index * SLOT_ADDRESS_STRIDE + bufferId * BUFFER_ADDRESS_STRIDE;
}

/**
 * The buffer an address falls in.
 *
 * @param address - An address in the window.
 * @returns Its slot, buffer id and offset, or undefined outside the window.
 */
export function locateBufferAddress(address: number): BufferLocation | undefined {
  if (!inRange(address, BUFFER_WINDOW_SIZE)) return undefined;
  const inSlot = address % SLOT_ADDRESS_STRIDE;
  return {
    index: Math.floor(address / SLOT_ADDRESS_STRIDE),
    bufferId: Math.floor(inSlot / BUFFER_ADDRESS_STRIDE),
    offset: inSlot % BUFFER_ADDRESS_STRIDE,
  };
}

function inRange(value: number, limit: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < limit;
}
