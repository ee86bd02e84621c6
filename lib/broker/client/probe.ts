/**
 * Is a broker there, and does it hold a session? What `ibmvmc status` asks
 * of the broker's socket, without sending a request.
 */
import { BrokerUnavailableError, TimeoutError } from '../../errors/error-classes';
import { encodeBrokerFrame } from '../wire/encode';
import { openBrokerConnection } from './hello';

/** What a probe of a broker's socket found. */
export type BrokerProbe =
  /** Nothing at the path. */
  | {
      /** What the probe found. */
      readonly state: 'absent';
      /** The socket path probed. */
      readonly socket: string;
    }
  /** A socket file nobody listens on (a broker that died). */
  | {
      /** What the probe found. */
      readonly state: 'stale';
      /** The socket path probed. */
      readonly socket: string;
    }
  /** A broker holding a session: it welcomed the probe. */
  | {
      /** What the probe found. */
      readonly state: 'serving';
      /** The socket path probed. */
      readonly socket: string;
      /** The MTU of the broker's session, from its welcome. */
      readonly mtu: number;
    }
  /** Something listens but did not welcome the probe in time: a broker still waiting for a session. */
  | {
      /** What the probe found. */
      readonly state: 'waiting';
      /** The socket path probed. */
      readonly socket: string;
    }
  /** The socket or the broker refused this user, or another failure; `reason` says which. */
  | {
      /** What the probe found. */
      readonly state: 'refused' | 'error';
      /** The socket path probed. */
      readonly socket: string;
      /** The failure's message. */
      readonly reason: string;
    };

/**
 * Connects to the broker's socket, says HELLO, and says GOODBYE as soon as
 * it is welcomed. Never throws.
 *
 * @param socket - The broker's socket path.
 * @param timeoutMs - How long to wait for the welcome.
 */
export async function probeBroker(socket: string, timeoutMs = 1000): Promise<BrokerProbe> {
  try {
    const connection = await openBrokerConnection({
      path: socket,
      timeoutMs,
      signal: undefined,
      clientName: 'ibmvmc status',
    });
    connection.attach(
      () => {},
      () => {},
    );
    const closed = new Promise((resolve) => connection.socket.once('close', resolve));
    connection.socket.on('error', () => {}); // a broker gone already: the probe is over anyway
    connection.socket.end(encodeBrokerFrame({ type: 'goodbye', reason: 'status probe' }));
    const timer = setTimeout(() => connection.socket.destroy(), timeoutMs);
    await closed;
    clearTimeout(timer);
    return { state: 'serving', socket, mtu: connection.mtu };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (error instanceof BrokerUnavailableError && code === 'ENOENT')
      return { state: 'absent', socket };
    if (error instanceof BrokerUnavailableError && code === 'ECONNREFUSED')
      return { state: 'stale', socket };
    if (error instanceof TimeoutError) return { state: 'waiting', socket };
    const reason = error instanceof Error ? error.message : String(error);
    return { state: code === 'EACCES' || code === 'EPERM' ? 'refused' : 'error', socket, reason };
  }
}
