/**
 * The API reference builds from the TSDoc of the package's entry points with
 * TypeDoc's validation on (every export documented, no broken or dangling
 * links), warnings counted as errors: what `npm run docs` does, into a
 * temporary folder.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '..', '..');

interface TypedocConfig {
  entryPoints: string[];
  validation: Record<string, boolean>;
  treatWarningsAsErrors: boolean;
  treatValidationWarningsAsErrors: boolean;
}

test('typedoc.json documents both exports with validation on and warnings as errors', () => {
  const config = JSON.parse(
    fs.readFileSync(path.join(root, 'typedoc.json'), 'utf8'),
  ) as TypedocConfig;
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, unknown>;
    scripts: Record<string, string>;
  };
  expect(Object.keys(pkg.exports).filter((e) => e !== './package.json')).toEqual(['.', './fake']);
  expect(config.entryPoints).toEqual(['lib/index.ts', 'lib/fake/index.ts']);
  expect(config.validation).toEqual({ notExported: true, invalidLink: true, notDocumented: true });
  expect(config.treatWarningsAsErrors).toBe(true);
  expect(config.treatValidationWarningsAsErrors).toBe(true);
  expect(pkg.scripts.docs).toBe('typedoc');
});

test('the API reference builds with no warning', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ibmvmc-docs-'));
  try {
    const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [typedoc, '--out', out, '--logLevel', 'Info'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
    ).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(`typedoc failed:\n${e.stdout}${e.stderr}`);
    });
    expect(`${stdout}${stderr}`).not.toMatch(/warning|error/i);
    expect(fs.existsSync(path.join(out, 'modules', 'ibmvmc.html'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'modules', 'ibmvmc_fake.html'))).toBe(true);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
