import { encodeHmcId, InvalidArgumentError } from '../../lib/index';

describe('encodeHmcId', () => {
  it('pads a string with NUL to 32 bytes', () => {
    const id = encodeHmcId('hmc-1');
    expect(id.length).toBe(32);
    expect(id.subarray(0, 5).toString()).toBe('hmc-1');
    expect(id.subarray(5).every((b) => b === 0)).toBe(true);
  });

  it('takes bytes as they are, and exactly 32 of them', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    expect([...encodeHmcId(bytes)]).toEqual([...bytes]);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(() => encodeHmcId('é'.repeat(17))).toThrow(/34 bytes long; the driver takes at most 32/);
  });

  it.each([
    ['33 bytes', 'x'.repeat(33), /33 bytes long/],
    ['33-byte array', new Uint8Array(33), /33 bytes long/],
    ['empty', '', /must not be empty/],
    ['number', 42, /string or a Uint8Array/],
    ['null', null, /got null/],
    ['array of numbers', [1, 2, 3], /string or a Uint8Array/],
  ])('rejects %s', (_name, value, message) => {
    let thrown: unknown;
    try {
      encodeHmcId(value);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as Error).message).toMatch(message);
  });
});
