/**
 * Reassembling length-prefixed frames from a byte stream that splits and
 * merges them arbitrarily. Every socket protocol of the package uses it: the
 * fake's with the preload shim (a little-endian length first), QEMU's bridge
 * (a big-endian length after the type) and the broker's (the same, after a
 * magic and a version).
 */

/** Reads a frame's payload length from its header, which starts at `offset` in `chunk`. */
export type PayloadLengthReader = (chunk: Buffer, offset: number) => number;

/** The shim's wire protocol: the first four bytes, little-endian. */
const littleEndianFirstWord: PayloadLengthReader = (chunk, offset) => chunk.readUInt32LE(offset);

/**
 * Splits a byte stream into frames of a fixed-size header and the payload
 * length it announces. Whole frames inside one chunk are handed out as views
 * of it; only a frame split across chunks is copied, once, when it is complete.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the pending chunks can make progress. */
  private needed: number;

  /**
   * @param headerLength - Bytes before the payload (4, 8 or 16); they hold the length.
   * @param maxPayload - Larger announced payloads are a protocol error.
   * @param onFrame - Gets each whole frame, header included.
   * @param payloadLength - Where the header holds the length (default: its first four bytes, little-endian).
   */
  constructor(
    private readonly headerLength: number,
    private readonly maxPayload: number,
    private readonly onFrame: (frame: Buffer) => void,
    private readonly payloadLength: PayloadLengthReader = littleEndianFirstWord,
  ) {
    this.needed = headerLength;
  }

  /** Bytes received and not yet handed out. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /**
   * Feeds bytes in; calls `onFrame` for each frame completed.
   *
   * @throws RangeError when a frame announces a payload over the maximum (the stream is then unusable).
   */
  push(chunk: Buffer): void {
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.needed) return;
      chunk = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let offset = 0;
    while (chunk.length - offset >= this.headerLength) {
      const payload = this.payloadLength(chunk, offset);
      if (payload > this.maxPayload) {
        throw new RangeError(
          `frame payload of ${payload} bytes, over the maximum of ${this.maxPayload}`,
        );
      }
      const total = this.headerLength + payload;
      if (chunk.length - offset < total) {
        this.needed = total;
        break;
      }
      this.onFrame(chunk.subarray(offset, offset + total));
      offset += total;
    }
    if (offset < chunk.length) {
      if (chunk.length - offset < this.headerLength) this.needed = this.headerLength;
      this.pending.push(chunk.subarray(offset));
      this.pendingBytes = chunk.length - offset;
    } else {
      this.needed = this.headerLength;
    }
  }
}
