// Jest with one fake device for the whole run: npx jest --config jest.config.cjs
module.exports = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.cjs'],
  globalSetup: './global-setup.cjs',
  globalTeardown: './global-teardown.cjs',
};
