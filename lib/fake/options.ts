/**
 * What a fake device can be told to be. Every option is optional; the
 * defaults are a healthy hypervisor and a driver loaded with its default
 * module parameters (MTU 4096, 16 buffers per session, one HMC slot).
 */
import { FakeDeviceError } from './errors';
import { DEFAULT_LOG_LIMIT } from './log';
import { VMC_PROTOCOL_VERSION } from './crq';

/** Who a buffer is lent to when the hypervisor adds it. */
export type BufferOwnerName = 'partition' | 'hypervisor';

/** How a REQUESTVMC call can fail (the driver's mapping of the hypervisor's answer). */
export type RequestVmcFailure = 'EPERM' | 'EIO' | 'ENODEV' | 'EINVAL';

/** How open() of the device can fail before the driver is reached. */
export type OpenFault = 'ENOENT' | 'EACCES';

/** Timing of the CRQ handshake and the capabilities exchange. */
export interface StartupOptions {
  /** Time the driver spends in state crqinit before the hypervisor completes the handshake (ms, default 0). */
  crqinitMs?: number;
  /** Time in state capabilities before the hypervisor answers them (ms, default 0). */
  capabilitiesMs?: number;
  /** Time after the capabilities answer before the start-up buffers arrive (ms, default 0): SETHMCID gets ENOBUFS meanwhile. */
  buffersMs?: number;
}

/** Which buffers the hypervisor lends, and when. */
export interface BufferOptions {
  /** Buffers added per slot index once capabilities are exchanged, and again whenever a slot is freed (default 1). 0 withholds them: SETHMCID gets ENOBUFS. */
  startup?: number;
  /** Owner of the start-up buffers (default `partition`). `hypervisor` makes SETHMCID fail with EIO at step 4 (no buffer to carry the id). */
  startupOwner?: BufferOwnerName;
  /** Partition-owned buffers added when a session opens (default: whatever fills the negotiated pool). */
  session?: number | null;
  /** Hypervisor-owned buffers added when a session opens, for unsolicited messages (default 0). */
  hypervisorOwned?: number;
}

/** How the hypervisor answers an Interface Open or Close. */
export interface AnswerOptions {
  /** Delay before the answer (ms, default 0); `null`: never answered. */
  delayMs?: number | null;
  /** Status of the answer (default 0, success). Non-zero refuses an open, or resets the whole driver on a close. */
  status?: number;
}

/** The outcome of the REQUESTVMC hypervisor call. */
export interface RequestVmcOptions {
  /** A DRC index (success, default 0x30000001) or the errno the driver returns. */
  outcome?: number | RequestVmcFailure;
  /** Time the hypervisor call takes (ms, default 0). */
  delayMs?: number;
}

/** Everything a fake device can be configured with. */
export interface FakeDeviceOptions {
  /** MTU the hypervisor offers (default 4096); negotiated as min(maxMtu, mtu). */
  mtu?: number;
  /** Buffers per session the hypervisor offers (default 16); negotiated as min(bufPoolSize, poolSize). */
  poolSize?: number;
  /** HMC slots the hypervisor offers (default 2, at least 1); negotiated as min(maxHmcs, slots). */
  slots?: number;
  /** Protocol version the hypervisor answers with (default 0x0101); another major byte puts the driver in state failed. */
  protocolVersion?: number;
  /** Module parameter `max_mtu` (default 4096, clamped to 4096..16384). */
  maxMtu?: number;
  /** Module parameter `buf_pool_size` (default 32, clamped to 16..64). */
  bufPoolSize?: number;
  /** Module parameter `max_hmcs` (default 1, clamped to 1..2). */
  maxHmcs?: number;
  /** False: no VMC adapter, the driver stays in state initial (default true). */
  haveVmc?: boolean;
  /** Start-up timing. */
  startup?: StartupOptions;
  /** Default delay of {@link FakeDevice.reset} before the hypervisor comes back (ms, default 10); `null`: stays down. */
  reinitializeAfterMs?: number | null;
  /** Buffers lent by the hypervisor. */
  buffers?: BufferOptions;
  /** How Interface Open is answered. */
  openAnswer?: AnswerOptions;
  /** How Interface Close is answered. */
  closeAnswer?: AnswerOptions;
  /** Outcome of REQUESTVMC. */
  requestVmc?: RequestVmcOptions;
  /** open() fails with this errno (device node missing, permission denied); null: no fault (default). */
  openFault?: OpenFault | null;
  /** open() fails with EBUSY for this long after start or configure, as drivers before 4.19 did (ms, default 0). */
  openBusyMs?: number;
  /** Keep a log of calls, HMC messages and notes: true keeps the last 1000 entries, a number that many; default off. */
  log?: boolean | number;
  /** Also log CRQ messages and driver state changes, start-up included (default off). */
  logChannel?: boolean;
  /** Print every log entry to stderr as it happens (default off). */
  trace?: boolean;
}

