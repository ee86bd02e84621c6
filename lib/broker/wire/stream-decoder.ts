import { FrameReader } from '../../protocol/frame-reader';
import { BROKER_FRAME_HEADER_LENGTH, BROKER_FRAME_MAX_PAYLOAD } from './constants';
import { decodeBrokerFrame } from './decode';
import type { BrokerFrameFrom, BrokerFrameSender } from './frames';
import { readBrokerFrameHeader } from './header';
import { BrokerFrameOrder } from './order';

/** Options of {@link BrokerFrameDecoder}. */
export interface BrokerFrameDecoderOptions {
  /**
   * Check the frames' order too (a {@link BrokerFrameOrder} of the same side);
   * true when omitted. Off only to read frames out of any conversation (tests, tools).
   */
  readonly checkOrder?: boolean;
}

/**
 * Turns one side's byte stream, split and merged arbitrarily, into frames.
 *
 * A header is checked as soon as its 8 bytes are in, so a frame announcing
 * more than its type allows (at most {@link BROKER_FRAME_MAX_PAYLOAD}) is
 * refused before a byte of its payload is buffered: at most one frame's worth
 * (and the rest of one chunk) is ever held. The first error leaves the
 * stream unusable: every later `push` throws it again. Drop the connection
 * (the broker sends ERROR first).
 */
export class BrokerFrameDecoder<S extends BrokerFrameSender> {
  readonly #reader: FrameReader;
  readonly #order: BrokerFrameOrder<S> | undefined;
  #failure: { error: unknown } | undefined;

  /**
   * @param from - Whose frames the stream carries.
   * @param onFrame - Gets each frame, in order. Its byte fields are views of
   *   the received chunk (or of a copy when the frame was split).
   * @param options - Whether to check the order too (yes by default).
   */
  constructor(
    readonly from: S,
    onFrame: (frame: BrokerFrameFrom<S>) => void,
    options: BrokerFrameDecoderOptions = {},
  ) {
    const order = options.checkOrder === false ? undefined : new BrokerFrameOrder(from);
    this.#order = order;
    this.#reader = new FrameReader(
      BROKER_FRAME_HEADER_LENGTH,
      BROKER_FRAME_MAX_PAYLOAD,
      (bytes) => {
        const frame = decodeBrokerFrame(bytes, from) as BrokerFrameFrom<S>;
        order?.accept(frame);
        onFrame(frame);
      },
      (chunk, offset) => readBrokerFrameHeader(chunk, offset, from).length,
    );
  }

  /** Bytes received that do not make a whole frame yet. */
  get buffered(): number {
    return this.#reader.buffered;
  }

  /** Where the conversation stands (`start` until the first frame), when the order is checked. */
  get phase(): BrokerFrameOrder<S>['phase'] | undefined {
    return this.#order?.phase;
  }

  /**
   * Feeds bytes in; decodes, checks and hands out every frame they complete.
   *
   * @throws BrokerProtocolError for a frame malformed, oversized, of another
   *   version or out of order (and whatever `onFrame` throws); once thrown,
   *   every later call throws the same error.
   */
  push(chunk: Buffer): void {
    if (this.#failure !== undefined) throw this.#failure.error;
    try {
      this.#reader.push(chunk);
    } catch (error) {
      this.#failure = { error };
      throw error;
    }
  }
}
