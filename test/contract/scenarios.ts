/**
 * The contract scenarios: the C contract client (contract_client.c) walking
 * the driver contract, each with the hypervisor behaviour it needs and what
 * the test driver does while it runs. One table serves two runs: against the
 * fake device (contract.test.ts) and, scenario by scenario, against the fake
 * and the real driver in QEMU side by side (test/real-driver/).
 */
import type { FakeDeviceOptions } from '../../lib/fake/index';

/** Something the test driver does while the clients run, in order. */
export type ContractStep =
  /** Wait for a "READY tag" line from a process. */
  | { readonly wait: string; readonly process: string }
  /** Start a process that the scenario does not start at once. */
  | { readonly start: string }
  /** Tell a process waiting at a sync point to go on. */
  | { readonly go: string }
  /** A transport event: every session dropped. */
  | { readonly reset: { readonly reinitializeAfterMs?: number | null } }
  /** Change the hypervisor's behaviour. */
  | { readonly configure: FakeDeviceOptions }
  /** An unsolicited message (these bytes) to the session on slot 0. */
  | { readonly inject: string }
  | { readonly sleepMs: number };

/** One run of the contract client. */
export interface ContractProcess {
  readonly name: string;
  readonly args: readonly string[];
  /** At least this many "ok" lines, or the run failed. */
  readonly minimumChecks: number;
  /** Started by a `start` step instead of at the beginning. */
  readonly later?: boolean;
}

/** A scenario: hypervisor options, the clients, and the steps. */
export interface ContractScenario {
  /** Short name, for tables. */
  readonly name: string;
  readonly title: string;
  readonly options: FakeDeviceOptions;
  readonly processes: readonly ContractProcess[];
  readonly steps?: readonly ContractStep[];
  /** Needs a machine without a VMC adapter (the real driver: QEMU without the device). */
  readonly noAdapter?: boolean;
  /** Why the scenario cannot run against the real driver, if it cannot. */
  readonly fakeOnly?: string;
}

const one = (args: string[], minimumChecks: number): ContractProcess[] => [
  { name: 'client', args, minimumChecks },
];

