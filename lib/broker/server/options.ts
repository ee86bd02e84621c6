/**
 * The broker's options, checked once at `startBroker()`: everything below
 * takes the settled {@link BrokerSettings} and checks nothing again.
 */
import { InvalidArgumentError } from '../../errors/error-classes';
import type { ClientOptions } from '../../client/options';
import { DEFAULT_MAX_IN_FLIGHT } from '../../client/options';
import { showValue } from '../../protocol/format';
import { silentLog, type BrokerLog } from '../observe/log';
import { noMetrics, type BrokerMetrics } from '../observe/metrics';
import { readIdTables, type IdFiles, type IdTable } from './system-ids';

/** Where the broker listens when neither `socketPath` nor `listenFd` is given. */
export const DEFAULT_BROKER_SOCKET = '/run/ibmvmc/broker.sock';

/** The group the socket belongs to by default, when the system has it. */
export const DEFAULT_BROKER_GROUP = 'hmc';

/** A user or group: a name from /etc/passwd or /etc/group, or a numeric id. */
export type IdSpec = string | number;

/** Options of {@link startBroker}. */
export interface BrokerOptions {
  /** The Unix socket to create (default `/run/ibmvmc/broker.sock`). With `listenFd`, only a label. */
  socketPath?: string;
  /**
   * A listening Unix socket handed over (systemd socket activation: fd 3).
   * The broker then neither creates nor removes a socket file, nor sets its mode.
   */
  listenFd?: number;
  /** The upstream session: what `connect()` takes (`hmcId`, `path`, `sysfsRoot`, `maxInFlight`, ...). */
  session: Omit<ClientOptions, 'signal'>;
  /** The socket's mode (default 0o660). */
  socketMode?: number;
  /** The socket's group: a name or gid (default `hmc` when /etc/group has it, else 0). */
  group?: IdSpec;
  /**
   * Users allowed in fully (names or uids). Root and the broker's own user
   * always are. Given any of `allowUsers`, `allowGroups`, `readOnlyGroups`,
   * only those are let in; given none, whoever can open the socket is.
   */
  allowUsers?: readonly IdSpec[];
  /** Groups allowed in fully (names or gids), by primary or supplementary membership. */
  allowGroups?: readonly IdSpec[];
  /** Groups allowed to listen only: SUBSCRIBE and EVENTs, their REQUESTs refused. */
  readOnlyGroups?: readonly IdSpec[];
  /** Requests one client may have on the session at once (default half the session's, at least 1). */
  maxInFlightPerClient?: number;
  /** Requests waiting in the broker for one client before its socket is no longer read (default 256). */
  maxQueuedPerClient?: number;
  /** Bytes queued to a client that does not read before it is dropped (default 4 MiB). */
  maxOutboundBytes?: number;
  /** How long a client may take to send HELLO (ms, default 5000). */
  helloTimeoutMs?: number;
  /** How long one frame may take to arrive once started (ms, default 10000). */
  frameTimeoutMs?: number;
  /** How long `close()` may take before what is left is destroyed (ms, default 5000). */
  closeTimeoutMs?: number;
  /** Where the broker says what it does (default: nowhere). */
  log?: BrokerLog;
  /** What the broker counts (default: nothing). */
  metrics?: BrokerMetrics;
  /** Other files than /etc/passwd and /etc/group to resolve names with (tests). */
  idFiles?: IdFiles;
}

/** Who may do what, as ids. `restricted` false: anyone who can open the socket is let in. */
export interface PeerPolicy {
  /** Whether any allow list was given; without one the socket's mode and group are the gate. */
  readonly restricted: boolean;
  /** The broker's own uid: always let in, as root is. */
  readonly ownUid: number;
  /** uids let in fully. */
  readonly allowUsers: ReadonlySet<number>;
  /** gids let in fully (primary or supplementary). */
  readonly allowGroups: ReadonlySet<number>;
  /** gids let in to listen only. */
  readonly readOnlyGroups: ReadonlySet<number>;
}

