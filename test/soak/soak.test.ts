/**
 * The short soak: `npm run soak` (scripts/soak/run.js) with fewer messages
 * and cycles. It runs the built package (dist/, made by `npm test` first) in
 * a client process of its own, so what it checks is the real exit: no
 * descriptor left open, no handle keeping the process alive, no growth.
 */
import { runReportingScript } from '../helpers/reporting-script';

interface SoakResults {
  messages: number;
  cycles: number;
  echoes: { fdsStart: number; fdsEnd: number; growthBytes: number; samples: unknown[] };
  sessionCycles: { fdsStart: number; fdsEnd: number; growthBytes: number };
  handlesLeft: string[];
  broker: { messages: number; fdsStart: number; fdsEnd: number; growthBytes: number };
  exitAfterMs: number;
  checks: Record<string, boolean>;
}

test('5,000 echoes, 100 open/close cycles and 8,000 echoes through a broker leave no descriptor, handle or growth behind', async () => {
  const { results, stdout } = await runReportingScript<SoakResults>('scripts/soak/run.js', {
    SOAK_MESSAGES: '5000',
    SOAK_CYCLES: '100',
    SOAK_BROKER_MESSAGES: '8000',
    SOAK_BROKER_ROUNDS: '2',
  });
  expect(results.messages).toBe(5000);
  expect(results.cycles).toBe(100);
  expect(results.echoes.samples.length).toBeGreaterThan(10);
  expect(results.echoes.fdsEnd).toBe(results.echoes.fdsStart);
  expect(results.sessionCycles.fdsEnd).toBe(results.sessionCycles.fdsStart);
  expect(results.echoes.growthBytes).toBeLessThan(10 * 2 ** 20);
  expect(results.sessionCycles.growthBytes).toBeLessThan(10 * 2 ** 20);
  expect(results.handlesLeft).toEqual([]);
  expect(results.broker.messages).toBe(8000);
  expect(results.broker.fdsEnd).toBe(results.broker.fdsStart);
  expect(results.exitAfterMs).toBeLessThan(5000);
  expect(Object.values(results.checks).every(Boolean)).toBe(true);
  expect(stdout).toMatch(/^ok {3}client exited by itself$/m);
}, 120_000);
