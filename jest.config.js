/** Jest runs the TypeScript sources through ts-jest; every test file starts what it needs. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The real driver's suites need a POWER guest: npm run test:power runs them (jest.real-driver.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/real-driver/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 20000,
};
