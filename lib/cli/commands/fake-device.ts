/**
 * `ibmvmc fake-device`: a fake /dev/ibmvmc in the foreground, for other
 * processes (started with the environment it prints, or the one command it
 * runs after `--`) until interrupted, or until whatever started it ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { attachPathFor, FAKE_ATTACH_ENV } from '../../fake/attach/names';
import type { AttachServer } from '../../fake/attach/server';
import type { FakeDevice } from '../../fake/fake-device';
import { cleanUpAtExit } from '../../fake/exit-cleanup';
import { findPreloadPath, preloadCandidates } from '../../fake/preload-path';
import { WIRE_ENV_SOCKET } from '../../fake/wire';
import type { Command } from '../command';
import { DETACHED_ENV, startDetached } from '../detach';
import { removeEnvFile, writeEnvFile } from '../env-file';
import { EXIT } from '../exit-codes';
import { FAKE_OPTION_HELP, fakeOptionsFrom } from '../fake-options';
import { shellQuote, untilStopped, type StopReason } from '../foreground';
import { flagOption, stringOption } from '../option-values';
import { runWrapped } from '../run-wrapped';
import { UsageError } from '../usage-error';

/** The variable that carries the fake's pid (SIGUSR1 resets its channel, SIGTERM stops it). */
const PID_ENV = 'IBMVMC_FAKE_PID';

