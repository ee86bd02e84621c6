/**
 * prom-client's standard process metrics (CPU, memory, fds, event loop lag,
 * GC), collected once per process.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

let shared: Registry | undefined;

/**
 * The registry holding this process's standard metrics, made on first use.
 * Once per process, not per metrics server: collectDefaultMetrics starts an
 * event-loop-delay monitor and a GC observer that prom-client never stops, so
 * a registry per server would pile them up with every start (tests start many);
 * and they describe the process, which every broker in it shares.
 */
export function processMetricsRegistry(): Registry {
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
