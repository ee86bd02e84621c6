import { IbmvmcError } from '../../lib/errors/ibmvmc-error';
import { HmcDecodeError, decodeHmcMessage, encodeHmcMessage } from '../../lib/protocol';
import type { HmcCodecOptions, HmcDecodeField } from '../../lib/protocol';

/** A valid echo request with 8 data bytes (40 bytes in all), fresh each call. */
function valid(): Buffer {
  return encodeHmcMessage({
    token: 0x11223344,
    target: 0x8000,
    opcode: 0x0103,
    data: Buffer.from('01234567'),
  });
}

/** Decodes `input` and returns the HmcDecodeError it must throw, checking its common shape. */
function decodeError(
  input: unknown,
  field: HmcDecodeField,
  options?: HmcCodecOptions,
): HmcDecodeError {
  let thrown: unknown;
  try {
    decodeHmcMessage(input as Uint8Array, options);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(HmcDecodeError);
  expect(thrown).toBeInstanceOf(IbmvmcError);
  const err = thrown as HmcDecodeError;
  expect(err.field).toBe(field);
  expect(err.code).toBe('ERR_IBMVMC_HMC_DECODE');
  expect(err.retryable).toBe(false);
  expect(err.message).toMatch(new RegExp(`^malformed HMC message: ${field} is .+; expected .+`));
  return err;
}

describe('input that is not a Uint8Array', () => {
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      getPrototypeOf() {
        throw new Error('trap');
      },
    },
  );
  test.each<[string, unknown, string]>([
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a string', '\xde\xca\xff', 'string'],
    ['a number', 32, 'number'],
    ['an array of bytes', [...valid()], 'Array'],
    ['an ArrayBuffer', new ArrayBuffer(40), 'ArrayBuffer'],
    ['a DataView', new DataView(new ArrayBuffer(40)), 'DataView'],
    ['a Uint16Array', new Uint16Array(20), 'Uint16Array'],
    ['a Uint8ClampedArray', new Uint8ClampedArray(valid()), 'Uint8ClampedArray'],
    ['an Int8Array', new Int8Array(40), 'Int8Array'],
    ['an array-like object', { length: 40, 0: 0xde }, 'Object'],
    ['an object pretending to be a Uint8Array', Object.create(Uint8Array.prototype), 'Object'],
    ['a Proxy whose every trap throws', hostile, 'object'],
    ['a Proxy of a Uint8Array', new Proxy(new Uint8Array(40), {}), 'Object'],
  ])('%s', (_name, input, found) => {
    const err = decodeError(input, 'input');
    expect(err.message).toContain(`input is of type ${found}`);
    expect(err.message).toContain('expected a Uint8Array');
  });
});

test('a Uint8Array whose buffer property was tampered with', () => {
  const bytes = valid();
  const cause = new Error('tampered');
  Object.defineProperty(bytes, 'buffer', {
    get() {
      throw cause;
    },
  });
  const err = decodeError(bytes, 'input');
  expect(err.cause).toBe(cause);
  expect(err.message).toContain('cannot be read');
});

describe('length: shorter than a header', () => {
  test.each([0, 1, 3, 31])('%d bytes', (n) => {
    const err = decodeError(valid().subarray(0, n), 'length');
    expect(err.message).toBe(
      `malformed HMC message: length is ${n} bytes; expected at least 32 bytes (a whole header)`,
    );
  });
});

describe('descriptor', () => {
  test.each([0, 1, 2])('byte %d wrong', (index) => {
    const bytes = valid();
    bytes[index] = 0x00;
    const err = decodeError(bytes, 'descriptor');
    const found = ['DE', 'CA', 'FF'];
    found[index] = '00';
    expect(err.message).toBe(
      `malformed HMC message: descriptor is ${found.join(' ')}; expected DE CA FF`,
    );
  });

  test('is checked before the header length', () => {
    const bytes = valid();
    bytes[0] = 0xdf;
    bytes[3] = 0;
    decodeError(bytes, 'descriptor');
  });
});

describe('headerLength', () => {
  test.each([0, 31, 33, 64, 255])('%d', (value) => {
    const bytes = valid();
    bytes[3] = value;
    const err = decodeError(bytes, 'headerLength');
    expect(err.message).toBe(`malformed HMC message: headerLength is ${value}; expected 32`);
  });
});

describe('messageLength', () => {
  test.each([0, 31, 32, 39, 41, 4096, 0xffffffff])('field says %d, 40 bytes received', (value) => {
    const bytes = valid();
    bytes.writeUInt32BE(value, 4);
    const err = decodeError(bytes, 'messageLength');
    expect(err.message).toBe(
      `malformed HMC message: messageLength is ${value}; expected 40 (the number of bytes received)`,
    );
  });

  test('truncated message: fewer bytes received than the field says', () => {
    const err = decodeError(valid().subarray(0, 36), 'messageLength');
    expect(err.message).toContain('messageLength is 40; expected 36');
  });

  test('trailing bytes after the message', () => {
    const err = decodeError(Buffer.concat([valid(), Buffer.from([0])]), 'messageLength');
    expect(err.message).toContain('messageLength is 40; expected 41');
  });

  test('a consistent message longer than the default maximum', () => {
    const bytes = encodeHmcMessage(
      { token: 1, target: 0x8000, opcode: 1, data: Buffer.alloc(4065) },
      { maxLength: 8192 },
    );
    const err = decodeError(bytes, 'messageLength');
    expect(err.message).toBe(
      'malformed HMC message: messageLength is 4097; expected at most 4096 (the maximum message length)',
    );
    expect(decodeHmcMessage(bytes, { maxLength: 4097 }).data.length).toBe(4065);
  });

  test('a consistent message longer than a lowered maximum', () => {
    decodeError(valid(), 'messageLength', { maxLength: 39 });
    expect(decodeHmcMessage(valid(), { maxLength: 40 }).data.toString()).toBe('01234567');
  });
});

describe('dataLength', () => {
  test.each([0, 7, 9, 40, 0xffffffff])('field says %d, message length 40', (value) => {
    const bytes = valid();
    bytes.writeUInt32BE(value, 16);
    const err = decodeError(bytes, 'dataLength');
    expect(err.message).toBe(
      `malformed HMC message: dataLength is ${value}; expected 8 (message length 40 minus the 32-byte header)`,
    );
  });

  test('non-zero on a header-only message', () => {
    const bytes = encodeHmcMessage({ token: 1, target: 0x8000, opcode: 2 });
    bytes.writeUInt32BE(1, 16);
    decodeError(bytes, 'dataLength');
  });
});

describe('bad options are a caller bug, not a decode error', () => {
  test.each<[unknown, ErrorConstructor]>([
    [null, TypeError],
    [{ maxLength: '4096' }, TypeError],
    [{ maxLength: 31 }, RangeError],
    [{ maxLength: 2 ** 32 }, RangeError],
    [{ maxLength: 1.5 }, RangeError],
  ])('%p', (options, errorType) => {
    const call = (): unknown => decodeHmcMessage(valid(), options as HmcCodecOptions);
    expect(call).toThrow(errorType);
    expect(call).toThrow(/decodeHmcMessage: options/);
  });
});
