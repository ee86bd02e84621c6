/**
 * The hypervisor's handler in the random run: it answers nothing by itself.
 * Every message a session sends is held, in arrival order, until the sequence
 * says "answer"; then the oldest is answered with its own bytes. So when an
 * answer reaches the driver is the sequence's choice, not a race.
 */
import type { FakeHandlerAnswer, FakeMessageHandler } from '../../../lib/fake/index';

interface Held {
  readonly slot: number;
  readonly message: Buffer;
  readonly answer: (answer: FakeHandlerAnswer) => void;
}

/** Messages held for the sequence to answer. */
export class HeldMessages {
  private readonly held: Held[] = [];

  /** The handler to give the hypervisor. */
  readonly handler: FakeMessageHandler = (message, session) =>
    new Promise<FakeHandlerAnswer>((resolve) => {
      this.held.push({ slot: session.slot, message: Buffer.from(message), answer: resolve });
    });

  /** Answers the oldest held message with its bytes; says which, or "none held". */
  answerOldest(): string {
    const oldest = this.held.shift();
    if (oldest === undefined) return 'none held';
    oldest.answer(oldest.message);
    return `slot ${oldest.slot} ${oldest.message.length} bytes`;
  }

  /** Lets every held message go unanswered (the run is over). */
  release(): void {
    for (const h of this.held.splice(0)) h.answer(null);
  }
}
