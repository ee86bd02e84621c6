/**
 * What `npm publish` would ship: exactly the prebuilt binaries, the sources
 * for a build from source, `dist/` without maps, `contrib/` and the package's
 * own documents; nothing else (tests, maps, caches, examples, lib/ sources).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  PREBUILD_FILES,
  PREBUILD_PLATFORMS,
  ensureX64Prebuild,
  pack,
  presentPrebuilds,
  root,
  type PackedFile,
} from './packed-package';

/** Every file under `dir` (relative to the root), recursively. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

function tracked(dir: string): string[] {
  return execFileSync('git', ['ls-files', '--', dir], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

let packed: PackedFile[];
let platforms: string[];

beforeAll(() => {
  ensureX64Prebuild();
  if (!fs.existsSync(path.join(root, 'dist', 'cjs', 'index.js')))
    throw new Error('dist/ is not built: run "npm run build:ts" first');
  platforms = presentPrebuilds();
  packed = pack().files;
  console.log(
    `pack: prebuilds checked: ${platforms.join(', ')}` +
      (platforms.length < PREBUILD_PLATFORMS.length
        ? ` (absent here: ${PREBUILD_PLATFORMS.filter((p) => !platforms.includes(p)).join(', ')}; npm run prebuildify makes both)`
        : ''),
  );
}, 120_000);

test('ships exactly the intended files', () => {
  const expected = [
    'package.json',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
    'binding.gyp',
    'scripts/install.js',
    ...tracked('native'),
    ...tracked('contrib'),
    ...filesUnder('dist').filter((f) => !f.endsWith('.map')),
    ...filesUnder('prebuilds'),
  ].sort();
  expect(packed.map((f) => f.path).sort()).toEqual(expected);
});

test('holds the linux-x64 prebuild always, and every other one prebuilds/ has', () => {
  expect(platforms).toContain('linux-x64');
  const paths = new Set(packed.map((f) => f.path));
  for (const platform of platforms)
    for (const file of PREBUILD_FILES) expect(paths).toContain(`prebuilds/${platform}/${file}`);
  const shipped = new Set(
    packed.filter((f) => f.path.startsWith('prebuilds/')).map((f) => f.path.split('/')[1]),
  );
  expect([...shipped].sort()).toEqual([...platforms].sort());
});

test('holds the entry points, the command and the build-from-source inputs', () => {
  const paths = new Set(packed.map((f) => f.path));
  for (const file of [
    'dist/cjs/index.js',
    'dist/cjs/index.d.ts',
    'dist/esm/index.mjs',
    'dist/cjs/fake/index.js',
    'dist/esm/fake/index.mjs',
    'dist/cjs/cli/main.js',
    'binding.gyp',
    'scripts/install.js',
    'native/addon/addon.cc',
    'native/fake/shim.c',
    'contrib/udev/90-ibmvmc.rules',
    'contrib/systemd/ibmvmc-broker.service',
  ])
    expect(paths).toContain(file);
  const bin = packed.find((f) => f.path === 'dist/cjs/cli/main.js');
  expect((bin?.mode ?? 0) & 0o111).not.toBe(0);
});

test('ships no tests, maps, caches, temporary files, examples or TypeScript sources', () => {
  const unwanted = [
    /^test\//,
    /\.map$/,
    /(^|\/)\.tmp\//,
    /(^|\/)\.cache\//,
    /(^|\/)examples?\//,
    /^lib\//,
    /^build\//,
    /node_modules\//,
    /^docs\//,
    /^coverage\//,
    /^\.ci\//,
    /\.test\.[cm]?[jt]s$/,
    /\.tgz$/,
  ];
  const found = packed.map((f) => f.path).filter((p) => unwanted.some((re) => re.test(p)));
  expect(found).toEqual([]);
});

test('package.json carries what the registry page and provenance need', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  expect(pkg.repository).toEqual({ type: 'git', url: expect.stringMatching(/^git\+https:\/\//) });
  expect(pkg.bugs).toEqual({ url: expect.stringMatching(/^https:\/\//) });
  expect(pkg.homepage).toEqual(expect.stringMatching(/^https:\/\//));
  expect(pkg.publishConfig).toEqual({ access: 'public', provenance: true });
  expect(pkg.license).toBe('Apache-2.0');
});
