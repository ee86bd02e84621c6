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
  | { readonly state: 'absent'; readonly socket: string }
  /** A socket file nobody listens on (a broker that died). */
  | { readonly state: 'stale'; readonly socket: string }
  /** A broker holding a session: it welcomed the probe. */
  | { readonly state: 'serving'; readonly socket: string; readonly mtu: number }
  /** Something listens but did not welcome the probe in time: a broker still waiting for a session. */
  | { readonly state: 'waiting'; readonly socket: string }
  /** The socket or the broker refused this user, or another failure; `reason` says which. */
  | { readonly state: 'refused' | 'error'; readonly socket: string; readonly reason: string };

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
