/**
 * The broker's log: one JSON object per line (journald and log shippers read
 * it as is). HMC ids and payloads never go in unless the broker runs with
 * `--debug`: callers put them under `debugFields`, which only a debug log writes.
 */

/** How bad it is, as journald and most log tools spell it. */
export type BrokerLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Fields of one log line: plain JSON values. */
export type BrokerLogFields = Readonly<
  Record<string, string | number | boolean | null | undefined>
>;

/** Where the broker says what it does. */
export interface BrokerLog {
  /** Whether `debug` lines (and `debugFields`) are written. */
  readonly debugEnabled: boolean;
  /**
   * Writes one line: `{"time":...,"level":...,"event":...,...fields}`.
   *
   * @param level - How bad it is; `debug` lines are dropped unless debugging.
   * @param event - A stable name for what happened (`client-connected`, `session-reset`, ...).
   * @param fields - Facts about it (uid, pid, client name, counts); never HMC ids or payloads.
   * @param debugFields - Facts only a debug log may hold (HMC ids, payload bytes).
   */
  write(
    level: BrokerLogLevel,
    event: string,
    fields?: BrokerLogFields,
    debugFields?: BrokerLogFields,
  ): void;
}

/** Something with a `write(string)`: `process.stderr`, a test's collector. */
export interface LogSink {
  write(line: string): unknown;
}

/**
 * A log writing JSON lines to `sink`.
 *
 * @param sink - Usually `process.stderr`.
 * @param options - `debug`: write debug lines and debug-only fields.
 */
export function createJsonLog(sink: LogSink, options: { debug?: boolean } = {}): BrokerLog {
  const debugEnabled = options.debug === true;
  return {
    debugEnabled,
    write(level, event, fields, debugFields) {
      if (level === 'debug' && !debugEnabled) return;
      const line: Record<string, unknown> = { time: new Date().toISOString(), level, event };
      for (const [key, value] of Object.entries(fields ?? {}))
        if (value !== undefined) line[key] = value;
      if (debugEnabled)
        for (const [key, value] of Object.entries(debugFields ?? {}))
          if (value !== undefined) line[key] = value;
      sink.write(`${JSON.stringify(line)}\n`);
    },
  };
}

/** A log that writes nothing (tests that do not look at the log). */
export const silentLog: BrokerLog = { debugEnabled: false, write() {} };
