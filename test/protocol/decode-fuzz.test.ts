import { HmcDecodeError, decodeHmcMessage, encodeHmcMessage } from '../../lib/protocol';
import type { HmcDecodeField, HmcMessage } from '../../lib/protocol';
import { Prng } from './prng';

/*
 * Randomized decoding. Every input is judged twice: by the decoder and by the
 * small oracle below, written straight from the reference's header table. They
 * must agree: the same fields on success, the same `field` on failure, and the
 * decoder may throw nothing but HmcDecodeError.
 *
 * Reproduce a failure with HMC_FUZZ_SEED=<seed printed in the failure>.
 */
const SEED = Number(process.env.HMC_FUZZ_SEED ?? 0x1bd5c0de) >>> 0;
const CASES = 20_000;
const MAX = 4096;

type Outcome =
  | { readonly ok: true; readonly message: Omit<HmcMessage, 'data'>; readonly data: Buffer }
  | { readonly ok: false; readonly field: HmcDecodeField };

/** What a correct decoder must do with `bytes` (checks in the reference's order). */
function oracle(bytes: Uint8Array): Outcome {
  if (bytes.length < 32) return { ok: false, field: 'length' };
  if (bytes[0] !== 0xde || bytes[1] !== 0xca || bytes[2] !== 0xff) {
    return { ok: false, field: 'descriptor' };
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint8(3) !== 32) return { ok: false, field: 'headerLength' };
  const messageLength = dv.getUint32(4);
  if (messageLength !== bytes.length || messageLength > MAX) {
    return { ok: false, field: 'messageLength' };
  }
  if (dv.getUint32(16) !== messageLength - 32) return { ok: false, field: 'dataLength' };
  return {
    ok: true,
    message: {
      token: dv.getUint32(8),
      target: dv.getUint16(12),
      flags: dv.getUint8(15),
      opcode: dv.getUint16(20),
      returnCode: dv.getUint16(22),
    },
    data: Buffer.from(bytes.subarray(32)),
  };
}

/** A valid message with random fields; data mostly short, sometimes near the maximum. */
function randomMessage(rng: Prng): Buffer {
  const dataLength = rng.chance(0.05) ? MAX - 32 - rng.int(8) : rng.int(200);
  return encodeHmcMessage({
    token: rng.uint32(),
    target: rng.chance(0.5) ? 0x8000 + rng.int(8) : rng.int(0x10000),
    opcode: rng.int(0x10000),
    flags: rng.int(0x100),
    returnCode: rng.int(0x10000),
    data: rng.bytes(dataLength),
  });
}

/**
 * Random bytes, shaped so that some get past each check: pure noise stops at
 * the descriptor, so a share starts with a valid descriptor, header length and
 * message length, to exercise the later checks too.
 */
function randomBytes(rng: Prng): Buffer {
  const length = rng.chance(0.02) ? rng.int(MAX + 200) : rng.int(120);
  const bytes = rng.bytes(length);
  const shape = rng.int(4);
  if (shape >= 1 && length >= 3) bytes.set([0xde, 0xca, 0xff], 0);
  if (shape >= 2 && length >= 4) bytes[3] = rng.chance(0.9) ? 32 : rng.int(256);
  if (shape >= 3 && length >= 32) {
    bytes.writeUInt32BE(rng.chance(0.9) ? length : rng.uint32(), 4);
    bytes.writeUInt32BE(rng.chance(0.7) ? length - 32 : rng.int(length + 2), 16);
  }
  return bytes;
}

/** A valid message after 1..4 random edits, biased towards the header. */
function mutatedMessage(rng: Prng): Buffer {
  let bytes = randomMessage(rng);
  const edits = 1 + rng.int(4);
  for (let i = 0; i < edits; i++) {
    const pos = rng.chance(0.7) ? rng.int(Math.min(32, bytes.length)) : rng.int(bytes.length);
    switch (rng.int(7)) {
      case 0:
        bytes[pos] = (bytes[pos] as number) ^ (1 << rng.int(8));
        break;
      case 1:
        bytes[pos] = rng.int(256);
        break;
      case 2:
        bytes = bytes.subarray(0, rng.int(bytes.length + 1));
        break;
      case 3:
        bytes = Buffer.concat([bytes, rng.bytes(1 + rng.int(8))]);
        break;
      case 4:
        if (bytes.length >= 8)
          bytes.writeUInt32BE(
            rng.chance(0.5) ? rng.uint32() : (bytes.length + rng.int(3) - 1) >>> 0,
            4,
          );
        break;
      case 5:
        if (bytes.length >= 20)
          bytes.writeUInt32BE(
            rng.chance(0.5) ? rng.uint32() : (bytes.length - 32 + rng.int(3) - 1) >>> 0,
            16,
          );
        break;
      default:
        // An edit to the fields the decoder must not judge: token, target,
        // flags, opcode, return code, reserved bytes and data.
        if (bytes.length > 8) bytes[8 + rng.int(bytes.length - 8)] = rng.int(256);
    }
  }
  return bytes;
}

