/**
 * `--broker PATH`: the commands that speak HMC commands (ping, send, listen)
 * can go through a broker (`ibmvmc serve`) instead of opening a session.
 */
import type { OptionHelp, OptionSpec } from './option-values';

/** The option in parseArgs' format, for a command's own options. */
export const BROKER_OPTION_SPEC: OptionSpec = { broker: { type: 'string' } };

/** The option for a command's help. */
export const BROKER_OPTION_HELP: OptionHelp = [
  '--broker PATH',
  "go through the broker on this socket (ibmvmc serve) instead of a session of one's own; IBMVMC_BROKER sets it when --device is not given",
];