/** {@link FakeDeviceOptions} with every default filled in and every value checked. */
export interface ResolvedOptions {
  /** {@link FakeDeviceOptions.mtu}, resolved. */
  readonly mtu: number;
  /** {@link FakeDeviceOptions.poolSize}, resolved. */
  readonly poolSize: number;
  /** {@link FakeDeviceOptions.slots}, resolved. */
  readonly slots: number;
  /** {@link FakeDeviceOptions.protocolVersion}, resolved. */
  readonly protocolVersion: number;
  /** {@link FakeDeviceOptions.maxMtu}, resolved. */
  readonly maxMtu: number;
  /** {@link FakeDeviceOptions.bufPoolSize}, resolved. */
  readonly bufPoolSize: number;
  /** {@link FakeDeviceOptions.maxHmcs}, resolved. */
  readonly maxHmcs: number;
  /** {@link FakeDeviceOptions.haveVmc}, resolved. */
  readonly haveVmc: boolean;
  /** {@link FakeDeviceOptions.startup}, resolved. */
  readonly startup: Readonly<Required<StartupOptions>>;
  /** {@link FakeDeviceOptions.reinitializeAfterMs}, resolved. */
  readonly reinitializeAfterMs: number | null;
  /** {@link FakeDeviceOptions.buffers}, resolved. */
  readonly buffers: Readonly<Required<BufferOptions>>;
  /** {@link FakeDeviceOptions.openAnswer}, resolved. */
  readonly openAnswer: Readonly<Required<AnswerOptions>>;
  /** {@link FakeDeviceOptions.closeAnswer}, resolved. */
  readonly closeAnswer: Readonly<Required<AnswerOptions>>;
  /** {@link FakeDeviceOptions.requestVmc}, resolved. */
  readonly requestVmc: Readonly<Required<RequestVmcOptions>>;
  /** {@link FakeDeviceOptions.openFault}, resolved. */
  readonly openFault: OpenFault | null;
  /** {@link FakeDeviceOptions.openBusyMs}, resolved. */
  readonly openBusyMs: number;
  /** Entries kept (0: none). */
  readonly log: number;
  /** {@link FakeDeviceOptions.logChannel}, resolved. */
  readonly logChannel: boolean;
  /** {@link FakeDeviceOptions.trace}, resolved. */
  readonly trace: boolean;
}

/** Limits of the module parameters, as the driver clamps them at load. */
export const MODULE_PARAMETER_LIMITS = {
  /** `max_mtu`: the largest message, in bytes. */
  maxMtu: {
    /** The least the driver accepts. */
    min: 4096,
    /** The most the driver accepts. */
    max: 16384,
    /** The driver's default. */
    default: 4096,
  },
  /** `buf_pool_size`: buffers per session. */
  bufPoolSize: {
    /** The least the driver accepts. */
    min: 16,
    /** The most the driver accepts. */
    max: 64,
    /** The driver's default. */
    default: 32,
  },
  /** `max_hmcs`: HMC sessions at once. */
  maxHmcs: {
    /** The least the driver accepts. */
    min: 1,
    /** The most the driver accepts. */
    max: 2,
    /** The driver's default. */
    default: 1,
  },
} as const;

