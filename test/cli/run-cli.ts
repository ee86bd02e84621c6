/**
 * Runs the compiled `ibmvmc` as a child process, the way a user does, and
 * collects its output and exit code. Needs `npm run build:ts` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** The compiled CLI. */
export const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js');

if (!existsSync(CLI))
  throw new Error(`${CLI} is missing: run "npm run build:ts" before the CLI tests`);

/**
 * A temporary directory of this test file's own, for the fakes it starts
 * (`tmpDir`) and as the CLI children's TMPDIR (for `--fake`): tests elsewhere
 * count the fakes' directories in the system's temporary directory, and ours
 * must not show up there while they run.
 */
export const TEST_TMPDIR = mkdtempSync(path.join(tmpdir(), 'ibmvmc-cli-test-'));
afterAll(() => rmSync(TEST_TMPDIR, { recursive: true, force: true }));

/** What a finished run printed and returned. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A run in progress: its process, its output so far, and its end. */
export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once `text` appears on stdout or stderr (rejects if the run ends first). */
  waitFor(text: string | RegExp): Promise<void>;
  done: Promise<CliResult>;
}

/** Options of a run. */
export interface CliRunOptions {
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
}

/**
 * Starts `ibmvmc <args>`.
 *
 * @param args - The arguments after `ibmvmc`.
 * @param options - Environment and stdin.
 */
export function startCli(args: readonly string[], options: CliRunOptions = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...(options.env ?? process.env), TMPDIR: TEST_TMPDIR },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: Array<() => void> = [];
  const notify = () => watchers.forEach((w) => w());
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    notify();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    notify();
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  else child.stdin?.end();
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const waitFor = (text: string | RegExp) =>
    new Promise<void>((resolve, reject) => {
      const seen = () => {
        const all = stdout + stderr;
        return typeof text === 'string' ? all.includes(text) : text.test(all);
      };
      if (seen()) return resolve();
      watchers.push(() => seen() && resolve());
      void done.then(() =>
        seen()
          ? resolve()
          : reject(
              new Error(`the run ended without printing ${String(text)}:\n${stdout}${stderr}`),
            ),
      );
    });
  return { child, stdout: () => stdout, stderr: () => stderr, waitFor, done };
}

/**
 * Runs `ibmvmc <args>` to the end.
 *
 * @param args - The arguments after `ibmvmc`.
 * @param options - Environment and stdin.
 */
export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** This process's environment without the fake's shim, as a user's shell has it. */
export function envWithoutShim(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.IBMVMC_FAKE_SOCKET;
  delete env.IBMVMC_FAKE_ATTACH;
  return env;
}
