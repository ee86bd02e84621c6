import {
  DEFAULT_MAX_MESSAGE_LENGTH,
  HMC_FLAG,
  HMC_RETURN_CODE,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  HmcDecodeError,
  decodeHmcMessage,
  encodeHmcMessage,
  encodeResponse,
  expectsResponse,
  isResponse,
} from '../../lib/protocol';
import type { HmcMessage, HmcMessageInit } from '../../lib/protocol';
import { HMC_HEADER_LENGTH } from '../../lib/protocol/constants';
import { decodeOwnedHmcMessage } from '../../lib/protocol/hmc-message';

/** Hex string of a buffer with the spaces and line breaks of the literal removed. */
function bytesOf(hexText: string): Buffer {
  return Buffer.from(hexText.replace(/\s+/g, ''), 'hex');
}

describe('encodeHmcMessage', () => {
  test('writes the exchange-options request of the public client byte for byte', () => {
    const bytes = encodeHmcMessage({
      token: 1,
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS,
      flags: HMC_FLAG.RESPONSE_EXPECTED,
      data: Buffer.from([0, 1, 0, 0, 0, 0]),
    });
    expect(bytes.toString('hex')).toBe(
      bytesOf(`
        DECAFF 20  00000026  00000001  8000 00 80  00000006  0001 0000  0000000000000000
        000100000000
      `).toString('hex'),
    );
  });

  test('writes every field big-endian at its offset, with the reserved bytes zero', () => {
    const bytes = encodeHmcMessage({
      token: 0x01020304,
      target: 0x8005,
      opcode: 0x0a0b,
      flags: 0xc1,
      returnCode: 0x802e,
      data: Buffer.from('hi'),
    });
    expect(bytes.length).toBe(34);
    expect(bytes.readUInt32BE(4)).toBe(34);
    expect(bytes.readUInt32BE(8)).toBe(0x01020304);
    expect(bytes.readUInt16BE(12)).toBe(0x8005);
    expect(bytes[14]).toBe(0);
    expect(bytes[15]).toBe(0xc1);
    expect(bytes.readUInt32BE(16)).toBe(2);
    expect(bytes.readUInt16BE(20)).toBe(0x0a0b);
    expect(bytes.readUInt16BE(22)).toBe(0x802e);
    expect([...bytes.subarray(24, 32)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(bytes.subarray(32).toString()).toBe('hi');
  });

  test('defaults: no data, flags RESPONSE_EXPECTED, return code 0', () => {
    const bytes = encodeHmcMessage({ token: 7, target: HMC_TARGET.ROUTER, opcode: 2 });
    expect(bytes.length).toBe(32);
    expect(bytes[15]).toBe(HMC_FLAG.RESPONSE_EXPECTED);
    expect(bytes.readUInt16BE(22)).toBe(0);
    expect(bytes.readUInt32BE(16)).toBe(0);
  });

  test('accepts a plain Uint8Array as data and leaves it untouched', () => {
    const data = new Uint8Array([9, 8, 7]);
    const bytes = encodeHmcMessage({ token: 1, target: 0x8000, opcode: 0x103, data });
    expect([...bytes.subarray(32)]).toEqual([9, 8, 7]);
    expect([...data]).toEqual([9, 8, 7]);
    bytes[32] = 0;
    expect(data[0]).toBe(9);
  });

  test('data of exactly the maximum fits; one byte more is a RangeError', () => {
    const fits = Buffer.alloc(DEFAULT_MAX_MESSAGE_LENGTH - 32, 0x5a);
    expect(encodeHmcMessage({ token: 1, target: 0x8000, opcode: 1, data: fits }).length).toBe(4096);
    const tooBig = Buffer.alloc(DEFAULT_MAX_MESSAGE_LENGTH - 31);
    expect(() => encodeHmcMessage({ token: 1, target: 0x8000, opcode: 1, data: tooBig })).toThrow(
      new RangeError(
        'encodeHmcMessage: the message would be 4097 bytes (32-byte header + 4065 data bytes), over the maximum of 4096',
      ),
    );
  });

  test('maxLength raises or lowers the bound', () => {
    const data = Buffer.alloc(10_000);
    const init = { token: 1, target: 0x8000, opcode: 1, data };
    expect(encodeHmcMessage(init, { maxLength: 10_032 }).length).toBe(10_032);
    expect(() => encodeHmcMessage(init, { maxLength: 10_031 })).toThrow(RangeError);
    expect(() =>
      encodeHmcMessage({ token: 1, target: 1, opcode: 1 }, { maxLength: 32 }),
    ).not.toThrow();
    expect(() =>
      encodeHmcMessage(
        { token: 1, target: 1, opcode: 1, data: Buffer.alloc(1) },
        { maxLength: 32 },
      ),
    ).toThrow(RangeError);
  });

  const valid: HmcMessageInit = { token: 1, target: 0x8000, opcode: 1 };
  // Built from `unknown` because these are exactly what the types forbid: a
  // JavaScript caller (or a cast) can still pass them.
  const badInits: ReadonlyArray<[string, unknown, ErrorConstructor, RegExp]> = [
    ['init null', null, TypeError, /the message must be an object, got null/],
    ['init a number', 5, TypeError, /the message must be an object, got number/],
    ['token missing', { target: 1, opcode: 1 }, TypeError, /token must be a number, got undefined/],
    ['token a string', { ...valid, token: '1' }, TypeError, /token must be a number, got string/],
    ['token a bigint', { ...valid, token: 1n }, TypeError, /token must be a number, got bigint/],
    [
      'token negative',
      { ...valid, token: -1 },
      RangeError,
      /token must be an integer from 0 to 4294967295 \(0xFFFFFFFF\), got -1/,
    ],
    ['token 2^32', { ...valid, token: 2 ** 32 }, RangeError, /token .* got 4294967296/],
    ['token fractional', { ...valid, token: 1.5 }, RangeError, /token .* got 1.5/],
    ['token NaN', { ...valid, token: NaN }, RangeError, /token .* got NaN/],
    ['token Infinity', { ...valid, token: Infinity }, RangeError, /token .* got Infinity/],
    [
      'target 0x10000',
      { ...valid, target: 0x10000 },
      RangeError,
      /target must be an integer from 0 to 65535 \(0xFFFF\), got 65536/,
    ],
    ['target missing', { token: 1, opcode: 1 }, TypeError, /target must be a number/],
    [
      'opcode negative',
      { ...valid, opcode: -1 },
      RangeError,
      /opcode must be an integer from 0 to 65535/,
    ],
    ['opcode missing', { token: 1, target: 1 }, TypeError, /opcode must be a number/],
    [
      'flags 0x100',
      { ...valid, flags: 0x100 },
      RangeError,
      /flags must be an integer from 0 to 255 \(0x00FF\), got 256/,
    ],
    ['flags null', { ...valid, flags: null }, TypeError, /flags must be a number, got null/],
    [
      'returnCode 0x10000',
      { ...valid, returnCode: 0x10000 },
      RangeError,
      /returnCode must be an integer from 0 to 65535/,
    ],
    [
      'data a string',
      { ...valid, data: 'abc' },
      TypeError,
      /data must be a Buffer or Uint8Array, got string/,
    ],
    [
      'data an array',
      { ...valid, data: [1, 2] },
      TypeError,
      /data must be a Buffer or Uint8Array, got Array/,
    ],
    ['data a Uint16Array', { ...valid, data: new Uint16Array(2) }, TypeError, /got Uint16Array/],
    ['data an ArrayBuffer', { ...valid, data: new ArrayBuffer(2) }, TypeError, /got ArrayBuffer/],
    [
      'data null',
      { ...valid, data: null },
      TypeError,
      /data must be a Buffer or Uint8Array, got null/,
    ],
  ];

  test.each(badInits)('rejects %s', (_name, init, errorType, message) => {
    const call = (): Buffer => encodeHmcMessage(init as HmcMessageInit);
    expect(call).toThrow(errorType);
    expect(call).toThrow(message);
  });

  test.each<[unknown, ErrorConstructor]>([
    [null, TypeError],
    ['big', TypeError],
    [{ maxLength: '4096' }, TypeError],
    [{ maxLength: 31 }, RangeError],
    [{ maxLength: 0 }, RangeError],
    [{ maxLength: 100.5 }, RangeError],
    [{ maxLength: 2 ** 32 }, RangeError],
    [{ maxLength: NaN }, RangeError],
  ])('rejects options %p', (options, errorType) => {
    expect(() => encodeHmcMessage(valid, options as { maxLength?: number })).toThrow(errorType);
    expect(() => encodeHmcMessage(valid, options as { maxLength?: number })).toThrow(/options/);
  });

  test('options without maxLength use the default', () => {
    const data = Buffer.alloc(4065);
    expect(() => encodeHmcMessage({ ...valid, data }, {})).toThrow(/maximum of 4096/);
  });
});

describe('round trips', () => {
  test.each<[string, HmcMessageInit]>([
    [
      'a request',
      { token: 42, target: 0x8000, opcode: 0x0103, flags: 0x80, data: Buffer.from('echo') },
    ],
    [
      'a response',
      {
        token: 42,
        target: 0x8000,
        opcode: 0x0103,
        flags: 0x40,
        returnCode: 0x8003,
        data: Buffer.from([1]),
      },
    ],
    ['all zero', { token: 0, target: 0, opcode: 0, flags: 0, returnCode: 0 }],
    [
      'all fields at their maximum',
      {
        token: 0xffffffff,
        target: 0xffff,
        opcode: 0xffff,
        flags: 0xff,
        returnCode: 0xffff,
        data: Buffer.alloc(7, 0xff),
      },
    ],
    [
      'mixed bytes in every field',
      {
        token: 0x80a1b2c3,
        target: 0x8007,
        opcode: 0x1234,
        flags: 0xc0,
        returnCode: 0x802a,
        data: Buffer.from([0, 0xde, 0xca, 0xff]),
      },
    ],
  ])('%s keeps every field', (_name, init) => {
    const decoded = decodeHmcMessage(encodeHmcMessage(init));
    expect(decoded).toEqual({
      token: init.token,
      target: init.target,
      opcode: init.opcode,
      flags: init.flags ?? HMC_FLAG.RESPONSE_EXPECTED,
      returnCode: init.returnCode ?? 0,
      data: Buffer.from(init.data ?? []),
    });
    expect(Buffer.isBuffer(decoded.data)).toBe(true);
  });

  test('empty data', () => {
    const bytes = encodeHmcMessage({ token: 3, target: 0x8000, opcode: 2, data: Buffer.alloc(0) });
    expect(bytes.length).toBe(32);
    const decoded = decodeHmcMessage(bytes);
    expect(decoded.data.length).toBe(0);
    expect(decoded.token).toBe(3);
    expect(decoded.opcode).toBe(2);
  });

  test('data of the maximum length (4064 bytes: a 4096-byte message)', () => {
    const data = Buffer.from(Array.from({ length: 4064 }, (_, i) => (i * 7) & 0xff));
    const bytes = encodeHmcMessage({ token: 9, target: 0x8001, opcode: 0x0103, data });
    expect(bytes.length).toBe(4096);
    expect(decodeHmcMessage(bytes).data.equals(data)).toBe(true);
  });

  test('a larger negotiated maximum on both sides', () => {
    const data = Buffer.alloc(65_504, 0xa5);
    const bytes = encodeHmcMessage(
      { token: 9, target: 0x8001, opcode: 1, data },
      { maxLength: 65_536 },
    );
    expect(decodeHmcMessage(bytes, { maxLength: 65_536 }).data.equals(data)).toBe(true);
  });
});

describe('decodeHmcMessage', () => {
  const sample = (): Buffer =>
    encodeHmcMessage({
      token: 77,
      target: 0x8002,
      opcode: 5,
      returnCode: 1,
      data: Buffer.from('payload'),
    });

  test('returns data that is a copy: reusing the input buffer does not change it', () => {
    const bytes = sample();
    const message = decodeHmcMessage(bytes);
    expect(message.data.buffer).not.toBe(bytes.buffer);
    bytes.fill(0);
    expect(message.data.toString()).toBe('payload');
    message.data[0] = 0x50;
    expect(bytes[32]).toBe(0);
  });

  test('decodeOwnedHmcMessage (for bytes given away): the same message, its data a view of them', () => {
    const bytes = sample();
    const owned = decodeOwnedHmcMessage(bytes, 4096);
    expect(owned).toEqual(decodeHmcMessage(bytes));
    expect(Object.isFrozen(owned)).toBe(true);
    expect(owned.data.buffer).toBe(bytes.buffer);
    expect(owned.data.byteOffset).toBe(bytes.byteOffset + HMC_HEADER_LENGTH);
    expect(owned.data.length).toBe(bytes.length - HMC_HEADER_LENGTH);
  });

  test('decodeOwnedHmcMessage refuses what decodeHmcMessage refuses, with the same error', () => {
    const good = sample();
    const cases = [
      good.subarray(0, 10), // short
      Buffer.concat([good, Buffer.from([0])]), // message length disagrees
      Buffer.from(good).fill(0, 0, 1), // descriptor
    ];
    const failure = (decode: () => unknown) => {
      try {
        decode();
      } catch (error) {
        expect(error).toBeInstanceOf(HmcDecodeError);
        const { field, message } = error as HmcDecodeError;
        return { field, message };
      }
      throw new Error('expected a decode error');
    };
    for (const bytes of cases) {
      expect(failure(() => decodeOwnedHmcMessage(bytes, 40))).toEqual(
        failure(() => decodeHmcMessage(bytes, { maxLength: 40 })),
      );
    }
    // And the length limit.
    expect(failure(() => decodeOwnedHmcMessage(good, 32))).toEqual(
      failure(() => decodeHmcMessage(good, { maxLength: 32 })),
    );
  });

  test('returns a frozen message', () => {
    const message = decodeHmcMessage(sample());
    expect(Object.isFrozen(message)).toBe(true);
    expect(() => {
      (message as { token: number }).token = 1;
    }).toThrow(TypeError);
  });

  test('reads a Uint8Array that is a view into a larger buffer at an offset', () => {
    const message = sample();
    const backing = new Uint8Array(message.length + 20).fill(0xee);
    backing.set(message, 11);
    const decoded = decodeHmcMessage(backing.subarray(11, 11 + message.length));
    expect(decoded.token).toBe(77);
    expect(decoded.data.toString()).toBe('payload');
  });

  test('reads a plain Uint8Array and one over a SharedArrayBuffer', () => {
    const message = sample();
    expect(decodeHmcMessage(new Uint8Array(message)).target).toBe(0x8002);
    const shared = new Uint8Array(new SharedArrayBuffer(message.length));
    shared.set(message);
    expect(decodeHmcMessage(shared).returnCode).toBe(1);
  });

  test('ignores the reserved bytes and accepts any flags byte', () => {
    const bytes = sample();
    bytes[14] = 0xff;
    bytes.fill(0xab, 24, 32);
    bytes[15] = 0x3f;
    const decoded = decodeHmcMessage(bytes);
    expect(decoded.flags).toBe(0x3f);
    expect(decoded.data.toString()).toBe('payload');
  });
});

describe('isResponse and expectsResponse', () => {
  test.each([
    [0x00, false, false],
    [0x80, false, true],
    [0x40, true, false],
    [0xc0, true, true],
    [0x3f, false, false],
  ])('flags %d', (flags, response, expected) => {
    expect(isResponse({ flags })).toBe(response);
    expect(expectsResponse({ flags })).toBe(expected);
  });

  test('work on decoded messages', () => {
    const request = decodeHmcMessage(encodeHmcMessage({ token: 1, target: 0x8000, opcode: 1 }));
    expect([isResponse(request), expectsResponse(request)]).toEqual([false, true]);
  });
});

describe('encodeResponse', () => {
  const request: HmcMessage = decodeHmcMessage(
    encodeHmcMessage({
      token: 0xcafe,
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.ECHO,
      data: Buffer.from('ping'),
    }),
  );

  test('answers with the same token, target and opcode, flags RESPONSE, and the given code and data', () => {
    const response = decodeHmcMessage(
      encodeResponse(request, {
        returnCode: HMC_RETURN_CODE.INVALID_DATA,
        data: Buffer.from('pong'),
      }),
    );
    expect(response).toEqual({
      token: 0xcafe,
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.ECHO,
      flags: HMC_FLAG.RESPONSE,
      returnCode: HMC_RETURN_CODE.INVALID_DATA,
      data: Buffer.from('pong'),
    });
    expect(isResponse(response)).toBe(true);
    expect(expectsResponse(response)).toBe(false);
  });

  test('defaults to return code GOOD and no data', () => {
    const response = decodeHmcMessage(encodeResponse(request));
    expect(response.returnCode).toBe(HMC_RETURN_CODE.GOOD);
    expect(response.data.length).toBe(0);
    expect(response.flags).toBe(HMC_FLAG.RESPONSE);
  });

  test('echoes data back unchanged (as the router does for ECHO)', () => {
    const response = decodeHmcMessage(encodeResponse(request, { data: request.data }));
    expect(response.data.toString()).toBe('ping');
  });

  test('refuses to answer a response', () => {
    const response = decodeHmcMessage(encodeResponse(request));
    expect(() => encodeResponse(response)).toThrow(TypeError);
    expect(() => encodeResponse(response)).toThrow(/is itself a response \(flags 0x40\)/);
  });

  test('validates its arguments like encodeHmcMessage', () => {
    expect(() => encodeResponse(request, { returnCode: 0x10000 })).toThrow(RangeError);
    expect(() => encodeResponse(request, { data: 'x' as unknown as Uint8Array })).toThrow(
      TypeError,
    );
    expect(() => encodeResponse(null as unknown as HmcMessage)).toThrow(
      /encodeResponse: the request must be an object, got null/,
    );
    expect(() => encodeResponse(request, null as unknown as { returnCode?: number })).toThrow(
      TypeError,
    );
    expect(() => encodeResponse(request, { data: Buffer.alloc(100) }, { maxLength: 64 })).toThrow(
      /over the maximum of 64/,
    );
  });
});
