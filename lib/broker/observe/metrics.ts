/**
 * What the broker counts. The broker calls these hooks; `--metrics` backs
 * them with prom-client (lib/broker/metrics/), otherwise they cost nothing.
 */

/** How a client's request ended, as the broker saw it. */
export type BrokerRequestOutcome =
  /** The session answered with return code 0. */
  | 'answered'
  /** The session answered with a non-zero return code. */
  | 'command-error'
  /** Sent, and it expected no answer. */
  | 'sent'
  /** The broker refused it (read-only role, session down, bad message). */
  | 'refused'
  /** The client cancelled it, or went away while it was in flight. */
  | 'cancelled'
  /** The session was reset while it was in flight. */
  | 'reset'
  /** Sending it failed another way. */
  | 'failed';

/** The hooks the broker calls as things happen. */
export interface BrokerMetrics {
  /** Clients connected now (after the peer check). */
  setClients(count: number): void;
  /** Requests the broker holds for clients now: queued and in flight on the session. */
  setInFlight(count: number): void;
  /** One request ended; `seconds` from its REQUEST frame to its end. */
  requestDone(target: number, outcome: BrokerRequestOutcome, seconds: number): void;
  /** The broker's session was reset. */
  sessionReset(): void;
  /** An answer came for a request its client had given up: dropped. */
  lateAnswer(): void;
  /** The session retried a send because the driver said EBUSY (`by` retries at once). */
  busyRetries(by: number): void;
  /** A connection refused by the peer check (`reason`: `user`, `group`, ...). */
  peerRefused(reason: string): void;
  /** A client disconnected by the broker (`reason`: `protocol`, `slow-reader`, `frame-timeout`, ...). */
  clientDropped(reason: string): void;
}

/** Metrics that go nowhere: the broker without `--metrics`. */
export const noMetrics: BrokerMetrics = {
  setClients() {},
  setInFlight() {},
  requestDone() {},
  sessionReset() {},
  lateAnswer() {},
  busyRetries() {},
  peerRefused() {},
  clientDropped() {},
};