/** The defaults: a healthy hypervisor and a default driver. */
export const DEFAULT_OPTIONS: ResolvedOptions = Object.freeze({
  mtu: 4096,
  poolSize: 16,
  slots: 2,
  protocolVersion: VMC_PROTOCOL_VERSION,
  maxMtu: MODULE_PARAMETER_LIMITS.maxMtu.default,
  bufPoolSize: MODULE_PARAMETER_LIMITS.bufPoolSize.default,
  maxHmcs: MODULE_PARAMETER_LIMITS.maxHmcs.default,
  haveVmc: true,
  startup: Object.freeze({ crqinitMs: 0, capabilitiesMs: 0, buffersMs: 0 }),
  reinitializeAfterMs: 10,
  buffers: Object.freeze({
    startup: 1,
    startupOwner: 'partition' as BufferOwnerName,
    session: null,
    hypervisorOwned: 0,
  }),
  openAnswer: Object.freeze({ delayMs: 0, status: 0 }),
  closeAnswer: Object.freeze({ delayMs: 0, status: 0 }),
  requestVmc: Object.freeze({ outcome: 0x30000001, delayMs: 0 }),
  openFault: null,
  openBusyMs: 0,
  log: 0,
  logChannel: false,
  trace: false,
});

const REQUEST_VMC_FAILURES: readonly string[] = ['EPERM', 'EIO', 'ENODEV', 'EINVAL'];

/**
 * Checks `options` and merges it over `base` (nested groups field by field).
 *
 * @param options - What to change; omitted fields keep `base`'s value.
 * @param base - The options in force (the defaults when starting).
 * @returns New resolved options.
 * @throws FakeDeviceError (code `ERR_IBMVMC_FAKE_OPTIONS`) naming the first bad value.
 */
export function resolveOptions(
  options: FakeDeviceOptions = {},
  base: ResolvedOptions = DEFAULT_OPTIONS,
): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options', options, 'an object');
  const o = options;
  const startup = o.startup ?? {};
  const buffers = o.buffers ?? {};
  const openAnswer = o.openAnswer ?? {};
  const closeAnswer = o.closeAnswer ?? {};
  const requestVmc = o.requestVmc ?? {};
  return Object.freeze({
    mtu: int('mtu', o.mtu, base.mtu, 1, 0xffffffff),
    poolSize: int('poolSize', o.poolSize, base.poolSize, 1, 0xffff),
    slots: int('slots', o.slots, base.slots, 1, 0xff),
    protocolVersion: int('protocolVersion', o.protocolVersion, base.protocolVersion, 0, 0xffff),
    maxMtu: clamp('maxMtu', o.maxMtu, base.maxMtu, MODULE_PARAMETER_LIMITS.maxMtu),
    bufPoolSize: clamp(
      'bufPoolSize',
      o.bufPoolSize,
      base.bufPoolSize,
      MODULE_PARAMETER_LIMITS.bufPoolSize,
    ),
    maxHmcs: clamp('maxHmcs', o.maxHmcs, base.maxHmcs, MODULE_PARAMETER_LIMITS.maxHmcs),
    haveVmc: bool('haveVmc', o.haveVmc, base.haveVmc),
    startup: Object.freeze({
      crqinitMs: ms('startup.crqinitMs', startup.crqinitMs, base.startup.crqinitMs),
      capabilitiesMs: ms(
        'startup.capabilitiesMs',
        startup.capabilitiesMs,
        base.startup.capabilitiesMs,
      ),
      buffersMs: ms('startup.buffersMs', startup.buffersMs, base.startup.buffersMs),
    }),
    reinitializeAfterMs: msOrNull(
      'reinitializeAfterMs',
      o.reinitializeAfterMs,
      base.reinitializeAfterMs,
    ),
    buffers: Object.freeze({
      startup: int('buffers.startup', buffers.startup, base.buffers.startup, 0, 0xffff),
      startupOwner: owner('buffers.startupOwner', buffers.startupOwner, base.buffers.startupOwner),
      session:
        buffers.session === null
          ? null
          : buffers.session === undefined
            ? base.buffers.session
            : int('buffers.session', buffers.session, 0, 0, 0xffff),
      hypervisorOwned: int(
        'buffers.hypervisorOwned',
        buffers.hypervisorOwned,
        base.buffers.hypervisorOwned,
        0,
        0xffff,
      ),
    }),
    openAnswer: answer('openAnswer', openAnswer, base.openAnswer),
    closeAnswer: answer('closeAnswer', closeAnswer, base.closeAnswer),
    requestVmc: Object.freeze({
      outcome: vmcOutcome(requestVmc.outcome, base.requestVmc.outcome),
      delayMs: ms('requestVmc.delayMs', requestVmc.delayMs, base.requestVmc.delayMs),
    }),
    openFault: fault(o.openFault, base.openFault),
    openBusyMs: ms('openBusyMs', o.openBusyMs, base.openBusyMs),
    log: logLimit(o.log, base.log),
    logChannel: bool('logChannel', o.logChannel, base.logChannel),
    trace: bool('trace', o.trace, base.trace),
  });
}

