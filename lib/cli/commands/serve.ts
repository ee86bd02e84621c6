/**
 * `ibmvmc serve`: the broker. Holds the HMC session and shares it with local
 * programs over a Unix socket (docs/broker-protocol.md) until SIGINT or
 * SIGTERM; logs JSON lines on stderr.
 */
import { startBroker, type BrokerOptions } from '../../broker/server/index';
import { DEFAULT_BROKER_SOCKET } from '../../broker/server/options';
import { startMetricsServer } from '../../broker/metrics/index';
import { createJsonLog } from '../../broker/observe/log';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';
import { stringOption, type OptionValues } from '../option-values';
import { parseInteger } from '../parse-values';
import { activationFd } from '../socket-activation';
import { UsageError } from '../usage-error';

/** A repeatable, comma-separated list option: every value given, split. */
function listOption(values: OptionValues, name: string): string[] | undefined {
  const raw = (values as Readonly<Record<string, unknown>>)[name];
  if (raw === undefined) return undefined;
  const given = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  const items = given.flatMap((v) => String(v).split(',')).map((v) => v.trim());
  if (items.some((v) => v === ''))
    throw new UsageError(`--${name} takes a comma-separated list of names or ids`, 'serve');
  return items;
}

/** `ibmvmc serve`. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'the broker: share one HMC session with local programs over a Unix socket',
  synopsis:
    'serve [--socket PATH] [--group NAME|GID] [--allow-user LIST] [--allow-group LIST] ' +
    '[--read-only-group LIST] [--max-in-flight-per-client N] [--metrics HOST:PORT|PATH]',
  description: [
    'Opens a session and its command path (retrying until the device is ready, and',
    'again after every reset) and shares it with the programs that connect to the',
    'socket: their requests go out in turn, each answer back to its own client.',
    'Logs one JSON object per line on stderr. Runs until SIGINT or SIGTERM, then says',
    'GOODBYE to every client, closes the session, removes the socket and exits 0.',
    'Under systemd socket activation (LISTEN_FDS) it serves the socket it is handed.',
    'Without --allow-user, --allow-group or --read-only-group, whoever can open the',
    'socket may use it (its mode 0660 and its group decide); with them, only those',
    'users and groups, root and the broker’s own user.',
  ].join('\n'),
  options: {
    socket: { type: 'string' },
    group: { type: 'string' },
    'allow-user': { type: 'string', multiple: true },
    'allow-group': { type: 'string', multiple: true },
    'read-only-group': { type: 'string', multiple: true },
    'max-in-flight-per-client': { type: 'string' },
    metrics: { type: 'string' },
  },
  optionHelp: [
    ['--socket PATH', `the broker's socket (default ${DEFAULT_BROKER_SOCKET})`],
    ['--group NAME|GID', 'the socket’s group (default hmc if the system has it, else root)'],
    ['--allow-user LIST', 'users let in (names or uids, comma-separated; repeatable)'],
    ['--allow-group LIST', 'groups let in (names or gids, comma-separated; repeatable)'],
    ['--read-only-group LIST', 'groups that may only listen to events (repeatable)'],
    [
      '--max-in-flight-per-client N',
      'requests one client may have on the session at once (default half the session’s)',
    ],
    ['--metrics HOST:PORT|PATH', 'serve Prometheus metrics there'],
  ],
  usesDevice: true,
  async run(context) {
    const values = context.values;
    const perClient = stringOption(values, 'max-in-flight-per-client');
    const listenFd = activationFd(process.env, process.pid);
    const log = createJsonLog(process.stderr, { debug: context.debug });
    const options: BrokerOptions = {
      socketPath: stringOption(values, 'socket') ?? (listenFd === undefined ? undefined : 'fd 3'),
      listenFd,
      group: listenFd === undefined ? stringOption(values, 'group') : undefined,
      allowUsers: listOption(values, 'allow-user'),
      allowGroups: listOption(values, 'allow-group'),
      readOnlyGroups: listOption(values, 'read-only-group'),
      maxInFlightPerClient:
        perClient === undefined
          ? undefined
          : parseInteger('--max-in-flight-per-client', perClient, 1, 0xffff),
      session: {
        hmcId: context.hmcId,
        path: context.device,
        sysfsRoot: context.sysfsRoot,
        timeoutMs: context.timeoutMs,
      },
      log,
    };
    if (listenFd !== undefined && stringOption(values, 'group') !== undefined)
      throw new UsageError(
        '--group applies to a socket serve creates, not to one systemd hands over',
        'serve',
      );
    const metricsAt = stringOption(values, 'metrics');
    const metricsServer =
      metricsAt === undefined ? undefined : await startMetricsServer(metricsAt, { log });
    let broker;
    try {
      broker = await startBroker({ ...options, metrics: metricsServer?.metrics });
    } catch (error) {
      await metricsServer?.close();
      throw error;
    }
    try {
      await new Promise<void>((resolve) => {
        if (context.signal.aborted) resolve();
        else context.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      await broker.close();
      await metricsServer?.close();
    }
    return EXIT.OK;
  },
};
