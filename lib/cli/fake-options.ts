/**
 * Options that shape a fake device, for `fake-device` and for `--fake`. Same
 * names as the fake's own runner (`node dist/cjs/fake/main.js`), so what
 * works there works here.
 */
import type { FakeDeviceOptions, OpenFault, RequestVmcFailure } from '../fake/options';
import type { DriverOnlyOption } from '../fake/qemu/options';
import { stringOption, type OptionHelp, type OptionSpec, type OptionValues } from './option-values';
import { parseInteger, parseMs } from './parse-values';
import { UsageError } from './usage-error';

/** A fake-device option: how it is typed, what it means, and where its value goes. */
interface FakeOption {
  readonly name: string;
  readonly value: string | undefined;
  readonly meaning: string;
  /** The option it sets when only the fake driver or the shim honours it (not `fake-hypervisor`). */
  readonly driverOnly?: DriverOnlyOption;
  apply(options: FakeDeviceOptions, text: string | true): void;
}

const U32 = 0xffffffff;

function int(name: string, text: string | true, max = U32): number {
  return parseInteger(`--${name}`, String(text), 0, max);
}

const OPTIONS: readonly FakeOption[] = [
  {
    name: 'mtu',
    value: 'N',
    meaning: 'MTU the hypervisor offers (4096)',
    apply: (o, t) => (o.mtu = int('mtu', t)),
  },
  {
    name: 'pool',
    value: 'N',
    meaning: 'buffers per session the hypervisor offers (16)',
    apply: (o, t) => (o.poolSize = int('pool', t, 0xffff)),
  },
  {
    name: 'slots',
    value: 'N',
    meaning: 'HMC slots the hypervisor offers (2)',
    apply: (o, t) => (o.slots = int('slots', t, 0xff)),
  },
  {
    name: 'protocol-version',
    value: 'N',
    meaning: 'hypervisor protocol version (0x0101; another major byte fails the driver)',
    apply: (o, t) => (o.protocolVersion = int('protocol-version', t, 0xffff)),
  },
  {
    name: 'max-mtu',
    value: 'N',
    meaning: 'module parameter max_mtu (4096)',
    apply: (o, t) => (o.maxMtu = int('max-mtu', t)),
  },
  {
    name: 'buf-pool-size',
    value: 'N',
    meaning: 'module parameter buf_pool_size (32)',
    apply: (o, t) => (o.bufPoolSize = int('buf-pool-size', t)),
  },
  {
    name: 'max-hmcs',
    value: 'N',
    meaning: 'module parameter max_hmcs (1)',
    apply: (o, t) => (o.maxHmcs = int('max-hmcs', t)),
  },
  {
    name: 'no-vmc',
    value: undefined,
    meaning: 'no VMC adapter: the driver stays in state initial',
    driverOnly: 'haveVmc',
    apply: (o) => (o.haveVmc = false),
  },
  {
    name: 'startup-ms',
    value: 'MS',
    meaning: 'time in state crqinit at start-up (0)',
    apply: (o, t) => (o.startup = { ...o.startup, crqinitMs: parseMs('--startup-ms', String(t)) }),
  },
  {
    name: 'capabilities-ms',
    value: 'MS',
    meaning: 'time in state capabilities (0)',
    apply: (o, t) =>
      (o.startup = { ...o.startup, capabilitiesMs: parseMs('--capabilities-ms', String(t)) }),
  },
  {
    name: 'buffers-ms',
    value: 'MS',
    meaning: 'delay of the start-up buffers: SETHMCID gets ENOBUFS meanwhile (0)',
    apply: (o, t) => (o.startup = { ...o.startup, buffersMs: parseMs('--buffers-ms', String(t)) }),
  },
  {
    name: 'startup-buffers',
    value: 'N',
    meaning: 'buffers lent per slot at start-up (1; 0 withholds them: SETHMCID gets ENOBUFS)',
    apply: (o, t) => (o.buffers = { ...o.buffers, startup: int('startup-buffers', t, 0xffff) }),
  },
  {
    name: 'startup-owner',
    value: 'WHO',
    meaning: 'owner of the start-up buffers: partition or hypervisor (partition)',
    apply: (o, t) => {
      if (t !== 'partition' && t !== 'hypervisor')
        throw new UsageError(`--startup-owner takes partition or hypervisor, got "${String(t)}"`);
      o.buffers = { ...o.buffers, startupOwner: t };
    },
  },
  {
    name: 'session-buffers',
    value: 'N',
    meaning: 'partition-owned buffers lent per session (default: fills the pool)',
    apply: (o, t) => (o.buffers = { ...o.buffers, session: int('session-buffers', t, 0xffff) }),
  },
  {
    name: 'hv-buffers',
    value: 'N',
    meaning: 'hypervisor-owned buffers per session, for unsolicited messages (0)',
    apply: (o, t) => (o.buffers = { ...o.buffers, hypervisorOwned: int('hv-buffers', t, 0xffff) }),
  },
  {
    name: 'open-delay-ms',
    value: 'MS|never',
    meaning: 'delay of the hypervisor’s answer to a session open (0)',
    apply: (o, t) =>
      (o.openAnswer = { ...o.openAnswer, delayMs: parseMs('--open-delay-ms', String(t), null) }),
  },
  {
    name: 'open-status',
    value: 'N',
    meaning: 'status of the open answer (0; non-zero refuses the session)',
    apply: (o, t) => (o.openAnswer = { ...o.openAnswer, status: int('open-status', t, 0xff) }),
  },
  {
    name: 'close-delay-ms',
    value: 'MS|never',
    meaning: 'delay of the answer to a session close (0)',
    apply: (o, t) =>
      (o.closeAnswer = {
        ...o.closeAnswer,
        delayMs: parseMs('--close-delay-ms', String(t), null),
      }),
  },
  {
    name: 'close-status',
    value: 'N',
    meaning: 'status of the close answer (0; non-zero resets the whole driver)',
    apply: (o, t) => (o.closeAnswer = { ...o.closeAnswer, status: int('close-status', t, 0xff) }),
  },
  {
    name: 'reinit-ms',
    value: 'MS|never',
    meaning: 'time the hypervisor stays away after a reset (10)',
    apply: (o, t) => (o.reinitializeAfterMs = parseMs('--reinit-ms', String(t), null)),
  },
  {
    name: 'requestvmc',
    value: 'OUTCOME',
    meaning: 'REQUESTVMC answer: a DRC index, or EPERM, EIO, ENODEV, EINVAL (0x30000001)',
    apply: (o, t) => {
      const text = String(t);
      o.requestVmc = {
        ...o.requestVmc,
        outcome: ['EPERM', 'EIO', 'ENODEV', 'EINVAL'].includes(text)
          ? (text as RequestVmcFailure)
          : int('requestvmc', text),
      };
    },
  },
  {
    name: 'requestvmc-delay-ms',
    value: 'MS',
    meaning: 'duration of the REQUESTVMC hypervisor call (0)',
    apply: (o, t) =>
      (o.requestVmc = { ...o.requestVmc, delayMs: parseMs('--requestvmc-delay-ms', String(t)) }),
  },
  {
    name: 'open-fault',
    value: 'ERRNO',
    meaning: 'open() of the device fails with ENOENT or EACCES',
    driverOnly: 'openFault',
    apply: (o, t) => {
      if (t !== 'ENOENT' && t !== 'EACCES')
        throw new UsageError(`--open-fault takes ENOENT or EACCES, got "${String(t)}"`);
      o.openFault = t as OpenFault;
    },
  },
  {
    name: 'open-busy-ms',
    value: 'MS',
    meaning: 'open() fails with EBUSY for this long, as drivers before 4.19 did (0)',
    driverOnly: 'openBusyMs',
    apply: (o, t) => (o.openBusyMs = parseMs('--open-busy-ms', String(t))),
  },
  {
    name: 'trace',
    value: undefined,
    meaning: 'print every call and message of the fake on stderr',
    apply: (o) => (o.trace = true),
  },
];

