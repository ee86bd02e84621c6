import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors/error-classes';
import { showValue } from '../protocol/format';
import { validateOptions } from './options-argument';

/** The ibmvmc module's parameters, from sysfs. */
export type ModuleParameters =
  | {
      /** The module is loaded: its parameters follow. */
      loaded: true;
      /** `max_mtu`: the largest message, in bytes. */
      maxMtu: number;
      /** `buf_pool_size`: buffers per HMC session. */
      bufPoolSize: number;
      /** `max_hmcs`: how many HMC sessions at once. */
      maxHmcs: number;
    }
  | {
      /** The module is not loaded (or its parameters cannot be read). */
      loaded: false;
      /** Why, and what to do (e.g. `modprobe ibmvmc`). */
      reason: string;
    };

/** Where sysfs is: the `sysfsRoot` option, else `IBMVMC_SYSFS_ROOT`, else `/sys`. */
export function resolveSysfsRoot(sysfsRoot?: string): string {
  return sysfsRoot ?? process.env.IBMVMC_SYSFS_ROOT ?? '/sys';
}

async function readNumber(file: string): Promise<number> {
  const text = (await readFile(file, 'utf8')).trim();
  const value = Number.parseInt(text, 10);
  if (!Number.isInteger(value)) throw new Error(`${file} holds "${text}", not a number`);
  return value;
}

/**
 * Reads `max_mtu`, `buf_pool_size` and `max_hmcs` of the ibmvmc module.
 * A module that is not loaded is an answer (`loaded: false`), not an error.
 */
export async function readModuleParameters(parametersOptions?: {
  sysfsRoot?: string;
}): Promise<ModuleParameters> {
  const options = validateOptions(parametersOptions, 'readModuleParameters()');
  if (
    options.sysfsRoot !== undefined &&
    (typeof options.sysfsRoot !== 'string' || options.sysfsRoot.length === 0)
  )
    throw new InvalidArgumentError(
      `sysfsRoot must be a non-empty string, got ${showValue(options.sysfsRoot)}`,
      { code: 'ERR_INVALID_ARG_TYPE' },
    );
  const dir = path.join(resolveSysfsRoot(options.sysfsRoot), 'module', 'ibmvmc', 'parameters');
  try {
    const [maxMtu, bufPoolSize, maxHmcs] = await Promise.all([
      readNumber(path.join(dir, 'max_mtu')),
      readNumber(path.join(dir, 'buf_pool_size')),
      readNumber(path.join(dir, 'max_hmcs')),
    ]);
    return { loaded: true, maxMtu, bufPoolSize, maxHmcs };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `the ibmvmc module is not loaded (no ${dir}): load it with "modprobe ibmvmc"`
        : `cannot read ${dir}: ${(error as Error).message}`;
    return { loaded: false, reason };
  }
}
