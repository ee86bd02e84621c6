/**
 * What a subcommand is: its options and help, and what it does with the
 * context the common options set up.
 */
import type { Output } from './io';
import type { OptionHelp, OptionSpec, OptionValues } from './option-values';

/** Everything a subcommand runs with. */
export interface CommandContext {
  /** Where to write, in the chosen mode. */
  readonly out: Output;
  /** The device node (the fake's socket with `--fake`). */
  readonly device: string;
  /** The device for people: the path, or that it is a fake. */
  readonly deviceLabel: string;
  /** Whether the device is a fake started for this command. */
  readonly onFake: boolean;
  /** `--broker` (or IBMVMC_BROKER): the broker's socket, when the command goes through one. */
  readonly broker: string | undefined;
  /** Where sysfs is, when not the environment's (a fake in this process). */
  readonly sysfsRoot: string | undefined;
  /** The HMC id to bind sessions with. */
  readonly hmcId: string;
  /** Deadline of opening and of each request (ms). */
  readonly timeoutMs: number;
  /** `--debug`: more detail. */
  readonly debug: boolean;
  /** Fires on SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The subcommand's own options. */
  readonly values: OptionValues;
  /** The words after `--`, as typed: a command to run (only for commands with {@link Command.runsCommand}). */
  readonly commandArgs: readonly string[];
}

/** A subcommand of `ibmvmc`. */
export interface Command {
  /** As typed: `ping`. */
  readonly name: string;
  /** One line for the list of commands. */
  readonly summary: string;
  /** The usage line after `ibmvmc`: `ping [--count N] [--size BYTES] [--interval MS]`. */
  readonly synopsis: string;
  /** What it does and prints, for its `--help`. */
  readonly description: string;
  /** Its own options, in parseArgs' format. */
  readonly options: OptionSpec;
  /** Its own options, for its `--help`. */
  readonly optionHelp: readonly OptionHelp[];
  /** False for `fake-device`, which is the fake rather than a user of a device. */
  readonly usesDevice: boolean;
  /** Takes `-- COMMAND [ARGS...]` after its options (`fake-device`); any other command refuses `--`. */
  readonly runsCommand?: boolean;
  /** Runs it; resolves with the exit code, or throws an error that maps to one. */
  run(context: CommandContext): Promise<number>;
}
