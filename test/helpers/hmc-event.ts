/**
 * An HMC message the hypervisor sends on its own (no response expected), as
 * the tests inject it: a partition configuration event carrying `text`.
 */
import { encodeHmcMessage, HMC_TARGET } from '../../lib/protocol/index';

/** The encoded event. */
export function hmcEvent(text: string): Buffer {
  return encodeHmcMessage({
    token: 0,
    target: HMC_TARGET.LPAR_CONFIGURATION,
    opcode: 0x0200,
    flags: 0,
    data: Buffer.from(text),
  });
}
