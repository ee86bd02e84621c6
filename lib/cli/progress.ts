/**
 * A progress line on a terminal: one line on stderr, rewritten in place, and
 * cleared before anything else is written so it never mixes with output.
 */

/** A line that shows how far a long run is. Does nothing unless its stream is a TTY. */
export class ProgressLine {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean };
  readonly #enabled: boolean;
  #shown = false;

  /**
   * @param stream - Where to draw it (stderr).
   * @param enabled - Whether to draw at all (also needs a TTY).
   */
  constructor(stream: NodeJS.WritableStream & { isTTY?: boolean }, enabled: boolean) {
    this.#stream = stream;
    this.#enabled = enabled && stream.isTTY === true;
  }

  /** Draws `text` over the previous line. */
  update(text: string): void {
    if (!this.#enabled) return;
    this.#stream.write(`\r\x1b[K${text}`);
    this.#shown = true;
  }

  /** Removes the line, before other output or at the end. */
  clear(): void {
    if (!this.#shown) return;
    this.#stream.write('\r\x1b[K');
    this.#shown = false;
  }
}
