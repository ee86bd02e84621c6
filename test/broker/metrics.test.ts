/**
 * The broker's Prometheus metrics: every hook moves its metric, scraped over
 * real HTTP on TCP and on a Unix socket; the addresses `--metrics` takes and
 * refuses; closing frees the port and the socket file.
 */
import { linkSync, lstatSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { InvalidArgumentError } from '../../lib/errors/index';
import {
  createPrometheusMetrics,
  parseMetricsAddress,
  startMetricsServer,
  targetLabel,
  type MetricsServer,
} from '../../lib/broker/metrics/index';
import { createJsonLog, silentLog } from '../../lib/broker/observe/log';

/** What one HTTP request got back. */
interface Reply {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** Where to send a request: a TCP `host:port` or a Unix socket path. */
function via(address: string): { host: string; port: number } | { socketPath: string } {
  if (address.startsWith('/')) return { socketPath: address };
  const colon = address.lastIndexOf(':');
  return {
    host: address.slice(0, colon).replace(/^\[|\]$/g, ''),
    port: Number(address.slice(colon + 1)),
  };
}

/** One HTTP request; `agent: false` by default so no pooled socket outlives it. */
function get(
  address: string,
  urlPath: string,
  method = 'GET',
  agent: Agent | false = false,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ ...via(address), path: urlPath, method, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The samples of a text-format scrape: `name{labels}` → value. */
function samples(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

async function scrape(address: string): Promise<Map<string, number>> {
  const reply = await get(address, '/metrics');
  expect(reply.status).toBe(200);
  return samples(reply.body);
}

/** Whether a TCP port can be listened on again (closing freed it). */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe: Server = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port }, () => probe.close(() => resolve(true)));
  });
}

const NAMES = [
  'ibmvmc_broker_clients',
  'ibmvmc_broker_in_flight',
  'ibmvmc_broker_requests_total',
  'ibmvmc_broker_request_duration_seconds',
  'ibmvmc_broker_session_resets_total',
  'ibmvmc_broker_late_answers_total',
  'ibmvmc_broker_busy_retries_total',
  'ibmvmc_broker_peer_refused_total',
  'ibmvmc_broker_clients_dropped_total',
];

