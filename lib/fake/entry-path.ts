/**
 * The compiled entry point a fake device's child process or worker runs. It
 * must be JavaScript: under ts-jest this module is TypeScript in `lib/fake/`,
 * and the entry is then taken from the package's build (`dist/cjs/fake/`).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { FakeDeviceError } from './errors';
import { packageRoot } from '../native/package-root';

const ENTRY_FILE = 'child-entry.js';

/**
 * Path of the child/worker entry.
 *
 * @throws FakeDeviceError (code `ERR_IBMVMC_FAKE_NOT_BUILT`) when the compiled file is missing.
 */
export function childEntryPath(): string {
  const entry = __filename.endsWith('.js')
    ? path.join(__dirname, ENTRY_FILE)
    : path.join(packageRoot(), 'dist', 'cjs', 'fake', ENTRY_FILE);
  if (!existsSync(entry)) {
    throw new FakeDeviceError(
      `fake device: ${entry} is missing; build the package first (npm run build:ts)`,
      'ERR_IBMVMC_FAKE_NOT_BUILT',
    );
  }
  return entry;
}
