import { BROKER_MAX_CODE_LENGTH, BROKER_MAX_STRING_LENGTH } from './constants';
import { CODE_PATTERN, LONE_SURROGATES } from './fields';

/** What ERROR and REFUSED carry about an error: a code and a text, both within the wire's limits. */
export interface WireErrorFields {
  /** `[A-Z][A-Z0-9_]*`, at most {@link BROKER_MAX_CODE_LENGTH} bytes. */
  readonly code: string;
  /** Well-formed UTF-8, at most {@link BROKER_MAX_STRING_LENGTH} bytes. */
  readonly text: string;
}

/** The code sent for an error whose own code cannot go on the wire (or that has none). */
export const BROKER_FALLBACK_ERROR_CODE = 'ERR_IBMVMC_BROKER';

/**
 * The code and text for an ERROR or REFUSED frame about `error`: its `code`
 * when the wire can carry it (else {@link BROKER_FALLBACK_ERROR_CODE}), and its
 * message, unpaired surrogates replaced and cut to
 * {@link BROKER_MAX_STRING_LENGTH} bytes at a character's boundary. Never
 * throws, whatever `error` is.
 *
 * @param error - Typically an `IbmvmcError` (a `BrokerProtocolError`, ...).
 */
export function toWireError(error: unknown): WireErrorFields {
  let code: unknown;
  let message: unknown;
  try {
    if (typeof error === 'object' && error !== null) {
      code = (error as { code?: unknown }).code;
      message = (error as { message?: unknown }).message;
    } else {
      message = typeof error === 'string' ? error : undefined;
    }
  } catch {
    // A getter that throws: send what is known.
  }
  const wireCode =
    typeof code === 'string' && code.length <= BROKER_MAX_CODE_LENGTH && CODE_PATTERN.test(code)
      ? code
      : BROKER_FALLBACK_ERROR_CODE;
  return { code: wireCode, text: fitText(typeof message === 'string' ? message : '') };
}

/** `text` made well-formed and cut to the wire's limit without splitting a character. */
function fitText(text: string): string {
  const bytes = Buffer.from(text.replace(LONE_SURROGATES, '\uFFFD'), 'utf8');
  if (bytes.length <= BROKER_MAX_STRING_LENGTH) return bytes.toString('utf8');
  let end = BROKER_MAX_STRING_LENGTH;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
