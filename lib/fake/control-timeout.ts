/**
 * How long a fake may take to start, attach or answer a control, unless the
 * caller says: 10 s, or `IBMVMC_FAKE_START_TIMEOUT_MS` from the environment
 * (emulators and sanitizers run a fake several times slower).
 */

/** The default deadline of a fake's start-up, an attach, and each control (ms). */
export function defaultControlTimeoutMs(): number {
  const fromEnv = Number(process.env.IBMVMC_FAKE_START_TIMEOUT_MS);
  return fromEnv > 0 ? fromEnv : 10_000;
}
