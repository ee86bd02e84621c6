/**
 * The help texts: the overview with every command and the exit codes, and
 * each command's own.
 */
import type { Command } from './command';
import { COMMANDS } from './commands/index';
import { COMMON_OPTION_HELP } from './common-options';
import { EXIT } from './exit-codes';
import type { OptionHelp } from './option-values';

function table(rows: readonly OptionHelp[], indent = '  '): string[] {
  const width = Math.max(...rows.map(([usage]) => usage.length)) + 2;
  return rows.map(([usage, meaning]) => `${indent}${usage.padEnd(width)}${meaning}`);
}

/** What each exit code means, for the overview (the README has the same table). */
export const EXIT_CODE_HELP: readonly OptionHelp[] = [
  [String(EXIT.OK), 'success'],
  [String(EXIT.UNEXPECTED), 'unexpected error (a bug, or an unmapped system error)'],
  [String(EXIT.USAGE), 'bad option or argument'],
  [
    String(EXIT.NOT_FOUND),
    'no device node, module, VMC adapter or VMC resource; not a VMC device; no broker',
  ],
  [String(EXIT.PERMISSION), 'permission denied (device node, or REQUESTVMC refused)'],
  [String(EXIT.DRIVER_FAILED), 'the driver failed: reload the module'],
  [String(EXIT.BUSY), 'not ready yet or busy: driver starting, no buffers, no free slot'],
  [String(EXIT.TIMEOUT), 'a deadline passed'],
  [String(EXIT.SESSION_GONE), 'the session was reset or closed'],
  [String(EXIT.IO), 'I/O error, or a call the driver or hypervisor rejected'],
  [
    String(EXIT.COMMAND_FAILED),
    'the hypervisor answered with a non-zero return code, or the broker refused',
  ],
  [String(EXIT.PROTOCOL), 'the hypervisor’s (or the broker’s) answer broke the protocol'],
  [String(EXIT.ECHO_LOST), 'ping: echoes lost or wrong'],
  [String(EXIT.FAKE_FAILED), 'the fake device failed'],
  [String(EXIT.INTERRUPTED), 'interrupted'],
];

/** `ibmvmc --help`. */
export function overviewHelp(): string {
  return [
    'Usage: ibmvmc <command> [options]',
    '',
    'HMC sessions over the IBM POWER Virtual Management Channel (/dev/ibmvmc).',
    '',
    'Commands:',
    ...table(COMMANDS.map((c) => [c.name, c.summary])),
    '',
    'Common options:',
    ...table(COMMON_OPTION_HELP),
    '',
    'Exit codes:',
    ...table(EXIT_CODE_HELP),
    '',
  ].join('\n');
}

/**
 * `ibmvmc <command> --help`.
 *
 * @param command - The subcommand.
 */
export function commandHelp(command: Command): string {
  const lines = [`Usage: ibmvmc ${command.synopsis} [common options]`, '', command.description, ''];
  if (command.optionHelp.length > 0) lines.push('Options:', ...table(command.optionHelp), '');
  const common = command.usesDevice
    ? COMMON_OPTION_HELP
    : COMMON_OPTION_HELP.filter(([usage]) => /^(--json|--debug|-h)/.test(usage));
  lines.push('Common options:', ...table(common), '');
  if (command.usesDevice)
    lines.push('With --fake, the fake options of "ibmvmc fake-device --help" apply too.', '');
  return lines.join('\n');
}
