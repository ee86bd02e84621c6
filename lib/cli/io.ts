/**
 * Where a command writes, and how: text for people, one JSON document per
 * line with `--json`. Errors always get one line on stderr; with `--json`
 * they also get a JSON document on stdout, so a script reading stdout sees them.
 */

/** The streams and environment a command runs with (the process's, or a test's). */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

/** What a JSON document may hold. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

/** Output in the mode the user chose. */
export class Output {
  /**
   * @param io - The streams.
   * @param json - Machine-readable output.
   */
  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** A line for people on stdout (nothing with `--json`). */
  text(line = ''): void {
    if (!this.json) this.io.stdout.write(`${line}\n`);
  }

  /** A JSON document on one line of stdout (nothing without `--json`). */
  document(value: JsonValue): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A remark for people on stderr (what device is used, how to stop); kept out of stdout. */
  note(line: string): void {
    if (!this.json) this.io.stderr.write(`${line}\n`);
  }

  /** An error line on stderr (always). */
  error(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }
}
