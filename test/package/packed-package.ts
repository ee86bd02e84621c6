/**
 * The package as `npm pack` makes it, for the package tests: the prebuilt
 * binaries it must hold, the packing itself, and a PATH with no compiler.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository's root. */
export const root = path.resolve(__dirname, '..', '..');

/** The platforms whose prebuilt binaries the package ships, as `prebuilds/<name>/`. */
export const PREBUILD_PLATFORMS = ['linux-x64', 'linux-ppc64'] as const;

/** The files in each `prebuilds/<platform>/`. */
export const PREBUILD_FILES = ['ibmvmc.node', 'ibmvmc_fake_preload.so'] as const;

/**
 * Makes `prebuilds/linux-x64/` if it is missing (`scripts/prebuildify.sh x64`,
 * under a lock shared by the package tests); `npm run test:power` makes both.
 */
export function ensureX64Prebuild(): void {
  const lock = path.join(root, '.cache', 'prebuildify.lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const run = spawnSync(
    'flock',
    [lock, 'sh', '-c', '[ -e prebuilds/linux-x64/ibmvmc.node ] || scripts/prebuildify.sh x64'],
    { cwd: root, encoding: 'utf8' },
  );
  if (run.status !== 0)
    throw new Error(`scripts/prebuildify.sh x64 failed:\n${run.stdout}${run.stderr}`);
}

/** The platforms of `PREBUILD_PLATFORMS` that `prebuilds/` holds now. */
export function presentPrebuilds(): string[] {
  return PREBUILD_PLATFORMS.filter((p) => fs.existsSync(path.join(root, 'prebuilds', p)));
}

/** One file of `npm pack --json`. */
export interface PackedFile {
  path: string;
  mode: number;
}

/**
 * `npm pack --json` of the repository, without lifecycle scripts (`prepare`
 * would rebuild `dist/` under the other suites): the files, and the tarball's
 * path when `destination` is given (else a dry run).
 */
export function pack(destination?: string): { files: PackedFile[]; tarball?: string } {
  const args = ['pack', '--json', '--ignore-scripts'];
  args.push(...(destination === undefined ? ['--dry-run'] : ['--pack-destination', destination]));
  const out = execFileSync('npm', args, { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  const [result] = JSON.parse(out) as { filename: string; files: PackedFile[] }[];
  return {
    files: result.files,
    tarball: destination === undefined ? undefined : path.join(destination, result.filename),
  };
}

/** Tools that would let an install build the addon from source. */
export const COMPILERS = ['cc', 'gcc', 'c++', 'g++', 'clang', 'make', 'python3', 'python'] as const;

/**
 * A folder of symlinks to what npm, npx and pnpm need (node, npm, npx, sh,
 * env; pnpm's bin shims use sed, dirname and uname) and nothing else, for a
 * PATH on which no compiler can be found.
 */
export function binWithoutCompilers(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const npmCli = fs.realpathSync(
    execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim(),
  );
  const links: Record<string, string> = {
    node: process.execPath,
    npm: npmCli,
    npx: path.join(path.dirname(npmCli), 'npx-cli.js'),
    sh: '/bin/sh',
    env: '/usr/bin/env',
    sed: '/usr/bin/sed',
    dirname: '/usr/bin/dirname',
    uname: '/usr/bin/uname',
  };
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(dir, name));
  return dir;
}
