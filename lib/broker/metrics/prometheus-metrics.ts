/**
 * The broker's hooks (`BrokerMetrics`) as prom-client metrics on a registry
 * the caller owns, so that two brokers in one process never share a series.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BrokerMetrics, BrokerRequestOutcome } from '../observe/metrics';

/** Every metric's name starts with this. */
export const METRIC_PREFIX = 'ibmvmc_broker_';

/**
 * Request durations from 50 µs (an echo on an idle session) to 10 s (a
 * command the HMC is slow to answer); above that only the count tells.
 */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5, 10,
];

/** A target as the label shows it: `0x8000` (as HMC documents and our CLI print them). */
export function targetLabel(target: number): string {
  return `0x${target.toString(16).padStart(4, '0')}`;
}

/**
 * Registers the broker's metrics on `registry` and returns the hooks that move them.
 *
 * @param registry - Where the metrics go; each call needs a registry of its own
 *   (prom-client refuses a name registered twice).
 */
export function createPrometheusMetrics(registry: Registry): BrokerMetrics {
  const registers = [registry];
  const clients = new Gauge({
    name: `${METRIC_PREFIX}clients`,
    help: 'Clients connected now (past the peer check).',
    registers,
  });
  const inFlight = new Gauge({
    name: `${METRIC_PREFIX}in_flight`,
    help: "Clients' requests the broker holds now: queued and in flight on the session.",
    registers,
  });
  const requests = new Counter({
    name: `${METRIC_PREFIX}requests_total`,
    help: "Clients' requests that ended, by HMC target and how they ended.",
    labelNames: ['target', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}request_duration_seconds`,
    help: "Time from a client's REQUEST frame to the request's end, by HMC target.",
    labelNames: ['target'] as const,
    buckets: [...REQUEST_DURATION_BUCKETS],
    registers,
  });
  const sessionResets = new Counter({
    name: `${METRIC_PREFIX}session_resets_total`,
    help: "Resets of the broker's HMC session.",
    registers,
  });
  const lateAnswers = new Counter({
    name: `${METRIC_PREFIX}late_answers_total`,
    help: 'Answers that came after their client had given the request up (dropped).',
    registers,
  });
  const busyRetries = new Counter({
    name: `${METRIC_PREFIX}busy_retries_total`,
    help: 'Sends retried because the driver said EBUSY.',
    registers,
  });
  const peerRefused = new Counter({
    name: `${METRIC_PREFIX}peer_refused_total`,
    help: 'Connections refused by the peer check, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const clientsDropped = new Counter({
    name: `${METRIC_PREFIX}clients_dropped_total`,
    help: 'Clients the broker disconnected, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });

  return {
    setClients(count) {
      clients.set(count);
    },
    setInFlight(count) {
      inFlight.set(count);
    },
    requestDone(target: number, outcome: BrokerRequestOutcome, seconds: number) {
      const label = targetLabel(target);
      requests.inc({ target: label, outcome });
      // A clock step backwards must not throw in the broker's path: count it as 0.
      duration.observe({ target: label }, Math.max(0, seconds));
    },
    sessionReset() {
      sessionResets.inc();
    },
    lateAnswer() {
      lateAnswers.inc();
    },
    busyRetries(by) {
      // prom-client throws on a negative increment; 0 retries is nothing to count.
      if (by > 0) busyRetries.inc(by);
    },
    peerRefused(reason) {
      peerRefused.inc({ reason });
    },
    clientDropped(reason) {
      clientsDropped.inc({ reason });
    },
  };
}
