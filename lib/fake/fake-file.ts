/**
 * One open file of the device ("struct ibmvmc_file_session"): which slot
 * SETHMCID bound it to, and whether that binding is still valid.
 */
import type { DriverSlot } from './driver-slot';

/** An open file of the fake device. */
export class FakeFile {
  /**
   * The slot SETHMCID reserved for this file. It is never cleared, as in the
   * driver: after a reset the file still points at its old slot, and if
   * another file reserves that slot this one reads and writes in the new session.
   */
  slot: DriverSlot | null = null;
  /** False once a reset freed the slot under this file: reads then end with EBADFD. */
  valid = false;
  /** True once closed; events for it are no longer delivered. */
  closed = false;

  /**
   * @param id - The fake's number for this file (1, 2, ...), used in logs and snapshots.
   * @param flags - The open() flags.
   * @param pid - The process that opened it (0 if unknown).
   */
  constructor(
    readonly id: number,
    readonly flags: number,
    readonly pid: number,
  ) {}
}
