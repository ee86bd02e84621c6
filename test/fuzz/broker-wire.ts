/**
 * The fuzzer's third part: the broker's wire codec (lib/broker/wire/), run by
 * `npm run fuzz` (`--broker N`) and briefly by the Jest suite.
 *
 * - `decodeBrokerFrame` gets random bytes, random bytes behind a good header,
 *   valid frames of either side, and valid frames mutated where a decoder is
 *   weakest (the header's bytes and length, the u16 lengths inside,
 *   truncation, extension, the other side's decoder), through views at odd
 *   offsets. Only BrokerProtocolError may come out; a valid frame must
 *   decode to itself; whatever decodes must encode back to exactly its bytes
 *   (the codec is canonical).
 * - `BrokerFrameDecoder` gets whole conversations, in an order allowed or
 *   not (judged by a model written apart from the codec's own check),
 *   sometimes with a frame mutated, split at random points. Only
 *   BrokerProtocolError may come out, once an error came out every later
 *   push throws it again, and a valid conversation comes out frame for frame.
 * - `encodeBrokerFrame` gets frames with random values in their fields: only
 *   TypeError or RangeError may come out, and whatever it encodes decodes.
 */
import {
  BROKER_MAX_MESSAGE_LENGTH,
  BROKER_MAX_STRING_LENGTH,
  BrokerFrameDecoder,
  BrokerProtocolError,
  decodeBrokerFrame,
  encodeBrokerFrame,
  type BrokerFrame,
  type BrokerFrameSender,
  type ClientFrame,
  type ServerFrame,
} from '../../lib/broker/index';
import { HMC_TARGET } from '../../lib/protocol/index';
import { describe as describeError, fail, randomValue, Rng, type FuzzFailure } from './engine';

/** What the broker part counted. */
export interface BrokerWireReport {
  iterations: number;
  /** Frames decoded, alone or from a stream. */
  decoded: number;
  /** BrokerProtocolError by reason. */
  rejected: Record<string, number>;
  /** Encoder calls refused with TypeError or RangeError. */
  encodeRefused: number;
  /** Cases by how they were made. */
  kinds: Record<string, number>;
  ms: number;
}

const CLIENT_TYPES = ['hello', 'request', 'cancel', 'subscribe', 'goodbye'] as const;
const SERVER_TYPES = [
  'welcome',
  'answer',
  'event',
  'reset',
  'reconnect',
  'refused',
  'error',
  'goodbye',
] as const;
const TYPE_BYTES = [0x01, 0x02, 0x03, 0x04, 0x05, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87];
const INTERESTING_U8 = [0, 1, 2, 0x7f, 0x80, 0x81, 0xb7, 0xff];
const INTERESTING_U16 = [0, 1, 2, 31, 32, 64, 255, 256, 257, 1024, 1025, 0x7fff, 0xffff];
const INTERESTING_U32 = [
  0, 1, 2, 3, 4, 5, 6, 31, 32, 36, 0x400, 0x10000, 0x10004, 0x10006, 0x10008, 0x10009, 0x7fffffff,
  0xffffffff,
];
const STRINGS = [
  '',
  'a',
  'ibmvmc ping',
  'é',
  '🙂',
  '\ufeffbom',
  '\0',
  'a\nb',
  'x'.repeat(BROKER_MAX_STRING_LENGTH),
  'é'.repeat(BROKER_MAX_STRING_LENGTH / 2),
  '🙂'.repeat(BROKER_MAX_STRING_LENGTH / 4),
];

// ---- valid frames -------------------------------------------------------------------------

function randomString(rng: Rng, min = 0): string {
  let s: string;
  if (rng.chance(0.3)) s = rng.pick(STRINGS);
  else {
    const chars = ['a', 'Z', '0', ' ', 'é', 'ß', '€', '🙂', '\u0000', '\ufeff', '\uffff'];
    s = Array.from({ length: rng.int(24) }, () => rng.pick(chars)).join('');
  }
  return Buffer.byteLength(s) < min ? 'n' : s;
}

function randomCode(rng: Rng): string {
  if (rng.chance(0.5))
    return rng.pick(['EACCES', 'ERR_IBMVMC_BROKER_PROTOCOL', 'ERR_IBMVMC_SESSION_RESET', 'E']);
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';
  return `X${Array.from({ length: rng.int(64) }, () => chars[rng.int(chars.length)]).join('')}`;
}