/** Presents `bytes` either as is or as a view at an offset inside a larger buffer. */
function present(rng: Prng, bytes: Buffer): Uint8Array {
  if (rng.chance(0.7)) return bytes;
  const before = rng.int(16);
  const backing = new Uint8Array(before + bytes.length + rng.int(16)).fill(0xa5);
  backing.set(bytes, before);
  return backing.subarray(before, before + bytes.length);
}

/** Checks one input; returns a description of the disagreement, or undefined. */
function check(input: Uint8Array, tally: Map<string, number>): string | undefined {
  const expected = oracle(input);
  let actual: HmcMessage;
  try {
    actual = decodeHmcMessage(input);
  } catch (err) {
    if (!(err instanceof HmcDecodeError)) return `threw a non-HmcDecodeError: ${String(err)}`;
    tally.set(err.field, (tally.get(err.field) ?? 0) + 1);
    if (expected.ok) return `threw (${err.message}) but the oracle decodes it`;
    if (err.field !== expected.field) return `field ${err.field}, oracle says ${expected.field}`;
    return undefined;
  }
  tally.set('ok', (tally.get('ok') ?? 0) + 1);
  if (!expected.ok) return `decoded, but the oracle says ${expected.field} is malformed`;
  const { data, ...fields } = actual;
  if (JSON.stringify(fields) !== JSON.stringify(expected.message)) {
    return `fields ${JSON.stringify(fields)} != oracle ${JSON.stringify(expected.message)}`;
  }
  if (!data.equals(expected.data)) return 'data differs from the bytes after the header';
  if (data.buffer === input.buffer) return 'data shares memory with the input';
  // Re-encoding must give back the input, except the reserved bytes, which the
  // decoder ignores and the encoder zeroes.
  const again = encodeHmcMessage({ ...fields, data });
  const zeroed = Buffer.from(input);
  zeroed[14] = 0;
  zeroed.fill(0, 24, 32);
  if (!again.equals(zeroed)) return 're-encoding does not reproduce the input';
  return undefined;
}

function run(name: string, generate: (rng: Prng) => Buffer, seed: number): Map<string, number> {
  const rng = new Prng(seed);
  const tally = new Map<string, number>();
  const failures: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const input = present(rng, generate(rng));
    const problem = check(input, tally);
    if (problem !== undefined && failures.length < 5) {
      const head = Buffer.from(input.subarray(0, 64)).toString('hex');
      failures.push(
        `${name} seed ${seed} case ${i}, ${input.length} bytes [${head}...]: ${problem}`,
      );
    }
  }
  expect(failures).toEqual([]);
  return tally;
}

/** The generators must reach every outcome often, or a run proves little. */
function expectEveryOutcome(tally: Map<string, number>): void {
  const outcomes = ['ok', 'length', 'descriptor', 'headerLength', 'messageLength', 'dataLength'];
  const rare = outcomes.filter((outcome) => (tally.get(outcome) ?? 0) < 100);
  expect({ rare, tally: Object.fromEntries(tally) }).toEqual({
    rare: [],
    tally: expect.anything(),
  });
}

describe(`randomized decoding (seed ${SEED})`, () => {
  test(`${CASES} random byte arrays decode consistently or throw HmcDecodeError`, () => {
    const tally = run('random', randomBytes, SEED);
    expectEveryOutcome(tally);
  });

  test(`${CASES} mutations of valid messages decode consistently or throw HmcDecodeError`, () => {
    const tally = run('mutation', mutatedMessage, (SEED ^ 0x9e3779b9) >>> 0);
    expectEveryOutcome(tally);
  });

  test('the oracle itself agrees with the encoder on valid messages', () => {
    const rng = new Prng(SEED);
    for (let i = 0; i < 200; i++) {
      const bytes = randomMessage(rng);
      const outcome = oracle(bytes);
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(outcome.data.length).toBe(bytes.length - 32);
    }
  });
});
