/**
 * `ibmvmc listen`: prints every message the hypervisor sends on its own,
 * decoded, until interrupted. Opens the command path first (the hypervisor
 * talks to an HMC only once it has), and sends nothing else.
 */
import { HmcDecodeError } from '../../protocol/decode-error';
import type { HmcMessage } from '../../protocol/hmc-message';
import type { UnsolicitedReason } from '../../client/client';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';
import { hexString, messageJson, messageLine } from '../format-message';
import { BROKER_OPTION_HELP, BROKER_OPTION_SPEC } from '../broker-option';
import { openClient } from '../open-client';
import { stringOption } from '../option-values';
import { parseInteger } from '../parse-values';

/** `ibmvmc listen`. */
export const listenCommand: Command = {
  name: 'listen',
  summary: 'print every incoming message, decoded, until interrupted',
  synopsis: 'listen [--count N]',
  description: [
    'Opens a session and its command path, then prints each message the hypervisor',
    'sends, decoded (one line each; one JSON document each with --json), with the',
    'time it arrived. Bytes that are not an HMC message are printed as malformed,',
    'with what is wrong. Runs until Ctrl-C (or --count messages), then closes.',
  ].join('\n'),
  options: { ...BROKER_OPTION_SPEC, count: { type: 'string', short: 'c' } },
  optionHelp: [
    BROKER_OPTION_HELP,
    ['-c, --count N', 'stop after N messages (default 0: until interrupted)'],
  ],
  usesDevice: true,
  async run(context) {
    const countText = stringOption(context.values, 'count');
    const count =
      countText === undefined ? 0 : parseInteger('--count', countText, 0, Number.MAX_SAFE_INTEGER);
    const out = context.out;
    const client = await openClient(context, 'listen');
    // A script reading --json learns here that messages will now be seen.
    out.document({
      kind: 'listening',
      device: context.device,
      hmcId: context.broker === undefined ? context.hmcId : null,
      mtu: client.mtu,
    });
    out.note(
      context.broker === undefined
        ? `Listening on ${context.deviceLabel} (HMC id "${context.hmcId}", MTU ${client.mtu}); Ctrl-C stops.`
        : `Listening through ${context.deviceLabel} (MTU ${client.mtu}); Ctrl-C stops.`,
    );
    let seen = 0;
    const ended = new Promise<number>((resolve, reject) => {
      const done = () => resolve(EXIT.OK);
      const counted = () => {
        seen++;
        if (count > 0 && seen >= count) done();
      };
      client.on('unsolicited', (message: HmcMessage, reason: UnsolicitedReason) => {
        const at = new Date().toISOString();
        out.document({ at, kind: 'message', reason, message: messageJson(message) });
        out.text(`${at} ${messageLine(message)}`);
        counted();
      });
      client.on('malformed', (error: HmcDecodeError, bytes: Buffer) => {
        const at = new Date().toISOString();
        out.document({
          at,
          kind: 'malformed',
          error: error.message,
          field: error.field,
          bytes: bytes.toString('hex'),
        });
        out.text(`${at} malformed, ${bytes.length} bytes: ${error.message}: ${hexString(bytes)}`);
        counted();
      });
      client.on('reset', reject);
      if (context.signal.aborted) done();
      else context.signal.addEventListener('abort', done, { once: true });
    });
    try {
      return await ended;
    } finally {
      client.removeAllListeners('unsolicited');
      client.removeAllListeners('malformed');
      await client.close();
    }
  },
};
