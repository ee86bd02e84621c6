/**
 * A fake of the driver's sysfs directory, `<root>/module/ibmvmc/parameters/`,
 * holding `max_mtu`, `buf_pool_size` and `max_hmcs` as the kernel shows them
 * (the number and a newline), so the library can read the module parameters
 * from a configurable sysfs root instead of `/sys`.
 */
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

/** The module parameters, as the driver holds them after its load-time clamping. */
export interface ModuleParameters {
  /** `max_mtu`. */
  readonly maxMtu: number;
  /** `buf_pool_size`. */
  readonly bufPoolSize: number;
  /** `max_hmcs`. */
  readonly maxHmcs: number;
}

/** The parameters' names in the kernel (sysfs files, `insmod` arguments). */
export const MODULE_PARAMETER_NAMES: Readonly<Record<keyof ModuleParameters, string>> =
  Object.freeze({ maxMtu: 'max_mtu', bufPoolSize: 'buf_pool_size', maxHmcs: 'max_hmcs' });

/** The parameters directory under a sysfs root. */
export function sysfsParametersDir(root: string): string {
  return path.join(root, 'module', 'ibmvmc', 'parameters');
}

/**
 * Writes (or rewrites) the three parameter files.
 *
 * @param root - The fake sysfs root (stands for `/sys`).
 */
export async function writeSysfs(root: string, params: ModuleParameters): Promise<void> {
  const dir = sysfsParametersDir(root);
  await mkdir(dir, { recursive: true });
  await Promise.all(
    (Object.keys(MODULE_PARAMETER_NAMES) as Array<keyof ModuleParameters>).map((key) =>
      writeFile(path.join(dir, MODULE_PARAMETER_NAMES[key]), `${params[key]}\n`),
    ),
  );
}

/**
 * Removes what {@link writeSysfs} created: `<root>/module/ibmvmc`, and
 * `<root>/module` if nothing else is in it.
 */
export async function removeSysfs(root: string): Promise<void> {
  await rm(path.join(root, 'module', 'ibmvmc'), { recursive: true, force: true });
  await rmdir(path.join(root, 'module')).catch(() => {
    // Missing, or not empty: it holds something of someone else's.
  });
}