/** An HMC message's worth of bytes (the wire does not look inside): small mostly. */
function randomMessage(rng: Rng): Buffer {
  const length = rng.chance(0.9)
    ? 32 + rng.int(64)
    : rng.pick([
        32,
        4096,
        16384,
        BROKER_MAX_MESSAGE_LENGTH,
        32 + rng.int(BROKER_MAX_MESSAGE_LENGTH - 31),
      ]);
  return rng.bytes(length);
}

function randomMtu(rng: Rng): number {
  return rng.chance(0.7) ? rng.pick([32, 4096, 16384, 65536]) : 32 + rng.int(65536 - 31);
}

function randomTargets(rng: Rng): number[] {
  if (rng.chance(0.3)) return [];
  const count = rng.chance(0.9) ? 1 + rng.int(8) : rng.int(257);
  const set = new Set<number>();
  while (set.size < count)
    set.add(rng.chance(0.7) ? rng.pick(Object.values(HMC_TARGET)) : rng.int(0x10000));
  return [...set];
}

function randomClientFrame(rng: Rng, type = rng.pick(CLIENT_TYPES)): ClientFrame {
  switch (type) {
    case 'hello':
      return {
        type,
        version: rng.chance(0.8) ? 1 : 1 + rng.int(0xffff),
        clientName: randomString(rng, 1),
        clientVersion: randomString(rng),
      };
    case 'request':
      return { type, token: rng.u32(), message: randomMessage(rng) };
    case 'cancel':
      return { type, token: rng.u32() };
    case 'subscribe':
      return { type, targets: randomTargets(rng) };
    case 'goodbye':
      return { type, reason: randomString(rng) };
  }
}

function randomServerFrame(rng: Rng, type = rng.pick(SERVER_TYPES)): ServerFrame {
  switch (type) {
    case 'welcome':
      return { type, version: 1, mtu: randomMtu(rng), exchangeOptionsAnswer: randomMessage(rng) };
    case 'answer':
      return { type, token: rng.u32(), message: randomMessage(rng) };
    case 'event':
      return { type, message: randomMessage(rng) };
    case 'reset':
      return { type };
    case 'reconnect':
      return { type, mtu: randomMtu(rng), exchangeOptionsAnswer: randomMessage(rng) };
    case 'refused':
      return { type, token: rng.u32(), code: randomCode(rng), text: randomString(rng) };
    case 'error':
      return { type, code: randomCode(rng), text: randomString(rng) };
    case 'goodbye':
      return { type, reason: randomString(rng) };
  }
}

function randomFrame(rng: Rng, from: BrokerFrameSender): BrokerFrame {
  return from === 'client' ? randomClientFrame(rng) : randomServerFrame(rng);
}

// ---- mutation -----------------------------------------------------------------------------

function mutate(rng: Rng, input: Buffer): Buffer {
  let bytes: Buffer = Buffer.from(input);
  const count = 1 + rng.int(3);
  for (let m = 0; m < count; m++) {
    switch (rng.int(10)) {
      case 0: // flip a bit, in the header most of the time
        if (bytes.length > 0)
          bytes[rng.chance(0.5) ? rng.int(Math.min(bytes.length, 8)) : rng.int(bytes.length)] ^=
            1 << rng.int(8);
        break;
      case 1: // an interesting byte in the header
        if (bytes.length >= 4) bytes[rng.int(4)] = rng.pick(INTERESTING_U8);
        break;
      case 2: // another type
        if (bytes.length >= 3) bytes[2] = rng.pick(TYPE_BYTES);
        break;
      case 3: // the payload length
        if (bytes.length >= 8)
          bytes.writeUInt32BE(
            rng.pick([
              ...INTERESTING_U32,
              bytes.length - 8,
              bytes.length - 7,
              bytes.length - 9,
              rng.u32(),
            ]) >>> 0,
            4,
          );
        break;
      case 4: // a u16 inside the payload (where the string lengths and the target count are)
        if (bytes.length >= 10) {
          const at = 8 + rng.int(Math.min(bytes.length - 9, 64));
          bytes.writeUInt16BE(rng.pick(INTERESTING_U16), at);
        }
        break;
      case 5: // truncate
        bytes = bytes.subarray(0, rng.int(bytes.length + 1));
        break;
      case 6: // extend
        bytes = Buffer.concat([bytes, rng.bytes(rng.chance(0.5) ? 1 + rng.int(4) : rng.int(200))]);
        break;
      case 7: // invalid UTF-8 or a byte that is no code's, somewhere in the payload
        if (bytes.length > 8)
          bytes[8 + rng.int(bytes.length - 8)] = rng.pick([
            0x80, 0xc0, 0xc3, 0xed, 0xf8, 0xff, 0x61,
          ]);
        break;
      default: // the length made to agree with the (new) size, so the payload's checks are reached
        if (bytes.length >= 8) bytes.writeUInt32BE(bytes.length - 8, 4);
    }
  }
  return bytes;
}

