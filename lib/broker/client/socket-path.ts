/**
 * Where the broker listens, and how a program is pointed at it.
 */

/** The broker's socket when `--socket` is not given (the systemd socket unit's too). */
export const DEFAULT_BROKER_SOCKET = '/run/ibmvmc/broker.sock';

/** Set to a broker's socket path, it makes `connect()` without a device go through that broker. */
export const BROKER_ENV = 'IBMVMC_BROKER';
