/**
 * Where the preload shim (`ibmvmc_fake_preload.so`) is: built from source
 * under `build/Release/`, or shipped under `prebuilds/<platform>-<arch>/`.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../native/package-root';

/** File name of the shim. */
export const PRELOAD_FILE_NAME = 'ibmvmc_fake_preload.so';

/** The places the shim is looked for, best first. */
export function preloadCandidates(root: string = packageRoot()): string[] {
  return [
    path.join(root, 'build', 'Release', PRELOAD_FILE_NAME),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, PRELOAD_FILE_NAME),
  ];
}

/**
 * The shim for this machine.
 *
 * @returns The first candidate that exists, or undefined if none is built.
 */
export function findPreloadPath(root: string = packageRoot()): string | undefined {
  return preloadCandidates(root).find((file) => existsSync(file));
}
