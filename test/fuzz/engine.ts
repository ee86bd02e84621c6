/**
 * The fuzzer, shared by `npm run fuzz` (scripts/fuzz.js, a million codec
 * cases and more) and the short run in the Jest suite (test/fuzz/).
 *
 * Three parts:
 * - the codec: `decodeHmcMessage` gets random bytes, valid messages, and
 *   valid messages mutated where a decoder is weakest (the length fields, the
 *   header length, truncation, extension), through views at odd offsets and
 *   with random `maxLength`. Only HmcDecodeError may come out (TypeError or
 *   RangeError only for invalid options); whatever decodes must agree with
 *   the bytes and encode back to them.
 * - the public API: open, send, receive, close, connect, request, echo,
 *   attach, VmcDevice, encodeHmcId, encode/decode, readModuleParameters get
 *   random argument types and sizes, against a live fake device. Only typed
 *   errors (IbmvmcError subclasses; TypeError/RangeError from the encoders,
 *   as documented) may come out, and every promise must settle.
 * - the broker's wire codec (broker-wire.ts): random, valid and mutated
 *   frames, conversations split anywhere, random frame objects for the
 *   encoder. Only BrokerProtocolError may come out of the decoders;
 *   whatever decodes encodes back to the same bytes.
 *
 * Everything is driven by a seeded PRNG, one stream per case (seed, part,
 * index), so any failing case can be replayed alone.
 */
import { readModuleParameters } from '../../lib/device/module-parameters';
import { VmcDevice } from '../../lib/device/device';
import { IbmvmcError } from '../../lib/errors/index';
import { HmcClient } from '../../lib/client/client';
import { connect } from '../../lib/client/connect';
import { encodeHmcId } from '../../lib/session/hmc-id';
import { open, type HmcSession } from '../../lib/session/session';
import { TIME_SCALE } from '../helpers/time-scale';
import {
  HMC_DESCRIPTOR,
  HMC_HEADER_LENGTH,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  HmcDecodeError,
  decodeHmcMessage,
  encodeHmcMessage,
  encodeResponse,
  type HmcMessage,
} from '../../lib/protocol/index';

// ---- randomness ----------------------------------------------------------------------

