/**
 * Stretches the tests' own waits on a slow machine, under sanitizers or under
 * emulation (`IBMVMC_TEST_TIME_SCALE=15`); the library's deadlines are not touched.
 */
export const TIME_SCALE = Math.max(1, Number(process.env.IBMVMC_TEST_TIME_SCALE) || 1);