/** `ibmvmc fake-device`. */
export const fakeDeviceCommand: Command = {
  name: 'fake-device',
  summary: 'run a fake device in the foreground and print the environment to use it',
  synopsis:
    'fake-device [--socket PATH] [--sysfs DIR] [--write-env FILE [--detach]] [fake options] [-- COMMAND [ARGS...]]',
  description: [
    'Runs a driver-faithful fake of /dev/ibmvmc in this process and prints the',
    'environment that makes /dev/ibmvmc the fake in other processes (eval it in a',
    'shell, or copy it). SIGUSR1 resets the channel, as a hypervisor transport',
    'event would. Other processes of this user drive its controls (inject, reset,',
    'configure) with attachFakeDevice() from ibmvmc/fake, through IBMVMC_FAKE_ATTACH.',
    '',
    'It stops on Ctrl-C, SIGTERM or SIGHUP, and when the process that started it',
    'exits (npm exec/npx and the shell npm runs it through are seen through, so',
    '"npx ibmvmc fake-device & ... kill $!" stops it).',
    '',
    'With -- COMMAND, it runs COMMAND with that environment instead of printing it',
    '(plus IBMVMC_FAKE_PID), passes SIGINT, SIGTERM, SIGHUP and SIGUSR2 on to it,',
    'stops when it exits and exits with its status (128+N if signal N ended it,',
    '127 if it was not found).',
    '',
    'With --write-env FILE, it also writes the variables (and IBMVMC_FAKE_PID) to',
    'FILE as NAME=\'value\' lines (for "set -a; . FILE; set +a" or a dotenv',
    'reader) once the fake is ready, and removes FILE when it stops. With',
    '--detach as well, the fake runs in the background on its own, for CI',
    'systems that run each step in a new shell: this command returns once FILE is',
    'written, and the fake runs until "kill $IBMVMC_FAKE_PID" or the job ends.',
    '',
    'The fake options below shape it; they also work with --fake on other commands.',
  ].join('\n'),
  options: {
    socket: { type: 'string' },
    sysfs: { type: 'string' },
    // Not "--env-file": Node 20 takes that word for its own option even after the script's name
    // (nodejs/node#54232) and exits before we run when the file does not exist yet.
    'write-env': { type: 'string' },
    detach: { type: 'boolean' },
  },
  optionHelp: [
    ['--socket PATH', 'its control socket (default: in a new temporary directory)'],
    ['--sysfs DIR', 'its fake sysfs root (default: beside the socket)'],
    ['--write-env FILE', 'write the variables to FILE once ready; removed when it stops'],
    ['--detach', 'with --write-env: run in the background, return once ready'],
    ...FAKE_OPTION_HELP,
  ],
  usesDevice: false,
  runsCommand: true,
  async run(context) {
    const { options } = fakeOptionsFrom(context.values);
    const out = context.out;
    const wrapped = context.commandArgs;
    const envFileOption = stringOption(context.values, 'write-env');
    const envFile = envFileOption === undefined ? undefined : path.resolve(envFileOption);
    const detached = context.out.io.env[DETACHED_ENV] === '1';
    if (flagOption(context.values, 'detach') && !detached) {
      if (envFile === undefined)
        throw new UsageError('--detach needs --write-env: a later step reads the variables there');
      if (wrapped.length > 0)
        throw new UsageError('--detach runs the fake on its own: leave out -- COMMAND');
      const args = process.argv.slice(2).filter((a) => a !== '--detach');
      const pid = await startDetached(args, envFile);
      out.document({ pid, envFile });
      out.note(
        `Fake device running in the background (pid ${pid}); its variables are in ${envFile}. ` +
          `"kill ${pid}" stops it.`,
      );
      return EXIT.OK;
    }
    const socketOption = stringOption(context.values, 'socket');
    const createdDir =
      socketOption === undefined ? await mkdtemp(path.join(tmpdir(), 'ibmvmc-fake-')) : undefined;
    const socketPath = path.resolve(socketOption ?? path.join(createdDir ?? '', 'vmc.sock'));
    const sysfsRoot = path.resolve(
      stringOption(context.values, 'sysfs') ?? path.join(path.dirname(socketPath), 'sys'),
    );
    const attachPath = attachPathFor(socketPath);
    let device: FakeDevice | undefined;
    let attach: AttachServer;
    try {
      // Loaded here: the fake is a third of the CLI's start-up time, and only this command needs it.
      const { FakeDevice } = await import('../../fake/fake-device');
      const { AttachServer } = await import('../../fake/attach/server');
      const { FakeControls } = await import('../../fake/control-peer');
      device = await FakeDevice.start({ ...options, socketPath, sysfsRoot });
      attach = await AttachServer.listen(new FakeControls(device), attachPath, {
        socketPath,
        sysfsRoot,
      });
    } catch (error) {
      await device?.close();
      if (createdDir !== undefined) await rm(createdDir, { recursive: true, force: true });
      throw error;
    }
    const preload = findPreloadPath();
    const env = {
      LD_PRELOAD: preload ?? preloadCandidates()[0],
      [WIRE_ENV_SOCKET]: socketPath,
      IBMVMC_SYSFS_ROOT: sysfsRoot,
      [FAKE_ATTACH_ENV]: attachPath,
    };
    // If this process dies without the finally below (an uncaught error), no stale file points at it.
    const cancelCleanUp =
      envFile === undefined ? () => undefined : cleanUpAtExit(() => removeEnvFile(envFile));
    const onReset = () => {
      device.reset();
      out.note('Channel reset (SIGUSR1).');
    };
    process.on('SIGUSR1', onReset);
    try {
      if (envFile !== undefined) writeEnvFile(envFile, { ...env, [PID_ENV]: String(process.pid) });
      if (preload === undefined)
        out.error(
          'ibmvmc fake-device: the preload shim is not built yet: run "npm run build:native"',
        );
      if (wrapped.length > 0) {
        const outcome = await runWrapped(
          wrapped,
          {
            ...context.out.io.env,
            ...env,
            LD_PRELOAD: [env.LD_PRELOAD, context.out.io.env.LD_PRELOAD].filter(Boolean).join(':'),
            [PID_ENV]: String(process.pid),
          },
          !detached,
        );
        if (outcome.startError !== undefined)
          out.error(`ibmvmc fake-device: ${outcome.startError}`);
        if (outcome.parentExited)
          out.note('Fake device stopped: the process that started it exited.');
        return outcome.status;
      }
      out.document({
        socketPath,
        sysfsRoot,
        env,
        pid: process.pid,
        preloadBuilt: preload !== undefined,
        ...(envFile === undefined ? {} : { envFile }),
      });
      for (const [name, value] of Object.entries(env))
        out.text(`export ${name}=${shellQuote(value)}`);
      const state = device.state();
      out.note(
        `Fake device running (pid ${process.pid}), driver ${state.stateName}, MTU ${state.mtu}, ` +
          `${state.slots} slot${state.slots === 1 ? '' : 's'}; in a shell with the variables above, ` +
          '/dev/ibmvmc is the fake ("ibmvmc status" to see). Ctrl-C stops it.',
      );
      const reason: StopReason = await untilStopped(context.signal, !detached);
      out.note(
        reason === 'parent-exited'
          ? 'Fake device stopped: the process that started it exited.'
          : 'Fake device stopped.',
      );
      return EXIT.OK;
    } finally {
      process.removeListener('SIGUSR1', onReset);
      if (envFile !== undefined) removeEnvFile(envFile);
      cancelCleanUp();
      await attach.close();
      await device.close();
      if (createdDir !== undefined) await rm(createdDir, { recursive: true, force: true });
    }
  },
};
