/**
 * `ibmvmc send`: one HMC command, by hand. Opens a session and the command
 * path, sends the request, prints the decoded answer, closes.
 */
import { readFile } from 'node:fs/promises';
import { HmcCommandError } from '../../client/errors';
import {
  describeOpcode,
  describeTarget,
  namedRouterOpcodes,
  namedTargets,
} from '../../client/names';
import { hex } from '../../protocol/format';
import type { Command, CommandContext } from '../command';
import { EXIT } from '../exit-codes';
import { describeMessage, messageJson } from '../format-message';
import { BROKER_OPTION_HELP, BROKER_OPTION_SPEC } from '../broker-option';
import { openClient } from '../open-client';
import { flagOption, stringOption } from '../option-values';
import { parseHex, parseOpcode, parseTarget } from '../parse-values';
import { formatMs } from '../stats';
import { UsageError } from '../usage-error';

/** Reads all of stdin, for `--data-file -`. */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** The request the options describe, checked before any session is opened. */
async function requestFrom(context: CommandContext) {
  const v = context.values;
  const targetText = stringOption(v, 'target');
  const opcodeText = stringOption(v, 'opcode');
  if (targetText === undefined) throw new UsageError('send needs --target', 'send');
  if (opcodeText === undefined) throw new UsageError('send needs --opcode', 'send');
  const target = parseTarget(targetText);
  const opcode = parseOpcode(opcodeText, target);
  const hexData = stringOption(v, 'data');
  const file = stringOption(v, 'data-file');
  if (hexData !== undefined && file !== undefined)
    throw new UsageError('give --data or --data-file, not both', 'send');
  let data: Buffer = Buffer.alloc(0);
  if (hexData !== undefined) data = parseHex(hexData);
  else if (file !== undefined) {
    try {
      data = file === '-' ? await readStdin() : await readFile(file);
    } catch (error) {
      throw new UsageError(`--data-file ${file}: ${(error as Error).message}`, 'send');
    }
  }
  return { target, opcode, data, expectResponse: !flagOption(v, 'no-response') };
}

/** `ibmvmc send`. */
export const sendCommand: Command = {
  name: 'send',
  summary: 'send one HMC command and print the decoded answer',
  synopsis: 'send --target T --opcode O [--data HEX | --data-file PATH] [--no-response]',
  description: [
    'Opens a session and its command path, sends one request, prints the decoded',
    'response (every header field, the data as a hex dump), and closes.',
    '',
    'T and O are numbers (decimal or 0x...) or names. Targets:',
    ...namedTargets().map(([name, value]) => `  ${name.padEnd(30)} ${hex(value)}`),
    'Router opcodes (target router):',
    ...namedRouterOpcodes().map(([name, value]) => `  ${name.padEnd(30)} ${hex(value)}`),
    '',
    'A response with a non-zero return code is an error (exit 10) naming the code.',
  ].join('\n'),
  options: {
    ...BROKER_OPTION_SPEC,
    target: { type: 'string', short: 't' },
    opcode: { type: 'string', short: 'o' },
    data: { type: 'string', short: 'd' },
    'data-file': { type: 'string' },
    'no-response': { type: 'boolean' },
  },
  optionHelp: [
    BROKER_OPTION_HELP,
    ['-t, --target T', 'the target: a number or a name (required)'],
    ['-o, --opcode O', 'the opcode: a number, or a router opcode name (required)'],
    ['-d, --data HEX', 'data bytes in hex ("de ad be ef", "deadbeef", "de:ad:be:ef")'],
    ['--data-file PATH', 'data bytes from a file ("-": standard input)'],
    ['--no-response', 'expect no answer: done once the driver took the request'],
  ],
  usesDevice: true,
  async run(context) {
    const request = await requestFrom(context);
    const what = `${describeOpcode(request.target, request.opcode)} to ${describeTarget(request.target)}`;
    const out = context.out;
    const client = await openClient(context, 'send');
    try {
      const started = process.hrtime.bigint();
      if (!request.expectResponse) {
        await client.request({ ...request, expectResponse: false, signal: context.signal });
        out.document({ ok: true, sent: true, response: null });
        out.text(`Sent ${what} (${request.data.length} data bytes); no response expected.`);
        return EXIT.OK;
      }
      let response;
      try {
        response = await client.request({
          ...request,
          expectResponse: true,
          signal: context.signal,
        });
      } catch (error) {
        // The answer still says something: show it before the one-line error.
        if (error instanceof HmcCommandError && context.debug)
          for (const line of describeMessage(error.response)) out.note(line);
        throw error;
      }
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      out.document({ ok: true, roundTripMs: ms, response: messageJson(response) });
      out.text(`Response to ${what} in ${formatMs(ms)} ms:`);
      for (const line of describeMessage(response)) out.text(line);
      return EXIT.OK;
    } finally {
      await client.close();
    }
  },
};
