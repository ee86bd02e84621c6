/** The driver's states, as QUERY reports them. */
export const DriverState = {
  /** A reset is in progress; sessions can be opened again once it is ready. */
  SCHED_RESET: -1,
  /** Loaded, but the partition has no VMC adapter (or the driver has not started on it). */
  INITIAL: 0,
  /** The adapter was found; the driver waits for the hypervisor's handshake. */
  CRQINIT: 1,
  /** Capabilities were sent; the driver waits for their answer. */
  CAPABILITIES: 2,
  /** Sessions can be opened. */
  READY: 3,
  /** Unusable until the ibmvmc module is reloaded. */
  FAILED: 4,
} as const;

/** The driver's own name of each state, and `unknown` for a number it never uses. */
export type DriverStateName =
  'sched_reset' | 'initial' | 'crqinit' | 'capabilities' | 'ready' | 'failed' | 'unknown';

const NAMES: Record<number, DriverStateName> = {
  [-1]: 'sched_reset',
  0: 'initial',
  1: 'crqinit',
  2: 'capabilities',
  3: 'ready',
  4: 'failed',
};

/** The driver's name for a state number ('unknown' for a number it never uses). */
export function driverStateName(state: number): DriverStateName {
  return NAMES[state] ?? 'unknown';
}

/** What each state means for someone who wants to open a session. */
export function describeDriverState(state: number): string {
  switch (state) {
    case -1:
      return 'a reset is in progress; sessions can be opened again once it is ready';
    case 0:
      return 'the module is loaded but the partition has no VMC adapter: request one (REQUESTVMC) and add it to the partition';
    case 1:
      return 'the adapter was found and the driver waits for the hypervisor handshake';
    case 2:
      return 'capabilities were sent and the driver waits for their answer';
    case 3:
      return 'ready: sessions can be opened';
    case 4:
      return 'failed: unusable until the ibmvmc module is reloaded';
    default:
      return `unknown state ${state}`;
  }
}
