import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

// Both consumers resolve the package by name (Node's self-reference through
// "exports"), exactly as an installed dependency would.
const root = path.resolve(__dirname, '..', '..');
const run = (args: string[]) =>
  execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();

describe('the built package', () => {
  it('works from CommonJS', () => {
    const out = run([
      '-e',
      "const m = require('ibmvmc'); const f = require('ibmvmc/fake');" +
        "console.log(typeof m.open, typeof m.HmcSession, new m.TimeoutError('t') instanceof m.IbmvmcError, typeof f.startFakeDevice)",
    ]);
    expect(out).toBe('function function true function');
  });

  it('works from ES modules, sharing classes with CommonJS', () => {
    const out = run([
      '--input-type=module',
      '-e',
      "import { open, IbmvmcError, SessionResetError } from 'ibmvmc';" +
        "import { startFakeDevice } from 'ibmvmc/fake';" +
        "import { createRequire } from 'node:module';" +
        "const cjs = createRequire(import.meta.url)('ibmvmc');" +
        "console.log(typeof open, cjs.IbmvmcError === IbmvmcError, new SessionResetError('x') instanceof cjs.IbmvmcError, typeof startFakeDevice)",
    ]);
    expect(out).toBe('function true true function');
  });

  it('ships type declarations for both entry points', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string }>;
    };
    for (const entry of ['.', './fake'])
      expect(existsSync(path.join(root, pkg.exports[entry].types))).toBe(true);
  });
});
