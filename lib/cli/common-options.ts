/**
 * The options every subcommand takes, and their defaults.
 */
import { DEFAULT_DEVICE_PATH } from '../device/device';
import type { OptionHelp, OptionSpec } from './option-values';

/** The HMC id sessions are bound with when `--hmc-id` is not given. */
export const DEFAULT_HMC_ID = 'ibmvmc-cli';

/** Deadline of opening and of each request when `--timeout` is not given (ms). */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The common options in parseArgs' format. */
export const COMMON_OPTION_SPEC: OptionSpec = {
  device: { type: 'string' },
  'hmc-id': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  fake: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Common options that take a value: the word after them is not a subcommand. */
export const COMMON_OPTIONS_WITH_VALUES: ReadonlySet<string> = new Set(
  Object.entries(COMMON_OPTION_SPEC)
    .filter(([, spec]) => spec.type === 'string')
    .map(([name]) => `--${name}`),
);

/** The common options for help texts. */
export const COMMON_OPTION_HELP: readonly OptionHelp[] = [
  ['--device PATH', `the device node (default ${DEFAULT_DEVICE_PATH})`],
  ['--hmc-id ID', `the HMC id to bind sessions with, at most 32 bytes (default ${DEFAULT_HMC_ID})`],
  ['--timeout MS', `deadline of opening and of each request (default ${DEFAULT_TIMEOUT_MS})`],
  ['--json', 'machine-readable output: one JSON document per line on stdout'],
  ['--fake', 'run against a fake device started for this command (fake-device options apply)'],
  ['--debug', 'error details and causes, and system-call logging (NODE_DEBUG=ibmvmc)'],
  ['-h, --help', 'help; "ibmvmc <command> --help" for a command'],
];
