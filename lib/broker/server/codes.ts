/**
 * The codes the broker puts in REFUSED and ERROR frames of its own (besides
 * the protocol's `ERR_IBMVMC_BROKER_PROTOCOL`, `EACCES` for a peer not let
 * in, and the codes of the library's errors, as `toWireError` gives them).
 */
export const BROKER_ERROR_CODE = {
  /** REFUSED: the client's role may only listen. */
  READ_ONLY: 'ERR_IBMVMC_BROKER_READ_ONLY',
  /** REFUSED: the message is not an HMC request the broker can send. */
  BAD_MESSAGE: 'ERR_IBMVMC_BROKER_BAD_MESSAGE',
  /** REFUSED: exchange options and close are the broker's (HELLO and GOODBYE). */
  ROUTER_COMMAND: 'ERR_IBMVMC_BROKER_ROUTER_COMMAND',
  /** REFUSED: the token is already held for this client. */
  DUPLICATE_TOKEN: 'ERR_IBMVMC_BROKER_DUPLICATE_TOKEN',
  /** ERROR: the client did not read what was sent to it. */
  SLOW_READER: 'ERR_IBMVMC_BROKER_SLOW_READER',
  /** ERROR: a frame was begun and not finished in time. */
  FRAME_TIMEOUT: 'ERR_IBMVMC_BROKER_FRAME_TIMEOUT',
  /** ERROR: no HELLO in time. */
  HELLO_TIMEOUT: 'ERR_IBMVMC_BROKER_HELLO_TIMEOUT',
} as const;