/** The same bytes through a view at an odd offset of a bigger buffer, or another array. */
function present(rng: Rng, bytes: Buffer): Uint8Array {
  switch (rng.int(5)) {
    case 0: {
      const before = rng.int(17);
      const backing = new Uint8Array(before + bytes.length + rng.int(17)).fill(0xee);
      backing.set(bytes, before);
      return backing.subarray(before, before + bytes.length);
    }
    case 1:
      return new Uint8Array(bytes);
    case 2: {
      const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
      shared.set(bytes);
      return shared;
    }
    default:
      return bytes;
  }
}

// ---- checks -------------------------------------------------------------------------------

/** Field by field: numbers and strings equal, bytes equal, target lists equal. */
function sameFrame(a: BrokerFrame, b: BrokerFrame): string | null {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  const keys = Object.keys(x).sort();
  if (keys.join() !== Object.keys(y).sort().join()) return `fields ${keys.join()}`;
  for (const key of keys) {
    const [u, v] = [x[key], y[key]];
    if (u instanceof Uint8Array && v instanceof Uint8Array) {
      if (!Buffer.from(u.buffer, u.byteOffset, u.length).equals(v)) return `${key} bytes differ`;
    } else if (Array.isArray(u) && Array.isArray(v)) {
      if (u.length !== v.length || u.some((t, i) => t !== v[i])) return `${key} differ`;
    } else if (u !== v) return `${key}: ${String(u)} ≠ ${String(v)}`;
  }
  return null;
}

const CLIENT_SET: ReadonlySet<string> = new Set(CLIENT_TYPES);
const SERVER_SET: ReadonlySet<string> = new Set(SERVER_TYPES);

/** What any frame `decodeBrokerFrame` accepted must satisfy. */
function checkDecoded(
  bytes: Uint8Array,
  from: BrokerFrameSender,
  frame: BrokerFrame,
): string | null {
  if (!Object.isFrozen(frame)) return 'the frame is not frozen';
  if (!(from === 'client' ? CLIENT_SET : SERVER_SET).has(frame.type))
    return `a ${frame.type} frame from the ${from}`;
  let again: Buffer;
  try {
    again = encodeBrokerFrame(frame);
  } catch (error) {
    return `the decoded frame does not encode: ${describeError(error)}`;
  }
  if (!again.equals(bytes)) return 'encoding the decoded frame gives other bytes';
  return null;
}

/**
 * The model of the order the codec's check enforces, written apart from it as
 * a table: for each side, the phase each frame type leads to from each phase
 * (absent: refused). Returns the index of the first frame refused, or -1.
 */
function firstOutOfOrder(from: BrokerFrameSender, types: readonly string[]): number {
  type Phase = 'start' | 'open' | 'reset' | 'ended';
  const table: Record<string, Partial<Record<Phase, Phase>>> = from === 'client'
    ? {
        hello: { start: 'open' },
        request: { open: 'open' },
        cancel: { open: 'open' },
        subscribe: { open: 'open' },
        goodbye: { open: 'ended' },
      }
    : {
        welcome: { start: 'open' },
        answer: { open: 'open' },
        event: { open: 'open' },
        refused: { open: 'open', reset: 'reset' },
        reset: { open: 'reset' },
        reconnect: { reset: 'open' },
        error: { start: 'ended', open: 'ended', reset: 'ended' },
        goodbye: { start: 'ended', open: 'ended', reset: 'ended' },
      };
  let phase: Phase = 'start';
  for (const [i, type] of types.entries()) {
    const next: Phase | undefined = table[type]?.[phase];
    if (next === undefined) return i;
    phase = next;
  }
  return -1;
}