let dir: string;
const open: MetricsServer[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-metrics-'));
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(where: string, log = silentLog): Promise<MetricsServer> {
  const server = await startMetricsServer(where, { log });
  open.push(server);
  return server;
}

describe('startMetricsServer over TCP', () => {
  it('listens on a free port for :0, says where in the log, and serves every metric', async () => {
    const lines: string[] = [];
    const server = await start(':0', createJsonLog({ write: (l: string) => lines.push(l) }));
    expect(server.address).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({
        level: 'info',
        event: 'metrics-listening',
        address: server.address,
      }),
    ]);

    const reply = await get(server.address, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(new Registry().contentType);
    for (const name of NAMES) expect(reply.body).toContain(`# TYPE ${name} `);
    // prom-client's standard process metrics, under their standard names.
    expect(reply.body).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(reply.body).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    const before = samples(reply.body);
    expect(before.get('ibmvmc_broker_clients')).toBe(0);
    expect(before.get('ibmvmc_broker_session_resets_total')).toBe(0);
  });

  it('moves each metric when the broker calls its hook', async () => {
    const server = await start(':0');
    const m = server.metrics;
    m.setClients(3);
    m.setInFlight(5);
    m.requestDone(0x8000, 'answered', 0.00007);
    m.requestDone(0x8000, 'answered', 3);
    m.requestDone(0x8000, 'command-error', 0.002);
    m.requestDone(0x101, 'refused', 0);
    m.sessionReset();
    m.lateAnswer();
    m.lateAnswer();
    m.busyRetries(4);
    m.busyRetries(0);
    m.peerRefused('user');
    m.clientDropped('slow-reader');
    m.clientDropped('protocol');
    m.clientDropped('protocol');

    const s = await scrape(server.address);
    expect(s.get('ibmvmc_broker_clients')).toBe(3);
    expect(s.get('ibmvmc_broker_in_flight')).toBe(5);
    expect(s.get('ibmvmc_broker_requests_total{target="0x8000",outcome="answered"}')).toBe(2);
    expect(s.get('ibmvmc_broker_requests_total{target="0x8000",outcome="command-error"}')).toBe(1);
    expect(s.get('ibmvmc_broker_requests_total{target="0x0101",outcome="refused"}')).toBe(1);
    const h = 'ibmvmc_broker_request_duration_seconds';
    expect(s.get(`${h}_bucket{le="0.00005",target="0x8000"}`)).toBe(0);
    expect(s.get(`${h}_bucket{le="0.0001",target="0x8000"}`)).toBe(1);
    expect(s.get(`${h}_bucket{le="0.0025",target="0x8000"}`)).toBe(2);
    expect(s.get(`${h}_bucket{le="2.5",target="0x8000"}`)).toBe(2);
    expect(s.get(`${h}_bucket{le="5",target="0x8000"}`)).toBe(3);
    expect(s.get(`${h}_bucket{le="10",target="0x8000"}`)).toBe(3);
    expect(s.get(`${h}_bucket{le="+Inf",target="0x8000"}`)).toBe(3);
    expect(s.get(`${h}_count{target="0x8000"}`)).toBe(3);
    expect(s.get(`${h}_sum{target="0x8000"}`)).toBeCloseTo(3.00207, 6);
    expect(s.get(`${h}_count{target="0x0101"}`)).toBe(1);
    expect(s.get('ibmvmc_broker_session_resets_total')).toBe(1);
    expect(s.get('ibmvmc_broker_late_answers_total')).toBe(2);
    expect(s.get('ibmvmc_broker_busy_retries_total')).toBe(4);
    expect(s.get('ibmvmc_broker_peer_refused_total{reason="user"}')).toBe(1);
    expect(s.get('ibmvmc_broker_clients_dropped_total{reason="slow-reader"}')).toBe(1);
    expect(s.get('ibmvmc_broker_clients_dropped_total{reason="protocol"}')).toBe(2);

    m.setClients(1);
    m.setInFlight(0);
    const again = await scrape(server.address);
    expect(again.get('ibmvmc_broker_clients')).toBe(1);
    expect(again.get('ibmvmc_broker_in_flight')).toBe(0);
  });

  it('answers 404 off /metrics and 405 to other methods on it', async () => {
    const server = await start(':0');
    for (const p of ['/', '/metrics/', '/metricsx', '/favicon.ico']) {
      const reply = await get(server.address, p);
      expect([p, reply.status]).toEqual([p, 404]);
    }
    expect((await get(server.address, '/metrics?x=1')).status).toBe(200);
    const head = await get(server.address, '/metrics', 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
    expect((await get(server.address, '/metrics', 'POST')).status).toBe(405);
  });

  it('keeps two servers in one process apart (a registry each)', async () => {
    const a = await start(':0');
    const b = await start(':0');
    a.metrics.sessionReset();
    a.metrics.setClients(7);
    expect((await scrape(a.address)).get('ibmvmc_broker_session_resets_total')).toBe(1);
    const sb = await scrape(b.address);
    expect(sb.get('ibmvmc_broker_session_resets_total')).toBe(0);
    expect(sb.get('ibmvmc_broker_clients')).toBe(0);
  });

  it('frees its port on close, even with a keep-alive connection open; close twice is fine', async () => {
    const server = await startMetricsServer('127.0.0.1:0', { log: silentLog });
    const port = Number(server.address.split(':')[1]);
    const agent = new Agent({ keepAlive: true });
    try {
      expect((await get(server.address, '/metrics', 'GET', agent)).status).toBe(200);
      expect(await portFree('127.0.0.1', port)).toBe(false);
      await server.close();
      await server.close();
      expect(await portFree('127.0.0.1', port)).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('listens on IPv6 loopback as [::1]:port', async () => {
    const server = await start('[::1]:0');
    expect(server.address).toMatch(/^\[::1\]:[1-9][0-9]*$/);
    expect((await scrape(server.address)).get('ibmvmc_broker_clients')).toBe(0);
  });

  it('rejects a port already taken, leaving nothing open', async () => {
    const taken = await start(':0');
    await expect(startMetricsServer(taken.address, { log: silentLog })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});

describe('startMetricsServer on a Unix socket', () => {
  it('makes the socket 0660, serves the metrics there, and removes it on close', async () => {
    const socketPath = path.join(dir, 'metrics.sock');
    const server = await startMetricsServer(socketPath, { log: silentLog });
    try {
      expect(server.address).toBe(socketPath);
      const st = lstatSync(socketPath);
      expect(st.isSocket()).toBe(true);
      expect((st.mode & 0o777).toString(8)).toBe('660');
      server.metrics.peerRefused('group');
      const s = await scrape(socketPath);
      expect(s.get('ibmvmc_broker_peer_refused_total{reason="group"}')).toBe(1);
      expect((await get(socketPath, '/')).status).toBe(404);
    } finally {
      await server.close();
    }
    expect(existsSync(socketPath)).toBe(false);
  });

  it('replaces a stale socket (nobody listening) left at the path', async () => {
    const socketPath = path.join(dir, 'metrics.sock');
    // A socket file with no listener, as a killed process leaves: a second
    // name for a socket outlives its server (which unlinks only its own name).
    const first = await startMetricsServer(path.join(dir, 'first.sock'), { log: silentLog });
    linkSync(first.address, socketPath);
    await first.close();
    expect(lstatSync(socketPath).isSocket()).toBe(true);

    const server = await start(socketPath);
    expect((await scrape(server.address)).get('ibmvmc_broker_clients')).toBe(0);
  });

  it('refuses a socket another process listens on, and a file that is not a socket', async () => {
    const live = await start(path.join(dir, 'live.sock'));
    await expect(startMetricsServer(live.address, { log: silentLog })).rejects.toThrow(
      /another process is listening there/,
    );
    expect((await scrape(live.address)).get('ibmvmc_broker_clients')).toBe(0);

    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'keep me');
    const refusal = startMetricsServer(file, { log: silentLog });
    await expect(refusal).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(refusal).rejects.toThrow(/not a socket/);
    expect(lstatSync(file).isFile()).toBe(true);
  });
});

describe('the addresses --metrics takes', () => {
  it.each([
    ['127.0.0.1:9464', { kind: 'tcp', host: '127.0.0.1', port: 9464 }],
    ['0.0.0.0:0', { kind: 'tcp', host: '0.0.0.0', port: 0 }],
    [':9464', { kind: 'tcp', host: '127.0.0.1', port: 9464 }],
    ['[::1]:65535', { kind: 'tcp', host: '::1', port: 65535 }],
    ['[::]:9464', { kind: 'tcp', host: '::', port: 9464 }],
    ['/run/ibmvmc/metrics.sock', { kind: 'unix', path: '/run/ibmvmc/metrics.sock' }],
  ])('%s', (where, expected) => {
    expect(parseMetricsAddress(where)).toEqual(expected);
  });

  it.each([
    ['', /no port/],
    ['9464', /no port/],
    ['localhost:9464', /not an IPv4 address/],
    ['127.0.0.1:', /port/],
    ['127.0.0.1:65536', /port/],
    ['127.0.0.1:-1', /port/],
    ['127.0.0.1:94x', /port/],
    ['1.2.3:80', /not an IPv4 address/],
    ['::1:9464', /IPv6 address goes in brackets/],
    ['[::g]:80', /not an IPv6 address/],
    ['[127.0.0.1]:80', /not an IPv6 address/],
    ['metrics.sock', /no port/],
    ['./metrics.sock', /no port/],
    ['/run/ibmvmc/', /names a file/],
    [`/${'x'.repeat(107)}`, /at most 107 bytes/],
    ['/tmp/a\0b', /NUL/],
  ])('refuses %j', async (where, why) => {
    expect(() => parseMetricsAddress(where)).toThrow(InvalidArgumentError);
    expect(() => parseMetricsAddress(where)).toThrow(why);
    await expect(startMetricsServer(where, { log: silentLog })).rejects.toThrow(
      /^--metrics .*expected HOST:PORT/,
    );
  });
});

describe('createPrometheusMetrics', () => {
  it('registers the metrics on the registry it is given', async () => {
    const registry = new Registry();
    const m = createPrometheusMetrics(registry);
    m.requestDone(0xffff, 'reset', 0.5);
    const s = samples(await registry.metrics());
    expect(s.get('ibmvmc_broker_requests_total{target="0xffff",outcome="reset"}')).toBe(1);
    expect(
      registry
        .getMetricsAsArray()
        .map((x) => x.name)
        .sort(),
    ).toEqual([...NAMES].sort());
    // A second set on the same registry would clash: each server needs its own.
    expect(() => createPrometheusMetrics(registry)).toThrow(/already been registered/);
  });

  it('labels targets as four hex digits', () => {
    expect([0, 0x101, 0x8000, 0xffff].map(targetLabel)).toEqual([
      '0x0000',
      '0x0101',
      '0x8000',
      '0xffff',
    ]);
  });
});
