/**
 * `--write-env`: the fake's variables as a dotenv file, for CI systems that
 * run each step in a new shell. It appears whole or not at all (written
 * beside, then renamed), so a step that waits for it never reads half of it.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { shellQuote } from './foreground';

/**
 * The file's text: one `NAME='value'` line per variable, quoted for a POSIX
 * shell (`set -a; . FILE; set +a`), which dotenv readers also take.
 *
 * @param env - The variables.
 */
export function dotenvText(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${shellQuote(value)}\n`)
    .join('');
}

/**
 * Writes `env` to `file` atomically.
 *
 * @param file - Where; its folder must exist.
 * @param env - The variables.
 */
export function writeEnvFile(file: string, env: Readonly<Record<string, string>>): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, dotenvText(env), { mode: 0o644, flag: 'wx' });
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Removes the file once the fake it describes has stopped.
 *
 * @param file - As given to {@link writeEnvFile}.
 */
export function removeEnvFile(file: string): void {
  rmSync(file, { force: true });
}