export const CONTRACT_SCENARIOS: readonly ContractScenario[] = [
  {
    name: 'before-bind',
    title: 'before SETHMCID: read/write/poll/ioctl rows',
    options: {},
    processes: one(['before-bind'], 11),
  },
  {
    name: 'bind',
    title: 'a bound session: EFAULT, EIO twice, writes, reads, truncation, blocking, EINTR',
    options: {},
    processes: one(['bind'], 20),
  },
  {
    name: 'read-fault',
    title: 'a read into a bad pointer: EFAULT, and the message is gone (dequeued before the copy)',
    options: {},
    processes: one(['read-fault'], 9),
  },
  {
    name: 'opening-busy',
    title: 'writes get EBUSY until the hypervisor answers the open',
    options: { openAnswer: { delayMs: 300 } },
    processes: one(['opening-busy'], 3),
  },
  {
    name: 'not-ready',
    title: 'driver still in crqinit: SETHMCID EAGAIN',
    options: { startup: { crqinitMs: 60_000 } },
    processes: one(['not-ready'], 5),
  },
  {
    name: 'no-adapter',
    title: 'no adapter: state initial, have_vmc 0, SETHMCID EAGAIN',
    options: { haveVmc: false },
    processes: one(['no-adapter'], 5),
    noAdapter: true,
  },
  {
    name: 'failed',
    title: 'driver failed: SETHMCID EIO',
    options: { protocolVersion: 0x0201 },
    processes: one(['failed'], 5),
  },
  {
    name: 'failed-after-bind',
    title: 'driver failed under a bound session: close still returns 0',
    options: { reinitializeAfterMs: 10 },
    processes: one(['failed-after-bind'], 3),
    steps: [
      { wait: 'bound', process: 'client' },
      // The hypervisor comes back speaking another protocol version.
      { configure: { protocolVersion: 0x0201 } },
      { reset: {} },
      { sleepMs: 200 },
      { go: 'client' },
    ],
  },
  {
    name: 'no-buffers',
    title: 'no buffers yet: SETHMCID ENOBUFS',
    options: { buffers: { startup: 0 } },
    processes: one(['no-buffers'], 5),
  },
  {
    name: 'legacy-busy',
    title: 'older drivers: open EBUSY',
    options: { openBusyMs: 60_000 },
    processes: one(['legacy-busy'], 1),
    fakeOnly: 'drivers before 4.19 only; the fake imitates them, the mainline driver cannot',
  },
  {
    name: 'requestvmc',
    title: 'REQUESTVMC returns the index and QUERY reports it',
    options: { requestVmc: { outcome: 0x30000042 } },
    processes: one(['requestvmc', '0x30000042'], 4),
  },
  ...(['EPERM', 'EIO', 'ENODEV', 'EINVAL'] as const).map((outcome): ContractScenario => ({
    name: `requestvmc-${outcome}`,
    title: `REQUESTVMC ${outcome}`,
    options: { requestVmc: { outcome } },
    processes: one(['requestvmc', outcome], 1),
  })),
  {
    name: 'pool',
    title: 'a pool of 16 buffers: 16 writes, then EBUSY until an answer is read',
    options: { poolSize: 16 },
    processes: one(['pool', '16'], 5),
  },
  {
    name: 'open-refused',
    title: 'a refused open: writes EIO, readers not told',
    options: { openAnswer: { status: 4 } },
    processes: one(['open-refused'], 3),
  },
  {
    name: 'reset-blocked-reader',
    title: 'a reset wakes a blocked reader with EBADFD and never shows in poll',
    options: { reinitializeAfterMs: null },
    processes: one(['reset-blocked-reader'], 6),
    steps: [{ wait: 'blocking', process: 'client' }, { sleepMs: 100 }, { reset: {} }],
  },
  {
    name: 'blocking-echoes',
    title: 'blocking round trips back to back: every answer whole and in order',
    options: {},
    processes: one(['blocking-echoes'], 4),
  },
  {
    name: 'reset-drains',
    title: 'a reset empties the queue: an unread answer stops being readable',
    options: { reinitializeAfterMs: null },
    processes: one(['reset-drains'], 4),
    steps: [{ wait: 'queued', process: 'client' }, { reset: {} }, { go: 'client' }],
  },
  {
    name: 'errno-preserved',
    title: 'every intercepted call that succeeds leaves errno as it was, on each way it succeeds',
    // One slot, so the session opened after the reset shares the old fd's;
    // buffers held by the hypervisor, so an injected message goes out at once.
    options: {
      maxHmcs: 1,
      buffers: { hypervisorOwned: 2 },
      requestVmc: { outcome: 0x30000042, delayMs: 200 },
    },
    processes: one(['errno-preserved'], 40),
    steps: [
      // Each blocked read gets its message once it has had time to block.
      { wait: 'waiting', process: 'client' },
      { sleepMs: 100 },
      { inject: 'waiting' },
      { wait: 'waiting-locally', process: 'client' },
      { sleepMs: 100 },
      { inject: 'waiting-locally' },
      { wait: 'reset', process: 'client' },
      { reset: {} },
      { go: 'client' },
    ],
  },
  {
    name: 'slots',
    title: 'slot contention across two processes, and a close that keeps the slot busy',
    options: { maxHmcs: 1, closeAnswer: { delayMs: 400 } },
    processes: [
      { name: 'holder', args: ['slot-holder'], minimumChecks: 2 },
      { name: 'waiter', args: ['slot-waiter'], minimumChecks: 3, later: true },
    ],
    steps: [
      { wait: 'held', process: 'holder' },
      { start: 'waiter' },
      { wait: 'refused', process: 'waiter' },
      { go: 'holder' },
      { wait: 'closed', process: 'holder' },
      { go: 'waiter' },
    ],
  },
];
