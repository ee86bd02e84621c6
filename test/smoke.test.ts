import { IbmvmcError } from '../lib/errors/ibmvmc-error';

test('base error carries code, errno, syscall and retryable', () => {
  const err = new IbmvmcError('busy', { code: 'EBUSY', errno: -16, syscall: 'write', retryable: true });
  expect(err).toBeInstanceOf(Error);
  expect([err.name, err.code, err.errno, err.syscall, err.retryable]).toEqual(['IbmvmcError', 'EBUSY', -16, 'write', true]);
});