/** The fake options in parseArgs' format. */
export const FAKE_OPTION_SPEC: OptionSpec = Object.fromEntries(
  OPTIONS.map((o) => [o.name, { type: o.value === undefined ? 'boolean' : 'string' } as const]),
);

function help(o: FakeOption): OptionHelp {
  return [`--${o.name}${o.value === undefined ? '' : ` ${o.value}`}`, o.meaning];
}

/** The fake options for help texts. */
export const FAKE_OPTION_HELP: readonly OptionHelp[] = OPTIONS.map(help);

/** The fake options that shape the hypervisor alone (`fake-hypervisor`), for its help text. */
export const FAKE_HYPERVISOR_OPTION_HELP: readonly OptionHelp[] = OPTIONS.filter(
  (o) => o.driverOnly === undefined,
).map(help);

/**
 * The first option given that only the fake driver or the shim honours.
 *
 * @param values - Parsed options.
 * @returns Its flag (`--no-vmc`) and the option it sets, or undefined.
 */
export function driverOnlyOptionGiven(
  values: OptionValues,
): { flag: string; option: DriverOnlyOption } | undefined {
  const o = OPTIONS.find((o) => o.driverOnly !== undefined && isGiven(values, o));
  return o?.driverOnly === undefined ? undefined : { flag: `--${o.name}`, option: o.driverOnly };
}

/**
 * The fake options given on the command line, as FakeDeviceOptions.
 *
 * @param values - Parsed options.
 * @returns The options, and the names of those given (empty: none).
 */
export function fakeOptionsFrom(values: OptionValues): {
  options: FakeDeviceOptions;
  given: string[];
} {
  const options: FakeDeviceOptions = {};
  const given: string[] = [];
  for (const option of OPTIONS) {
    if (!isGiven(values, option)) continue;
    given.push(`--${option.name}`);
    option.apply(
      options,
      option.value === undefined ? true : (stringOption(values, option.name) ?? ''),
    );
  }
  return { options, given };
}

function isGiven(values: OptionValues, option: FakeOption): boolean {
  const raw = values[option.name];
  return raw !== undefined && raw !== false;
}
