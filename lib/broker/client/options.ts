/**
 * What `connect({ broker })` takes, checked once at `connect()`.
 */
import * as path from 'node:path';
import { InvalidArgumentError } from '../../errors/error-classes';
import { kindOf } from '../../protocol/format';
import type { ClientSettingsInit } from '../../client/options';
import { BROKER_MAX_STRING_LENGTH, BROKER_MAX_SUBSCRIBE_TARGETS } from '../wire/constants';

/** Which unsolicited messages the broker sends a client: every target's, none, or these targets'. */
export type BrokerEvents = 'all' | 'none' | readonly number[];

/** Options of `connect()` through a broker (`ibmvmc serve`) instead of a session of one's own. */
export interface BrokerClientOptions extends ClientSettingsInit {
  /** The broker's socket path, e.g. `/run/ibmvmc/broker.sock` (`DEFAULT_BROKER_SOCKET`). */
  broker: string;
  /** How long connecting may take, the broker's welcome included. Default 10000 ms. */
  timeoutMs?: number;
  /** Abandons connecting. */
  signal?: AbortSignal;
  /** This program's name in the broker's logs. Default: the script's file name. */
  clientName?: string;
  /**
   * Unsolicited messages the broker sends this client (its `unsolicited`
   * events). Default `all`: as on a session of one's own.
   */
  events?: BrokerEvents;
}

/** The broker-specific options, settled. */
export interface BrokerSettings {
  readonly path: string;
  readonly clientName: string;
  readonly events: BrokerEvents;
}

/** The name a program goes by in the broker's logs when it gives none. */
function defaultClientName(): string {
  const script = process.argv[1];
  return script ? path.basename(script) : path.basename(process.execPath);
}

/**
 * Checks the options that only a broker connection has.
 *
 * @throws InvalidArgumentError naming the first bad value.
 */
export function resolveBrokerSettings(options: BrokerClientOptions): BrokerSettings {
  const socketPath = options.broker;
  if (typeof socketPath !== 'string' || socketPath.length === 0)
    throw new InvalidArgumentError(
      `broker must be the broker's socket path, got ${kindOf(socketPath)}`,
      { code: 'ERR_INVALID_ARG_TYPE' },
    );
  const clientName = options.clientName ?? defaultClientName();
  if (
    typeof clientName !== 'string' ||
    clientName.length === 0 ||
    Buffer.byteLength(clientName) > BROKER_MAX_STRING_LENGTH
  )
    throw new InvalidArgumentError(
      `clientName must be a string of 1 to ${BROKER_MAX_STRING_LENGTH} bytes, got ${kindOf(clientName)}`,
    );
  const events = options.events ?? 'all';
  if (events !== 'all' && events !== 'none') {
    const valid =
      Array.isArray(events) &&
      events.length <= BROKER_MAX_SUBSCRIBE_TARGETS &&
      new Set(events).size === events.length &&
      events.every((t) => Number.isInteger(t) && t >= 0 && t <= 0xffff);
    if (!valid)
      throw new InvalidArgumentError(
        `events must be "all", "none" or at most ${BROKER_MAX_SUBSCRIBE_TARGETS} distinct targets (0..0xFFFF), got ${kindOf(events)}`,
      );
  }
  return { path: socketPath, clientName: clientName || 'node', events };
}
