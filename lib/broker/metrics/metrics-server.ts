/**
 * `ibmvmc serve --metrics`: an HTTP server with one page, GET /metrics, in
 * Prometheus's text format, on TCP or a Unix socket.
 */
import { chmod } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { BrokerLog } from '../observe/log';
import type { BrokerMetrics } from '../observe/metrics';
import {
  formatMetricsAddress,
  parseMetricsAddress,
  type MetricsListenAddress,
} from './listen-address';
import { processMetricsRegistry } from './process-metrics';
import { createPrometheusMetrics } from './prometheus-metrics';
import { clearStaleSocket, optionRefusals } from '../stale-socket';

/** A running metrics server. */
export interface MetricsServer {
  /** The hooks for the broker: each call moves a metric served here. */
  readonly metrics: BrokerMetrics;
  /** Where it listens: `host:port` (with the real port when 0 was asked), `[v6]:port`, or the socket path. */
  readonly address: string;
  /** Stops listening, ends open connections, removes the socket file; resolves once closed. */
  close(): Promise<void>;
}

/** Group-readable, like the broker's own socket: a scraper in the group may read, others not. */
const UNIX_SOCKET_MODE = 0o660;

/** Answers one HTTP request: the metrics at /metrics, 404 anywhere else. */
function answer(
  registry: Registry,
  log: BrokerLog,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const path = (request.url ?? '').split('?', 1)[0];
  const text = (status: number, body: string, headers: Record<string, string> = {}): void => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    response.end(body);
  };
  if (path !== '/metrics') return text(404, 'not found: the metrics are at /metrics\n');
  if (request.method !== 'GET' && request.method !== 'HEAD')
    return text(405, 'only GET and HEAD\n', { allow: 'GET, HEAD' });
  registry.metrics().then(
    (body) => {
      response.writeHead(200, { 'content-type': registry.contentType });
      response.end(request.method === 'HEAD' ? undefined : body);
    },
    (error: unknown) => {
      log.write('error', 'metrics-scrape-failed', { error: String(error) });
      text(500, 'the metrics could not be collected\n');
    },
  );
}

/** Listens, resolving once listening or rejecting with the listen error (EADDRINUSE, EACCES...). */
function listen(server: Server, where: MetricsListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const listening = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (where.kind === 'unix') server.listen(where.path, listening);
    else server.listen({ host: where.host, port: where.port }, listening);
  });
}

/** Closes the server and every connection it holds (a scraper's keep-alive would hold it open). */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    // Node unlinks a Unix socket's path when its server closes.
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/**
 * Starts the metrics server: the broker's metrics (`ibmvmc_broker_*`) on a
 * registry of this server's own, and the process's standard ones.
 *
 * @param where - `HOST:PORT` (IPv4), `[v6]:PORT`, `:PORT` (127.0.0.1), port 0
 *   for any free one; or an absolute Unix socket path, made mode 0660 (a stale
 *   socket there is replaced; a live one or another file is refused).
 * @param options - `log`: where `metrics-listening` is written.
 * @throws InvalidArgumentError - `where` is none of those, or its socket path is taken.
 */
export async function startMetricsServer(
  where: string,
  options: { log: BrokerLog },
): Promise<{ metrics: BrokerMetrics; address: string; close(): Promise<void> }> {
  const { log } = options;
  const target = parseMetricsAddress(where);
  const own = new Registry();
  const metrics = createPrometheusMetrics(own);
  const registry = Registry.merge([own, processMetricsRegistry()]);

  if (target.kind === 'unix') await clearStaleSocket(target.path, optionRefusals('--metrics'));
  const server = createServer((request, response) => answer(registry, log, request, response));
  await listen(server, target);
  // After a successful listen, a server error (rare: accept failing) is logged, never thrown.
  server.on('error', (error) =>
    log.write('error', 'metrics-server-error', { error: error.message }),
  );

  let bound: MetricsListenAddress;
  try {
    if (target.kind === 'unix') {
      await chmod(target.path, UNIX_SOCKET_MODE);
      bound = target;
    } else {
      const info = server.address() as AddressInfo;
      bound = { kind: 'tcp', host: info.address, port: info.port };
    }
  } catch (error) {
    await closeServer(server);
    throw error;
  }

  const address = formatMetricsAddress(bound);
  log.write('info', 'metrics-listening', { address });
  let closing: Promise<void> | undefined;
  const running: MetricsServer = {
    metrics,
    address,
    close() {
      closing ??= closeServer(server);
      return closing;
    },
  };
  return running;
}
