/**
 * `ibmvmc fake-device`: a fake /dev/ibmvmc in the foreground, for other
 * processes (started with the environment it prints) until interrupted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { FakeDevice } from '../../fake/fake-device';
import { findPreloadPath, preloadCandidates } from '../../fake/preload-path';
import { WIRE_ENV_SOCKET } from '../../fake/wire';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';
import { FAKE_OPTION_HELP, fakeOptionsFrom } from '../fake-options';
import { shellQuote, untilStopped } from '../foreground';
import { stringOption } from '../option-values';

/** `ibmvmc fake-device`. */
export const fakeDeviceCommand: Command = {
  name: 'fake-device',
  summary: 'run a fake device in the foreground and print the environment to use it',
  synopsis: 'fake-device [--socket PATH] [--sysfs DIR] [fake options]',
  description: [
    'Runs a driver-faithful fake of /dev/ibmvmc in this process until Ctrl-C or',
    'SIGTERM, and prints the environment that makes /dev/ibmvmc the fake in other',
    'processes (eval it in a shell, or copy it). SIGUSR1 resets the channel, as a',
    'hypervisor transport event would.',
    '',
    'The fake options below shape it; they also work with --fake on other commands.',
  ].join('\n'),
  options: { socket: { type: 'string' }, sysfs: { type: 'string' } },
  optionHelp: [
    ['--socket PATH', 'its control socket (default: in a new temporary directory)'],
    ['--sysfs DIR', 'its fake sysfs root (default: beside the socket)'],
    ...FAKE_OPTION_HELP,
  ],
  usesDevice: false,
  async run(context) {
    const { options } = fakeOptionsFrom(context.values);
    const socketOption = stringOption(context.values, 'socket');
    const createdDir =
      socketOption === undefined ? await mkdtemp(path.join(tmpdir(), 'ibmvmc-fake-')) : undefined;
    const socketPath = path.resolve(socketOption ?? path.join(createdDir ?? '', 'vmc.sock'));
    const sysfsRoot = path.resolve(
      stringOption(context.values, 'sysfs') ?? path.join(path.dirname(socketPath), 'sys'),
    );
    let device: FakeDevice;
    try {
      // Loaded here: the fake is a third of the CLI's start-up time, and only this command needs it.
      const { FakeDevice } = await import('../../fake/fake-device');
      device = await FakeDevice.start({ ...options, socketPath, sysfsRoot });
    } catch (error) {
      if (createdDir !== undefined) await rm(createdDir, { recursive: true, force: true });
      throw error;
    }
    const preload = findPreloadPath();
    const env = {
      LD_PRELOAD: preload ?? preloadCandidates()[0],
      [WIRE_ENV_SOCKET]: socketPath,
      IBMVMC_SYSFS_ROOT: sysfsRoot,
    };
    const out = context.out;
    out.document({
      socketPath,
      sysfsRoot,
      env,
      pid: process.pid,
      preloadBuilt: preload !== undefined,
    });
    for (const [name, value] of Object.entries(env))
      out.text(`export ${name}=${shellQuote(value)}`);
    if (preload === undefined)
      out.error(
        'ibmvmc fake-device: the preload shim is not built yet: run "npm run build:native"',
      );
    const state = device.state();
    out.note(
      `Fake device running (pid ${process.pid}), driver ${state.stateName}, MTU ${state.mtu}, ` +
        `${state.slots} slot${state.slots === 1 ? '' : 's'}; in a shell with the variables above, ` +
        '/dev/ibmvmc is the fake ("ibmvmc status" to see). Ctrl-C stops it.',
    );
    const onReset = () => {
      device.reset();
      out.note('Channel reset (SIGUSR1).');
    };
    process.on('SIGUSR1', onReset);
    try {
      await untilStopped(context.signal);
    } finally {
      process.removeListener('SIGUSR1', onReset);
      await device.close();
      if (createdDir !== undefined) await rm(createdDir, { recursive: true, force: true });
    }
    out.note('Fake device stopped.');
    return EXIT.OK;
  },
};
