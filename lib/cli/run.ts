/**
 * `ibmvmc <command> [options]`: parses the command line, sets up the device
 * (the real one, or a fake started for the occasion), runs the subcommand
 * and turns what it throws into one line and an exit code.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DEVICE_PATH } from '../device/device';
import { FakeDeviceError } from '../fake/errors';
import { PRELOAD_FILE_NAME } from '../fake/preload-path';
import { WIRE_ENV_DEVICE, WIRE_ENV_SOCKET } from '../fake/wire';
import { BROKER_ENV } from '../broker/client/socket-path';
import { packageRoot } from '../native/package-root';
import type { Command, CommandContext } from './command';
import { findCommand } from './commands/index';
import {
  COMMON_OPTION_SPEC,
  COMMON_OPTIONS_WITH_VALUES,
  DEFAULT_HMC_ID,
  DEFAULT_TIMEOUT_MS,
} from './common-options';
import { EXIT } from './exit-codes';
import { FAKE_OPTION_SPEC, fakeOptionsFrom } from './fake-options';
import { commandHelp, overviewHelp } from './help';
import { Output, type CliIo } from './io';
import { flagOption, stringOption, type OptionValues } from './option-values';
import { parseMs } from './parse-values';
import { reportError } from './report-error';
import { FAKE_CHILD_ENV, respawn } from './respawn';
import { UsageError } from './usage-error';

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** The first word that is not an option (nor an option's value): the subcommand. */
function splitCommand(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (COMMON_OPTIONS_WITH_VALUES.has(arg)) i++;
      continue;
    }
    return { name: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

function version(): string {
  const file = path.join(packageRoot(), 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** parseArgs' messages, shortened: its advice about positionals never applies here. */
function parseErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(message);
  if (ambiguous)
    return `${ambiguous[1]} needs a value; for one that starts with "-", write ${ambiguous[1]}=VALUE`;
  const missing = /^Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(message);
  if (missing) return `${missing[1]} needs a value`;
  return message.split('\n')[0]; // one line, as every error
}

/** Whether `NODE_DEBUG` already turns on the library's debug log. */
function debugLogOn(env: NodeJS.ProcessEnv): boolean {
  return (env.NODE_DEBUG ?? '').split(/[\s,]+/).some((n) => n.toLowerCase() === 'ibmvmc');
}

function withDebugLog(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return debugLogOn(env)
    ? env
    : { ...env, NODE_DEBUG: [env.NODE_DEBUG, 'ibmvmc'].filter(Boolean).join(',') };
}

/**
 * Runs `ibmvmc` with these arguments.
 *
 * @param argv - The arguments after `ibmvmc`.
 * @param io - Streams and environment (the process's by default).
 * @returns The exit code.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const { name, rest } = splitCommand(argv);
  // Ours are the words before "--"; after it they belong to the command fake-device runs.
  const terminator = argv.indexOf('--');
  const own = terminator === -1 ? argv : argv.slice(0, terminator);
  // Known before parsing, so even a parse error comes out as JSON when asked.
  const out = new Output(io, own.includes('--json'));
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? rest.find((a) => !a.startsWith('-')) : undefined;
    if (topic !== undefined) {
      const command = findCommand(topic);
      if (command === undefined)
        return reportError(out, new UsageError(`unknown command "${topic}"`), undefined, false);
      io.stdout.write(commandHelp(command));
      return EXIT.OK;
    }
    if (own.includes('--version')) {
      io.stdout.write(`${version()}\n`);
      return EXIT.OK;
    }
    if (name === 'help' || own.includes('--help') || own.includes('-h')) {
      io.stdout.write(overviewHelp());
      return EXIT.OK;
    }
    io.stderr.write(overviewHelp());
    return reportError(out, new UsageError('a command is needed'), undefined, false);
  }
  const command = findCommand(name);
  if (command === undefined)
    return reportError(
      out,
      new UsageError(`unknown command "${name}" (see "ibmvmc --help")`),
      undefined,
      false,
    );
  let values: OptionValues;
  let trailing: readonly string[] = [];
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...COMMON_OPTION_SPEC, ...FAKE_OPTION_SPEC, ...command.options },
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
    // Everything after the first "--" that is not an option's value, as typed: a command to run.
    const terminator = parsed.tokens.find((t) => t.kind === 'option-terminator');
    if (terminator !== undefined) trailing = rest.slice(terminator.index + 1);
    const before = parsed.tokens.find(
      (t) => t.kind === 'positional' && t.index < (terminator?.index ?? Infinity),
    );
    if (before?.kind === 'positional')
      throw new UsageError(`unexpected argument "${before.value}"`, command.name);
    if (terminator !== undefined && !command.runsCommand)
      throw new UsageError(
        trailing.length > 0 ? `unexpected argument "${trailing[0]}"` : 'unexpected "--"',
        command.name,
      );
    values = parsed.values as OptionValues;
  } catch (error) {
    const usage =
      error instanceof UsageError ? error : new UsageError(parseErrorMessage(error), command.name);
    return reportError(out, usage, command.name, own.includes('--debug'));
  }
  const debug = flagOption(values, 'debug');
  if (flagOption(values, 'help')) {
    io.stdout.write(commandHelp(command));
    return EXIT.OK;
  }
  try {
    return await prepare(command, argv, values, trailing, io, out);
  } catch (error) {
    return reportError(out, error, command.name, debug);
  }
}

/** Sets up the device (maybe a fake, maybe in a child process) and runs the command. */
async function prepare(
  command: Command,
  argv: readonly string[],
  values: OptionValues,
  trailing: readonly string[],
  io: CliIo,
  out: Output,
): Promise<number> {
  const debug = flagOption(values, 'debug');
  const wantsFake = flagOption(values, 'fake');
  const { options: fakeOptions, given } = fakeOptionsFrom(values);
  const deviceOption = stringOption(values, 'device');
  if (command.usesDevice) {
    if (given.length > 0 && !wantsFake)
      throw new UsageError(
        `${given[0]} shapes a fake device: use it with --fake, or with "ibmvmc fake-device"`,
        command.name,
      );
    if (wantsFake && deviceOption !== undefined)
      throw new UsageError('--fake starts its own device: leave out --device', command.name);
  } else if (wantsFake) {
    throw new UsageError(`${command.name} is itself the fake: --fake does not apply`, command.name);
  }
  // --broker, or IBMVMC_BROKER when no device is named: the broker's session, not one of our own.
  const takesBroker = 'broker' in command.options;
  const brokerOption = takesBroker ? stringOption(values, 'broker') : undefined;
  if (brokerOption !== undefined && (wantsFake || deviceOption !== undefined))
    throw new UsageError(
      "--broker goes through the broker's session: leave out --device and --fake",
      command.name,
    );
  const broker =
    brokerOption ??
    (takesBroker && !wantsFake && deviceOption === undefined
      ? io.env[BROKER_ENV] || undefined
      : undefined);
  const settings = {
    hmcId: stringOption(values, 'hmc-id') ?? DEFAULT_HMC_ID,
    timeoutMs: parseMs('--timeout', stringOption(values, 'timeout') ?? String(DEFAULT_TIMEOUT_MS)),
    debug,
    values,
    commandArgs: trailing,
  };
  const shimLoaded = (io.env.LD_PRELOAD ?? '').includes(PRELOAD_FILE_NAME);
  const isFakeChild = io.env[FAKE_CHILD_ENV] === '1';

  if (wantsFake && !isFakeChild) {
    // Loaded lazily: the fake is big, and most runs never need it.
    const { startFakeDevice } = await import('../fake/start');
    const fake = await startFakeDevice(fakeOptions);
    try {
      if (!fake.preloadBuilt)
        throw new FakeDeviceError(
          `the fake device's preload shim is not built (${fake.preloadPath}): run "npm run build:native"`,
          'ERR_IBMVMC_FAKE_NO_SHIM',
        );
      // The shim can only be loaded when a process starts: use it here if it is, else in a child.
      if (shimLoaded && (debugLogOn(io.env) || !debug))
        return await runCommand(command, out, {
          ...settings,
          device: fake.socketPath,
          deviceLabel: 'a fake device started for this command',
          onFake: true,
          sysfsRoot: fake.sysfsRoot,
          broker: undefined,
        });
      const env: NodeJS.ProcessEnv = {
        ...io.env,
        ...fake.env,
        LD_PRELOAD: [fake.env.LD_PRELOAD, io.env.LD_PRELOAD].filter(Boolean).join(':'),
        [FAKE_CHILD_ENV]: '1',
      };
      return await respawn(argv, debug ? withDebugLog(env) : env);
    } finally {
      await fake.stop();
    }
  }
  if (debug && !debugLogOn(io.env)) return respawn(argv, withDebugLog(io.env));
  if (broker !== undefined)
    return runCommand(command, out, {
      ...settings,
      device: broker,
      deviceLabel: `the broker at ${broker}`,
      onFake: false,
      sysfsRoot: undefined,
      broker,
    });

  // A process started with the fake's environment: /dev/ibmvmc is the fake's socket.
  let device = deviceOption ?? DEFAULT_DEVICE_PATH;
  let deviceLabel = device;
  let onFake = false;
  const envSocket = io.env[WIRE_ENV_SOCKET];
  if (shimLoaded && envSocket && device === (io.env[WIRE_ENV_DEVICE] ?? DEFAULT_DEVICE_PATH)) {
    device = envSocket;
    onFake = true;
    deviceLabel = isFakeChild
      ? 'a fake device started for this command'
      : `${DEFAULT_DEVICE_PATH} (the fake device at ${envSocket})`;
  }
  return runCommand(command, out, {
    ...settings,
    device,
    deviceLabel,
    onFake,
    sysfsRoot: undefined,
    broker: undefined,
  });
}

/** The signals that stop a command cleanly (SIGHUP: its terminal or session went away). */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Runs the subcommand with SIGINT, SIGTERM and SIGHUP turned into its abort signal. */
async function runCommand(
  command: Command,
  out: Output,
  context: Omit<CommandContext, 'out' | 'signal'>,
): Promise<number> {
  const controller = new AbortController();
  // A second signal changes nothing: a child may get one from the terminal and one from its parent.
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = () => controller.abort(new Error(`interrupted by ${signal}`));
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  try {
    return await command.run({ ...context, out, signal: controller.signal });
  } finally {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  }
}
