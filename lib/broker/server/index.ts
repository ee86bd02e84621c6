/**
 * The broker's server side: `startBroker()` and what it takes and gives.
 */
import { Broker } from './broker';
import { openListener } from './listen-socket';
import { resolveBrokerOptions, type BrokerOptions } from './options';

export { Broker } from './broker';
export type { BrokerClientInfo, BrokerEvents } from './broker';
export { BROKER_ERROR_CODE } from './codes';
export { DEFAULT_BROKER_SOCKET, DEFAULT_BROKER_GROUP } from './options';
export type { BrokerOptions, IdSpec } from './options';
export type { IdFiles } from './system-ids';
export type { ClientRole } from './peer-check';

/**
 * Starts a broker: checks the options, listens at once, and connects the
 * upstream session in the background (retrying until it is up; clients'
 * HELLOs wait for it).
 *
 * ```ts
 * const broker = await startBroker({ session: { hmcId: 'my-hmc' }, log: createJsonLog(process.stderr) });
 * process.once('SIGTERM', () => void broker.close());
 * ```
 *
 * @throws InvalidArgumentError for a bad option, a broker already running on
 *   the socket path, or a non-socket there; the system's errors from
 *   creating the socket (EACCES, ...).
 */
export async function startBroker(options: BrokerOptions): Promise<Broker> {
  const settings = resolveBrokerOptions(options);
  const listener = await openListener(settings.listen);
  const listen = settings.listen;
  settings.log.write(
    'info',
    'listening',
    listen.kind === 'path'
      ? { path: listen.path, mode: `0${listen.mode.toString(8)}`, group: listen.groupName }
      : { path: listen.label, fd: listen.fd },
  );
  return new Broker(settings, listener);
}
