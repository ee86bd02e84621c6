/**
 * STUB, to be replaced at merge by the real module (prom-client behind the
 * broker's metrics hooks, served over HTTP), written in another worktree.
 * Only its signature is here, so `ibmvmc serve --metrics` compiles.
 */
import type { BrokerLog } from '../observe/log';
import type { BrokerMetrics } from '../observe/metrics';

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The hooks to give the broker. */
  metrics: BrokerMetrics;
  /** Where it listens, for the log. */
  address: string;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * Serves the broker's metrics at `where` (`HOST:PORT` or a socket path).
 *
 * @throws Error always, in this stub.
 */
export function startMetricsServer(
  where: string,
  options: { log: BrokerLog },
): Promise<{ metrics: BrokerMetrics; address: string; close(): Promise<void> }> {
  void where;
  void options;
  return Promise.reject(new Error('not built yet: lib/broker/metrics is written elsewhere'));
}
