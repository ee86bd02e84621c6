/**
 * How the HMC client hands messages to a session: like `send()`, but the
 * message can be taken back while the session still holds it (a request
 * given up must not go out later). An AbortSignal does the same for any
 * transport, at a cost per message larger than the rest of the send.
 *
 * @internal Not part of the public API; the client falls back to `send()`
 * with a signal for transports without it.
 */

/** The method a session offers, under this symbol. */
export const kSendWithdrawable = Symbol('ibmvmc.sendWithdrawable');

/** A message handed to a session. */
export interface WithdrawableSend {
  /** Settles as `send()`'s promise would: resolved once the driver took the message whole. */
  readonly sent: Promise<void>;
  /** Takes the message back if it has not gone out; `sent` then rejects with an AbortError. */
  withdraw(): void;
}

/** For a message already written, or already refused: nothing to take back. */
export function withdrawNothing(): void {}

/** A transport that offers {@link kSendWithdrawable}. */
export interface WithdrawableSender {
  [kSendWithdrawable](data: Uint8Array): WithdrawableSend;
}

/** Whether `transport` offers {@link kSendWithdrawable}. */
export function isWithdrawableSender(transport: object): transport is WithdrawableSender {
  return typeof (transport as Partial<WithdrawableSender>)[kSendWithdrawable] === 'function';
}
