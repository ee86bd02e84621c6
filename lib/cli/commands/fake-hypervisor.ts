/**
 * `ibmvmc fake-hypervisor`: the fake hypervisor in the foreground, for the
 * real `ibmvmc` driver in a QEMU guest (QEMU's `spapr-vmc` device connects
 * to its socket), until interrupted or until the process that started it exits.
 */
import * as path from 'node:path';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';
import {
  FAKE_HYPERVISOR_OPTION_HELP,
  driverOnlyOptionGiven,
  fakeOptionsFrom,
} from '../fake-options';
import { shellWord, untilStopped } from '../foreground';
import { stringOption } from '../option-values';
import { UsageError } from '../usage-error';

/** `ibmvmc fake-hypervisor`. */
export const fakeHypervisorCommand: Command = {
  name: 'fake-hypervisor',
  summary: 'run the fake hypervisor for the real driver in a QEMU guest',
  synopsis: 'fake-hypervisor [--socket PATH] [fake options]',
  description: [
    'Runs the fake hypervisor in this process, listening for QEMU’s spapr-vmc device,',
    'so that the real ibmvmc driver in a pseries guest runs against it. Prints the',
    'arguments to add to qemu-system-ppc64 (first line) and the insmod line that',
    'loads the driver with the module parameters given here (second line). Runs',
    'until Ctrl-C or SIGTERM, or until the process that started it exits, and',
    'removes its socket. SIGUSR1 resets the channel, as a transport event would.',
    '',
    'The fake options below shape the hypervisor as they shape "fake-device";',
    '--max-mtu, --buf-pool-size and --max-hmcs go to insmod. --trace logs every',
    'entry, message and note on stderr.',
  ].join('\n'),
  options: { socket: { type: 'string' } },
  optionHelp: [
    ['--socket PATH', 'the socket QEMU connects to (default: in a new temporary directory)'],
    ...FAKE_HYPERVISOR_OPTION_HELP,
  ],
  usesDevice: false,
  async run(context) {
    // Loaded here: the fake is a third of the CLI's start-up time, and only this command needs it.
    const { DRIVER_ONLY_OPTIONS } = await import('../../fake/qemu/options');
    const driverOnly = driverOnlyOptionGiven(context.values);
    if (driverOnly !== undefined)
      throw new UsageError(
        `${driverOnly.flag} does not apply to the fake hypervisor: ${DRIVER_ONLY_OPTIONS[driverOnly.option]}`,
        'fake-hypervisor',
      );
    const { options } = fakeOptionsFrom(context.values);
    const socketOption = stringOption(context.values, 'socket');
    const { startQemuHypervisor } = await import('../../fake/qemu/start');
    const hv = await startQemuHypervisor({
      ...options,
      socketPath: socketOption === undefined ? undefined : path.resolve(socketOption),
    });
    const out = context.out;
    out.document({
      socketPath: hv.socketPath,
      qemuArgs: [...hv.qemuArgs],
      insmodArgs: [...hv.insmodArgs],
      moduleParameters: { ...hv.moduleParameters },
      pid: process.pid,
    });
    out.text(hv.qemuArgs.map(shellWord).join(' '));
    out.text(['insmod', 'ibmvmc.ko', ...hv.insmodArgs].join(' '));
    out.note(
      `Fake hypervisor listening (pid ${process.pid}) on ${hv.socketPath}: add the first line to ` +
        'qemu-system-ppc64 -M pseries, load the driver in the guest with the second. Ctrl-C stops it.',
    );
    hv.waitForDriver().then(
      () => {
        const negotiated = hv.state().negotiated;
        out.note(
          `QEMU connected and the guest’s driver is ready (MTU ${negotiated?.mtu}, ` +
            `${negotiated?.slots} slot${negotiated?.slots === 1 ? '' : 's'}).`,
        );
      },
      () => {
        // Stopped before the driver was ready: nothing to say.
      },
    );
    const onReset = () => {
      hv.reset();
      out.note('Channel reset (SIGUSR1).');
    };
    process.on('SIGUSR1', onReset);
    let reason;
    try {
      reason = await untilStopped(context.signal, true);
    } finally {
      process.removeListener('SIGUSR1', onReset);
      await hv.stop();
    }
    out.note(
      reason === 'parent-exited'
        ? 'Fake hypervisor stopped: the process that started it exited.'
        : 'Fake hypervisor stopped.',
    );
    return EXIT.OK;
  },
};
