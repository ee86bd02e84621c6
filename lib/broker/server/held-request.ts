/**
 * A client's request while the broker holds it: queued in the client's own
 * queue, then in flight on the session, until it ends one way or another.
 */
import type { ClientConnection } from './client-connection';

/** Where a held request is. */
export type HeldRequestState = 'queued' | 'in-flight' | 'done';

/** One request the broker holds for a client. */
export interface HeldRequest {
  readonly client: ClientConnection;
  /** The client's own token: its ANSWER or REFUSED carries it back. */
  readonly token: number;
  readonly target: number;
  readonly opcode: number;
  readonly data: Buffer;
  readonly expectResponse: boolean;
  /** `performance.now()` when its REQUEST frame was read. */
  readonly started: number;
  state: HeldRequestState;
  /** Aborts it on the session (CANCEL, GOODBYE, a client gone); only for requests in flight that expect an answer. */
  controller: AbortController | undefined;
}
