/**
 * The client every session-using subcommand opens: the common options
 * (`--device`, `--hmc-id`, `--timeout`) turned into `connect()` options.
 */
import type { HmcClient } from '../client/client';
import { connect } from '../client/connect';
import type { HmcSession } from '../session/session';
import type { CommandContext } from './command';

/**
 * Opens a session and its command path as the common options say; `--timeout`
 * bounds the opening and, by default, each request.
 *
 * @param context - The subcommand's context.
 */
export function openClient(context: CommandContext): Promise<HmcClient<HmcSession>> {
  return connect({
    hmcId: context.hmcId,
    path: context.device,
    sysfsRoot: context.sysfsRoot,
    timeoutMs: context.timeoutMs,
    requestTimeoutMs: context.timeoutMs,
    signal: context.signal,
  });
}
