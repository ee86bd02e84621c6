/**
 * `ibmvmc ping`: the channel's health in one command. Opens a session and the
 * command path, sends router echoes one at a time and checks each answer's
 * data, prints every round trip and a summary, and closes.
 */
import { HmcProtocolError } from '../../client/errors';
import { AbortError, TimeoutError } from '../../errors/error-classes';
import type { Command, CommandContext } from '../command';
import { EXIT } from '../exit-codes';
import type { JsonValue } from '../io';
import { BROKER_OPTION_HELP, BROKER_OPTION_SPEC } from '../broker-option';
import { openClient } from '../open-client';
import { flagOption, stringOption } from '../option-values';
import { parseInteger, parseMs } from '../parse-values';
import { ProgressLine } from '../progress';
import { formatMs, roundTripStats } from '../stats';

/** Runs at least this long show a progress line on a terminal. */
const LONG_RUN = 20;

/** What became of one echo. */
interface EchoResult {
  readonly seq: number;
  readonly outcome: 'ok' | 'lost' | 'wrong';
  readonly ms: number | null;
  readonly detail?: string;
}

/**
 * An echo's data: its sequence number, then a pattern that shifts with it,
 * so an answer that belongs to another echo is seen as wrong.
 */
function echoData(seq: number, size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (seq + i) & 0xff;
  if (size >= 4) data.writeUInt32BE(seq >>> 0, 0);
  return data;
}

/** Resolves after `ms`, or at once when the signal fires. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function settings(context: CommandContext) {
  const v = context.values;
  const count = parseInteger(
    '--count',
    stringOption(v, 'count') ?? '10',
    0,
    Number.MAX_SAFE_INTEGER,
  );
  const sizeText = stringOption(v, 'size');
  const intervalMs = parseMs('--interval', stringOption(v, 'interval') ?? '100');
  return { count, sizeText, intervalMs, quiet: flagOption(v, 'quiet') };
}

/** `ibmvmc ping`. */
export const pingCommand: Command = {
  name: 'ping',
  summary: 'open a session and time router echoes',
  synopsis: 'ping [--count N] [--size BYTES] [--interval MS] [--quiet]',
  description: [
    'Opens a session and its command path, sends N router echoes one after the',
    'other, checks that each comes back with the same data, and closes. Prints each',
    'round trip and a summary: min, median, p99 and max round trip, lost and wrong',
    'echoes. On a terminal, long runs also show a progress line. Ctrl-C stops early',
    'and still prints the summary.',
    '',
    'An echo is lost when no answer comes within --timeout. Exits 12 if any echo',
    'was lost or came back wrong.',
  ].join('\n'),
  options: {
    ...BROKER_OPTION_SPEC,
    count: { type: 'string', short: 'c' },
    size: { type: 'string', short: 's' },
    interval: { type: 'string', short: 'i' },
    quiet: { type: 'boolean', short: 'q' },
  },
  optionHelp: [
    BROKER_OPTION_HELP,
    ['-c, --count N', 'echoes to send (default 10; 0: until interrupted)'],
    ['-s, --size BYTES', 'data bytes per echo (default 64; at most the MTU minus 32)'],
    ['-i, --interval MS', 'pause between echoes (default 100)'],
    ['-q, --quiet', 'print only the summary'],
  ],
  usesDevice: true,
  async run(context) {
    const { count, sizeText, intervalMs, quiet } = settings(context);
    const out = context.out;
    const client = await openClient(context, 'ping');
    const results: EchoResult[] = [];
    const progress = new ProgressLine(
      context.out.io.stderr,
      !out.json && (count === 0 || count >= LONG_RUN),
    );
    try {
      const size =
        sizeText === undefined
          ? Math.min(64, client.maxDataLength)
          : parseInteger('--size', sizeText, 1, client.maxDataLength);
      out.text(
        `PING router on ${context.deviceLabel}: ${count === 0 ? 'until interrupted' : `${count} echo${count === 1 ? '' : 'es'}`} of ${size} bytes, MTU ${client.mtu}`,
      );
      for (let seq = 1; count === 0 || seq <= count; seq++) {
        if (context.signal.aborted) break;
        if (seq > 1) await pause(intervalMs, context.signal);
        if (context.signal.aborted) break;
        const result = await echoOnce(client, seq, size, context);
        if (result === undefined) break; // interrupted mid-echo
        results.push(result);
        if (!quiet) {
          progress.clear();
          out.text(resultLine(result, size));
        }
        const lost = results.filter((r) => r.outcome !== 'ok').length;
        progress.update(
          `${seq}${count === 0 ? '' : `/${count}`} echoes, ${lost} lost or wrong, last ${formatMs(result.ms)} ms`,
        );
      }
    } finally {
      progress.clear();
      await client.close();
    }
    return summarize(context, results);
  },
};

/** One echo; undefined when interrupted before its answer. */
async function echoOnce(
  client: Awaited<ReturnType<typeof openClient>>,
  seq: number,
  size: number,
  context: CommandContext,
): Promise<EchoResult | undefined> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
  try {
    await client.echo(echoData(seq, size), { signal: context.signal });
    return { seq, outcome: 'ok', ms: elapsed() };
  } catch (error) {
    if (error instanceof AbortError && context.signal.aborted) return undefined;
    if (error instanceof TimeoutError)
      return { seq, outcome: 'lost', ms: null, detail: `no answer within ${context.timeoutMs} ms` };
    if (error instanceof HmcProtocolError)
      return { seq, outcome: 'wrong', ms: elapsed(), detail: error.message };
    throw error;
  }
}

function resultLine(r: EchoResult, size: number): string {
  if (r.outcome === 'ok') return `${size} bytes: seq=${r.seq} time=${formatMs(r.ms)} ms`;
  return `seq=${r.seq} ${r.outcome}: ${r.detail ?? ''}`;
}

function summarize(context: CommandContext, results: readonly EchoResult[]): number {
  const ok = results.filter((r) => r.outcome === 'ok');
  const lost = results.filter((r) => r.outcome === 'lost').length;
  const wrong = results.filter((r) => r.outcome === 'wrong').length;
  const stats = roundTripStats(ok.map((r) => r.ms ?? 0));
  const out = context.out;
  const doc: { [key: string]: JsonValue } = {
    device: context.device,
    fake: context.onFake,
    sent: results.length,
    answered: ok.length,
    lost,
    wrong,
    interrupted: context.signal.aborted,
    roundTripMs: { ...stats },
    echoes: results.map((r) => ({ seq: r.seq, outcome: r.outcome, ms: r.ms, detail: r.detail })),
  };
  out.document(doc);
  out.text(
    `--- ${results.length} echo${results.length === 1 ? '' : 'es'}: ${ok.length} answered, ${lost} lost, ${wrong} wrong${context.signal.aborted ? ' (interrupted)' : ''} ---`,
  );
  if (ok.length > 0)
    out.text(
      `round trip min/median/p99/max = ${formatMs(stats.min)}/${formatMs(stats.median)}/${formatMs(stats.p99)}/${formatMs(stats.max)} ms`,
    );
  return lost + wrong > 0 ? EXIT.ECHO_LOST : EXIT.OK;
}
