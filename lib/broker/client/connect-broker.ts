/**
 * An `HmcClient` over a broker connection: what `connect({ broker })` returns.
 */
import { HmcClient } from '../../client/client';
import type { ClientSettings } from '../../client/options';
import { BrokerTransport } from './broker-transport';
import { openBrokerConnection } from './hello';
import type { BrokerSettings } from './options';

/**
 * Connects to the broker, and makes the client over that connection. Takes
 * settled settings: `connect()` checked them.
 */
export async function connectBroker(
  broker: BrokerSettings,
  client: ClientSettings,
  deadline: { timeoutMs: number; signal: AbortSignal | undefined },
): Promise<HmcClient<BrokerTransport>> {
  const connection = await openBrokerConnection({
    path: broker.path,
    timeoutMs: deadline.timeoutMs,
    signal: deadline.signal,
    clientName: broker.clientName,
  });
  const transport = new BrokerTransport(connection, { closeTimeoutMs: client.closeTimeoutMs });
  transport.subscribe(broker.events);
  // The broker holds the command path: attaching sends nothing.
  return HmcClient.attachSettled(transport, client, deadline);
}
