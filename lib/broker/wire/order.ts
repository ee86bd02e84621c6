/**
 * The order frames may come in on one connection, one direction at a time.
 * The codec checks each frame alone; this checks where it stands in the
 * conversation (docs/broker-protocol.md, "Order").
 */
import { BrokerProtocolError } from './error';
import type { BrokerFrameFrom, BrokerFrameSender } from './frames';

/**
 * Where one side's frames stand:
 * - `start`: nothing yet (a client's first frame must be HELLO; the broker's
 *   WELCOME, ERROR or GOODBYE);
 * - `open`: after HELLO, or WELCOME (or RECONNECT);
 * - `reset`: the broker said RESET and has not yet said RECONNECT;
 * - `ended`: after GOODBYE or ERROR; nothing may follow.
 */
export type BrokerConversationPhase = 'start' | 'open' | 'reset' | 'ended';

/**
 * Checks that the frames one side sends come in an order the protocol allows.
 * The broker keeps one per connection for the client's frames, a client one
 * for the broker's. After a refusal the conversation is over: every later
 * frame is refused too.
 */
export class BrokerFrameOrder<S extends BrokerFrameSender> {
  #phase: BrokerConversationPhase = 'start';

  /** @param from - Whose frames are checked. */
  constructor(readonly from: S) {}

  /** Where the conversation stands, after the frames accepted so far. */
  get phase(): BrokerConversationPhase {
    return this.#phase;
  }

  /**
   * Takes the next frame `from` sent.
   *
   * @throws BrokerProtocolError `out-of-order` if the protocol does not allow
   *   it here (the phase then becomes `ended`).
   */
  accept(frame: BrokerFrameFrom<S>): void {
    const next =
      this.from === 'client'
        ? clientNext(this.#phase, frame.type)
        : brokerNext(this.#phase, frame.type);
    if (typeof next !== 'string') {
      const was = this.#phase;
      this.#phase = 'ended';
      throw new BrokerProtocolError(
        'out-of-order',
        `${frame.type.toUpperCase()} from the ${this.from} ${next.why} (phase ${was})`,
      );
    }
    this.#phase = next;
  }
}

type Step = BrokerConversationPhase | { why: string };

function clientNext(phase: BrokerConversationPhase, type: string): Step {
  if (phase === 'ended') return { why: 'after its GOODBYE' };
  if (phase === 'start') return type === 'hello' ? 'open' : { why: 'before HELLO' };
  switch (type) {
    case 'hello':
      return { why: 'after HELLO: one HELLO per connection' };
    case 'request':
    case 'cancel':
    case 'subscribe':
      return phase;
    case 'goodbye':
      return 'ended';
    default:
      return { why: 'is not a frame a client sends' };
  }
}

function brokerNext(phase: BrokerConversationPhase, type: string): Step {
  if (phase === 'ended') return { why: 'after its GOODBYE or ERROR' };
  if (type === 'error' || type === 'goodbye') return 'ended';
  if (phase === 'start') return type === 'welcome' ? 'open' : { why: 'before WELCOME' };
  switch (type) {
    case 'welcome':
      return { why: 'after WELCOME: one WELCOME per connection' };
    case 'refused':
      return phase;
    case 'reset':
      return phase === 'open' ? 'reset' : { why: 'after RESET, before RECONNECT' };
    case 'reconnect':
      return phase === 'reset' ? 'open' : { why: 'without a RESET before it' };
    case 'answer':
    case 'event': // only from a session
      return phase === 'open' ? phase : { why: 'after RESET, before RECONNECT' };
    default:
      return { why: 'is not a frame the broker sends' };
  }
}
