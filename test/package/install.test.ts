/**
 * The packed package installs and runs with no compiler and no install step:
 * with `npm install --ignore-scripts`, with npm running its install script,
 * and with pnpm 10 and Bun (which block dependencies' scripts); `require`, `import`
 * and `ibmvmc --help` work and the addon loads from `prebuilds/`. Without a
 * matching binary, importing still works and the first call that needs the
 * addon throws one line saying what to do.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { COMPILERS, binWithoutCompilers, ensureX64Prebuild, pack } from './packed-package';

const run = promisify(execFile);

let work: string;
let env: NodeJS.ProcessEnv;
/** The install folders, each with its install's output, once it succeeded. */
const installs = new Map<string, Promise<{ stdout: string; stderr: string }>>();

/** Runs `command` in `cwd` on the PATH without compilers. */
function inDir(cwd: string, command: string, args: string[]) {
  return run(command, args, { cwd, env, encoding: 'utf8', timeout: 90_000 });
}

/** A project folder with `ibmvmc` installed from the tarball by `installer`. */
function install(name: string, installer: string, args: string[]): void {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }),
  );
  const done = inDir(dir, installer, args);
  done.catch(() => undefined); // awaited by each test; no unhandled rejection meanwhile
  installs.set(name, done);
}

async function installed(name: string): Promise<string> {
  await installs.get(name);
  return path.join(work, name);
}

const REQUIRE = `
const ibmvmc = require('ibmvmc');
const fake = require('ibmvmc/fake');
const constants = ibmvmc.nativeConstants();
const binary = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
console.log(JSON.stringify({ hmcIdLength: constants.HMC_ID_LEN, binary, fake: typeof fake.startFakeDevice }));
`;
const IMPORT = `
const ibmvmc = await import('ibmvmc');
const fake = await import('ibmvmc/fake');
const constants = ibmvmc.nativeConstants();
console.log(JSON.stringify({ hmcIdLength: constants.HMC_ID_LEN, fake: typeof fake.startFakeDevice }));
`;

beforeAll(() => {
  ensureX64Prebuild();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ibmvmc-install-'));
  const bin = binWithoutCompilers(path.join(work, 'bin'));
  env = {
    PATH: bin,
    HOME: os.homedir(),
    TMPDIR: os.tmpdir(),
    LANG: 'C.UTF-8',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  const { tarball } = pack(work);
  if (tarball === undefined) throw new Error('npm pack made no tarball');
  // In parallel: they share only npm's and pnpm's content-addressed caches.
  install('npm-ignore-scripts', 'npm', [
    'install',
    '--ignore-scripts',
    '--prefer-offline',
    tarball,
  ]);
  install('npm-scripts', 'npm', ['install', '--foreground-scripts', '--prefer-offline', tarball]);
  install('pnpm', 'npx', ['--yes', 'pnpm@10', 'add', tarball]);
  install('bun', 'npx', ['--yes', 'bun@1', 'add', tarball]);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(installs.values());
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
});

test('the PATH the installs run on has no compiler, make or Python', async () => {
  for (const tool of COMPILERS)
    await expect(inDir(work, 'sh', ['-c', `command -v ${tool}`])).rejects.toHaveProperty(
      'stdout',
      '',
    );
  await expect(inDir(work, 'sh', ['-c', 'command -v node && command -v npm'])).resolves.toEqual(
    expect.objectContaining({ stderr: '' }),
  );
});

describe.each([
  ['npm-ignore-scripts', 'npx', ['--no-install', 'ibmvmc', '--help']],
  ['npm-scripts', 'npx', ['--no-install', 'ibmvmc', '--help']],
  ['pnpm', 'node_modules/.bin/ibmvmc', ['--help']],
  ['bun', 'node_modules/.bin/ibmvmc', ['--help']],
])('installed with %s', (name, command, helpArgs) => {
  test('the addon loads from prebuilds/linux-x64 with require; nothing was built', async () => {
    const dir = await installed(name);
    const { stdout, stderr } = await inDir(dir, 'node', ['-e', REQUIRE]);
    expect(stderr).toBe('');
    const result = JSON.parse(stdout) as { hmcIdLength: number; binary: string[]; fake: string };
    expect(result.hmcIdLength).toBe(32);
    expect(result.fake).toBe('function');
    expect(result.binary).toHaveLength(1);
    expect(result.binary[0]).toMatch(/\/ibmvmc\/prebuilds\/linux-x64\/ibmvmc\.node$/);
    const pkg = fs.realpathSync(path.join(dir, 'node_modules', 'ibmvmc'));
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
  });

  test('import works the same', async () => {
    const dir = await installed(name);
    const { stdout, stderr } = await inDir(dir, 'node', ['--input-type=module', '-e', IMPORT]);
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({ hmcIdLength: 32, fake: 'function' });
  });

  test('ibmvmc --help runs', async () => {
    const dir = await installed(name);
    const { stdout, stderr } = await inDir(dir, command, helpArgs);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^Usage: ibmvmc <command> \[options\]\n/);
  });
});

