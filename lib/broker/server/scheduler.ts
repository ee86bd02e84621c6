/**
 * Whose request goes to the session next: round robin over the clients
 * with requests queued, one request per turn. The session's own queue stays
 * empty (a request is submitted only when the session has a turn free), so
 * this is the only order there is, and a client streaming flat out delays
 * another's request by at most one turn.
 */
import { Fifo } from './fifo';

/** What the scheduler needs of a client. */
export interface TurnTaker {
  /** Whether it is in the ring; the scheduler's to set. */
  scheduled: boolean;
}

/** Round robin over clients waiting for a turn. */
export class RoundRobin<C extends TurnTaker> {
  readonly #ring = new Fifo<C>();
  readonly #wantsTurn: (client: C) => boolean;
  readonly #hasRoom: () => boolean;
  readonly #takeTurn: (client: C) => void;
  #pumping = false;

  /**
   * @param wantsTurn - Whether a client has a request queued and a turn of its own free.
   * @param hasRoom - Whether the session has a turn free.
   * @param takeTurn - Submits one of the client's queued requests.
   */
  constructor(
    wantsTurn: (client: C) => boolean,
    hasRoom: () => boolean,
    takeTurn: (client: C) => void,
  ) {
    this.#wantsTurn = wantsTurn;
    this.#hasRoom = hasRoom;
    this.#takeTurn = takeTurn;
  }

  /** Puts a client at the back of the ring if it wants a turn and is not there yet. */
  wake(client: C): void {
    if (!client.scheduled && this.#wantsTurn(client)) {
      client.scheduled = true;
      this.#ring.push(client);
    }
  }

  /** Gives turns while the session has room. */
  pump(): void {
    if (this.#pumping) return; // a turn that ends at once must not recurse
    this.#pumping = true;
    try {
      while (this.#hasRoom()) {
        const client = this.#ring.shift();
        if (client === undefined) break;
        client.scheduled = false;
        // It may have gone, been reset or hit its own limit since it was woken.
        if (!this.#wantsTurn(client)) continue;
        this.#takeTurn(client);
        this.wake(client);
      }
    } finally {
      this.#pumping = false;
    }
  }
}
