/**
 * What the hypervisor behind QEMU can be told to be: the fake device's
 * options, less the three that only the fake driver or the preload shim can
 * honour (the guest runs the real driver, and its open() never reaches us).
 * The module parameters are accepted but are the guest's to apply, at insmod.
 */
import { FakeDeviceError } from '../errors';
import { resolveOptions, type FakeDeviceOptions, type ResolvedOptions } from '../options';
import { MODULE_PARAMETER_NAMES, type ModuleParameters } from '../sysfs';

/** Options of the fake device that have no meaning behind QEMU. */
export type DriverOnlyOption = 'haveVmc' | 'openFault' | 'openBusyMs';

/** The fake device's options that apply to the hypervisor behind QEMU. */
export type QemuHypervisorOptions = Omit<FakeDeviceOptions, DriverOnlyOption>;

/** Why each of {@link DriverOnlyOption} is refused, for the error and the CLI. */
export const DRIVER_ONLY_OPTIONS: Readonly<Record<DriverOnlyOption, string>> = Object.freeze({
  haveVmc:
    'the VMC adapter is QEMU’s spapr-vmc device: to run the guest without one, start QEMU without the device',
  openFault: 'open() faults are the preload shim’s: the guest’s open() goes to its own driver',
  openBusyMs:
    'the EBUSY window of open() is the fake driver’s (drivers before 4.19): the guest runs its own driver',
});

/**
 * Checks options for the hypervisor behind QEMU and merges them over `base`.
 *
 * @param options - What to set or change.
 * @param base - The options in force (the defaults when starting).
 * @throws FakeDeviceError (code `ERR_IBMVMC_FAKE_OPTIONS`) for a bad value, or any of {@link DriverOnlyOption} given.
 */
export function resolveQemuOptions(
  options: QemuHypervisorOptions = {},
  base?: ResolvedOptions,
): ResolvedOptions {
  if (typeof options === 'object' && options !== null) {
    for (const [name, why] of Object.entries(DRIVER_ONLY_OPTIONS)) {
      if ((options as Record<string, unknown>)[name] !== undefined) {
        throw new FakeDeviceError(
          `fake hypervisor: option ${name} does not apply behind QEMU: ${why}`,
          'ERR_IBMVMC_FAKE_OPTIONS',
        );
      }
    }
  }
  return resolveOptions(options, base);
}

/**
 * The module parameters as `insmod` arguments, in the driver's names.
 *
 * @returns E.g. `['max_mtu=4096', 'buf_pool_size=32', 'max_hmcs=1']`.
 */
export function insmodArguments(parameters: ModuleParameters): string[] {
  return (Object.keys(MODULE_PARAMETER_NAMES) as Array<keyof ModuleParameters>).map(
    (key) => `${MODULE_PARAMETER_NAMES[key]}=${parameters[key]}`,
  );
}
