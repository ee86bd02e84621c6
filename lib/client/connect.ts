/**
 * `connect()`: a session and its command path in one call, under one deadline.
 */
import { readModuleParameters } from '../device/module-parameters';
import { InvalidArgumentError, TimeoutError } from '../errors/error-classes';
import { Deadline, validateSignal, validateTimeout } from '../session/deadline';
import { HmcSession } from '../session/session';
import { resolveSessionSettings } from '../session/settings';
import { BrokerTransport } from '../broker/client/broker-transport';
import { connectBroker } from '../broker/client/connect-broker';
import { resolveBrokerSettings, type BrokerClientOptions } from '../broker/client/options';
import { BROKER_ENV } from '../broker/client/socket-path';
import { HmcClient } from './client';
import { resolveClientSettings, type ClientOptions } from './options';

/**
 * Opens an HMC session and its command path (router exchange options), and
 * resolves once the router has answered; or, with `broker`, connects to a
 * broker (`ibmvmc serve`) that shares its session: the client is the same.
 *
 * ```ts
 * await using client = await connect({ hmcId: 'my-hmc', timeoutMs: 10_000 });
 * await client.echo(Buffer.from('hello'));
 * ```
 *
 * Without `path` and without `broker`, the environment's `IBMVMC_BROKER`
 * (a broker's socket path), when set, sends the client through that broker.
 *
 * @param options - The session's options (`hmcId`, `path`, `sysfsRoot`, ...;
 *   see `open()`), or `broker` and its options; and the client's own
 *   (`requestTimeoutMs`, `closeTimeoutMs`, `maxInFlight`). `timeoutMs` bounds
 *   the whole connect, retries included.
 * @throws What `open()` throws; HmcCommandError if the router refuses the
 *   options; through a broker, BrokerUnavailableError when none listens,
 *   PermissionDeniedError when it refuses this user.
 */
export function connect(options: BrokerClientOptions): Promise<HmcClient<BrokerTransport>>;
export function connect(options: ClientOptions & { path: string }): Promise<HmcClient<HmcSession>>;
export function connect(
  options: ClientOptions | BrokerClientOptions,
): Promise<HmcClient<HmcSession> | HmcClient<BrokerTransport>>;
export async function connect(
  options: ClientOptions | BrokerClientOptions,
): Promise<HmcClient<HmcSession> | HmcClient<BrokerTransport>> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('connect() takes an options object with an hmcId', {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  const fromEnv = process.env[BROKER_ENV];
  if ('broker' in options && options.broker !== undefined) return viaBroker(options);
  if (!('path' in options && options.path !== undefined) && fromEnv)
    return viaBroker({ ...pickClientSettings(options), broker: fromEnv });
  return direct(options as ClientOptions);
}

/** The options a broker connection shares with a session's. */
function pickClientSettings(options: ClientOptions | BrokerClientOptions) {
  const { timeoutMs, signal, requestTimeoutMs, closeTimeoutMs, maxInFlight } = options;
  return { timeoutMs, signal, requestTimeoutMs, closeTimeoutMs, maxInFlight };
}

async function viaBroker(options: BrokerClientOptions): Promise<HmcClient<BrokerTransport>> {
  const broker = resolveBrokerSettings(options);
  const timeoutMs = validateTimeout(options.timeoutMs, 'timeoutMs', 10_000);
  const signal = validateSignal(options.signal);
  const settings = resolveClientSettings(options);
  return connectBroker(broker, settings, { timeoutMs, signal });
}

async function direct(options: ClientOptions): Promise<HmcClient<HmcSession>> {
  const { requestTimeoutMs, closeTimeoutMs, maxInFlight, ...sessionOptions } = options;
  if ('reconnect' in sessionOptions && sessionOptions.reconnect !== undefined)
    throw new InvalidArgumentError(
      'the client does not reconnect: a new session needs a new command path, so connect again after a reset',
    );
  // Every option checked here, once, before the session is opened; the layers below take them settled.
  const open = resolveSessionSettings(sessionOptions);
  let settings = resolveClientSettings({ requestTimeoutMs, closeTimeoutMs, maxInFlight });
  const deadline = new Deadline(open.timeoutMs);
  if (maxInFlight === undefined) {
    // The pool the driver asks the hypervisor for; it may lend fewer (then sends wait for EBUSY to pass).
    const params = await readModuleParameters({ sysfsRoot: open.sysfsRoot });
    if (params.loaded) settings = { ...settings, maxInFlight: params.bufPoolSize };
  }
  const session = await HmcSession.openSettled(open);
  try {
    return await HmcClient.attachSettled(session, settings, {
      timeoutMs: deadline.remaining(),
      signal: open.signal,
    });
  } catch (error) {
    // The caller gave one deadline for the whole connect: say so, with the step that ran out.
    if (error instanceof TimeoutError)
      throw new TimeoutError(
        `could not open the command path on ${session.path} within ${open.timeoutMs} ms: ${error.message}`,
        { cause: error },
      );
    throw error;
  }
}