/** Where the broker listens, settled. */
export type ListenSettings =
  | {
      /** A socket the broker creates (and removes at the end). */
      readonly kind: 'path';
      readonly path: string;
      readonly mode: number;
      readonly gid: number;
      /** The group's name, for the log. */
      readonly groupName: string;
    }
  | {
      /** A listening socket handed over; `label` names it in logs. */
      readonly kind: 'fd';
      readonly fd: number;
      readonly label: string;
    };

/** Every option checked, every default filled in. */
export interface BrokerSettings {
  /** Where to listen. */
  readonly listen: ListenSettings;
  /** The upstream `connect()` options, as given (`connect()` checks them). */
  readonly session: Omit<ClientOptions, 'signal'>;
  /** Who is let in. */
  readonly policy: PeerPolicy;
  /** Undefined: half the session's `maxInFlight`, known once it is open. */
  readonly maxInFlightPerClient: number | undefined;
  /** The rest as in {@link BrokerOptions}, defaults filled in. */
  readonly maxQueuedPerClient: number;
  readonly maxOutboundBytes: number;
  readonly helloTimeoutMs: number;
  readonly frameTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly log: BrokerLog;
  readonly metrics: BrokerMetrics;
}

const KNOWN = new Set<string>([
  'socketPath',
  'listenFd',
  'session',
  'socketMode',
  'group',
  'allowUsers',
  'allowGroups',
  'readOnlyGroups',
  'maxInFlightPerClient',
  'maxQueuedPerClient',
  'maxOutboundBytes',
  'helloTimeoutMs',
  'frameTimeoutMs',
  'closeTimeoutMs',
  'log',
  'metrics',
  'idFiles',
]);

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(`${name} must be an integer ≥ 1, got ${showValue(value)}`);
  return value;
}

function milliseconds(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  // A Node timer's range: past it setTimeout would fire at once, with a warning.
  if (typeof value !== 'number' || !(value > 0) || value > 0x7fffffff)
    throw new InvalidArgumentError(
      `${name} must be a number of milliseconds from 1 to 2147483647, got ${showValue(value)}`,
    );
  return value;
}

/** One user or group as an id. */
function resolveId(kind: 'user' | 'group', option: string, spec: unknown, table: IdTable): number {
  if (typeof spec === 'number') {
    if (Number.isSafeInteger(spec) && spec >= 0 && spec < 0xffffffff) return spec;
  } else if (typeof spec === 'string' && spec !== '') {
    if (/^\d+$/.test(spec)) return resolveId(kind, option, Number(spec), table);
    const id = table.get(spec);
    if (id !== undefined) return id;
    throw new InvalidArgumentError(
      `${option}: no ${kind} named "${spec}" in /etc/${kind === 'user' ? 'passwd' : 'group'}`,
    );
  }
  throw new InvalidArgumentError(
    `${option} takes ${kind} names or numeric ids, got ${showValue(spec)}`,
  );
}

function resolveIds(
  kind: 'user' | 'group',
  option: string,
  list: unknown,
  table: IdTable,
): Set<number> {
  if (list === undefined) return new Set();
  if (!Array.isArray(list))
    throw new InvalidArgumentError(
      `${option} must be an array of ${kind}s, got ${showValue(list)}`,
    );
  return new Set(list.map((spec: unknown) => resolveId(kind, option, spec, table)));
}