test('npm ran the install script, which found the prebuild and built nothing', async () => {
  const { stdout } = await installs.get('npm-scripts')!;
  expect(stdout).toMatch(/^> node scripts\/install\.js$/m);
});

test('pnpm 10 blocked the install script, so the prebuild loaded without it', async () => {
  const { stdout, stderr } = await installs.get('pnpm')!;
  expect(`${stdout}${stderr}`).toMatch(/Ignored build scripts: .*ibmvmc/);
  const version = /using pnpm v(\d+)\.\d+\.\d+/.exec(stdout);
  expect(version?.[1]).toBe('10');
  console.log(`install: ${version?.[0] ?? 'pnpm, version not printed'}`);
});

test('Bun blocked the install script; the addon loads under Bun itself too', async () => {
  const { stdout, stderr } = await installs.get('bun')!;
  expect(`${stdout}${stderr}`).toMatch(/Blocked 1 postinstall/);
  const dir = await installed('bun');
  const version = await inDir(dir, 'npx', ['--yes', 'bun@1', '--version']);
  const underBun = await inDir(dir, 'npx', [
    '--yes',
    'bun@1',
    '-e',
    "console.log(require('ibmvmc').nativeConstants().HMC_ID_LEN)",
  ]);
  expect(underBun.stdout).toBe('32\n');
  console.log(`install: Bun ${version.stdout.trim()}`);
});

test('without a binary for the platform: importing works, the addon call says in one line what to do', async () => {
  const from = await installed('npm-ignore-scripts');
  const dir = path.join(work, 'no-binary');
  fs.cpSync(from, dir, { recursive: true, verbatimSymlinks: true });
  const pkg = path.join(dir, 'node_modules', 'ibmvmc');
  fs.rmSync(path.join(pkg, 'prebuilds', 'linux-x64'), { recursive: true });
  fs.rmSync(path.join(pkg, 'build'), { recursive: true, force: true });
  const script = `
const ibmvmc = require('ibmvmc');
require('ibmvmc/fake');
const encoded = ibmvmc.encodeHmcId('no-binary').length;
try {
  ibmvmc.nativeConstants();
  console.log(JSON.stringify({ threw: false }));
} catch (e) {
  console.log(JSON.stringify({ encoded, name: e.name, code: e.code, message: e.message,
    typed: e instanceof ibmvmc.NativeBinaryMissingError }));
}
`;
  const { stdout, stderr } = await inDir(dir, 'node', ['-e', script]);
  expect(stderr).toBe('');
  const result = JSON.parse(stdout) as Record<string, unknown>;
  expect(result).toMatchObject({
    encoded: 32,
    name: 'NativeBinaryMissingError',
    code: 'ERR_IBMVMC_NO_BINARY',
    typed: true,
  });
  expect(result.message).not.toMatch(/\n/);
  expect(result.message).toMatch(/linux-x64/);
  expect(result.message).toMatch(/allow ibmvmc's install script/);
  expect(result.message).toMatch(/npm rebuild ibmvmc/);

  // The command says the same in one line, with no stack trace.
  const cli = await inDir(dir, 'npx', [
    '--no-install',
    'ibmvmc',
    'request-vmc',
    '--device',
    '/dev/null',
  ]).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  );
  expect(cli.code).not.toBe(0);
  expect(cli.stderr.trimEnd().split('\n')).toEqual([
    expect.stringMatching(
      /^ibmvmc request-vmc: no native binary for linux-x64 .*npm rebuild ibmvmc/,
    ),
  ]);
}, 60_000);
