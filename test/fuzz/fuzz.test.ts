/**
 * A short run of the fuzzer (`npm run fuzz` runs a million codec cases):
 * the same cases every time (fixed seed), so a failure here replays with
 * `node scripts/fuzz.js --seed 1 --replay codec:INDEX` (or `api:INDEX`, `broker:INDEX`).
 */
import { startFakeDevice } from '../../lib/fake/index';
import { fdBaseline, openFds } from '../helpers/session-fixtures';
import { fuzzBrokerWire } from './broker-wire';
import { fuzzApi, fuzzCodec, type FuzzFailure } from './engine';

const SEED = 1;

describe('fuzz (short run)', () => {
  it('decodeHmcMessage: 20,000 random and mutated messages, only HmcDecodeError comes out', () => {
    const failures: FuzzFailure[] = [];
    const report = fuzzCodec(SEED, 20_000, failures);
    expect(failures).toEqual([]);
    expect(report.iterations).toBe(20_000);
    // Every path was taken: messages decoded, and refused for each field.
    expect(report.decoded).toBeGreaterThan(1000);
    for (const field of ['input', 'length', 'descriptor', 'headerLength', 'messageLength'])
      expect(report.rejected[field]).toBeGreaterThan(0);
    expect(report.rejected.dataLength).toBeGreaterThan(0);
  });

  it("the broker's wire codec: 20,000 random, mutated and streamed frames, only BrokerProtocolError comes out", () => {
    const failures: FuzzFailure[] = [];
    const report = fuzzBrokerWire(SEED, 20_000, failures);
    expect(failures).toEqual([]);
    expect(report.iterations).toBe(20_000);
    // Every kind of case was made, frames decoded, encodings refused, and every reason reached.
    for (const kind of [
      'random bytes',
      'random payload',
      'valid',
      'mutated',
      'stream',
      'encode',
      'not bytes',
    ])
      expect(report.kinds[kind]).toBeGreaterThan(0);
    expect(report.decoded).toBeGreaterThan(5000);
    expect(report.encodeRefused).toBeGreaterThan(0);
    for (const reason of ['malformed', 'oversized', 'out-of-order', 'version'])
      expect(report.rejected[reason]).toBeGreaterThan(0);
  });

  it('the public API: 2,000 calls with random arguments, only typed errors, everything settles', async () => {
    const before = await fdBaseline();
    const fakes = await Promise.all([0, 1].map(() => startFakeDevice({ maxHmcs: 2, slots: 2 })));
    const [traffic, opens] = fakes.map((f) => ({ path: f.socketPath, sysfsRoot: f.sysfsRoot }));
    const failures: FuzzFailure[] = [];
    try {
      const report = await fuzzApi(SEED, 2000, { traffic, opens }, failures);
      expect(failures).toEqual([]);
      expect(report.iterations).toBe(2000);
      const calls = Object.values(report.calls);
      expect(calls.reduce((n, c) => n + c.ok + c.typed, 0)).toBe(2000);
      // Both outcomes were reached for the calls that touch the device.
      for (const op of ['open', 'session.send', 'client.request'])
        expect(report.calls[op]).toEqual({ ok: expect.any(Number), typed: expect.any(Number) });
      expect(report.calls['session.send'].ok).toBeGreaterThan(0);
      expect(report.calls['open'].ok).toBeGreaterThan(0);
    } finally {
      await Promise.all(fakes.map((f) => f.stop()));
    }
    expect(openFds()).toEqual(before);
  }, 60_000);
});