/** A conversation of `from`, in an allowed order most of the time. */
function randomConversation(rng: Rng, from: BrokerFrameSender): BrokerFrame[] {
  const frames: BrokerFrame[] = [];
  const n = rng.int(8);
  if (from === 'client') {
    frames.push(randomClientFrame(rng, 'hello'));
    for (let i = 0; i < n; i++)
      frames.push(randomClientFrame(rng, rng.pick(['request', 'cancel', 'subscribe'] as const)));
    if (rng.chance(0.5)) frames.push(randomClientFrame(rng, 'goodbye'));
  } else {
    frames.push(randomServerFrame(rng, 'welcome'));
    let reset = false;
    for (let i = 0; i < n; i++) {
      let type: (typeof SERVER_TYPES)[number];
      if (reset) type = rng.pick(['refused', 'reconnect'] as const);
      else type = rng.pick(['answer', 'event', 'refused', 'answer', 'reset'] as const);
      if (type === 'reset') reset = true;
      if (type === 'reconnect') reset = false;
      frames.push(randomServerFrame(rng, type));
    }
    if (rng.chance(0.5))
      frames.push(randomServerFrame(rng, rng.pick(['goodbye', 'error'] as const)));
  }
  if (rng.chance(0.25)) {
    // Any frame of the side anywhere: maybe allowed there, maybe not (the model says).
    frames.splice(rng.int(frames.length + 1), 0, randomFrame(rng, from));
  }
  return frames;
}

// ---- the part -----------------------------------------------------------------------------

/** Runs `iterations` broker-wire cases from `start`. */
export function fuzzBrokerWire(
  seed: number,
  iterations: number,
  failures: FuzzFailure[],
  start = 0,
): BrokerWireReport {
  const report: BrokerWireReport = {
    iterations: 0,
    decoded: 0,
    rejected: {},
    encodeRefused: 0,
    kinds: {},
    ms: 0,
  };
  const began = performance.now();
  const refused = (error: BrokerProtocolError) =>
    (report.rejected[error.reason] = (report.rejected[error.reason] ?? 0) + 1);
  for (let index = start; index < start + iterations; index++) {
    const rng = new Rng(seed, 3, index);
    const from: BrokerFrameSender = rng.chance(0.5) ? 'client' : 'broker';
    const choice = rng.int(20);
    const kind =
      choice < 2
        ? 'random bytes'
        : choice < 4
          ? 'random payload'
          : choice < 7
            ? 'valid'
            : choice < 13
              ? 'mutated'
              : choice < 17
                ? 'stream'
                : choice < 19
                  ? 'encode'
                  : 'not bytes';
    report.kinds[kind] = (report.kinds[kind] ?? 0) + 1;
    report.iterations++;
    const what = `${kind} (${from})`;

    if (kind === 'stream') {
      streamCase(rng, from, index, what, report, refused, failures);
      continue;
    }
    if (kind === 'encode') {
      encodeCase(rng, index, what, report, failures);
      continue;
    }

    let input: unknown;
    let original: BrokerFrame | undefined;
    let decodeAs = from;
    switch (kind) {
      case 'random bytes':
        input = rng.bytes(rng.chance(0.7) ? rng.int(24) : rng.int(3000));
        break;
      case 'random payload': {
        const payload = rng.bytes(rng.chance(0.8) ? rng.int(64) : rng.int(3000));
        const header = Buffer.from([0xb7, 1, rng.pick(TYPE_BYTES), 0, 0, 0, 0, 0]);
        header.writeUInt32BE(payload.length, 4);
        input = Buffer.concat([header, payload]);
        break;
      }
      case 'valid':
        original = randomFrame(rng, from);
        input = encodeBrokerFrame(original);
        break;
      case 'mutated':
        input = mutate(rng, encodeBrokerFrame(randomFrame(rng, from)));
        if (rng.chance(0.1)) decodeAs = from === 'client' ? 'broker' : 'client';
        break;
      default:
        input = rng.pick<unknown>([
          undefined,
          null,
          0,
          'b701',
          [0xb7, 1, 3, 0, 0, 0, 0, 4, 0, 0, 0, 1],
          new ArrayBuffer(12),
          new DataView(new ArrayBuffer(12)),
          new Uint16Array(6),
          new Int8Array(12),
          { length: 12 },
          Symbol('frame'),
        ]);
    }
    if (input instanceof Buffer) input = present(rng, input);
    let frame: BrokerFrame;
    try {
      frame = decodeBrokerFrame(input as Uint8Array, decodeAs);
    } catch (error) {
      if (!(error instanceof BrokerProtocolError)) {
        fail(failures, 'broker', index, `${what}: ${describeError(error)} came out`, error);
      } else {
        refused(error);
        if (original !== undefined)
          fail(failures, 'broker', index, `${what}: a valid frame was refused`, error);
      }
      continue;
    }
    report.decoded++;
    const problem =
      checkDecoded(input as Uint8Array, decodeAs, frame) ??
      (original === undefined ? null : sameFrame(frame, original));
    if (problem) fail(failures, 'broker', index, `${what}: ${problem}`, input);
  }
  report.ms = performance.now() - began;
  return report;
}

