/**
 * What the driver reaches in the hypervisor other than through the queues:
 * the RDMA copy between its buffers and the hypervisor's (H_COPY_RDMA), and
 * the REQUESTVMC hypervisor call (H_REQUEST_VMC).
 */

/** Return codes of H_REQUEST_VMC the driver tells apart. */
export type RequestVmcReturnCode =
  'H_FUNCTION' | 'H_AUTHORITY' | 'H_HARDWARE' | 'H_RESOURCE' | 'H_NOT_AVAILABLE' | 'H_PARAMETER';

/** The outcome of H_REQUEST_VMC. */
export type RequestVmcHcallResult =
  | {
      /** The call succeeded. */
      readonly rc: 'H_SUCCESS';
      /** The DRC index of the new adapter. */
      readonly index: number;
    }
  | {
      /** How the call failed. */
      readonly rc: RequestVmcReturnCode;
    };

/** The PAPR return codes of H_REQUEST_VMC as numbers: what the call leaves in R3. */
export const REQUEST_VMC_RETURN_CODE: Readonly<Record<RequestVmcHcallResult['rc'], number>> =
  Object.freeze({
    H_SUCCESS: 0,
    H_HARDWARE: -1,
    H_FUNCTION: -2,
    H_PARAMETER: -4,
    H_AUTHORITY: -10,
    H_RESOURCE: -16,
    H_NOT_AVAILABLE: 3,
  });

/** The hypervisor, as the driver calls it directly. */
export interface HypervisorPort {
  /** Copies a message from the partition's buffer into the hypervisor's buffer of the same slot and id. */
  rdmaToHypervisor(index: number, bufferId: number, data: Buffer): void;
  /** Copies `length` bytes out of the hypervisor's buffer of that slot and id. */
  rdmaFromHypervisor(index: number, bufferId: number, length: number): Buffer;
  /** H_REQUEST_VMC: asks for a new VMC adapter. */
  requestVmc(): Promise<RequestVmcHcallResult>;
}
