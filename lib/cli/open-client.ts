/**
 * The client every session-using subcommand opens: the common options
 * (`--device`, `--hmc-id`, `--timeout`) turned into `connect()` options.
 */
import type { HmcClient } from '../client/client';
import { connect } from '../client/connect';
import type { ClientTransport } from '../client/transport';
import type { CommandContext } from './command';

/**
 * Opens a session and its command path as the common options say, or
 * connects to the broker with `--broker`; `--timeout` bounds the opening and,
 * by default, each request.
 *
 * @param context - The subcommand's context.
 * @param commandName - The subcommand, for the broker's logs.
 */
export function openClient(
  context: CommandContext,
  commandName: string,
): Promise<HmcClient<ClientTransport>> {
  if (context.broker !== undefined)
    return connect({
      broker: context.broker,
      clientName: `ibmvmc ${commandName}`,
      timeoutMs: context.timeoutMs,
      requestTimeoutMs: context.timeoutMs,
      signal: context.signal,
    });
  return connect({
    hmcId: context.hmcId,
    path: context.device,
    sysfsRoot: context.sysfsRoot,
    timeoutMs: context.timeoutMs,
    requestTimeoutMs: context.timeoutMs,
    signal: context.signal,
  });
}