function streamCase(
  rng: Rng,
  from: BrokerFrameSender,
  index: number,
  what: string,
  report: BrokerWireReport,
  refused: (error: BrokerProtocolError) => void,
  failures: FuzzFailure[],
): void {
  const frames = randomConversation(rng, from);
  const encoded = frames.map((f) => encodeBrokerFrame(f));
  const mutated = rng.chance(0.2) ? rng.int(encoded.length) : -1;
  if (mutated >= 0) encoded[mutated] = mutate(rng, encoded[mutated]);
  const stream = Buffer.concat(encoded);
  const cuts = Array.from({ length: rng.int(6) }, () => rng.int(stream.length + 1)).sort(
    (a, b) => a - b,
  );
  const chunks: Buffer[] = [];
  let previous = 0;
  for (const cut of [...cuts, stream.length]) {
    chunks.push(stream.subarray(previous, cut));
    previous = cut;
  }

  const out: Buffer[] = [];
  const decoder = new BrokerFrameDecoder(from, (f) => out.push(encodeBrokerFrame(f)));
  let error: unknown;
  try {
    for (const chunk of chunks) decoder.push(chunk);
  } catch (e) {
    error = e;
  }
  report.decoded += out.length;
  if (error !== undefined) {
    if (!(error instanceof BrokerProtocolError)) {
      fail(failures, 'broker', index, `${what}: ${describeError(error)} came out`, error);
      return;
    }
    refused(error);
    // Unusable from then on: the same error again.
    let again: unknown;
    try {
      decoder.push(Buffer.alloc(1));
    } catch (e) {
      again = e;
    }
    if (again !== error) fail(failures, 'broker', index, `${what}: a push after an error`, again);
  }
  if (mutated >= 0) return; // Anything may happen after the mutation, short of another error.
  const refusedAt = firstOutOfOrder(
    from,
    frames.map((f) => f.type),
  );
  if (refusedAt < 0) {
    if (error !== undefined)
      fail(failures, 'broker', index, `${what}: a valid conversation was refused`, error);
    else if (decoder.buffered !== 0 || !Buffer.concat(out).equals(stream))
      fail(failures, 'broker', index, `${what}: the frames out are not the frames in`, stream);
    return;
  }
  if (!(error instanceof BrokerProtocolError) || error.reason !== 'out-of-order')
    fail(failures, 'broker', index, `${what}: frame ${refusedAt} out of order not refused`, error);
  else if (!Buffer.concat(out).equals(Buffer.concat(encoded.slice(0, refusedAt))))
    fail(
      failures,
      'broker',
      index,
      `${what}: not exactly the frames before the refused one`,
      stream,
    );
}

function encodeCase(
  rng: Rng,
  index: number,
  what: string,
  report: BrokerWireReport,
  failures: FuzzFailure[],
): void {
  const from: BrokerFrameSender = rng.chance(0.5) ? 'client' : 'broker';
  let frame: unknown;
  if (rng.chance(0.1)) frame = randomValue(rng, 2);
  else {
    const fields: Record<string, unknown> = { ...randomFrame(rng, from) };
    const keys = [...Object.keys(fields), 'type'];
    for (let n = 1 + rng.int(2); n > 0; n--) fields[rng.pick(keys)] = randomValue(rng, 1);
    frame = fields;
  }
  let bytes: Buffer;
  try {
    bytes = encodeBrokerFrame(frame as BrokerFrame);
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) report.encodeRefused++;
    else fail(failures, 'broker', index, `${what}: ${describeError(error)} came out`, error);
    return;
  }
  // It was encoded: one side or the other must take it back as it was.
  const type = (frame as { type?: unknown }).type;
  const side: BrokerFrameSender = CLIENT_SET.has(type as string) ? 'client' : 'broker';
  try {
    const decoded = decodeBrokerFrame(bytes, side);
    report.decoded++;
    const problem = checkDecoded(bytes, side, decoded);
    if (problem) fail(failures, 'broker', index, `${what}: ${problem}`, bytes);
  } catch (error) {
    fail(failures, 'broker', index, `${what}: an encoded frame does not decode`, error);
  }
}
