/**
 * `ibmvmc request-vmc`: asks the hypervisor for a VMC adapter (REQUESTVMC).
 * Needs no session, and no adapter yet: this is how a partition gets one.
 */
import { VmcDevice } from '../../device/device';
import { hex } from '../../protocol/format';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';

/** `ibmvmc request-vmc`. */
export const requestVmcCommand: Command = {
  name: 'request-vmc',
  summary: 'ask the hypervisor for a VMC adapter (REQUESTVMC)',
  synopsis: 'request-vmc',
  description: [
    'Asks the hypervisor to create a Virtual Management Channel adapter for this',
    'partition and prints its DRC index. The adapter must then be added to the',
    'partition (dynamic LPAR) before the driver can use it; "ibmvmc status" shows',
    'have_vmc once it has.',
    '',
    'Errors: permission denied (exit 4) when the firmware lacks the call, the',
    'request was denied, or the system cannot be managed through a VMC; not found',
    '(exit 3) when the hypervisor has no VMC resource to give; I/O error (exit 9)',
    'for a hardware fault or a parameter the hypervisor rejects.',
  ].join('\n'),
  options: {},
  optionHelp: [],
  usesDevice: true,
  async run(context) {
    const device = await VmcDevice.open({ path: context.device });
    let index: number;
    try {
      index = await device.requestVmc();
    } finally {
      device.close();
    }
    context.out.document({ ok: true, device: context.device, drcIndex: index });
    context.out.text(
      `The hypervisor created a VMC adapter: DRC index ${hex(index, 8)} (${index}).`,
    );
    context.out.text(
      'Next: add it to this partition (dynamic LPAR); "ibmvmc status" then shows have_vmc.',
    );
    return EXIT.OK;
  },
};
