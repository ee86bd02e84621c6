/**
 * The real driver's suites (test/real-driver/): each file boots a POWER guest
 * under qemu-system-ppc64, so they run one at a time with long deadlines.
 * scripts/power/real-driver/run.sh prepares their inputs and runs them.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/real-driver'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 180_000,
  maxWorkers: 1,
};
