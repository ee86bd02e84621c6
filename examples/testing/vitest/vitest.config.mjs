// Vitest runs each test file in a child process (pool "forks"): started
// under `ibmvmc fake-device --`, they inherit the fake's LD_PRELOAD.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { pool: 'forks', include: ['**/*.test.mjs'], testTimeout: 20_000 },
});
