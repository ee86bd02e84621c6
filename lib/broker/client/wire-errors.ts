/**
 * The broker's ERROR and REFUSED frames as typed errors: a client program
 * catches the same classes through the broker as on a session of its own.
 */
import {
  BrokerRefusedError,
  PermissionDeniedError,
  SessionClosedError,
  SessionResetError,
} from '../../errors/error-classes';
import type { IbmvmcError } from '../../errors/ibmvmc-error';
import type { WireErrorFields } from '../wire/wire-error';

/**
 * The error a client sees for the broker's `code` and `text`.
 *
 * @param fields - The frame's code and text.
 * @param what - What was refused, for the message: `the request`, `the connection`.
 */
export function errorFromWire(fields: WireErrorFields, what: string): IbmvmcError {
  const message = `the broker refused ${what}: ${fields.text || fields.code}`;
  const d = { code: fields.code };
  switch (fields.code) {
    case 'ERR_IBMVMC_SESSION_RESET':
      return new SessionResetError(
        `${message} (its session is being reset; it reconnects by itself)`,
        d,
      );
    case 'ERR_IBMVMC_SESSION_CLOSED':
      return new SessionClosedError(message, d);
    case 'EACCES':
    case 'EPERM':
    case 'ERR_IBMVMC_BROKER_READ_ONLY':
      return new PermissionDeniedError(message, d);
    default:
      return new BrokerRefusedError(message, d);
  }
}
