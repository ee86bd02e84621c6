/**
 * The folder holding this package's package.json, found by walking up from
 * this file: the same code runs from `lib/fake/` under ts-jest and from
 * `dist/cjs/fake/` once built.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FakeDeviceError } from './errors';

let cached: string | undefined;

/**
 * The package root (the folder of the `ibmvmc` package.json).
 *
 * @throws FakeDeviceError if no such folder is above this file.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown };
      if (pkg.name === 'ibmvmc') return (cached = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new FakeDeviceError(
        `fake device: cannot find the ibmvmc package root above ${__dirname}`,
        'ERR_IBMVMC_FAKE_NOT_BUILT',
      );
    }
    dir = parent;
  }
}
