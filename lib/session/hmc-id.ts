import { InvalidArgumentError } from '../errors/error-classes';

/** The driver copies exactly this many bytes of HMC id. */
export const HMC_ID_LENGTH = 32;

/**
 * An HMC id as the driver wants it: the caller's string (UTF-8) or bytes,
 * at most 32 bytes, NUL-padded to exactly 32. Anything else is rejected
 * before any system call.
 */
export function encodeHmcId(id: unknown): Buffer {
  let bytes: Buffer;
  if (typeof id === 'string') bytes = Buffer.from(id, 'utf8');
  else if (id instanceof Uint8Array) bytes = Buffer.from(id);
  else
    throw new InvalidArgumentError(
      `hmcId must be a string or a Uint8Array of at most ${HMC_ID_LENGTH} bytes, got ${id === null ? 'null' : typeof id}`,
      { code: 'ERR_INVALID_ARG_TYPE' },
    );
  if (bytes.length === 0) throw new InvalidArgumentError('hmcId must not be empty');
  if (bytes.length > HMC_ID_LENGTH)
    throw new InvalidArgumentError(
      `hmcId is ${bytes.length} bytes long; the driver takes at most ${HMC_ID_LENGTH}`,
    );
  const padded = Buffer.alloc(HMC_ID_LENGTH);
  bytes.copy(padded);
  return padded;
}