/** A small, fast, seedable PRNG (sfc32). */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A stream for one case: the same (seed, part, index) always gives the same stream. */
  constructor(seed: number, part: number, index: number) {
    this.#a = seed >>> 0;
    this.#b = (part * 0x9e3779b9) >>> 0;
    this.#c = (index * 0x85ebca6b) >>> 0;
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

// ---- the codec ----------------------------------------------------------------------------

/** Where the header keeps each field (as the codec writes them). */
const AT = {
  headerLength: 3,
  messageLength: 4,
  token: 8,
  target: 12,
  flags: 15,
  dataLength: 16,
  opcode: 20,
  returnCode: 22,
} as const;
/** Header bytes that carry no field: the decoder ignores them, the encoder writes zeros. */
const RESERVED = [14, 24, 25, 26, 27, 28, 29, 30, 31];

const INTERESTING_U32 = [
  0, 1, 2, 31, 32, 33, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x1001, 0x4000, 0xffff, 0x10000,
  0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];
const INTERESTING_U8 = [0, 1, 0x1f, 0x20, 0x21, 0x40, 0x7f, 0x80, 0xc0, 0xde, 0xca, 0xff];

/** What the codec part counted. */
export interface CodecReport {
  iterations: number;
  decoded: number;
  /** HmcDecodeError by field. */
  rejected: Record<string, number>;
  /** TypeError/RangeError for invalid options (documented). */
  badOptions: number;
  /** Cases by how they were made. */
  kinds: Record<string, number>;
  ms: number;
}

/** A case that broke a rule. */
export interface FuzzFailure {
  part: 'codec' | 'api' | 'broker';
  index: number;
  what: string;
  detail: string;
}

function randomFields(rng: Rng, maxData: number) {
  return {
    token: rng.u32(),
    target: rng.chance(0.5) ? rng.pick(Object.values(HMC_TARGET)) : rng.int(0x10000),
    opcode: rng.int(0x10000),
    flags: rng.int(0x100),
    returnCode: rng.chance(0.7) ? 0 : rng.int(0x10000),
    data: rng.bytes(Math.min(maxData, rng.chance(0.8) ? rng.int(64) : rng.int(maxData + 1))),
  };
}

function validMessage(rng: Rng, maxLength: number): Buffer {
  return encodeHmcMessage(randomFields(rng, maxLength - HMC_HEADER_LENGTH), { maxLength });
}

function mutate(rng: Rng, input: Buffer): Buffer {
  let bytes: Buffer = Buffer.from(input);
  const count = 1 + rng.int(4);
  for (let m = 0; m < count; m++) {
    switch (rng.int(9)) {
      case 0: // flip a bit
        if (bytes.length > 0) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
        break;
      case 1: // an interesting byte anywhere (the header most of the time)
        if (bytes.length > 0)
          bytes[rng.chance(0.8) ? rng.int(Math.min(bytes.length, 32)) : rng.int(bytes.length)] =
            rng.pick(INTERESTING_U8);
        break;
      case 2: // the message length
      case 3: // the data length
        if (bytes.length >= 32) {
          const at = m % 2 === 0 ? AT.messageLength : AT.dataLength;
          const choices = [
            ...INTERESTING_U32,
            bytes.length,
            bytes.length - 1,
            bytes.length + 1,
            bytes.length - 32,
            bytes.length - 31,
            rng.u32(),
          ];
          bytes.writeUInt32BE(rng.pick(choices) >>> 0, at);
        }
        break;
      case 4: // the header length byte
        if (bytes.length > AT.headerLength) bytes[AT.headerLength] = rng.pick(INTERESTING_U8);
        break;
      case 5: // truncate
        bytes = bytes.subarray(0, rng.int(bytes.length + 1));
        break;
      case 6: // extend
        bytes = Buffer.concat([bytes, rng.bytes(rng.chance(0.5) ? 1 + rng.int(4) : rng.int(200))]);
        break;
      case 7: // lengths made consistent with the (new) size, so later checks are reached
        if (bytes.length >= 32) {
          bytes.writeUInt32BE(bytes.length, AT.messageLength);
          bytes.writeUInt32BE(bytes.length - 32, AT.dataLength);
        }
        break;
      case 8: // reserved bytes and flags: ignored by the decoder, must stay harmless
        if (bytes.length >= 32) bytes[rng.pick([...RESERVED, AT.flags])] = rng.u32() & 0xff;
        break;
    }
  }
  return bytes;
}

/** The same bytes, seen through a view at an odd offset of a bigger buffer, or another array type. */
function present(rng: Rng, bytes: Buffer): Uint8Array {
  switch (rng.int(6)) {
    case 0: {
      const before = rng.int(17);
      const backing = new Uint8Array(before + bytes.length + rng.int(17));
      backing.fill(0xee);
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

function randomCodecOptions(rng: Rng): { options: unknown; valid: boolean; maxLength: number } {
  switch (rng.int(10)) {
    case 0:
      return { options: undefined, valid: true, maxLength: 4096 };
    case 1:
      return { options: {}, valid: true, maxLength: 4096 };
    case 2: {
      const bad = rng.pick<unknown>([
        null,
        7,
        'x',
        { maxLength: 31 },
        { maxLength: -1 },
        { maxLength: 4096.5 },
        { maxLength: '4096' },
        { maxLength: NaN },
        { maxLength: Infinity },
        { maxLength: 2 ** 32 },
        { maxLength: null },
      ]);
      return { options: bad, valid: false, maxLength: 0 };
    }
    default: {
      const maxLength = rng.pick([32, 33, 64, 4096, 6000, 16384, 65536, 0xffffffff]);
      return { options: { maxLength }, valid: true, maxLength };
    }
  }
}

/** Checks what decodeHmcMessage returned against the bytes themselves. */
function checkDecoded(bytes: Uint8Array, maxLength: number, m: HmcMessage): string | null {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!Object.isFrozen(m)) return 'the message is not frozen';
  if (view.length < 32 || view.length > maxLength) return `decoded ${view.length} bytes`;
  for (let i = 0; i < 3; i++) if (view[i] !== HMC_DESCRIPTOR[i]) return 'descriptor accepted';
  if (view[AT.headerLength] !== 32) return 'header length accepted';
  if (view.readUInt32BE(AT.messageLength) !== view.length) return 'message length accepted';
  if (view.readUInt32BE(AT.dataLength) !== view.length - 32) return 'data length accepted';
  if (m.token !== view.readUInt32BE(AT.token)) return 'token';
  if (m.target !== view.readUInt16BE(AT.target)) return 'target';
  if (m.flags !== view[AT.flags]) return 'flags';
  if (m.opcode !== view.readUInt16BE(AT.opcode)) return 'opcode';
  if (m.returnCode !== view.readUInt16BE(AT.returnCode)) return 'return code';
  if (!m.data.equals(view.subarray(32))) return 'data';
  if (m.data.buffer === view.buffer) return 'data shares the input memory';
  // Encoding it again gives the same bytes, reserved bytes zeroed.
  const again = encodeHmcMessage(m, { maxLength });
  const expected = Buffer.from(view);
  for (const at of RESERVED) expected[at] = 0;
  if (!again.equals(expected)) return 'encoding the decoded message gives other bytes';
  return null;
}

/** Runs `iterations` codec cases from `start`. */
export function fuzzCodec(
  seed: number,
  iterations: number,
  failures: FuzzFailure[],
  start = 0,
): CodecReport {
  const report: CodecReport = {
    iterations: 0,
    decoded: 0,
    rejected: {},
    badOptions: 0,
    kinds: {},
    ms: 0,
  };
  const began = performance.now();
  for (let index = start; index < start + iterations; index++) {
    const rng = new Rng(seed, 1, index);
    const { options, valid, maxLength } = randomCodecOptions(rng);
    const mtu = valid ? Math.min(maxLength, 20000) : 4096;
    let kind: string;
    let input: unknown;
    let mustDecode = false;
    switch (rng.int(10)) {
      case 0:
        kind = 'random bytes';
        input = rng.bytes(rng.chance(0.7) ? rng.int(48) : rng.int(5000));
        break;
      case 1:
        kind = 'random header';
        input = Buffer.concat([Buffer.from(HMC_DESCRIPTOR), rng.bytes(29 + rng.int(100))]);
        break;
      case 2:
      case 3:
        kind = 'valid';
        input = validMessage(rng, Math.max(32, mtu));
        mustDecode = valid && (input as Buffer).length <= maxLength;
        break;
      case 9:
        kind = 'not bytes';
        input = rng.pick<unknown>([
          undefined,
          null,
          0,
          'DECAFF',
          [0xde, 0xca, 0xff],
          new ArrayBuffer(40),
          new DataView(new ArrayBuffer(40)),
          new Uint16Array(20),
          new Int8Array(40),
          new Uint8ClampedArray(40),
          { length: 40 },
          Symbol('bytes'),
        ]);
        break;
      default:
        kind = 'mutated';
        input = mutate(rng, validMessage(rng, Math.max(32, mtu)));
    }
    if (input instanceof Buffer) input = present(rng, input);
    report.kinds[kind] = (report.kinds[kind] ?? 0) + 1;
    report.iterations++;
    let result: HmcMessage;
    try {
      result = decodeHmcMessage(input as Uint8Array, options as { maxLength?: number });
    } catch (error) {
      if (error instanceof HmcDecodeError) {
        report.rejected[error.field] = (report.rejected[error.field] ?? 0) + 1;
        if (mustDecode)
          fail(failures, 'codec', index, `${kind}: a valid message was refused`, error);
      } else if (!valid && (error instanceof TypeError || error instanceof RangeError)) {
        report.badOptions++;
      } else {
        fail(failures, 'codec', index, `${kind}: ${describe(error)} came out`, error);
      }
      continue;
    }
    report.decoded++;
    if (!valid) {
      fail(failures, 'codec', index, `${kind}: invalid options accepted`, options);
      continue;
    }
    const problem = checkDecoded(input as Uint8Array, maxLength, result);
    if (problem) fail(failures, 'codec', index, `${kind}: ${problem}`, input);
  }
  report.ms = performance.now() - began;
  return report;
}

// ---- the public API ---------------------------------------------------------------------

/** Where the API part runs: a live fake device (its socket and sysfs root). */
export interface FuzzDevice {
  path: string;
  sysfsRoot: string;
}

/** What the API part counted, by operation. */
export interface ApiReport {
  iterations: number;
  /** Per operation: resolved (or returned), rejected (or threw) with a typed error. */
  calls: Record<string, { ok: number; typed: number }>;
  /** Sessions opened for real along the way (by fuzzed options or to carry the fuzzing). */
  sessionsOpened: number;
  ms: number;
}

const OPTION_KEYS = [
  'hmcId',
  'path',
  'timeoutMs',
  'signal',
  'sysfsRoot',
  'probeIntervalMs',
  'queueSize',
  'sendTimeoutMs',
  'reconnect',
  'requestTimeoutMs',
  'closeTimeoutMs',
  'maxInFlight',
  'target',
  'opcode',
  'data',
  'expectResponse',
  'token',
  'flags',
  'returnCode',
  'maxLength',
];

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  31,
  32,
  33,
  255,
  256,
  4064,
  4096,
  4097,
  65535,
  65536,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 + 1,
  1e300,
  -1e300,
  NaN,
  Infinity,
  -Infinity,
  Number.MIN_VALUE,
];

/** Any JavaScript value, of any type and size (objects nest at most `depth` deep). */
export function randomValue(rng: Rng, depth = 2): unknown {
  switch (rng.int(18)) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return rng.chance(0.5);
    case 3:
      return rng.pick(NUMBERS);
    case 4:
      return rng.int(100_000) - 50_000;
    case 5:
      return BigInt(rng.u32());
    case 6:
      return rng.pick([
        '',
        'a',
        'x'.repeat(32),
        'x'.repeat(33),
        'é'.repeat(16),
        'é'.repeat(17),
        '\0',
        'a\0b',
        '🙂'.repeat(8),
        '🙂'.repeat(9),
        '/dev/null',
        '/',
        'relative/path',
        '/nonexistent/ibmvmc',
        'x'.repeat(5000),
        '4096',
        'true',
      ]);
    case 7:
      return Symbol('fuzz');
    case 8:
      return () => undefined;
    case 9:
      return depth > 0 ? Array.from({ length: rng.int(4) }, () => randomValue(rng, depth - 1)) : [];
    case 10:
    case 11:
      return depth > 0 ? randomObject(rng, depth - 1) : {};
    case 12:
      return rng.bytes(rng.pick([0, 1, 31, 32, 33, 100, 4064, 4096, 4097, 16384, 70000]));
    case 13:
      return new Uint8Array(rng.int(100));
    case 14:
      return rng.pick<unknown>([
        new Uint16Array(4),
        new Float64Array(2),
        new ArrayBuffer(8),
        new DataView(new ArrayBuffer(8)),
        new Date(0),
        new Map(),
        new Set([1]),
        Object.create(null),
        new (class Foo {})(),
        Promise.resolve(),
        /x/,
        new Error('a value'),
      ]);
    case 15: {
      const c = new AbortController();
      if (rng.chance(0.5)) c.abort(rng.chance(0.5) ? new Error('fuzz') : undefined);
      return c.signal;
    }
    case 16:
      return Buffer.alloc(0);
    default:
      return rng.u32();
  }
}

function randomObject(rng: Rng, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = rng.int(5);
  for (let i = 0; i < n; i++)
    o[rng.chance(0.9) ? rng.pick(OPTION_KEYS) : `k${rng.int(5)}`] = randomValue(rng, depth);
  return o;
}

/** Options built field by field: absent, a sensible value, or anything at all. */
function randomOptions(
  rng: Rng,
  sensible: Record<string, () => unknown>,
  pAnything = 0.15,
): unknown {
  if (rng.chance(0.05)) return randomValue(rng, 1); // not even an object, sometimes
  const o: Record<string, unknown> = {};
  for (const [key, make] of Object.entries(sensible)) {
    const r = rng.u32() / 0x1_0000_0000;
    if (r < pAnything) o[key] = randomValue(rng, 1);
    else if (r < 0.75) o[key] = make();
  }
  if (rng.chance(0.1)) o[rng.pick(OPTION_KEYS)] = randomValue(rng, 1);
  return o;
}

function sensibleTimeout(rng: Rng): () => number {
  return () => rng.pick([0, 1, 5, 20, 50]);
}

function sessionOptions(rng: Rng, device: FuzzDevice): unknown {
  return randomOptions(rng, {
    hmcId: () => (rng.chance(0.5) ? `fuzz-${rng.int(1000)}` : rng.bytes(1 + rng.int(32))),
    path: () => (rng.chance(0.9) ? device.path : rng.pick(['/nonexistent/ibmvmc', '/dev/null'])),
    sysfsRoot: () => (rng.chance(0.8) ? device.sysfsRoot : '/nonexistent-sysfs'),
    timeoutMs: () => rng.pick([0, 5, 50, 200]),
    probeIntervalMs: () => rng.pick([0, 5, 1000]),
    queueSize: () => rng.pick([1, 2, 8]),
    sendTimeoutMs: sensibleTimeout(rng),
    signal: () => randomValue(rng, 0),
    reconnect: () => rng.pick<unknown>([false, true, { timeoutMs: 10 }]),
  });
}

function callOptions(rng: Rng): unknown {
  return randomOptions(rng, {
    timeoutMs: sensibleTimeout(rng),
    signal: () => {
      const c = new AbortController();
      if (rng.chance(0.3)) c.abort();
      return c.signal;
    },
  });
}

function randomData(rng: Rng, mtu: number): unknown {
  if (rng.chance(0.2)) return randomValue(rng, 1);
  const sizes = [0, 1, 32, 64, mtu - 32, mtu - 31, mtu - 1, mtu, mtu + 1, 2 * mtu];
  const n = rng.chance(0.5) ? rng.pick(sizes) : rng.int(mtu + 2);
  return rng.chance(0.7)
    ? echoBytes(rng, Math.max(32, Math.min(n, mtu)), n)
    : rng.bytes(Math.max(0, n));
}

/** An echo request of `length` bytes when it fits, else `fallback` random bytes. */
function echoBytes(rng: Rng, length: number, fallback: number): Buffer {
  if (length < 32) return rng.bytes(Math.max(0, fallback));
  return encodeHmcMessage(
    {
      token: rng.u32(),
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.ECHO,
      data: rng.bytes(length - 32),
    },
    { maxLength: length },
  );
}

function randomInit(rng: Rng): unknown {
  return randomOptions(
    rng,
    {
      token: () => rng.u32(),
      target: () => rng.int(0x10000),
      opcode: () => rng.int(0x10000),
      flags: () => rng.int(0x100),
      returnCode: () => rng.int(0x10000),
      data: () => rng.bytes(rng.int(100)),
    },
    0.2,
  );
}

function randomRequest(rng: Rng, mtu: number): unknown {
  return randomOptions(
    rng,
    {
      target: () => (rng.chance(0.7) ? HMC_TARGET.ROUTER : rng.int(0x10000)),
      opcode: () => (rng.chance(0.7) ? HMC_ROUTER_OPCODE.ECHO : rng.int(0x10000)),
      data: () => rng.bytes(rng.pick([0, 1, 64, mtu - 32, mtu - 31])),
      expectResponse: () => rng.chance(0.8),
      timeoutMs: sensibleTimeout(rng),
      signal: () => randomValue(rng, 0),
    },
    0.15,
  );
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** How a promise settled, or 'pending' if it has not within `ms`. */
async function settled(promise: Promise<unknown>, ms: number): Promise<Outcome | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)));
  try {
    return await Promise.race([
      promise.then(
        (value: unknown): Outcome => ({ ok: true, value }),
        (error: unknown): Outcome => ({ ok: false, error }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `iterations` API cases against two live fake devices with two slots
 * each: on `traffic` the fuzzer keeps one session and one client open for
 * the calls that need them; on `opens` it opens sessions, clients and devices
 * with fuzzed options, and closes each at once, so a slot is always free (an
 * open with no deadline then still ends).
 */
export async function fuzzApi(
  seed: number,
  iterations: number,
  devices: { traffic: FuzzDevice; opens: FuzzDevice },
  failures: FuzzFailure[],
  start = 0,
): Promise<ApiReport> {
  const device = devices.opens;
  const report: ApiReport = { iterations: 0, calls: {}, sessionsOpened: 0, ms: 0 };
  const began = performance.now();
  let session: HmcSession | undefined;
  let client: HmcClient<HmcSession> | undefined;
  const base = {
    path: devices.traffic.path,
    sysfsRoot: devices.traffic.sysfsRoot,
    timeoutMs: 3000,
  };

  const liveSession = async (): Promise<HmcSession> => {
    if (session === undefined || session.state !== 'open') {
      await session?.close().catch(() => undefined);
      session = await open({ ...base, hmcId: 'fuzz-session', probeIntervalMs: 50 });
      report.sessionsOpened++;
    }
    return session;
  };
  const liveClient = async (): Promise<HmcClient<HmcSession>> => {
    if (client === undefined || client.state !== 'open') {
      await client?.close({ timeoutMs: 0 }).catch(() => undefined);
      client = await connect({ ...base, hmcId: 'fuzz-client', closeTimeoutMs: 50 });
      report.sessionsOpened++;
    }
    return client;
  };
  /** Closes whatever a call opened for real. */
  const dispose = async (value: unknown) => {
    if (value instanceof HmcClient) await value.close({ timeoutMs: 0 }).catch(() => undefined);
    else if (value instanceof VmcDevice) value.close();
    else if (value !== null && typeof value === 'object' && 'close' in value) {
      const close = (value as { close: () => unknown }).close;
      if (typeof close === 'function') await Promise.resolve(close.call(value)).catch(() => 0);
    }
  };

  // setTimeout given more than 2^31-1 ms fires after 1 ms, with only a warning to show for it.
  let current = -1;
  const onWarning = (warning: Error) => {
    if (warning.name === 'TimeoutOverflowWarning')
      fail(failures, 'api', current, `a timer overflowed: ${warning.message}`, warning);
  };
  process.on('warning', onWarning);
  try {
    for (let index = start; index < start + iterations; index++) {
      current = index;
      const rng = new Rng(seed, 2, index);
      report.iterations++;
      const s = await liveSession();
      const c = await liveClient();
      let op: string;
      let call: () => unknown;
      /** Encoders may also throw TypeError/RangeError (documented). */
      let encoder = false;
      /** If the call is still pending after a short wait, this must settle it. */
      let unstick: (() => Promise<void>) | undefined;
      let opened = false;
      switch (rng.int(16)) {
        case 0: {
          op = 'encodeHmcId';
          const id = randomValue(rng);
          call = () => encodeHmcId(id);
          break;
        }
        case 1: {
          op = 'encodeHmcMessage';
          encoder = true;
          const init = randomInit(rng);
          const options = rng.chance(0.7) ? undefined : randomValue(rng, 1);
          call = () => encodeHmcMessage(init as never, options as never);
          break;
        }
        case 2: {
          op = 'encodeResponse';
          encoder = true;
          const request = rng.chance(0.5) ? randomInit(rng) : randomValue(rng, 1);
          const init = rng.chance(0.5) ? randomInit(rng) : randomValue(rng, 1);
          call = () => encodeResponse(request as never, init as never);
          break;
        }
        case 3: {
          op = 'decodeHmcMessage';
          const bytes = randomValue(rng);
          const options = rng.chance(0.7) ? undefined : randomValue(rng, 1);
          // Bad options may be a TypeError/RangeError (documented); the bytes never.
          encoder = options !== undefined;
          call = () => decodeHmcMessage(bytes as never, options as never);
          break;
        }
        case 4: {
          op = 'open';
          opened = true;
          const options = sessionOptions(rng, device);
          call = () => open(options as never);
          break;
        }
        case 5: {
          op = 'connect';
          opened = true;
          const options = sessionOptions(rng, device);
          if (rng.chance(0.5) && options !== null && typeof options === 'object') {
            const o = options as Record<string, unknown>;
            delete o.reconnect;
            o.requestTimeoutMs = rng.chance(0.8) ? 200 : randomValue(rng, 0);
            o.closeTimeoutMs = rng.chance(0.8) ? 0 : randomValue(rng, 0);
            o.maxInFlight = rng.chance(0.8) ? 4 : randomValue(rng, 0);
          }
          call = () => connect(options as never);
          break;
        }
        case 6: {
          op = 'VmcDevice';
          opened = true;
          const options = randomOptions(rng, {
            path: () => (rng.chance(0.9) ? device.path : '/nonexistent/ibmvmc'),
          });
          const then = rng.int(4);
          const arg = randomValue(rng, 0);
          call = async () => {
            const d = await VmcDevice.open(options as never);
            try {
              const f = d as unknown as Record<string, (...a: unknown[]) => unknown>;
              if (then === 0) f.query.call(d, arg);
              else if (then === 1) await f.requestVmc.call(d, arg);
              else if (then === 2) f.close.call(d, arg);
            } finally {
              d.close();
            }
          };
          break;
        }
        case 7: {
          op = 'readModuleParameters';
          const options = rng.chance(0.5)
            ? randomOptions(rng, { sysfsRoot: () => device.sysfsRoot })
            : randomValue(rng, 1);
          call = () => readModuleParameters(options as never);
          break;
        }
        case 8:
        case 9: {
          op = 'session.send';
          const data = randomData(rng, s.mtu);
          const options = rng.chance(0.5) ? undefined : callOptions(rng);
          call = () => s.send(data as never, options as never);
          unstick = () => s.close();
          break;
        }
        case 10: {
          op = 'session.receive';
          const options = rng.chance(0.2) ? undefined : callOptions(rng);
          call = () => s.receive(options as never);
          unstick = () => s.close();
          break;
        }
        case 11: {
          op = 'session.close';
          const arg = randomValue(rng, 0);
          call = () => (s as unknown as { close: (a: unknown) => unknown }).close(arg);
          break;
        }
        case 12:
        case 13: {
          op = 'client.request';
          const request = rng.chance(0.1) ? randomValue(rng, 1) : randomRequest(rng, c.mtu);
          call = () => c.request(request as never);
          unstick = () => c.close({ timeoutMs: 0 });
          break;
        }
        case 14: {
          op = 'client.echo';
          const data = rng.chance(0.8) ? rng.bytes(rng.int(c.mtu)) : randomValue(rng, 1);
          const options = rng.chance(0.5) ? undefined : callOptions(rng);
          call = () => c.echo(data as never, options as never);
          unstick = () => c.close({ timeoutMs: 0 });
          break;
        }
        default: {
          op = rng.chance(0.5) ? 'client.close' : 'HmcClient.attach';
          if (op === 'client.close') {
            const options = rng.chance(0.5) ? { timeoutMs: rng.pick([0, 10]) } : randomValue(rng);
            call = () => c.close(options as never);
          } else {
            // A real session (which then belongs to the client), or something that is not one.
            const real = rng.chance(0.4);
            const target = rng.pick<unknown>([randomValue(rng, 1), {}, { mtu: 4096 }, null]);
            const options = rng.chance(0.5)
              ? randomOptions(rng, {
                  timeoutMs: () => rng.pick([0, 50, 500]),
                  requestTimeoutMs: sensibleTimeout(rng),
                  closeTimeoutMs: () => 0,
                  maxInFlight: () => rng.pick([1, 4]),
                })
              : randomValue(rng, 1);
            opened = real;
            call = async () => {
              const over = real ? await open({ ...base, ...device, hmcId: 'fuzz-attach' }) : target;
              try {
                return await HmcClient.attach(over as never, options as never);
              } finally {
                // Bad options leave the session with the caller: close it (idempotent).
                if (real) await (over as HmcSession).close().catch(() => undefined);
              }
            };
          }
          break;
        }
      }
      let outcome: Outcome | 'pending';
      let promise: Promise<unknown> | undefined;
      try {
        const value = call();
        if (value instanceof Promise) promise = value;
        outcome = { ok: true, value };
      } catch (error) {
        outcome = { ok: false, error };
      }
      if (promise !== undefined) {
        // A call with no session settles within a file read or two on the thread
        // pool; under the sanitizers (IBMVMC_TEST_TIME_SCALE=3) that is slower.
        outcome = await settled(promise, (opened ? 5000 : 100) * TIME_SCALE);
        if (outcome === 'pending' && unstick !== undefined) {
          // Nothing said how long to wait (or the session cannot deliver): closing must settle it.
          await unstick().catch(() => undefined);
          outcome = await settled(promise, 1000 * TIME_SCALE);
        }
      }
      if (outcome === 'pending') {
        fail(failures, 'api', index, `${op}: never settled`, undefined);
        continue;
      }
      const tally = (report.calls[op] ??= { ok: 0, typed: 0 });
      if (outcome.ok) {
        tally.ok++;
        await dispose(outcome.value);
        continue;
      }
      const error = outcome.error;
      if (
        error instanceof IbmvmcError ||
        (encoder && (error instanceof TypeError || error instanceof RangeError))
      ) {
        tally.typed++;
      } else {
        fail(failures, 'api', index, `${op}: ${describe(error)} came out`, error);
      }
    }
  } finally {
    process.off('warning', onWarning);
    await client?.close({ timeoutMs: 0 }).catch(() => undefined);
    await session?.close().catch(() => undefined);
  }
  report.ms = performance.now() - began;
  return report;
}

// ---- reporting ----------------------------------------------------------------------------

/** An error (or anything thrown) in a few words, for a failure's description. */
export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name} (${error.message})`;
  return `a non-error ${typeof error} (${String(error)})`;
}

const MAX_FAILURES = 50;

/** Records a failure (at most 50 are kept). */
export function fail(
  failures: FuzzFailure[],
  part: FuzzFailure['part'],
  index: number,
  what: string,
  input: unknown,
): void {
  if (failures.length >= MAX_FAILURES) return;
  let detail: string;
  if (input instanceof Error) detail = input.stack ?? input.message;
  else if (input instanceof Uint8Array)
    detail = `${input.constructor.name}(${input.length}) ${Buffer.from(input.buffer, input.byteOffset, Math.min(input.length, 64)).toString('hex')}`;
  else {
    try {
      detail = String(JSON.stringify(input)).slice(0, 300);
    } catch {
      detail = String(input);
    }
  }
  failures.push({ part, index, what, detail });
}