/**
 * A module parameter as the driver's load-time scrub leaves it: out-of-range
 * values are pulled to the nearest limit, not refused.
 */
export function clampModuleParameter(
  value: number,
  limits: { readonly min: number; readonly max: number },
): number {
  return Math.min(limits.max, Math.max(limits.min, value));
}

function fail(name: string, value: unknown, expected: string): never {
  throw new FakeDeviceError(
    `fake device option ${name} must be ${expected}, got ${describe(value)}`,
    'ERR_IBMVMC_FAKE_OPTIONS',
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

function int(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(name, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function clamp(
  name: string,
  value: unknown,
  fallback: number,
  limits: { readonly min: number; readonly max: number },
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(name, value, 'an integer');
  return clampModuleParameter(value, limits);
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(name, value, 'a boolean');
  return value;
}

function ms(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(name, value, 'a finite number of milliseconds, 0 or more');
  }
  return value;
}

function msOrNull(name: string, value: unknown, fallback: number | null): number | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  return ms(name, value, 0);
}

function owner(name: string, value: unknown, fallback: BufferOwnerName): BufferOwnerName {
  if (value === undefined) return fallback;
  if (value !== 'partition' && value !== 'hypervisor') {
    fail(name, value, "'partition' or 'hypervisor'");
  }
  return value;
}

function answer(
  name: string,
  value: AnswerOptions,
  base: Readonly<Required<AnswerOptions>>,
): Readonly<Required<AnswerOptions>> {
  return Object.freeze({
    delayMs: msOrNull(`${name}.delayMs`, value.delayMs, base.delayMs),
    status: int(`${name}.status`, value.status, base.status, 0, 0xff),
  });
}

function vmcOutcome(
  value: unknown,
  fallback: number | RequestVmcFailure,
): number | RequestVmcFailure {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && REQUEST_VMC_FAILURES.includes(value)) {
    return value as RequestVmcFailure;
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) {
    return value;
  }
  fail('requestVmc.outcome', value, "a DRC index (u32) or 'EPERM', 'EIO', 'ENODEV', 'EINVAL'");
}

function fault(value: unknown, fallback: OpenFault | null): OpenFault | null {
  if (value === undefined) return fallback;
  if (value === null || value === 'ENOENT' || value === 'EACCES') return value;
  fail('openFault', value, "null, 'ENOENT' or 'EACCES'");
}

function logLimit(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === true) return DEFAULT_LOG_LIMIT;
  if (value === false) return 0;
  return int('log', value, fallback, 0, 10_000_000);
}