function resolveListen(options: BrokerOptions, groups: IdTable): ListenSettings {
  if (options.listenFd !== undefined) {
    const fd = options.listenFd;
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff)
      throw new InvalidArgumentError(`listenFd must be a file descriptor, got ${showValue(fd)}`);
    if (options.socketMode !== undefined || options.group !== undefined)
      throw new InvalidArgumentError(
        'socketMode and group apply to a socket the broker creates, not to one handed over with listenFd',
      );
    return { kind: 'fd', fd, label: options.socketPath ?? `fd ${fd}` };
  }
  const path = options.socketPath ?? DEFAULT_BROKER_SOCKET;
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0'))
    throw new InvalidArgumentError(`socketPath must be an absolute path, got ${showValue(path)}`);
  // sun_path holds 108 bytes with its NUL.
  if (Buffer.byteLength(path) > 107)
    throw new InvalidArgumentError(
      `socketPath is ${Buffer.byteLength(path)} bytes; a Unix socket's path holds at most 107`,
    );
  const mode = options.socketMode ?? 0o660;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777)
    throw new InvalidArgumentError(
      `socketMode must be a permission mode from 0 to 0o777, got ${showValue(mode)}`,
    );
  let gid: number;
  let groupName: string;
  if (options.group === undefined) {
    const hmc = groups.get(DEFAULT_BROKER_GROUP);
    gid = hmc ?? 0;
    groupName = hmc === undefined ? 'root' : DEFAULT_BROKER_GROUP;
  } else {
    gid = resolveId('group', 'group', options.group, groups);
    groupName = [...groups].find(([, id]) => id === gid)?.[0] ?? String(gid);
  }
  return { kind: 'path', path, mode, gid, groupName };
}

/**
 * Checks the options and fills in the defaults; names become ids here.
 *
 * @throws InvalidArgumentError naming the first bad option.
 */
export function resolveBrokerOptions(options: BrokerOptions): BrokerSettings {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('startBroker() takes an options object with a session', {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  for (const key of Object.keys(options))
    if (!KNOWN.has(key)) throw new InvalidArgumentError(`startBroker(): unknown option ${key}`);
  if (typeof options.session !== 'object' || options.session === null)
    throw new InvalidArgumentError(
      'startBroker() needs session: the options of the upstream connect() (hmcId, path, ...)',
    );
  if ('signal' in options.session && options.session.signal !== undefined)
    throw new InvalidArgumentError(
      'session.signal is not taken: the broker ends its session with close()',
    );
  const { users, groups } = readIdTables(options.idFiles);
  const allowUsers = resolveIds('user', 'allowUsers', options.allowUsers, users);
  const allowGroups = resolveIds('group', 'allowGroups', options.allowGroups, groups);
  const readOnlyGroups = resolveIds('group', 'readOnlyGroups', options.readOnlyGroups, groups);
  const sessionMax = options.session.maxInFlight;
  return {
    listen: resolveListen(options, groups),
    session: options.session,
    policy: {
      restricted:
        options.allowUsers !== undefined ||
        options.allowGroups !== undefined ||
        options.readOnlyGroups !== undefined,
      ownUid: process.getuid?.() ?? 0,
      allowUsers,
      allowGroups,
      readOnlyGroups,
    },
    maxInFlightPerClient:
      options.maxInFlightPerClient === undefined
        ? typeof sessionMax === 'number'
          ? defaultPerClient(sessionMax)
          : undefined
        : positiveInteger('maxInFlightPerClient', options.maxInFlightPerClient, 1),
    maxQueuedPerClient: positiveInteger('maxQueuedPerClient', options.maxQueuedPerClient, 256),
    maxOutboundBytes: positiveInteger(
      'maxOutboundBytes',
      options.maxOutboundBytes,
      4 * 1024 * 1024,
    ),
    helloTimeoutMs: milliseconds('helloTimeoutMs', options.helloTimeoutMs, 5000),
    frameTimeoutMs: milliseconds('frameTimeoutMs', options.frameTimeoutMs, 10_000),
    closeTimeoutMs: milliseconds('closeTimeoutMs', options.closeTimeoutMs, 5000),
    log: checkHooks('log', options.log, silentLog, ['write']),
    metrics: checkHooks('metrics', options.metrics, noMetrics, Object.keys(noMetrics)),
  };
}

/** Half the session's turns, so no one client can hold them all. */
export function defaultPerClient(sessionMaxInFlight: number | undefined): number {
  return Math.max(1, Math.floor((sessionMaxInFlight ?? DEFAULT_MAX_IN_FLIGHT) / 2));
}

function checkHooks<T extends object>(
  name: string,
  value: T | undefined,
  fallback: T,
  methods: readonly string[],
): T {
  if (value === undefined) return fallback;
  for (const method of methods)
    if (typeof (value as Record<string, unknown>)[method] !== 'function')
      throw new InvalidArgumentError(`${name} must have a ${method}() method`);
  return value;
}
