/**
 * The router's command path: what opens it and closes it, as IBM's public
 * test client does (the only published description of these commands).
 */

/** Data bytes of the exchange-options request. */
export const EXCHANGE_OPTIONS_LENGTH = 6;

/**
 * The data of an exchange-options request: six bytes, byte 1 set to 1. What
 * the bytes mean is not published; these are the values the public client
 * sends and the hypervisor accepts.
 */
export function exchangeOptionsData(): Buffer {
  const data = Buffer.alloc(EXCHANGE_OPTIONS_LENGTH);
  data[1] = 1;
  return data;
}
