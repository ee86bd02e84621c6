/**
 * A POWER guest on the unmodified driver for the real-driver suites
 * (scripts/power/real-driver/guest.js), with our fake hypervisor behind its
 * VMC adapter, in this process, when it has one.
 */
import * as path from 'node:path';
import {
  startQemuHypervisor,
  type QemuHypervisorHandle,
  type QemuHypervisorOptions,
} from '../../lib/fake/index';
import { RealDriverGuest, readInputs } from '../../scripts/power/real-driver/guest';

export type { ModuleParameters } from '../../scripts/power/real-driver/guest';

/**
 * The driver writes into a closed file's freed session when a transport event
 * comes after the close (ibmvmc_close frees it, ibmvmc_return_hmc later writes
 * its `valid`). Without help that corrupts SLUB's free list of kmalloc-32 and
 * a later allocation oopses (seen: in ibmvmc_open). With poisoning and checks
 * on that cache, the free pointer lives outside the object: SLUB reports the
 * write ("Poison overwritten"), repairs it, and the guest carries on.
 */
export const SLUB_GUARD = 'slub_debug=FZPU,kmalloc-32';

/** A booted guest; `hypervisor` is null without an adapter. `stopAll` stops both. */
export type Guest = RealDriverGuest<QemuHypervisorHandle> & { stopAll(): Promise<void> };

/**
 * Boots a guest: with `adapter`, QEMU gets the spapr-vmc device and our fake
 * hypervisor (started here with `hypervisor` options) behind it.
 */
export async function bootGuest(options: {
  /** Names the console log kept beside the inputs: console-<name>.log. */
  readonly name: string;
  readonly adapter: boolean;
  readonly hypervisor?: QemuHypervisorOptions;
}): Promise<Guest> {
  const inputs = readInputs();
  const hypervisor = options.adapter ? await startQemuHypervisor({ ...options.hypervisor }) : null;
  try {
    // IBMVMC_REAL_DRIVER_CONSOLE=1 shows the guest's console (its kernel's messages) as it comes.
    const onConsole =
      process.env.IBMVMC_REAL_DRIVER_CONSOLE === '1'
        ? (line: string) => process.stderr.write(`${options.name} console| ${line}\n`)
        : undefined;
    const guest = await RealDriverGuest.boot({
      inputs,
      hypervisor,
      onConsole,
      append: options.adapter ? SLUB_GUARD : undefined,
    });
    return Object.assign(guest, {
      async stopAll() {
        try {
          await guest.stop(path.join(inputs.cache, `console-${options.name}.log`));
        } finally {
          await hypervisor?.stop();
        }
      },
    });
  } catch (error) {
    await hypervisor?.stop();
    throw error;
  }
}
