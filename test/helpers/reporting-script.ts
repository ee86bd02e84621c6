import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '..', '..');

/**
 * Runs one of our scripts that writes its results as JSON to the path given
 * as its argument (`scripts/soak/run.js`, `scripts/bench/run.js`), in a
 * process of its own with `env` added; returns those results and its stdout.
 */
export async function runReportingScript<T>(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ results: T; stdout: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-script-'));
  try {
    const out = path.join(dir, 'results.json');
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, script), out], {
      env: { ...process.env, ...env },
    });
    return { results: JSON.parse(readFileSync(out, 'utf8')) as T, stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
