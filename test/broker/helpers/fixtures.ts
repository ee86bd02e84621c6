/**
 * What the broker tests share: a fake device, brokers on sockets in a
 * private directory (closed after each test), a log and metrics that record.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startBroker, type Broker, type BrokerOptions } from '../../../lib/broker/index';
import type { BrokerLog, BrokerLogFields, BrokerLogLevel } from '../../../lib/broker/observe/log';
import type { BrokerMetrics, BrokerRequestOutcome } from '../../../lib/broker/observe/metrics';
import type { FakeDeviceHandle } from '../../../lib/fake/index';
import type { WireClient } from './wire-client';

/** One line of a recording log. */
export interface LogLine {
  level: BrokerLogLevel;
  event: string;
  fields: BrokerLogFields;
  debugFields: BrokerLogFields | undefined;
}

/** A log that keeps its lines. */
export function recordingLog(): BrokerLog & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    debugEnabled: false,
    lines,
    write(level, event, fields = {}, debugFields) {
      lines.push({ level, event, fields, debugFields });
    },
  };
}

/** Metrics that count. */
export function recordingMetrics(): BrokerMetrics & {
  outcomes: Map<BrokerRequestOutcome, number>;
  late: number;
  resets: number;
  dropped: string[];
  refused: string[];
  inFlight: number;
  clients: number;
  busy: number;
} {
  const m = {
    outcomes: new Map<BrokerRequestOutcome, number>(),
    late: 0,
    resets: 0,
    dropped: [] as string[],
    refused: [] as string[],
    inFlight: 0,
    clients: 0,
    busy: 0,
    setClients(count: number) {
      m.clients = count;
    },
    setInFlight(count: number) {
      m.inFlight = count;
    },
    requestDone(_target: number, outcome: BrokerRequestOutcome) {
      m.outcomes.set(outcome, (m.outcomes.get(outcome) ?? 0) + 1);
    },
    sessionReset() {
      m.resets++;
    },
    lateAnswer() {
      m.late++;
    },
    busyRetries(by: number) {
      m.busy += by;
    },
    peerRefused(reason: string) {
      m.refused.push(reason);
    },
    clientDropped(reason: string) {
      m.dropped.push(reason);
    },
  };
  return m;
}

export { openSockets } from '../../helpers/open-sockets';

/** A private directory others can traverse (a child running as nobody connects in it). */
export function testDir(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `ibmvmc-${name}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** Brokers and clients of one test file, cleaned up after each test. */
export class BrokerFixture {
  readonly dir: string;
  readonly brokers: Broker[] = [];
  readonly clients: WireClient[] = [];
  #n = 0;

  constructor(
    name: string,
    readonly device: () => FakeDeviceHandle,
  ) {
    this.dir = testDir(name);
  }

  /** A fresh socket path in the directory. */
  socketPath(): string {
    return path.join(this.dir, `b${this.#n++}.sock`);
  }

  /** Starts a broker on the fake (its session options merged with `session`). */
  async start(
    options: Partial<BrokerOptions> = {},
    session: Partial<BrokerOptions['session']> = {},
  ): Promise<Broker> {
    const device = this.device();
    const broker = await startBroker({
      socketPath: this.socketPath(),
      group: 0,
      closeTimeoutMs: 2000,
      ...options,
      session: {
        hmcId: 'broker-test',
        path: device.socketPath,
        sysfsRoot: device.sysfsRoot,
        timeoutMs: 5000,
        probeIntervalMs: 50,
        ...session,
      },
    });
    this.brokers.push(broker);
    return broker;
  }

  /** Keeps a client to destroy after the test. */
  track<C extends WireClient>(client: C): C {
    this.clients.push(client);
    return client;
  }

  /** After each test: clients gone, brokers closed. */
  async cleanUp(): Promise<void> {
    for (const client of this.clients.splice(0)) client.destroy();
    for (const broker of this.brokers.splice(0)) await broker.close();
  }

  /** After all: the directory removed. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
