/**
 * How a failed command says so: one line with the typed error's message;
 * with `--debug` its class, code, errno, system call and causes below; with
 * `--json` also a document on stdout.
 */
import { IbmvmcError } from '../errors/ibmvmc-error';
import { exitCodeFor } from './exit-codes';
import type { Output } from './io';
import { UsageError } from './usage-error';

function details(error: Error): string {
  const parts = [error.name];
  if (error instanceof IbmvmcError) {
    parts.push(`code ${error.code}`);
    if (error.errno !== undefined) parts.push(`errno ${error.errno}`);
    if (error.syscall !== undefined) parts.push(`syscall ${error.syscall}`);
    if (error.retryable) parts.push('retryable');
  }
  return parts.join(', ');
}

/**
 * Prints `error` and returns the exit code it stands for.
 *
 * @param out - Where to print.
 * @param error - What was thrown.
 * @param command - The subcommand, for the prefix (`ibmvmc ping: ...`).
 * @param debug - Print details and causes.
 */
export function reportError(
  out: Output,
  error: unknown,
  command: string | undefined,
  debug: boolean,
): number {
  const exitCode = exitCodeFor(error);
  const e = error instanceof Error ? error : new Error(String(error));
  const prefix = command === undefined ? 'ibmvmc' : `ibmvmc ${command}`;
  out.error(`${prefix}: ${e.message}`);
  if (error instanceof UsageError)
    out.error(
      `Run "ibmvmc ${error.command ?? command ?? ''} --help" for usage.`.replace('  ', ' '),
    );
  if (debug) {
    out.error(`  (${details(e)}; exit code ${exitCode})`);
    let cause: unknown = e.cause;
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      const c = cause instanceof Error ? cause : new Error(String(cause));
      out.error(`  caused by: ${c.message} (${details(c)})`);
      cause = c.cause;
    }
    if (e.stack) out.error(e.stack.split('\n').slice(1).join('\n'));
  }
  out.document({
    ok: false,
    error: {
      name: e.name,
      message: e.message,
      code: error instanceof IbmvmcError ? error.code : null,
      exitCode,
    },
  });
  return exitCode;
}
