// Jest with one fake device for the whole run (global-setup.cjs), and the
// test process itself able to open fakes: run Jest under the wrapper,
//   npx ibmvmc fake-device -- npx jest --config jest.config.cjs
// which starts Jest with the fake's LD_PRELOAD (it must be there when a process starts).
module.exports = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.cjs'],
  globalSetup: './global-setup.cjs',
  globalTeardown: './global-teardown.cjs',
};
