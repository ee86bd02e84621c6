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

/** A booted guest; `hypervisor` is null without an adapter. `stopAll` stops both. */
export type Guest = RealDriverGuest<QemuHypervisorHandle> & { stopAll(): Promise<void> };

/**
 * Boots a guest: with `adapter`, QEMU gets the spapr-vmc device and our fake
 * hypervisor (started here with `hypervisor` options) behind it.
 */
export async function bootGuest(options: {
  readonly adapter: boolean;
  readonly hypervisor?: QemuHypervisorOptions;
}): Promise<Guest> {
  const inputs = readInputs();
  const hypervisor = options.adapter ? await startQemuHypervisor({ ...options.hypervisor }) : null;
  try {
    const guest = await RealDriverGuest.boot({ inputs, hypervisor });
    return Object.assign(guest, {
      async stopAll() {
        try {
          await guest.stop();
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

/** Where the suites write what they print beside the inputs (the differential table). */
export function outputFile(name: string): string {
  return path.join(readInputs().cache, name);
}
