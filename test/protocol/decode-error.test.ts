import { IbmvmcError } from '../../lib/errors/ibmvmc-error';
import { HmcDecodeError } from '../../lib/protocol';

describe('HmcDecodeError', () => {
  test('is an IbmvmcError with its code, field and a message naming found and expected', () => {
    const err = new HmcDecodeError('headerLength', { found: '31', expected: '32' });
    expect(err).toBeInstanceOf(HmcDecodeError);
    expect(err).toBeInstanceOf(IbmvmcError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('HmcDecodeError');
    expect(err.code).toBe('ERR_IBMVMC_HMC_DECODE');
    expect(err.field).toBe('headerLength');
    expect(err.retryable).toBe(false);
    expect(err.errno).toBeUndefined();
    expect(err.syscall).toBeUndefined();
    expect(err.message).toBe('malformed HMC message: headerLength is 31; expected 32');
  });

  test('keeps a cause when given one, and has none otherwise', () => {
    const cause = new Error('underlying');
    expect(new HmcDecodeError('input', { found: 'a', expected: 'b', cause }).cause).toBe(cause);
    expect(new HmcDecodeError('input', { found: 'a', expected: 'b' }).cause).toBeUndefined();
  });
});
